package io.vitq.cli;

import io.vitq.eval.EvalResult;
import io.vitq.eval.Pipeline;
import io.vitq.eval.Reports;
import io.vitq.io.ModelLoader;
import io.vitq.io.OutputFiles;
import io.vitq.io.OutputKind;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
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

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Top-1/top-5 accuracy and throughput of a model on an image set (unlabelled images: predictions and "
                + "throughput only).")
final class EvalCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR|LIST",
            description = "ImageNet-style folder (root/<wnid>/*.JPEG) or a list file ('path label' per line, or './data/<file>, <label>'); "
                    + "a folder of images without class subfolders is evaluated unlabelled (no top-1).")
    Path data;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate only the first N images.")
    Integer limit;

    @Option(names = {"-b", "--batch"}, paramLabel = "B", defaultValue = "32", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the summary as JSON.")
    Path json;

    @Option(names = "--predictions", paramLabel = "FILE",
            description = "Write a CSV: image path, label, top-5 classes and their probabilities.")
    Path predictions;

    @Option(names = "--plan", paramLabel = "FILE",
            description = "Evaluate with fake quantization: a plan JSON written by 'vitq quantize --plan'. Without "
                    + "--model, the model the plan was made for.")
    Path plan;

    @Option(names = "--integer", description = "Quantized model: run it in integers (int8 codes, int32 accumulation) instead of fake quantization.")
    boolean integer;

    @Option(names = "--products", paramLabel = "dequantized|codes", defaultValue = "dequantized",
            description = "Quantized model, fake quantization: sum products of dequantized values (the reference's arithmetic, "
                    + "default) or of the codes, dequantized once per sum (rounds exactly as --integer does).")
    String products;

    @Option(names = "--float-attention", description = "Quantized model: both attention products on float operands, the Linears "
            + "as planned: the model that 'vitq export --float-attention' writes (with --integer-linears the deployment form for "
            + "ONNX Runtime), evaluated in vitq.")
    boolean floatAttention;

    @Option(names = "--compare-fp", description = "Quantized model: also run the float model (decoded weights, no quantization) and report top-1 agreement and mean KL.")
    boolean compareFp;

    @Option(names = "--float-model", paramLabel = "NAME|DIR|FILE",
            description = "With --compare-fp: compare with this float model instead (e.g. the checkpoint a quantized file was "
                    + "made from, whose own weights the file no longer holds); same classes and preprocessing.")
    String floatModel;

    @Option(names = "--plot", paramLabel = "FILE.png",
            description = "With --compare-fp: draw where the quantized model departs from the float one as a PNG (per bin "
                    + "of the float model's confidence: top-1 agreement and both models' top-1).")
    Path plot;

    @Mixin SparkOptions spark;

    @Spec CommandSpec spec;

    /**
     * The model as this command runs it: loaded, with its plan (or none) and executor (null: float or
     * fake quant), and the {@code --float-model} to compare with (null: the model itself in float).
     */
    record Prepared(ModelLoader.Loaded loaded, QuantPlan plan, Executor executor, ModelLoader.Loaded floatModel) {
        io.vitq.eval.Evaluator.Reference reference() {
            return floatModel == null ? null : io.vitq.eval.Evaluator.Reference.of(floatModel.model(), FloatExecutor.INSTANCE);
        }
    }

    @Override
    public Integer call() throws Exception {
        spark.check();
        Prepared p = prepare(true);
        ModelLoader.Loaded l = p.loaded();
        QuantPlan qp = p.plan();
        EvalResult r = spark.enabled() ? SparkEval.run(this, WorkerArgs.of(spec), l)
                : evaluate(l, qp, p.executor(), compareFp, p.reference(), data, limit, null, batch,
                        ProgressBar.counting("images"));
        Inputs.noteShortData(data, limit, r.images());
        if (r.labelled() == 0 && r.images() > 0)
            System.err.println("vitq: note: " + data + ": no labels (a folder without class subfolders, or a list without them), so"
                    + " no top-1 or top-5; predictions, agreement with float (--compare-fp) and speed are measured");
        String run = qp == null ? "float" : qp.info().method() + " " + qp.info().bitsLabel() + ", "
                + (integer ? "integer" : "codes".equals(products) ? "fake quant (code products)" : "fake quant")
                + (floatAttention ? ", attention float" : "");
        String floatNote = p.floatModel() != null ? p.floatModel().model().name() + " from " + p.floatModel().checkpoint()
                : l.quantized() ? "the file's decoded weights" : null;
        System.out.print(Reports.markdown(r, run, floatNote));
        if (json != null) Reports.writeJson(json, Reports.summary(r, run));
        if (predictions != null) Reports.writePredictions(predictions, r);
        if (plot != null) {
            io.vitq.eval.charts.Charts.agreement(plot, l.model().name() + ", " + qp.info().method() + " " + qp.info().bitsLabel()
                    + (integer ? " (integer)" : "") + (floatAttention ? ", attention float" : "") + " against float: where they differ",
                    p.floatModel() != null ? "float (" + p.floatModel().model().name() + ")"
                            : l.quantized() ? "float (decoded weights)" : "float", r);
            System.err.println("vitq: chart written to " + plot);
        }
        return 0;
    }

    /**
     * Checks the options and loads the model, its plan and executor; the same on a Spark worker, which
     * rebuilds this command from its arguments.
     *
     * @param onDriver this process writes the outputs (check them) and prints notes; false on a Spark worker
     */
    Prepared prepare(boolean onDriver) {
        Inputs.checkPositive("--batch", batch);
        if (limit != null) Inputs.checkPositive("--limit", limit);
        Inputs.listData(data, limit);
        ModelLoader.Loaded l = modelOptions.load(plan, onDriver);
        Plots.checkPng("--plot", plot);
        if (plot != null && !compareFp) throw new Main.UserException("--plot draws the comparison with the float model; add --compare-fp");
        OutputFiles files = new OutputFiles().model("--model", l).input("--data", data).input("--plan", plan);
        if (onDriver)
            files.output("--json", json, OutputKind.JSON).output("--predictions", predictions, OutputKind.CSV)
                    .output("--plot", plot, OutputKind.PNG);
        files.check();
        QuantPlan qp = plan == null ? l.plan() : Plans.read(plan, l.model());
        if (floatAttention && qp == null)
            throw new Main.UserException("--float-attention needs a quantized model (a quantized file or --plan FILE)");
        if (floatAttention) {
            QuantPlan reduced = qp.withoutMatmuls();
            if (onDriver && reduced.ops().size() == qp.ops().size())
                System.err.println("vitq: note: --float-attention: the plan quantizes no attention product; it runs as it is");
            qp = reduced;
        }
        if (qp != null) l = Plans.modelFor(l, qp);
        if (compareFp && qp == null) throw new Main.UserException("--compare-fp needs a quantized model (a quantized file or --plan FILE)");
        if (integer && qp == null) throw new Main.UserException("--integer needs a quantized model (a quantized file or --plan FILE)");
        ModelLoader.Loaded reference = floatModel == null ? null : floatModelFor(l);
        if (reference != null) files.model("--float-model", reference).check();
        FakeQuantExecutor.Products arithmetic = switch (products) {
            case "dequantized" -> FakeQuantExecutor.Products.DEQUANTIZED;
            case "codes" -> FakeQuantExecutor.Products.CODES;
            default -> throw new Main.UserException("--products " + products + ": expected dequantized or codes");
        };
        if (arithmetic != FakeQuantExecutor.Products.DEQUANTIZED && (qp == null || integer))
            throw new Main.UserException("--products codes applies to the fake quantization of a quantized model (not to float or --integer)");
        Executor ex = null;
        if (qp != null && !integer) ex = new FakeQuantExecutor(qp, l.model(), arithmetic);
        if (integer) {
            io.vitq.runtime.IntegerExecutor ie = new io.vitq.runtime.IntegerExecutor(qp, l.model());
            if (onDriver) condensed(ie.notes()).forEach(n -> System.err.println("vitq: note: " + n));
            ex = ie;
        }
        return new Prepared(l, qp, ex, reference);
    }

    /**
     * Notes of the form {@code "op: what"}, one line per distinct {@code what}, in the order first
     * seen, naming the ops that share it (all of up to three, else the first and the last:
     * {@code "blocks.0.mlp.fc2, ..., blocks.11.mlp.fc2 (12 ops): what"}) instead of twelve lines
     * that differ only in the op. Notes without an op stay as they are, in place.
     */
    static List<String> condensed(List<String> notes) {
        Map<String, NoteGroup> byWhat = new LinkedHashMap<>();
        for (String n : notes) {
            int colon = n.indexOf(": ");
            if (colon < 0) {   // a note without an op: its own group, printed as it is unless an op's note says the same
                byWhat.putIfAbsent(n, new NoteGroup(null));
                continue;
            }
            String op = n.substring(0, colon), what = n.substring(colon + 2), bound = null;
            int last = what.lastIndexOf(": ");
            if (last >= 0 && what.endsWith(" 2^31 - 1")) {   // an op's int32 bound: its own numbers
                bound = what.substring(last + 2);
                what = what.substring(0, last);
            }
            NoteGroup g = byWhat.get(what);
            if (g == null || g.ops == null) byWhat.put(what, g = new NoteGroup(new ArrayList<>()));   // in the plain note's place
            g.add(op, bound);
        }
        List<String> out = new ArrayList<>();
        byWhat.forEach((what, g) -> out.add(g.line(what)));
        return out;
    }

    /** The ops that share one note, and the first op's int32 bound (kept for it alone) with whether the others' are alike. */
    private static final class NoteGroup {
        final List<String> ops;   // null: a note without an op
        String firstBound;
        boolean boundsAlike = true;

        NoteGroup(List<String> ops) { this.ops = ops; }

        void add(String op, String bound) {
            ops.add(op);
            if (bound == null) return;
            if (firstBound == null) firstBound = bound;
            else if (!firstBound.equals(bound)) boundsAlike = false;
        }

        String line(String what) {
            if (ops == null) return what;
            String line = (ops.size() <= 3 ? String.join(", ", ops) : ops.get(0) + ", ..., " + ops.get(ops.size() - 1) + " ("
                    + ops.size() + " ops)") + ": " + what;
            if (firstBound != null) line += ": " + firstBound + (boundsAlike ? "" : " (" + ops.get(0) + "; the others alike)");
            return line;
        }
    }

    /**
     * On a worker: one shard of this evaluation, computed as the unsplit run computes it, from the
     * checkpoint the driver loaded ({@code identity}, its SHA-256).
     */
    EvalResult shard(io.vitq.eval.EvalShards.Range shard, String identity) {
        Prepared p = prepare(false);
        CheckpointIdentity.check(p.loaded(), identity, "--model " + modelOptions.model);
        return evaluate(p.loaded(), p.plan(), p.executor(), compareFp, p.reference(), data, limit, shard, batch,
                Pipeline.Progresses.NONE);
    }

    /** The {@code --float-model}: a float model with the quantized model's classes and preprocessing. */
    private ModelLoader.Loaded floatModelFor(ModelLoader.Loaded l) {
        if (!compareFp) throw new Main.UserException("--float-model is the float side of --compare-fp; add --compare-fp");
        ModelLoader.Loaded f = ModelLoader.load(floatModel, null);
        if (f.quantized()) throw new Main.UserException("--float-model " + floatModel + ": a quantized model; give a float checkpoint");
        if (f.model().numClasses() != l.model().numClasses())
            throw new Main.UserException("--float-model " + floatModel + ": " + f.model().numClasses() + " classes, the model evaluated has "
                    + l.model().numClasses());
        String a = f.model().preprocessing().describe(), b = l.model().preprocessing().describe();
        if (!a.equals(b))
            throw new Main.UserException("--float-model " + floatModel + ": preprocessing " + a + ", the model evaluated has " + b
                    + " (both run on the same preprocessed images)");
        return f;
    }

    static EvalResult evaluate(ModelLoader.Loaded l, Path data, Integer limit, int batch) {
        return evaluate(l, l.plan(), false, data, limit, batch);
    }

    /** With {@code plan} non-null the model runs fake-quantized; {@code compareFp} also runs it in float. */
    static EvalResult evaluate(ModelLoader.Loaded l, QuantPlan plan, boolean compareFp, Path data, Integer limit, int batch) {
        return evaluate(l, plan, null, compareFp, data, limit, batch);
    }

    /** @param executor how to run the model, or null: fake quantization with {@code plan} (float without a plan) */
    static EvalResult evaluate(ModelLoader.Loaded l, QuantPlan plan, Executor executor, boolean compareFp, Path data,
                               Integer limit, int batch) {
        return evaluate(l, plan, executor, compareFp, data, limit, null, batch,
                ProgressBar.counting("images"));
    }

    static EvalResult evaluate(ModelLoader.Loaded l, QuantPlan plan, Executor executor, boolean compareFp, Path data,
                               Integer limit, io.vitq.eval.EvalShards.Range shard, int batch, Pipeline.Progresses progress) {
        return evaluate(l, plan, executor, compareFp, null, data, limit, shard, batch, progress);
    }

    /**
     * @param shard     the images of one shard of a split evaluation, or null for all of them
     * @param floatSide with {@code compareFp}: what to compare with, or null for the model itself run in float
     */
    static EvalResult evaluate(ModelLoader.Loaded l, QuantPlan plan, Executor executor, boolean compareFp,
                               io.vitq.eval.Evaluator.Reference floatSide, Path data, Integer limit,
                               io.vitq.eval.EvalShards.Range shard, int batch, Pipeline.Progresses progress) {
        if (plan != null) l = io.vitq.io.Reparameterization.apply(l, plan);
        Executor ex = executor != null ? executor : plan == null ? FloatExecutor.INSTANCE : new FakeQuantExecutor(plan, l.model());
        String label = "eval " + l.model().name() + (plan == null ? "" : " " + plan.info().method() + " " + plan.info().bitsLabel())
                + (compareFp ? " and float" : "");
        io.vitq.eval.Evaluator.Reference reference = !compareFp ? null
                : floatSide != null ? floatSide : io.vitq.eval.Evaluator.Reference.of(l.model(), FloatExecutor.INSTANCE);
        return Pipeline.evaluate(l.model(), ex, reference, data, limit, shard, batch, label, progress);
    }
}
