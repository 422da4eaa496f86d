package io.vitq.cli;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.data.CalibrationSet;
import io.vitq.eval.Reports;
import io.vitq.eval.Throughput;
import io.vitq.export.OnnxExporter;
import io.vitq.export.Ort;
import io.vitq.io.ModelLoader;
import io.vitq.io.OutputFiles;
import io.vitq.io.OutputKind;
import io.vitq.io.QuantizedModelFile;
import io.vitq.model.Architecture;
import io.vitq.model.Backward;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.model.ModelZoo;
import io.vitq.model.RandomWeights;
import io.vitq.model.SwinConfig;
import io.vitq.model.ViTConfig;
import io.vitq.model.Weights;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Every execution mode's speed in one run, side by side: vitq float, fake quant and integer,
 * ONNX Runtime on the float export and on the QDQ export; images/s on one batch of real images and
 * the size of the file each engine runs from, and issue 18's speed-ups ({@link #SPEEDUPS}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Speed of every execution mode side by side, in one run: vitq float, vitq fake quant, vitq integer, "
                + "ONNX Runtime float and ONNX Runtime on the QDQ export (uint8 and int8 activation codes) and on the deployment "
                + "export (--float-attention --integer-linears); images/s on a batch of the calibration images and the size "
                + "of the file each one runs from, per model; then the speed-ups of vitq integer over vitq float and of the default "
                + "QDQ export and the deployment export over ONNX Runtime float, over the whole run and round by round. A model "
                + "without a checkpoint runs on random weights (speed only); "
                + "a quantized model file runs with its own plan.")
final class BenchCommand implements Callable<Integer> {
    /** The plan's search is shortened: scale values do not change the speed of any engine, the plan's structure does. */
    static final int PLAN_IMAGES = 8, PLAN_CANDIDATES = 20, PLAN_ROUNDS = 1;

    @Option(names = "--models", split = ",", paramLabel = "M,...", defaultValue = "vit_tiny_patch16_224,vit_small_patch16_224",
            description = "Zoo names, ViT, DeiT or Swin (the bench makes a PTQ4ViT W8A8 plan for each) or quantized model "
                    + "files from 'vitq quantize -o' (their own plan; the vitq float row runs the file's decoded weights) "
                    + "(default ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--calib", paramLabel = "DIR|LIST",
            description = "Images for the batch and the plan (default: the embedded demo/calib/calib32.txt).")
    Path calib;

    @Option(names = {"-b", "--batch"}, paramLabel = "B", defaultValue = "32", description = "Images per forward (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "10",
            description = "Timed seconds per engine, after a warm-up (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--rounds", paramLabel = "R", defaultValue = "5",
            description = "The engines of a model take turns in R rounds of --seconds / R each, so that the machine's "
                    + "slower and faster minutes fall on all of them alike, in a new order each round after the first, so "
                    + "that no engine always runs right after the same one (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--no-onnxruntime", description = "Skip the ONNX Runtime rows.")
    boolean noOrt;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the table as JSON.")
    Path json;

    @Option(names = "--calibration",
            description = "Also time a full PTQ4ViT W8A8 calibration of each model on " + CALIBRATION_IMAGES + " images (100 "
                    + "candidates, 3 rounds), by phase; its plan then runs in the quantized engines. Long: minutes per model.")
    boolean calibration;

    @Option(names = "--integer-search",
            description = "With --calibration: score the candidates on integer products where their operands are int8 codes "
                    + "(as 'vitq quantize --integer-search').")
    boolean integerSearch;

    /** Images of the --calibration run (the papers' and vitq's calibration set size). */
    static final int CALIBRATION_IMAGES = 32;

    /** One measured row; {@code rounds} its images/s in each interleaved round. */
    record Row(String model, String engine, double imagesPerSecond, double msPerBatch, double fileMb, int sameTop1, int batch,
               List<Double> rounds) {
        Row {
            rounds = List.copyOf(rounds);
        }

        double slowestRound() { return Throughput.lowest(rounds); }

        double fastestRound() { return Throughput.highest(rounds); }
    }

