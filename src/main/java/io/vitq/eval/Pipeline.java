package io.vitq.eval;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.calib.MixedPrecisionCalibration;
import io.vitq.calib.mp.MpTarget;
import io.vitq.data.BatchLoader;
import io.vitq.data.CalibrationSet;
import io.vitq.data.Dataset;
import io.vitq.data.DatasetException;
import io.vitq.data.EvalTransform;
import io.vitq.data.ImageList;
import io.vitq.io.ModelLoader;
import io.vitq.model.Executor;
import io.vitq.model.Model;
import io.vitq.quant.QuantPlan;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The steps the command line and the Java API ({@code io.vitq.Vitq}) share: calibrating a loaded
 * model on a calibration set, and evaluating a model over a dataset (with the label checks). Not
 * public API: the CLI commands and {@code io.vitq.Vitq} call it, users call {@code io.vitq.Vitq}.
 * User mistakes are {@link DatasetException}s or {@link IllegalArgumentException}s with a one-line
 * message naming the file.
 */
public final class Pipeline {
    private Pipeline() {}

    /** Progress of one long step (a progress bar, or nothing). */
    public interface Progress extends AutoCloseable {
        void update(int done);

        @Override
        void close();
    }

    /** Starts a {@link Progress} for a step with a label and a number of items. */
    @FunctionalInterface
    public interface Progresses {
        Progress start(String label, int total);

        /** No progress output. */
        Progresses NONE = (label, total) -> new Progress() {
            @Override public void update(int done) {}

            @Override public void close() {}
        };
    }

    // ---------------------------------------------------------------- bits

    /**
     * A bit setting: {@code wXaY} (weight and activation bits, each 2..16), or {@code mp6} /
     * {@code mp8} (VT-PTQ's mixed precision; weight and activation are then the target's base bits).
     */
    public record Bits(int weight, int activation, MpTarget mixed) {
        private static final java.util.regex.Pattern FORM = java.util.regex.Pattern.compile("w(\\d+)a(\\d+)");

        /** True when {@code s} has the fixed form wXaY (any widths; {@link #parse} checks them). */
        public static boolean fixedForm(String s) { return FORM.matcher(s.toLowerCase(Locale.ROOT)).matches(); }

        /** @throws IllegalArgumentException saying what is expected (without naming an option) */
        public static Bits parse(String s) {
            String l = s.toLowerCase(Locale.ROOT);
            if (l.startsWith("mp")) {
                try {
                    MpTarget t = MpTarget.parse(l);
                    return new Bits(t.baseBits(), t.baseBits(), t);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("mixed precision is mp6 or mp8");
                }
            }
            java.util.regex.Matcher m = FORM.matcher(l);
            if (!m.matches()) throw new IllegalArgumentException("expected wXaY (e.g. w8a8, w6a6) or mp6/mp8");
            int w = Integer.parseInt(m.group(1)), a = Integer.parseInt(m.group(2));
            if (w < 2 || w > 16 || a < 2 || a > 16) throw new IllegalArgumentException("bit widths must be in 2..16");
            return new Bits(w, a, null);
        }

        /** W8A8, or MP8. */
        public String label() { return mixed != null ? mixed.cliName().toUpperCase(Locale.ROOT) : "W" + weight + "A" + activation; }
    }

    // ---------------------------------------------------------------- calibration

