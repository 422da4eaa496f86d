package io.vitq.cli;

import io.vitq.io.ModelLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = "The paper's main table: top-1 of the float model and of each method x bits, per model, as Markdown "
                + "(and JSON). Finished cells are kept in the results file; a rerun resumes from them.")
final class SweepCommand implements Callable<Integer> {
    @Mixin CalibOptions calibOptions;

    @Option(names = "--models", split = ",", paramLabel = "M,...", defaultValue = "vit_tiny_patch16_224",
            description = "Zoo names or checkpoint files (default ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--methods", split = ",", paramLabel = "M,...", defaultValue = "basePTQ,ptq4vit",
            description = "Methods (default ${DEFAULT-VALUE}).")
    List<String> methods;

    @Mixin TableOptions table;

    @Mixin SparkOptions spark;

    @Spec CommandSpec spec;

    @Option(names = "--plot", paramLabel = "FILE.png",
            description = "Also draw top-1 against model size (MB) as a PNG: one line per method through its bit settings, "
                    + "the float model as a dashed reference line.")
    Path plot;

    private static int runnerImages(TableRunner r) { return r.imageCount(); }

    /** A model of --models; a bare checkpoint is told what sweep, which has no per-model options, takes instead. */
    private static ModelLoader.Loaded load(String name) {
        try {
            return ModelLoader.load(name, null);
        } catch (io.vitq.io.ModelOverrides.BareCheckpointException e) {
            throw new Main.UserException("--models " + name + ": a checkpoint file alone does not say " + e.unknown() + ", and sweep "
                    + "takes no per-model options; name the file after its zoo entry (e.g. vit_small_patch16_224.mine.safetensors; "
                    + "'vitq models' lists them) or give a Hugging Face model folder (config.json beside the weights)");
        }
    }

    /**
     * Every --models entry loaded and checked before any cell is measured, so that a mistake in the
     * last entry does not surface after hours of the first ones: a float model (not a quantized file,
     * whose evaluation would otherwise be stored as a float cell), a model name no other entry loads
     * under (the table's rows and the results file's cells are named by it), and evaluation labels
     * that fit its classes. The models are loaded again when their turn comes.
     */
    private void checkModels(TableRunner runner) {
        Map<String, String> entryOf = new LinkedHashMap<>();
        for (String name : models) {
            ModelLoader.Loaded l = load(name);
            if (l.quantized())
                throw new Main.UserException("--models " + name + ": already quantized; sweep calibrates float models "
                        + "(zoo names, checkpoints, model folders)");
            String other = entryOf.putIfAbsent(l.model().name(), name);
            if (other != null)
                throw new Main.UserException("--models " + other + " and " + name + " both load as " + l.model().name()
                        + ", and the table's rows and the results file's cells are named by the model; sweep them in "
                        + "separate runs, each with its own --results file");
            runner.pending(l, "float", "FP32", null, null); // checks the evaluation labels against its classes
        }
    }

    /** The cells the results file lacks, measured on Spark; the table below then reads them all from the file. */
    private void measureOnSpark(TableRunner runner, List<BitsOption> bitOptions) throws java.io.IOException {
        List<SparkSweep.Job> jobs = new ArrayList<>();
        for (String name : models) {
            ModelLoader.Loaded l = load(name);
            String model = WorkerArgs.model(name);
            String identity = runner.identity(l);
            addIfMissing(jobs, runner.pending(l, "float", "FP32", null, null), runner, model, identity, null, null);
            for (String m : methods) for (int i = 0; i < bitOptions.size(); i++) {
                BitsOption b = bitOptions.get(i);
                if (b.mixed() != null && !m.equalsIgnoreCase("vtptq")) continue;
                io.vitq.calib.CalibConfig cfg = calibOptions.config(m, b);
                QuantizeCommand.checkCalibration(cfg, b.mixed()); // what a worker's calibration would refuse
                addIfMissing(jobs, runner.pending(l, m, calibOptions.bitsLabel(b), cfg, b.mixed()), runner, model, identity, m,
                        table.bits.get(i));
            }
        }
        String[] workerArgs = WorkerArgs.of(spec);
        if (calibOptions.calib == null) // the embedded calibration images, under this installation: name them for the workers
            workerArgs = SparkSweep.append(workerArgs, "--calib", calibOptions.calibPath().toAbsolutePath().normalize().toString());
        SparkSweep.measure(spark, runner, jobs, workerArgs);
    }

    private static void addIfMissing(List<SparkSweep.Job> jobs, TableRunner.Pending p, TableRunner runner, String model,
                                     String identity, String method, String bits) {
        if (runner.stored(p, false) == null) jobs.add(new SparkSweep.Job(p, model, identity, method, bits));
    }