    /**
     * One engine's speed over another's on the same model: the ratio of their images/s over the
     * whole run, and the ratio within each round. The two engines of a round ran minutes apart at
     * most, so a machine whose speed drifts moves both; the per-round ratios show how far the
     * overall one could move with it.
     */
    record Speedup(String model, String engine, String over, double ratio, List<Double> roundRatios) {
        Speedup {
            roundRatios = List.copyOf(roundRatios);
        }

        double median() {
            double[] r = roundRatios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            int n = r.length;
            return n == 0 ? Double.NaN : n % 2 == 1 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
        }

        double lowest() { return Throughput.lowest(roundRatios); }

        double highest() { return Throughput.highest(roundRatios); }
    }

    static final String VITQ_FLOAT = "vitq float", VITQ_INTEGER = "vitq integer", ORT_FLOAT = "ONNX Runtime float";
    static final String DEPLOYMENT_ENGINE = "ONNX Runtime deployment (export --float-attention --integer-linears)";

    /** The engine name of ONNX Runtime on the QDQ export with {@code codes}. */
    static String qdqEngine(OnnxExporter.ActivationCodes codes) {
        return "ONNX Runtime QDQ, " + codes.name().toLowerCase(Locale.ROOT) + " activations"
                + (codes == OnnxExporter.DEFAULT_CODES ? " (default export)" : "");
    }

    /** A speed-up the bench reports: {@code engine}'s images/s over {@code over}'s. */
    record Pair(String engine, String over) {}

    /** Issue 18's speed-ups: vitq integer over vitq float; the default QDQ export and the deployment export over ONNX Runtime float. */
    static final List<Pair> SPEEDUPS = List.of(new Pair(VITQ_INTEGER, VITQ_FLOAT),
            new Pair(qdqEngine(OnnxExporter.DEFAULT_CODES), ORT_FLOAT), new Pair(DEPLOYMENT_ENGINE, ORT_FLOAT));

    /** One timed calibration (seconds). */
    record CalibrationRow(String model, String search, int images, Calibrator.Timing timing) {}

    private final List<CalibrationRow> calibrations = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Inputs.checkPositive("--batch", batch);
        Inputs.checkPositive("--rounds", rounds);
        if (!(seconds > 0)) throw new Main.UserException("--seconds must be positive, got " + seconds);
        if (integerSearch && !calibration) throw new Main.UserException("--integer-search times a calibration: add --calibration");
        new OutputFiles().output("--json", json, OutputKind.JSON).input("--calib", calib).check();
        for (String m : models) {
            if (ModelZoo.get(m) == null && !Files.isRegularFile(Path.of(m)))
                throw new Main.UserException("--models " + m + ": the bench runs zoo names (ViT, DeiT, Swin; see 'vitq models') or quantized model files");
        }
        boolean ort = !noOrt && Ort.available();
        if (!noOrt && !ort)
            System.err.println("vitq: note: ONNX Runtime is not on the class path (target/lib beside the jar): its rows are skipped");
        CalibOptions calibOptions = new CalibOptions();
        calibOptions.calib = calib;
        Path images = calibOptions.calibPath();