    /**
     * A calibration's outcome.
     *
     * @param imageSeconds           decoding and preprocessing the calibration images
     * @param mixedPrecisionReport   for mixed precision, the allocation's lines (bits and nuclear norm per unit, size); else empty
     * @param nuclearNormSeconds     mixed precision: the SVDs; 0 otherwise
     * @param unitErrorSeconds       mixed precision: unit errors and the allocation; 0 otherwise
     * @param reparamSeconds         the LayerNorm reparameterisation's forward pass, per-channel ranges and
     *                               folding; 0 without it (the plan then has folds: {@code io.Reparameterization})
     * @param model                  the float model to run and store with the plan: the calibrated one, with the
     *                               plan's folds applied and GPTQ's weights when the config asks for them
     */
    public record Calibration(QuantPlan plan, Calibrator.Timing timing, double imageSeconds, int images,
                              List<String> mixedPrecisionReport, double nuclearNormSeconds, double unitErrorSeconds,
                              double reparamSeconds, ModelLoader.Loaded model) {
        public Calibration {
            mixedPrecisionReport = List.copyOf(mixedPrecisionReport);
        }

        /** Wall time of the whole calibration, images included. */
        public double seconds() { return imageSeconds + reparamSeconds + timing.total(); }
    }

    /** Key of the plan option that keeps each mixed-precision unit's nuclear norm ({@code unit=value, ...}). */
    public static final String UNIT_NUCLEAR_NORMS = "unit_nuclear_norms";

    /**
     * Loads the first {@code calibSize} images of {@code calib} with the model's preprocessing and
     * calibrates with {@code cfg} (fixed bits), or with VT-PTQ's mixed precision when
     * {@code mixed} is given. A mixed-precision plan also keeps every unit's nuclear norm
     * ({@link #UNIT_NUCLEAR_NORMS}), beside the bits and size the calibration records.
     *
     * @param sizeMb  mixed precision's size budget, or null for the target's default
     * @param msaNorm mixed precision's attention-unit norm (ignored for fixed bits)
     */
    public static Calibration calibrate(ModelLoader.Loaded l, Path calib, int calibSize, CalibConfig cfg, MpTarget mixed,
                                        Double sizeMb, MixedPrecisionCalibration.MsaNorm msaNorm, Progresses progress) {
        if (l.quantized()) throw new IllegalArgumentException(l.checkpoint() + " is already quantized: quantize the float checkpoint");
        if (mixed != null && !cfg.isVt()) throw new IllegalArgumentException("mixed precision is VT-PTQ's (method vtptq), not " + cfg.method() + "'s");
        if (mixed != null && cfg.sequential())
            throw new IllegalArgumentException("mixed precision chooses the bits after the searches; calibrate it in parallel");
        long t0 = System.nanoTime();
        CalibrationSet set = CalibrationSet.load(calib, calibSize, l.model().preprocessing());
        double load = (System.nanoTime() - t0) / 1e9;
        if (cfg.chooseQuantizers() && mixed == null) return calibrateChoosing(l, set, load, calib, cfg, msaNorm, progress);
        return calibrate(l, set, load, calib, cfg, mixed, sizeMb, msaNorm, progress);
    }