    @Override
    public Integer call() throws Exception {
        List<BitsOption> bitOptions = table.bitOptions();
        TableOptions.refuseRepeats("--models", models, false);
        TableOptions.refuseRepeats("--methods", methods, true);
        calibOptions.checkMsaNorm(bitOptions);
        spark.check();
        for (String m : methods) {
            try {
                io.vitq.calib.CalibConfig.forMethod(m, 8, 8);
            } catch (IllegalArgumentException e) {
                throw new Main.UserException("--methods " + m + ": " + e.getMessage());
            }
        }
        for (String m : methods) {
            for (BitsOption b : bitOptions) {
                boolean gptq = calibOptions.config(m, b).gptq(); // validates before any work
                // GPTQ's rounded weights are not in the plan a Spark worker returns
                if (spark.enabled() && gptq)
                    throw new Main.UserException(calibOptions.gptq
                            ? "--gptq with --spark: GPTQ's rounded weights are not in the plan a worker returns; "
                                    + "sweep with --gptq in one process (without --spark)"
                            : "--spark: method " + m + " at " + b.label() + " rounds the weights with GPTQ, which are not in the "
                                    + "plan a worker returns; sweep it in one process (without --spark) or add --no-gptq");
            }
        }
        if (bitOptions.stream().anyMatch(b -> b.mixed() != null) && methods.stream().noneMatch(m -> m.equalsIgnoreCase("vtptq")))
            throw new Main.UserException("--bits mp6/mp8: mixed precision is VT-PTQ's; add vtptq to --methods");
        Plots.checkPng("--plot", plot);
        TableRunner runner = table.openWithPlot(calibOptions, "sweep", plot, models.stream().map(Path::of).toArray(Path[]::new));
        calibOptions.noteIntegerSearchKernel();
        checkModels(runner);
        if (spark.enabled()) measureOnSpark(runner, bitOptions);
        List<io.vitq.eval.charts.Charts.SweepPoint> points = new ArrayList<>();
        List<io.vitq.eval.charts.Charts.FloatPoint> floats = new ArrayList<>();

        StringBuilder md = new StringBuilder("| model | float |");
        StringBuilder sep = new StringBuilder("|---|---:|");
        for (String m : methods) for (BitsOption b : bitOptions) {
            md.append(' ').append(m).append(' ').append(calibOptions.bitsLabel(b)).append(" |");
            sep.append("---:|");
        }
        md.append('\n').append(sep).append('\n');
        List<Map<String, Object>> rows = new ArrayList<>();
        for (String name : models) {
            ModelLoader.Loaded l = load(name);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("model", l.model().name());
            CellStore.Cell fp = runner.cell(l, "float", "FP32", null);
            row.put("float", fp.top1());
            floats.add(new io.vitq.eval.charts.Charts.FloatPoint(l.model().name(), fp.sizeMb(), fp.top1()));
            StringBuilder line = new StringBuilder("| " + l.model().name() + " | " + TableRunner.pct(fp) + " " + TableRunner.mb(fp) + " |");
            for (String m : methods) for (BitsOption b : bitOptions) {
                if (b.mixed() != null && !m.equalsIgnoreCase("vtptq")) {
                    line.append(" – |"); // mixed precision is VT-PTQ's
                    continue;
                }
                String bits = calibOptions.bitsLabel(b);
                CellStore.Cell c = runner.cell(l, m, bits, calibOptions.config(m, b), b.mixed());
                line.append(' ').append(TableRunner.pct(c));
                if (b.mixed() != null || bitOptions.stream().anyMatch(o -> o.mixed() != null))
                    line.append(' ').append(TableRunner.mb(c));
                line.append(" |");
                row.put(m + " " + bits, c.top1());
                points.add(new io.vitq.eval.charts.Charts.SweepPoint(l.model().name(), m, bits, c.sizeMb(), c.top1()));
                row.put(m + " " + bits + " MB", c.sizeMb());
            }
            md.append(line).append('\n');
            rows.add(row);
        }
        System.out.println("top-1 % on " + table.measuredOn(calibOptions, runnerImages(runner)));
        System.out.print(md);
        table.reportResults();
        if (table.json != null) io.vitq.eval.Reports.writeJson(table.json, Map.of("data", table.data.toString(), "rows", rows));
        if (plot != null) {
            String what = models.size() == 1 ? floats.get(0).model() : models.size() + " models";
            io.vitq.eval.charts.Charts.sweep(plot, what + ": top-1 against model size (" + runnerImages(runner) + " images of "
                    + table.data + ")", points, floats);
            System.err.println("vitq: chart written to " + plot);
        }
        return 0;
    }
}
