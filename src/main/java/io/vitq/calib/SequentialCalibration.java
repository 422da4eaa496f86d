package io.vitq.calib;

import io.vitq.model.AttentionOp;
import io.vitq.model.AttentionOperands;
import io.vitq.model.Backward;
import io.vitq.model.BackwardSink;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.OpQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sequential calibration (ALGORITHMS decision 5's option; the "parallel" default calibrates every
 * op on float inputs): one forward over the calibration images in which each op is calibrated
 * when the forward reaches it and from then on runs fake-quantized, so every op's search sees
 * inputs that carry the quantization error of all the ops before it. Its target is the float op
 * applied to those inputs. Within an attention, matmul1 is calibrated first; matmul2 then sees
 * the probabilities of the quantized q . k^T.
 *
 * <p>The Hessian metric's output gradients come from one float forward and backward beforehand:
 * the float network's gradients, since vitq has no backward through quantized ops. [INFERRED]
 * (the reference's sequential mode back-propagates through the partly quantized network).
 * Memory: one output-sized gradient per op, and the whole calibration batch in one forward.
 */
final class SequentialCalibration implements Executor {
    private final Model model;
    private final CalibConfig cfg;
    private final int samples;
    private final Map<String, Tensor> gradients;
    private final Calibrator.Progress progress;
    private final int total;
    private final PlanInfo info;
    private final Map<String, Map<Integer, OpQuant>> found = new LinkedHashMap<>();
    /** Search time of Linear ops, of matmuls, and bias correction (part of the first). */
    private final long[] nanos = new long[4];
    private final SearchWork work = new SearchWork();

    private SequentialCalibration(Model model, CalibConfig cfg, int samples, Map<String, Tensor> gradients,
                                  Calibrator.Progress progress) {
        this.model = model;
        this.cfg = cfg;
        this.samples = samples;
        this.gradients = gradients;
        this.progress = progress;
        this.total = Calibrator.forwardOrder(model).size();
        this.info = new PlanInfo(model.name(), cfg.method(), cfg.weightBits(), cfg.activationBits());
    }

    /** Every op's plan entry (by its weight bits) and the search times, as {@link Calibrator#search} gives them. */
    static Calibrator.Searches search(Model model, Tensor images, int[] labels, CalibConfig cfg, Calibrator.Progress progress) {
        Map<String, Tensor> gradients = null;
        if (cfg.needsGradients()) {
            gradients = new HashMap<>();
            BackwardSink sink = BackwardSink.gradients(gradients);
            int[] targets = cfg.trueLabels() ? labels : null;
            Backward.run(model, images, targets, sink);
        }
        SequentialCalibration run = new SequentialCalibration(model, cfg, images.dim(0), gradients, progress);
        model.forward(images, run);
        return new Calibrator.Searches(run.found, run.nanos, Map.of(), run.work);
    }

    private float[] gradient(String id) {
        if (gradients == null) return null;
        Tensor g = gradients.get(id);
        if (g == null) throw new IllegalStateException(id + ": the backward pass gave no gradient");
        return g.data();
    }

    /** An executor running only the ops given, fake-quantized; every other op in float. */
    private FakeQuantExecutor quantized(String... ids) {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        for (String id : ids) ops.put(id, only(id));
        return new FakeQuantExecutor(new QuantPlan(info, ops), model);
    }

    private OpQuant only(String id) { return found.get(id).values().iterator().next(); }

    private void done(String id, OpQuant q, long startNanos, int slot) {
        found.put(id, Map.of(cfg.forOp(id).weightBits(), q));
        nanos[slot] += System.nanoTime() - startNanos;
        if (progress != null) progress.opDone(id, found.size(), total);
    }

    @Override
    public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
        String id = op.id();
        if (!found.containsKey(id)) {
            long t = System.nanoTime();
            float[] xs = Arrays.copyOf(x, m * op.in());
            float[] o = new float[m * op.out()];
            FloatExecutor.INSTANCE.linear(op, xs, m, o, Activation.NONE, false); // fc1: pre-GELU, as recorded
            LinearSearch search = new LinearSearch(op, xs, o, gradient(id), m, samples, cfg.forOp(id));
            OpQuant q = search.run();
            work.add(search);
            nanos[2] += search.biasCorrectionNanos();
            done(id, q, t, 0);
        }
        quantized(id).linear(op, x, m, y, act, accumulate);
    }

    @Override
    public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
        var s = op.spec();
        int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim();
        String m1 = op.matmul1Id(), m2 = op.matmul2Id();
        if (!found.containsKey(m1)) {
            long t = System.nanoTime();
            AttentionOperands f = AttentionOperands.of(op, qkv, groups);
            MatmulSearch search = new MatmulSearch(m1, f.q(), f.kT(), f.scores(), gradient(m1), groups, H, T, d, T,
                    cfg.forOp(m1), false);
            done(m1, search.run(), t, 1);
            work.add(search);
        }
        if (!found.containsKey(m2)) {
            long t = System.nanoTime();
            // matmul2's float inputs: the probabilities of the quantized q . k^T, and v
            float[] probs = new float[groups * H * T * T], tokens = new float[groups * T * D];
            quantized(m1).attention(op, qkv, groups, tokens, probs);
            float[] v = new float[groups * H * T * d], o = new float[groups * H * T * d];
            for (int g = 0; g < groups; g++)
                for (int h = 0; h < H; h++)
                    for (int i = 0; i < T; i++) {
                        int hm = ((g * H + h) * T + i) * d;
                        System.arraycopy(qkv, (g * T + i) * 3 * D + 2 * D + h * d, v, hm, d);
                        System.arraycopy(tokens, (g * T + i) * D + h * d, o, hm, d);
                    }
            CalibConfig c = cfg.forOp(m2);
            MatmulSearch search = new MatmulSearch(m2, probs, v, o, gradient(m2), groups, H, T, T, d, c, c.twinSoftmax());
            done(m2, search.run(), t, 1);
            work.add(search);
        }
        quantized(m1, m2).attention(op, qkv, groups, out);
    }
}