    /** {@link #calibrate} on images already loaded ({@code load} seconds, reported as the calibration's image time). */
    private static Calibration calibrate(ModelLoader.Loaded l, CalibrationSet set, double load, Path calib, CalibConfig cfg,
                                         MpTarget mixed, Double sizeMb, MixedPrecisionCalibration.MsaNorm msaNorm,
                                         Progresses progress) {
        int[] labels = cfg.trueLabels() ? set.labelsOrNull() : null;
        if (cfg.trueLabels() && labels == null)
            throw new DatasetException(calib + ": unlabelled images; the Hessian gradients from true labels (--labels) need labelled images");
        int classes = l.model().numClasses();
        for (int i = 0; labels != null && i < labels.length; i++)
            if (labels[i] >= classes)
                throw new DatasetException(calib + ": calibration image " + (i + 1) + " has label " + labels[i] + ", outside the model's "
                        + classes + " classes (0-" + (classes - 1) + "); --labels takes the gradients from true labels");
        cfg = cfg.forArchitecture(l.model().spec().architecture());
        if (cfg.rotateInputs()) l = io.vitq.io.Reparameterization.rotated(l, cfg.rotation()); // the equivalent model the plan quantizes
        Model model = l.model();
        String label = "calibrate " + cfg.method() + " " + (mixed != null ? mixed.cliName().toUpperCase(Locale.ROOT) : cfg.bitsLabel())
                + (cfg.sequential() ? " sequential" : "");
        try (Progress bar = progress.start(label, Calibrator.forwardOrder(model).size())) {
            if (mixed == null) {
                long t1 = System.nanoTime();
                List<io.vitq.quant.NormFold> folds = cfg.reparamNorms() ? io.vitq.calib.NormFolds.calibrate(model, set.images(),
                        cfg, io.vitq.io.Reparameterization.foldable(model)) : List.of();
                ModelLoader.Loaded folded = io.vitq.io.Reparameterization.apply(l, folds); // l itself without folds
                double reparam = folds.isEmpty() ? 0 : (System.nanoTime() - t1) / 1e9;
                Calibrator.Result r = Calibrator.calibrateFolded(folded.model(), set.images(), labels, cfg, calib.toString(),
                        (id, done, total) -> bar.update(done), folds);
                ModelLoader.Loaded rounded = io.vitq.io.Reparameterization.withLinearWeights(folded, r.roundedWeights(),
                        r.roundedWeights().size() + " Linear weights rounded by GPTQ");
                return new Calibration(r.plan(), r.timing(), load, set.size(), List.of(), 0, 0, reparam, rounded);
            }
            MixedPrecisionCalibration.Result m = MixedPrecisionCalibration.calibrate(model, set.images(), labels, cfg, mixed,
                    sizeMb, msaNorm, calib.toString(), (id, done, total) -> bar.update(done));
            QuantPlan plan = withNuclearNorms(m.plan(), m.allocation());
            return new Calibration(plan, m.timing(), load, set.size(), m.allocation().report(), m.nuclearNorms(), m.unitErrors(),
                    0, l);
        }
    }

    /**
     * {@link CalibConfig#chooseQuantizers}: calibrates with the twins ({@link CalibConfig#withoutChoice})
     * and with AdaLog's quantizers ({@link CalibConfig#adaLogCandidate}), and keeps the one whose
     * logits on the calibration images are closer to the float model's (mean KL(float || quantized),
     * ties to the twins, whose integer form is exact). Its timing is both calibrations'.
     */
    private static Calibration calibrateChoosing(ModelLoader.Loaded l, CalibrationSet set, double load, Path calib, CalibConfig cfg,
                                                 MixedPrecisionCalibration.MsaNorm msaNorm, Progresses progress) {
        Calibration twins = calibrate(l, set, load, calib, cfg.withoutChoice(), null, null, msaNorm,
                (label, total) -> progress.start(label + ", twin quantizers (1 of 2)", total));
        Calibration adaLog = calibrate(l, set, 0, calib, cfg.adaLogCandidate(), null, null, msaNorm,   // the images' time counted once
                (label, total) -> progress.start(label + ", AdaLog's quantizers (2 of 2)", total));
        long t0 = System.nanoTime();
        io.vitq.tensor.Tensor images = set.images();
        float[] reference = l.model().forward(images).data();
        double klTwins = meanKl(reference, twins, images), klAdaLog = meanKl(reference, adaLog, images);
        double choosing = (System.nanoTime() - t0) / 1e9;
        boolean pickAdaLog = klAdaLog < klTwins;
        Calibration c = pickAdaLog ? adaLog : twins, other = pickAdaLog ? twins : adaLog;
        String why = String.format(Locale.ROOT, "%s: mean KL(float || quantized) %.5f on the %d calibration images, against %.5f "
                + "with %s", pickAdaLog ? "AdaLog's quantizers, squared-error metric" : "twin quantizers, " + cfg.metric().cliName()
                + " metric", Math.min(klTwins, klAdaLog), c.images(), Math.max(klTwins, klAdaLog),
                pickAdaLog ? "the twins" : "AdaLog's quantizers");
        Calibrator.Timing a = c.timing(), b = other.timing();
        Calibrator.Timing both = new Calibrator.Timing(a.forwardBackward() + b.forwardBackward(), a.linearSearch() + b.linearSearch(),
                a.matmulSearch() + b.matmulSearch(), a.biasCorrection() + b.biasCorrection(), a.gptq() + b.gptq(),
                a.total() + b.total() + choosing, a.scoredShare());
        return new Calibration(c.plan().withInfo(c.plan().info().withOption(CalibConfig.QUANTIZER_CHOICE, why)), both,
                c.imageSeconds() + other.imageSeconds(), c.images(), c.mixedPrecisionReport(), 0, 0,
                c.reparamSeconds() + other.reparamSeconds(), c.model());
    }

