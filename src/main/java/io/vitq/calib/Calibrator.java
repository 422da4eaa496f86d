package io.vitq.calib;

import io.vitq.model.AttentionOp;
import io.vitq.model.Backward;
import io.vitq.model.BackwardSink;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.OpQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parallel calibration (ALGORITHMS section 2, vitq decision 5): every op is calibrated on float
 * inputs and float targets. One float forward and one backward of the task loss over the
 * calibration batch deliver each op's input, output and output gradient, block by block (the
 * backward recomputes a block's internals from its stored input); each op's interval search runs
 * as soon as its tensors arrive, so memory stays at a few block-sized buffers. The result is the
 * plan in forward order.
 */
public final class Calibrator {
    private Calibrator() {}

    /** Called after each op's search; {@code done} of {@code total} ops. */
    @FunctionalInterface
    public interface Progress {
        void opDone(String opId, int done, int total);
    }

    /**
     * Wall time of the phases, in seconds: the float forward + backward, and the interval searches;
     * {@code biasCorrection} (VT-PTQ) and {@code gptq} (GPTQ's Hessians and rounding) are parts of
     * {@code linearSearch}. {@code scoredShare}: the share of the candidates' (candidate, image)
     * products the searches computed, branch and bound having skipped the rest (NaN when none ran).
     */
    public record Timing(double forwardBackward, double linearSearch, double matmulSearch, double biasCorrection, double gptq,
                         double total, double scoredShare) {
        public double search() { return linearSearch + matmulSearch; }
    }

    /**
     * @param roundedWeights with GPTQ ({@link CalibConfig#gptq()}): each Linear's rounded weight
     *                       {@code [out, in]} by op id, which the plan's scales quantize exactly; empty otherwise
     */
    public record Result(QuantPlan plan, Timing timing, Map<String, float[]> roundedWeights) {
        public Result(QuantPlan plan, Timing timing) { this(plan, timing, Map.of()); }
    }

    /**
     * @param images      calibration images {@code [N, 3, S, S]}, preprocessed as for evaluation
     * @param labels      true labels (used only when {@code cfg.trueLabels()}), or null
     * @param calibration a description of the calibration set for the plan (e.g. the list file)
     */
    public static Result calibrate(Model model, Tensor images, int[] labels, CalibConfig cfg, String calibration,
                                   Progress progress) {
        if (cfg.reparamNorms())
            throw new IllegalArgumentException("the LayerNorm reparameterisation changes the model: calibrate with the folds "
                    + "(NormFolds.calibrate, io.Reparameterization.apply, then calibrateFolded)");
        return calibrateFolded(model, images, labels, cfg, calibration, progress, java.util.List.of());
    }

    /**
     * Calibration of a model into which {@code folds} have been folded ({@code io.Reparameterization}):
     * the folded Linears keep the folds' input quantizers, everything else is searched; the plan
     * carries the folds, so it applies to the unfolded model.
     */
    public static Result calibrateFolded(Model model, Tensor images, int[] labels, CalibConfig settings, String calibration,
                                         Progress progress, java.util.List<io.vitq.quant.NormFold> folds) {
        if (settings.rotation() != model.spec().architecture().rotation())
            throw new IllegalArgumentException(settings.rotateInputs() ? "input rotation: calibrate the model whose "
                    + settings.rotation().linears() + " inputs are rotated (io.Reparameterization.rotated)"
                    : model.name() + " rotates its inputs: the settings must say so (rotation)");
        CalibConfig cfg = folds.isEmpty() ? settings : settings.withFixedInputs(NormFolds.inputs(folds));
        if (cfg.trueLabels() && labels == null)
            throw new IllegalArgumentException("true-label gradients need labelled calibration images");
        int samples = images.dim(0);
        List<String> order = forwardOrder(model);
        java.util.Set<String> linearIds = new java.util.HashSet<>();
        for (Linear l : model.linears()) linearIds.add(l.id());
        for (CalibConfig.OpBits o : cfg.opBits()) {
            List<String> matched = order.stream().filter(o::matches).toList();
            if (matched.isEmpty())
                throw new IllegalArgumentException("--op-bits " + o.pattern() + ": matches no op of " + model.name()
                        + " (op ids: 'vitq info --model ... --ops')");
            // an attention product has two activation operands and no weight: a weight width there would be ignored
            if (o.weightBits() != cfg.weightBits() && matched.stream().noneMatch(linearIds::contains))
                throw new IllegalArgumentException("--op-bits " + o.pattern() + "=w" + o.weightBits() + "a" + o.activationBits()
                        + ": matches attention products only (" + matched.get(0) + (matched.size() > 1 ? ", ..." : "")
                        + "), which have no weights; write w" + cfg.weightBits() + "a" + o.activationBits()
                        + " (the model's weight bits) for their operands' " + o.activationBits() + " bits");
        }
        long t0 = System.nanoTime();
        Searches run = cfg.sequential() ? SequentialCalibration.search(model, images, labels, cfg, progress)
                : search(model, images, labels, cfg, id -> List.of(cfg.forOp(id)), null, progress);
        long total = System.nanoTime() - t0;
        Map<String, OpQuant> found = new HashMap<>();
        run.results().forEach((id, byBits) -> found.put(id, byBits.values().iterator().next()));
        long[] searchNanos = run.nanos();

        Map<String, OpQuant> ops = new LinkedHashMap<>();
        for (String id : order) {
            OpQuant q = found.get(id);
            if (q == null) throw new IllegalStateException(id + ": no calibration data arrived for this op");
            ops.put(id, q);
        }
        Map<String, String> options = new LinkedHashMap<>(cfg.options());
        if (cfg.gptq() && run.roundedWeights().isEmpty()) // the plan's scales then give the weights
            options.put(CalibConfig.WEIGHT_ROUNDING, CalibConfig.NEAREST_ROUNDING);
        PlanInfo info = new PlanInfo(model.name(), cfg.method(), cfg.weightBits(), cfg.activationBits(),
                cfg.isRepq() ? RepqRule.METRIC : cfg.metric().cliName(), calibrationLabel(calibration, samples), Instant.now().toString(),
                "vitq 0.1.0", options);
        Timing timing = new Timing((total - searchNanos[0] - searchNanos[1]) / 1e9, searchNanos[0] / 1e9,
                searchNanos[1] / 1e9, searchNanos[2] / 1e9, searchNanos[3] / 1e9, total / 1e9, run.work().share());
        return new Result(new QuantPlan(info, ops, folds), timing, run.roundedWeights());
    }

