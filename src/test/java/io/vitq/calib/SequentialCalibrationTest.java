package io.vitq.calib;

import io.vitq.calib.mp.MpTarget;
import io.vitq.model.AttentionOp;
import io.vitq.model.AttentionOperands;
import io.vitq.model.BackwardSink;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.SwinTransformer;
import io.vitq.model.VisionTransformer;
import io.vitq.model.Backward;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.Granularity;
import io.vitq.quant.HeadLayout;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OpQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QkvPart;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.vitq.testutil.TinyModels.IMAGES;
import static io.vitq.testutil.TinyModels.SWIN;
import static io.vitq.testutil.TinyModels.VIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sequential calibration against a slow restatement: for every op, a fresh fake-quant forward with
 * only the ops before it quantized gives the op's input; searching on that input (float target,
 * float-network gradient) must give exactly the sequential plan's entry.
 */
class SequentialCalibrationTest {
    static final PlanInfo INFO = new PlanInfo("test", "test", 6, 6);

    @Test
    void everyOpIsCalibratedOnTheQuantizedPrefixsOutput() {
        for (Model m : List.of(VIT, SWIN)) {
            CalibConfig cfg = CalibConfig.ptq4vit(6, 6).withSearch(8, 2).withSequential(true);
            QuantPlan seq = Calibrator.calibrate(m, IMAGES, null, cfg, "test", null).plan();
            assertEquals(Calibrator.forwardOrder(m), seq.opIds(), m.name());
            assertEquals("sequential", seq.info().options().get("paradigm"));
            QuantPlan par = Calibrator.calibrate(m, IMAGES, null, cfg.withSequential(false), "test", null).plan();
            assertEquals(json("patch_embed.proj", par.op("patch_embed.proj")), json("patch_embed.proj", seq.op("patch_embed.proj")),
                    m.name() + ": the first op sees the same float image either way");
            assertNotEquals(QuantPlanJson.toJson(withInfo(par)), QuantPlanJson.toJson(withInfo(seq)), m.name());

            Map<String, Tensor> grads = new HashMap<>();
            Backward.run(m, IMAGES, null, BackwardSink.gradients(grads));
            Map<String, OpQuant> prefix = new LinkedHashMap<>();
            for (String id : Calibrator.forwardOrder(m)) {
                OpQuant expected = restated(m, id, prefix, grads.get(id).data(), cfg);
                if (expected != null) assertEquals(json(id, expected), json(id, seq.op(id)), m.name() + " " + id);
                prefix.put(id, seq.op(id));
            }
        }
    }

    /** The op's search on the input a fresh forward with {@code prefix} quantized gives it; null where not restated (Swin's matmuls). */
    private static OpQuant restated(Model m, String id, Map<String, OpQuant> prefix, float[] grad, CalibConfig cfg) {
        Capture cap = new Capture(id, new FakeQuantExecutor(new QuantPlan(INFO, prefix), m));
        m.forward(IMAGES, cap);
        int samples = IMAGES.dim(0);
        if (cap.linear != null) {
            Linear op = cap.linear;
            float[] o = new float[cap.rows * op.out()];
            FloatExecutor.INSTANCE.linear(op, cap.x, cap.rows, o, Activation.NONE, false);
            return new LinearSearch(op, cap.x, o, grad, cap.rows, samples, cfg).run();
        }
        AttentionOp op = cap.attention;
        if (op.qPrescaled()) return null;
        var s = op.spec();
        int T = s.tokens(), H = s.heads(), d = s.headDim();
        if (id.equals(op.matmul1Id())) {
            AttentionOperands f = AttentionOperands.of(op, cap.x, cap.groups);
            return new MatmulSearch(id, f.q(), f.kT(), f.scores(), grad, cap.groups, H, T, d, T, cfg, false).run();
        }
        // matmul2: quantize q and k with matmul1's plan by hand, then take the float probabilities
        MatmulQuant mm1 = (MatmulQuant) prefix.get(op.matmul1Id());
        float[] qkv = cap.x.clone();
        quantizePart(mm1.a(), QkvPart.Q, op, qkv, cap.groups * T);
        quantizePart(mm1.b(), QkvPart.K, op, qkv, cap.groups * T);
        AttentionOperands q = AttentionOperands.of(op, qkv, cap.groups);
        AttentionOperands f = AttentionOperands.of(op, cap.x, cap.groups);
        float[] out = new float[f.out().length];
        // out = P . v per (group, head), in double then rounded: a different summation from the kernel's
        int G = cap.groups * H;
        for (int gh = 0; gh < G; gh++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < d; j++) {
                    double acc = 0;
                    for (int t = 0; t < T; t++) acc += (double) q.probs()[(gh * T + i) * T + t] * f.v()[(gh * T + t) * d + j];
                    out[(gh * T + i) * d + j] = (float) acc;
                }
        float[] kernelOut = q.out();
        for (int i = 0; i < out.length; i++)
            assertEquals(out[i], kernelOut[i], 1e-5f * (1 + Math.abs(out[i])), id + ": P . v");
        return new MatmulSearch(id, q.probs(), f.v(), kernelOut, grad, cap.groups, H, T, T, d, cfg, cfg.twinSoftmax()).run();
    }

    private static void quantizePart(io.vitq.quant.OperandQuant o, QkvPart part, AttentionOp op, float[] qkv, int rows) {
        UniformOperand u = (UniformOperand) o;
        var s = op.spec();
        float[] scales = new float[s.heads()];
        if (u.granularity() == Granularity.PER_HEAD) scales = u.scales();
        else Arrays.fill(scales, u.scale(0));
        ScaledRanges.fakeQuantHeads(u.quantizer(), op.matmul1Id(), new HeadLayout(s.heads(), s.headDim()), scales, qkv, 0,
                rows, 3 * s.dim(), part.columnOffset(s.dim()), qkv);
    }

    /** Runs a forward and keeps the input of one op (the qkv buffer for an attention matmul). */
    private static final class Capture implements Executor {
        final String id;
        final Executor inner;
        Linear linear;
        AttentionOp attention;
        float[] x;
        int rows, groups;

        Capture(String id, Executor inner) {
            this.id = id;
            this.inner = inner;
        }

        @Override
        public void linear(Linear op, float[] in, int m, float[] y, Activation act, boolean accumulate) {
            if (op.id().equals(id)) {
                linear = op;
                x = Arrays.copyOf(in, m * op.in());
                rows = m;
            }
            inner.linear(op, in, m, y, act, accumulate);
        }

        @Override
        public void attention(AttentionOp op, float[] qkv, int g, float[] out) {
            if (op.matmul1Id().equals(id) || op.matmul2Id().equals(id)) {
                attention = op;
                x = Arrays.copyOf(qkv, g * op.spec().tokens() * 3 * op.spec().dim());
                groups = g;
            }
            inner.attention(op, qkv, g, out);
        }
    }

    private static String json(String id, OpQuant q) {
        return QuantPlanJson.toJson(new QuantPlan(INFO, Map.of(id, q)));
    }

    private static QuantPlan withInfo(QuantPlan p) { return new QuantPlan(INFO, p.ops()); }

    @Test
    void sequentialRefusesMixedPrecision() {
        CalibConfig cfg = CalibConfig.vtptq(8, 8).withSearch(4, 1).withSequential(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MixedPrecisionCalibration.calibrate(
                VIT, IMAGES, null, cfg, MpTarget.MP8, null, MixedPrecisionCalibration.MsaNorm.SOFTMAX_MAPS, "test", null));
        assertTrue(e.getMessage().contains("sequential"), e.getMessage());
    }
}