    /** Mean KL(float || quantized) of the calibrated model on {@code images} against the float logits. */
    private static double meanKl(float[] reference, Calibration c, io.vitq.tensor.Tensor images) {
        io.vitq.model.Model m = c.model().model();
        float[] q = m.forward(images, new io.vitq.quant.FakeQuantExecutor(c.plan(), m)).data();
        int n = images.dim(0), classes = q.length / n;
        double[] kl = new double[n];
        for (int i = 0; i < n; i++) kl[i] = FpComparison.kl(reference, i * classes, q, i * classes, classes);
        return FpComparison.meanKl(kl);
    }

    /** The plan with each unit's nuclear norm added to its options, in the units' order. */
    private static QuantPlan withNuclearNorms(QuantPlan plan, io.vitq.calib.mp.MixedPrecision.Allocation a) {
        StringBuilder sb = new StringBuilder();
        var units = a.plan().units();
        for (int i = 0; i < units.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(units.get(i).id()).append('=')
                    .append(String.format(Locale.ROOT, "%.6g", a.sensitivity().nuclearNorm(i)));
        }
        return plan.withInfo(plan.info().withOption(UNIT_NUCLEAR_NORMS, sb.toString()));
    }

    // ---------------------------------------------------------------- evaluation

    /**
     * Runs {@code model} with {@code ex} over the (first {@code limit}) images of {@code data}, and
     * with {@code reference} too when it is non-null (the float model of a quantized one).
     *
     * @param label the progress label
     */
    public static EvalResult evaluate(Model model, Executor ex, Executor reference, Path data, Integer limit, int batch,
                                      String label, Progresses progress) {
        return evaluate(model, ex, reference, data, limit, null, batch, label, progress);
    }

    /**
     * @param shard the images of one shard of a split evaluation ({@link EvalShards}), or null for all
     * @param label the progress label
     */
    public static EvalResult evaluate(Model model, Executor ex, Executor reference, Path data, Integer limit,
                                      EvalShards.Range shard, int batch, String label, Progresses progress) {
        return evaluate(model, ex, Evaluator.Reference.of(model, reference), data, limit, shard, batch, label, progress);
    }