    /**
     * Every op's search results (by its weight bits, in the order of the configs tried), the search
     * times, and GPTQ's weights (by op id) when the config asks for them.
     */
    record Searches(Map<String, Map<Integer, OpQuant>> results, long[] nanos, Map<String, float[]> roundedWeights, SearchWork work) {}

    /**
     * The recording pass: one float forward and backward; each op's tensors go to its searches as
     * they arrive, once per configuration {@code configs} gives for the op (mixed precision tries
     * several bit widths), and then to {@code also} (e.g. to measure unit sensitivities).
     * {@code nanos} = search time of Linear ops and of matmuls, and the part of the former spent
     * in bias correction.
     */
    static Searches search(Model model, Tensor images, int[] labels, CalibConfig cfg,
                           java.util.function.Function<String, List<CalibConfig>> configs, BackwardSink also,
                           Progress progress) {
        int samples = images.dim(0);
        int total = forwardOrder(model).size();
        Map<String, Map<Integer, OpQuant>> found = new HashMap<>();
        Map<String, float[]> rounded = new HashMap<>();
        long[] searchNanos = new long[4];
        SearchWork work = new SearchWork();
        BackwardSink sink = new BackwardSink() {
            @Override
            public void onLinear(Linear op, float[] x, float[] out, float[] gradOut, int rows) {
                long s = System.nanoTime();
                Map<Integer, OpQuant> r = new LinkedHashMap<>();
                for (CalibConfig c : configs.apply(op.id())) {
                    LinearSearch search = new LinearSearch(op, x, out, gradOut, rows, samples, c);
                    r.put(c.weightBits(), search.run());
                    work.add(search);
                    searchNanos[2] += search.biasCorrectionNanos();
                    searchNanos[3] += search.gptqNanos();
                    if (search.roundedWeight() != null) rounded.put(op.id(), search.roundedWeight());
                }
                found.put(op.id(), r);
                searchNanos[0] += System.nanoTime() - s;
                if (also != null) also.onLinear(op, x, out, gradOut, rows);
                if (progress != null) progress.opDone(op.id(), found.size(), total);
            }

            @Override
            public void onMatmul(String id, float[] a, float[] b, float[] out, float[] gradOut,
                                 int groups, int heads, int m, int k, int n) {
                long s = System.nanoTime();
                Map<Integer, OpQuant> r = new LinkedHashMap<>();
                for (CalibConfig c : configs.apply(id)) {
                    boolean twin = c.twinSoftmax() && !c.logSoftmax() && id.endsWith(".matmul2");
                    MatmulSearch search = new MatmulSearch(id, a, b, out, gradOut, groups, heads, m, k, n, c, twin);
                    r.put(c.weightBits(), search.run());
                    work.add(search);
                }
                found.put(id, r);
                searchNanos[1] += System.nanoTime() - s;
                if (also != null) also.onMatmul(id, a, b, out, gradOut, groups, heads, m, k, n);
                if (progress != null) progress.opDone(id, found.size(), total);
            }
        };
        int[] targets = cfg.trueLabels() ? labels : null;
        Backward.run(model, images, targets, sink);
        return new Searches(found, searchNanos, rounded, work);
    }

    /**
     * Quantizable op ids in forward order: the Linear layers, with each attention's matmul1 and
     * matmul2 placed before its output projection ({@code <prefix>.proj}).
     */
    public static List<String> forwardOrder(Model model) {
        Map<String, AttentionOp> attnByProj = new HashMap<>();
        for (AttentionOp a : model.attentionOps()) attnByProj.put(a.prefix() + ".proj", a);
        List<String> order = new ArrayList<>();
        for (Linear l : model.linears()) {
            AttentionOp a = attnByProj.get(l.id());
            if (a != null) {
                order.add(a.matmul1Id());
                order.add(a.matmul2Id());
            }
            order.add(l.id());
        }
        return order;
    }

    /** The plan's record of its calibration images: {@code "LIST (32 images)"}. */
    static String calibrationLabel(String calibration, int samples) {
        return calibration + " (" + samples + (samples == 1 ? " image)" : " images)");
    }
}