        List<Row> rows = new ArrayList<>();
        List<GemmRates.Shape> gemms = new ArrayList<>();
        Path tmp = Files.createTempDirectory("vitq-bench");
        try {
            for (String name : models) {
                Loaded l = load(name);
                rows.addAll(benchModel(l, images, ort, tmp));
                int[] mkn = fc1Gemm(l.model().spec().architecture(), batch);
                System.err.printf(Locale.ROOT, "vitq: %s: the fc1 GEMM, float and int8 ...%n", l.label());
                gemms.add(GemmRates.measure(l.label(), mkn[0], mkn[1], mkn[2], Math.min(seconds, GEMM_SECONDS)));
            }
        } finally {
            try (var s = Files.list(tmp)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(tmp);
        }
        System.err.println("vitq: register-only peak probes on every pool thread ...");
        GemmRates.Peaks peaks = GemmRates.peaks(Math.min(seconds, GEMM_SECONDS));
        List<Speedup> speedups = speedups(rows);
        System.out.print(markdown(rows));
        System.out.print("\n" + speedupMarkdown(speedups));
        System.out.print("\n" + gemmMarkdown(gemms, peaks, batch));
        if (!calibrations.isEmpty()) System.out.print("\n" + calibrationMarkdown(calibrations));
        if (json != null) {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Row r : rows) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("model", r.model());
                m.put("engine", r.engine());
                m.put("images_per_second", r.imagesPerSecond());
                m.put("ms_per_batch", r.msPerBatch());
                m.put("file_mb", r.fileMb());
                m.put("same_top1_as_vitq_float", r.sameTop1());
                m.put("batch", r.batch());
                m.put("slowest_round_images_per_second", r.slowestRound());
                m.put("fastest_round_images_per_second", r.fastestRound());
                m.put("round_images_per_second", r.rounds());
                out.add(m);
            }
            List<Map<String, Object>> ups = new ArrayList<>();
            for (Speedup u : speedups) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("model", u.model());
                m.put("engine", u.engine());
                m.put("over", u.over());
                m.put("ratio", u.ratio());
                m.put("round_ratios", u.roundRatios());
                m.put("median_round_ratio", u.median());
                m.put("lowest_round_ratio", u.lowest());
                m.put("highest_round_ratio", u.highest());
                ups.add(m);
            }
            List<Map<String, Object>> cal = new ArrayList<>();
            for (CalibrationRow c : calibrations) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("model", c.model());
                m.put("method", "PTQ4ViT W8A8");
                m.put("search_products", c.search());
                m.put("images", c.images());
                m.put("seconds", c.timing().total());
                m.put("forward_backward_seconds", c.timing().forwardBackward());
                m.put("linear_search_seconds", c.timing().linearSearch());
                m.put("matmul_search_seconds", c.timing().matmulSearch());
                m.put("candidate_products_scored_share", c.timing().scoredShare());
                cal.add(m);
            }
            List<Map<String, Object>> gemm = new ArrayList<>();
            for (GemmRates.Shape g : gemms) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("model", g.name());
                m.put("shape", g.m() + "x" + g.k() + "x" + g.n());
                m.put("float_gflops", g.floatGflops());
                m.put("int8_gops", g.int8Gops());
                m.put("int8_kernel", g.int8Kernel());
                gemm.add(m);
            }
            Map<String, Object> peak = new LinkedHashMap<>();
            peak.put("threads", peaks.threads());
            peak.put("float_fma_gflops", peaks.floatGflops());
            peak.put("vnni_gops", Double.isNaN(peaks.vnniGops()) ? null : peaks.vnniGops());
            Map<String, Object> all = new LinkedHashMap<>();
            all.put("threads", Runtime.getRuntime().availableProcessors());
            all.put("rows", out);
            all.put("speedups", ups);
            all.put("gemm", gemm);
            all.put("peaks", peak);
            all.put("calibration", cal);
            Reports.writeJson(json, all);
        }
        return 0;
    }

    private List<Row> benchModel(Loaded l, Path imageList, boolean ort, Path tmp) throws Exception {
        Model model = l.model();
        // one decode: the batch's distinct images, the plan's images among them
        int distinct = Math.max(Math.min(batch, 32), calibration ? CALIBRATION_IMAGES : PLAN_IMAGES);
        Tensor loaded = CalibrationSet.load(imageList, distinct, model.preprocessing()).images();
        Tensor x = batchOf(loaded, batch);

        QuantPlan plan;
        if (l.plan() != null) {
            if (calibration)
                throw new Main.UserException("--calibration times a PTQ4ViT W8A8 calibration of a zoo model; " + l.file() + " is quantized already");
            plan = l.plan();
            System.err.printf(Locale.ROOT, "vitq: %s: the file's own plan (%s %s)%n", l.label(), plan.info().method(), plan.info().bitsLabel());
        } else if (calibration) {
            CalibConfig cfg = CalibConfig.ptq4vit(8, 8).withGeluPowerOfTwo(true).withIntegerProducts(integerSearch);
            String search = integerSearch ? "integer products" : "float products";
            if (integerSearch) CalibOptions.noteIntegerSearchKernel(System.err);
            System.err.printf(Locale.ROOT, "vitq: %s%s: calibrating PTQ4ViT W8A8 (power-of-two GELU) on %d images, %s ...%n",
                    model.name(), l.random() ? " (random weights)" : "", CALIBRATION_IMAGES, search);
            Calibrator.Result r;
            try (ProgressBar bar = new ProgressBar("calibrate " + model.name() + " (ops)", Calibrator.forwardOrder(model).size())) {
                r = Calibrator.calibrate(model, batchOf(loaded, CALIBRATION_IMAGES), null, cfg, imageList.toString(),
                        (id, done, total) -> bar.update(done));
            }
            calibrations.add(new CalibrationRow(model.name(), search, CALIBRATION_IMAGES, r.timing()));
            System.err.printf(Locale.ROOT, "vitq: %s: calibration %.1f s%n", model.name(), r.timing().total());
            plan = r.plan();
        } else {
            CalibConfig cfg = CalibConfig.ptq4vit(8, 8).withGeluPowerOfTwo(true).withSearch(PLAN_CANDIDATES, PLAN_ROUNDS);
            System.err.printf(Locale.ROOT, "vitq: %s%s: plan PTQ4ViT W8A8 (power-of-two GELU, search shortened to %d images, "
                    + "%d candidates, %d round: scale values do not change speed)%n", model.name(),
                    l.random() ? " (random weights)" : "", PLAN_IMAGES, PLAN_CANDIDATES, PLAN_ROUNDS);
            plan = Calibrator.calibrate(model, batchOf(loaded, PLAN_IMAGES), null, cfg, imageList.toString(), null).plan();
        }

        Path qFile = l.file();
        if (qFile == null) {
            qFile = tmp.resolve(model.name() + ".safetensors");
            QuantizedModelFile.write(qFile, model.spec(), l.weights(), plan);
        }
        double floatMb = model.parameterCount() * 4 / 1e6, quantMb = Files.size(qFile) / 1e6;

        List<Engine> engines = new ArrayList<>();
        List<AutoCloseable> closeables = new ArrayList<>();
        try {
            engines.add(new Engine(VITQ_FLOAT, floatMb, () -> model.forward(x, FloatExecutor.INSTANCE).data()));
            FakeQuantExecutor fake = new FakeQuantExecutor(plan, model);
            engines.add(new Engine("vitq fake quant", quantMb, () -> model.forward(x, fake).data()));
            IntegerExecutor integer = new IntegerExecutor(plan, model);
            engines.add(new Engine(VITQ_INTEGER, quantMb, () -> model.forward(x, integer).data()));
            if (ort) {
                // the batch in native memory once: the per-call copy from a Java array is not the models' time
                Ort.Images images = new Ort.Images(x);
                closeables.add(images);
                byte[] floatOnnx = OnnxExporter.export(model, null, OnnxExporter.DEFAULT_OPSET).toByteArray();
                Ort floatSession = new Ort(floatOnnx, true);
                closeables.add(floatSession);
                engines.add(new Engine(ORT_FLOAT, floatOnnx.length / 1e6, () -> floatSession.logits(images)));
                // both stored forms of the activation codes (the same values): the export's default and the int8 option
                for (OnnxExporter.ActivationCodes codes : OnnxExporter.ActivationCodes.values()) {
                    byte[] qdq = OnnxExporter.export(model, plan, OnnxExporter.DEFAULT_OPSET, codes).toByteArray();
                    Ort session = new Ort(qdq, true);
                    closeables.add(session);
                    engines.add(new Engine(qdqEngine(codes), qdq.length / 1e6, () -> session.logits(images)));
                }
                // the deployment form: the Linears' codes as above, as MatMulInteger with the bias fused into ONNX Runtime's
                // integer kernel, the attention products on float operands
                byte[] deploy = OnnxExporter.exportForOnnxRuntime(model, plan, OnnxExporter.integerLinearsOpset(plan)).toByteArray();
                Ort deploySession = new Ort(deploy, true);
                closeables.add(deploySession);
                engines.add(new Engine(DEPLOYMENT_ENGINE, deploy.length / 1e6, () -> deploySession.logits(images)));
            }
            return measure(l.label(), engines);
        } finally {
            for (AutoCloseable c : closeables) c.close();
        }
    }

    /** One execution mode of a model: its name, the size of the file it runs from, one forward of the batch. */
    private record Engine(String name, double fileMb, Forward forward) {}

    /**
     * The engines' top-1 on the batch against the first one's (vitq float), then their speed, timed
     * side by side ({@link Throughput#interleaved}).
     */
    private List<Row> measure(String model, List<Engine> engines) throws Exception {
        int[] reference = top1(engines.get(0).forward().logits(), batch);
        int[] same = new int[engines.size()];
        List<Throughput.Job> jobs = new ArrayList<>();
        for (int e = 0; e < engines.size(); e++) {
            Forward f = engines.get(e).forward();
            same[e] = agree(reference, top1(f.logits(), reference.length));
            jobs.add(f::logits);
        }
        System.err.printf(Locale.ROOT, "vitq: %s: %d engines, %.0f s each in %d interleaved round%s (after a warm-up) ...%n",
                model, engines.size(), seconds, rounds, rounds == 1 ? "" : "s");
        List<Throughput.Result> results = Throughput.interleaved(jobs, batch, Math.min(seconds, 3), seconds, rounds);
        List<Row> rows = new ArrayList<>();
        for (int e = 0; e < engines.size(); e++) {
            Engine en = engines.get(e);
            Throughput.Result r = results.get(e);
            rows.add(new Row(model, en.name(), r.imagesPerSecond(), r.msPerRun(), en.fileMb(), same[e], batch, r.rounds()));
            System.err.printf(Locale.ROOT, "vitq: %s, %s: %.1f images/s (rounds %.1f-%.1f)%n", model, en.name(),
                    r.imagesPerSecond(), r.slowestRound(), r.fastestRound());
        }
        return rows;
    }

    /**
     * A model with its weights: the zoo checkpoint when one is found, random weights of the zoo shape
     * otherwise, or a quantized file with its plan ({@code file} and {@code plan} null for a zoo name).
     */
    private record Loaded(Model model, Weights weights, boolean random, Path file, QuantPlan plan) {
        /** The rows' model column: the model's name, and the file's name for a quantized file. */
        String label() { return file == null ? model.name() : model.name() + " (" + file.getFileName() + ")"; }
    }

    /**
     * Random weights only when no checkpoint exists: a checkpoint that is found but cannot be read
     * is the user's error (a bench that silently measured random weights would hide it).
     */
    private static Loaded load(String name) {
        ModelZoo.Entry zoo = ModelZoo.get(name);
        if (zoo == null) { // a file (call() checked that it exists)
            ModelLoader.Loaded l = ModelLoader.load(name, null);
            if (!l.quantized())
                throw new Main.UserException("--models " + name + ": not a quantized model file; give a float model by its zoo name "
                        + "(the bench makes its plan)");
            return new Loaded(l.model(), l.weights(), false, Path.of(name), l.plan());
        }
        if (ModelLoader.findCheckpoint(name).isEmpty()) {
            Weights w = RandomWeights.of(zoo.architecture(), 1);
            return new Loaded(zoo.build(w), w, true, null, null);
        }
        ModelLoader.Loaded l = ModelLoader.load(name, null);
        if (l.quantized()) throw new Main.UserException(name + ": found a quantized file; the bench needs the float model");
        return new Loaded(l.model(), l.weights(), false, null, null);
    }

    /** The images repeated (or cut) to a batch of {@code size}. */
    private static Tensor batchOf(Tensor images, int size) {
        int per = images.size() / images.dim(0);
        float[] d = new float[size * per];
        for (int i = 0; i < size; i++) System.arraycopy(images.data(), (i % images.dim(0)) * per, d, i * per, per);
        return new Tensor(d, size, images.dim(1), images.dim(2), images.dim(3));
    }

    /** One forward of the batch, returning its logits [batch, classes]. */
    @FunctionalInterface
    private interface Forward {
        float[] logits() throws Exception;
    }

    /** Top-1 (first maximum) of each of the {@code n} logit rows. */
    private static int[] top1(float[] logits, int n) { return Backward.topOne(logits, n, logits.length / n); }

    private static int agree(int[] a, int[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) if (a[i] == b[i]) n++;
        return n;
    }

    /** Seconds for each GEMM rate and each peak probe (or --seconds when shorter). */
    static final double GEMM_SECONDS = 2;

    /**
     * The fc1 GEMM {M, K, N} of a batch: a ViT's, every block's; a Swin's, that of the stage with the
     * most blocks (the third of Swin-T/S/B: most of the model's work).
     */
    static int[] fc1Gemm(Architecture a, int batch) {
        return switch (a) {
            case ViTConfig c -> new int[] {batch * c.tokens(), c.dim(), c.mlpHidden()};
            case SwinConfig c -> {
                int s = 0;
                for (int i = 1; i < c.stages(); i++) if (c.depth(i) >= c.depth(s)) s = i;
                yield new int[] {batch * c.tokens(s), c.dim(s), c.mlpHidden(s)};
            }
        };
    }

    static String gemmMarkdown(List<GemmRates.Shape> shapes, GemmRates.Peaks peaks, int batch) {
        StringBuilder md = new StringBuilder("| model | fc1 GEMM (M x K x N, batch " + batch + ") | float GFLOP/s | int8 GOPS | int8 kernel | int8 / float |\n"
                + "|---|---|---:|---:|---|---:|\n");
        for (GemmRates.Shape g : shapes) {
            md.append(String.format(Locale.ROOT, "| %s | %d x %d x %d | %.0f | %.0f | %s | %.2fx |%n", g.name(), g.m(), g.k(), g.n(),
                    g.floatGflops(), g.int8Gops(), g.int8Kernel(), g.int8Gops() / g.floatGflops()));
        }
        md.append(String.format(Locale.ROOT, "%nPeaks (register-only probes, %d threads): float FMA %.0f GFLOP/s, %s%n", peaks.threads(),
                peaks.floatGflops(), Double.isNaN(peaks.vnniGops()) ? "AVX-512 VNNI not measured (no native kernel)"
                        : String.format(Locale.ROOT, "AVX-512 VNNI %.0f GOPS", peaks.vnniGops())));
        return md.toString();
    }

    static String calibrationMarkdown(List<CalibrationRow> rows) {
        StringBuilder md = new StringBuilder("| model | calibration | images | total s | forward + backward s | Linear search s | matmul search s "
                + "| candidate products scored |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (CalibrationRow r : rows) {
            Calibrator.Timing t = r.timing();
            md.append(String.format(Locale.ROOT, "| %s | PTQ4ViT W8A8, %s | %d | %.1f | %.1f | %.1f | %.1f | %.0f %% |%n", r.model(), r.search(),
                    r.images(), t.total(), t.forwardBackward(), t.linearSearch(), t.matmulSearch(), 100 * t.scoredShare()));
        }
        return md.toString();
    }

    /** {@link #SPEEDUPS} of each model whose rows hold both engines, in the rows' order of models. */
    static List<Speedup> speedups(List<Row> rows) {
        List<Speedup> out = new ArrayList<>();
        for (String model : rows.stream().map(Row::model).distinct().toList()) {
            Map<String, Row> byEngine = new LinkedHashMap<>();
            for (Row r : rows) if (r.model().equals(model)) byEngine.put(r.engine(), r);
            for (Pair pair : SPEEDUPS) {
                Row a = byEngine.get(pair.engine()), b = byEngine.get(pair.over());
                if (a == null || b == null) continue;
                if (a.rounds().size() != b.rounds().size())
                    throw new IllegalStateException(model + ": " + a.rounds().size() + " rounds against " + b.rounds().size());
                List<Double> perRound = new ArrayList<>();
                for (int i = 0; i < a.rounds().size(); i++) perRound.add(a.rounds().get(i) / b.rounds().get(i));
                out.add(new Speedup(model, a.engine(), b.engine(), a.imagesPerSecond() / b.imagesPerSecond(), perRound));
            }
        }
        return out;
    }

    static String speedupMarkdown(List<Speedup> speedups) {
        StringBuilder md = new StringBuilder("| model | engine | over | speed-up | per round: median (lowest-highest) |\n"
                + "|---|---|---|---:|---:|\n");
        for (Speedup u : speedups) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2fx | %.2fx (%.2f-%.2fx) |%n", u.model(), u.engine(), u.over(),
                    u.ratio(), u.median(), u.lowest(), u.highest()));
        }
        return md.toString();
    }

    static String markdown(List<Row> rows) {
        StringBuilder md = new StringBuilder("| model | engine | images/s | rounds (slowest-fastest) | ms / batch | file MB | same top-1 as vitq float |\n"
                + "|---|---|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %.1f-%.1f | %.0f | %.1f | %s |%n", r.model(), r.engine(),
                    r.imagesPerSecond(), r.slowestRound(), r.fastestRound(), r.msPerBatch(), r.fileMb(), r.sameTop1() + "/" + r.batch()));
        }
        return md.toString();
    }
}