    /** As above, compared with {@code reference}'s logits (null: no comparison). */
    public static EvalResult evaluate(Model model, Executor ex, Evaluator.Reference reference, Path data, Integer limit,
                                      EvalShards.Range shard, int batch, String label, Progresses progress) {
        Dataset ds = checkLabels(data, dataset(data, limit), model.numClasses());
        if (shard != null) ds = shard.of(ds, data);
        int b = Math.min(batch, ds.size()); // a batch never needs more room than the images
        int s = model.preprocessing().inputSize();
        if ((long) b * 3 * s * s > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("batch " + batch + ": too large for one array of preprocessed images");
        try (BatchLoader loader = new BatchLoader(ds, new EvalTransform(model.preprocessing()), b);
             Progress bar = progress.start(label, ds.size())) {
            return Evaluator.run(model, ex, reference, data.toString(), loader, batch, bar::update);
        }
    }

    /** One batch of {@link #forward}: images {@code start ..} of the list, their preprocessed inputs and logits [n, classes]. */
    @FunctionalInterface
    public interface Forwarded {
        void accept(int start, io.vitq.tensor.Tensor inputs, float[] logits) throws java.io.IOException;
    }

    /**
     * The images' logits, {@code batch} at a time and in order, decoded in the background by {@link BatchLoader}
     * (the memory of a few batches however many images; {@code vitq predict}, {@link io.vitq.Vitq#predict}).
     *
     * @throws io.vitq.data.ImageLoadException naming an image that cannot be decoded, when its batch is reached
     */
    public static void forward(Model model, Executor ex, List<Path> images, int batch, Forwarded each) throws java.io.IOException {
        List<ImageList.Entry> entries = new java.util.ArrayList<>();
        for (Path p : images) entries.add(new ImageList.Entry(p.toAbsolutePath().normalize(), Dataset.NO_LABEL));
        Dataset ds = new ImageList("the images given", entries, List.of());
        try (BatchLoader loader = new BatchLoader(ds, new EvalTransform(model.preprocessing()), batch)) {
            while (loader.hasNext()) {
                io.vitq.data.Batch b = loader.next();
                each.accept(b.start(), b.images(), model.forward(b.images(), ex).data());
            }
        } catch (io.vitq.data.ImageLoadException e) {
            throw placedInList(e, entries);
        }
    }

    /**
     * The loader's failure placed among the images given: "(image 2 of 3)", nothing for one image (the
     * loader names a dataset, which a list of files does not have).
     */
    private static io.vitq.data.ImageLoadException placedInList(io.vitq.data.ImageLoadException e, List<ImageList.Entry> entries) {
        if (!(e.getCause() instanceof io.vitq.data.ImageLoadException first)) return e;
        if (entries.size() == 1) return first;
        int i = 0;
        while (i < entries.size() && !entries.get(i).path().equals(first.path())) i++;
        return i == entries.size() ? e : new io.vitq.data.ImageLoadException(first, "image " + (i + 1) + " of " + entries.size());
    }

    /** Decodes and preprocesses the given image files into one batch [N, 3, S, S]. */
    public static io.vitq.tensor.Tensor preprocess(List<Path> images, io.vitq.data.Preprocessing pre) {
        EvalTransform t = new EvalTransform(pre);
        int s = pre.inputSize(), per = t.imageFloats();
        float[] x = new float[images.size() * per];
        for (int i = 0; i < images.size(); i++) t.load(images.get(i), x, i * per);
        return new io.vitq.tensor.Tensor(x, images.size(), 3, s, s);
    }

    /** The images of {@code data} (the first {@code limit} when given); an empty path or no images is an error. */
    public static Dataset dataset(Path data, Integer limit) {
        if (data.toString().isBlank()) throw new DatasetException("empty path");
        if (!Files.exists(data)) throw new DatasetException(data + ": no such file or folder");
        Dataset ds = limit == null ? Dataset.open(data) : Dataset.open(data, limit);
        if (ds.size() == 0) throw new DatasetException(data + ": no images found");
        return ds;
    }

    /**
     * Labels must be class indices of a model with {@code classes} classes; a class-folder dataset
     * must have one folder per class, since its labels are folder indices (torchvision's
     * ImageFolder) and a subset of the classes would shift them all silently.
     */
    public static Dataset checkLabels(Path data, Dataset ds, int classes) {
        if (ds instanceof ImageList l && !l.classNames().isEmpty() && l.classNames().size() != classes) {
            throw new DatasetException("--data " + data + ": " + l.classNames().size() + (l.classNames().size() == 1 ? " class folder" : " class folders") + ", but the model has "
                    + classes + " classes; folder labels are the folders' sorted indices, so every class needs a folder "
                    + "(empty ones count). For a subset of the classes use a list file ('path label' per line)");
        }
        for (int i = 0; i < ds.size(); i++) {
            if (ds.label(i) >= classes) {
                throw new DatasetException("--data " + data + ": " + ds.path(i) + " has label " + ds.label(i)
                        + ", but the model has " + classes + " classes (0.." + (classes - 1) + ")");
            }
        }
        return ds;
    }
}
