package io.vitq.export;

import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OpQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.ScaleGrid;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Quantization plans built by hand from min-max scales of a float forward (as
 * FakeQuantExecutorTest builds them), so the export tests cover every quantizer and granularity
 * without a calibration run.
 */
public final class HandPlans {
    private HandPlans() {}

    /** max |x| (and the signed max) of every Linear input, per-head max |q| (Swin: |q · scale|), |k|, |v| and max probability. */
    public static final class Maxima implements Executor {
        final Map<String, float[]> max = new HashMap<>();

        synchronized void merge(String key, int i, int n, float v) {
            float[] m = max.computeIfAbsent(key, k -> {
                float[] a = new float[n];
                Arrays.fill(a, Float.NEGATIVE_INFINITY);
                return a;
            });
            m[i] = Math.max(m[i], v);
        }

        float get(String key) { return max.get(key)[0]; }

        float[] heads(String key) { return max.get(key).clone(); }

        @Override
        public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
            float abs = 0, signed = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < m * op.in(); i++) {
                abs = Math.max(abs, Math.abs(x[i]));
                signed = Math.max(signed, x[i]);
            }
            merge(op.id() + ".in", 0, 1, abs);
            merge(op.id() + ".in+", 0, 1, signed);
            FloatExecutor.INSTANCE.linear(op, x, m, y, act, accumulate);
        }

        @Override
        public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
            var s = op.spec();
            int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim();
            for (int r = 0; r < groups * T; r++)
                for (int h = 0; h < H; h++)
                    for (int e = 0; e < d; e++) {
                        int c = r * 3 * D + h * d + e;
                        // Swin quantizes q after multiplying it by the scale
                        merge(op.matmul1Id() + ".a", h, H, Math.abs(op.qPrescaled() ? qkv[c] * s.scale() : qkv[c]));
                        merge(op.matmul1Id() + ".b", h, H, Math.abs(qkv[c + D]));
                        merge(op.matmul2Id() + ".b", h, H, Math.abs(qkv[c + 2 * D]));
                    }
            AttentionKernel.forward(s, qkv, groups, out, op.bias(), op.biasGroups(), (g, h, p, off, n) -> {
                float m = 0;
                for (int j = 0; j < n; j++) m = Math.max(m, p[off + j]);
                merge(op.matmul2Id() + ".a", h, H, m);
            });
        }
    }

    public static Maxima maxima(Model model, Tensor images) {
        Maxima mx = new Maxima();
        model.forward(images, mx);
        return mx;
    }

    static float[] scales(float[] maxAbs, int bits, float shrink) {
        float[] s = new float[maxAbs.length];
        for (int i = 0; i < s.length; i++) s[i] = ScaleGrid.initScale("test", maxAbs[i], bits) * shrink;
        return s;
    }

    static UniformOperand perHead(float[] maxAbs, int bits, float shrink) {
        return new UniformOperand(bits, Granularity.PER_HEAD, scales(maxAbs, bits, shrink));
    }

    static UniformOperand perTensor(float[] maxAbs, int bits, float shrink) {
        float m = 0;
        for (float v : maxAbs) m = Math.max(m, v);
        return UniformOperand.perTensor(bits, ScaleGrid.initScale("test", m, bits) * shrink);
    }

    static UniformOperand weight(Linear l, Granularity g, int bits, float shrink) {
        int n = switch (g) {
            case PER_OUTPUT_CHANNEL -> l.out();
            case ROW_BLOCKS -> 3;
            default -> 1;
        };
        float[] max = ScaledRanges.maxAbsRows(l.id(), g, n, l.weight(), l.out(), l.in());
        return new UniformOperand(bits, g, scales(max, bits, shrink));
    }

    /**
     * PTQ4ViT's granularities: patch embedding per output channel with a float image, qkv in 3
     * row blocks, other weights per tensor, Linear inputs per tensor, fc2's input twin GELU, q, k
     * and v per head, the probabilities twin softmax (split 2^-4, {@code mode}). Scales are
     * min-max times {@code shrink} (below 1 so that some values clip).
     */
    public static QuantPlan ptq4vit(Model model, Maxima mx, int bits, float shrink, TwinSoftmaxQuantizer.Mode mode) {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        for (Linear l : model.linears()) {
            boolean patch = l.id().equals("patch_embed.proj");
            Granularity g = patch ? Granularity.PER_OUTPUT_CHANNEL : l.id().endsWith("attn.qkv") ? Granularity.ROW_BLOCKS
                    : Granularity.PER_TENSOR;
            OperandQuant in = patch ? null : l.id().endsWith("mlp.fc2")
                    ? TwinGeluOperand.withDefaultNegativeStep(bits, ScaleGrid.geluPositiveInit("test", mx.get(l.id() + ".in+"), bits) * shrink)
                    : perTensor(new float[] {mx.get(l.id() + ".in")}, bits, shrink);
            ops.put(l.id(), new LinearQuant(weight(l, g, bits, shrink), in));
        }
        for (AttentionOp a : model.attentionOps()) {
            String m1 = a.matmul1Id(), m2 = a.matmul2Id();
            ops.put(m1, new MatmulQuant(perHead(mx.heads(m1 + ".a"), bits, shrink), perHead(mx.heads(m1 + ".b"), bits, shrink)));
            ops.put(m2, new MatmulQuant(new TwinSoftmaxOperand(bits, 0x1p-4f, mode), perHead(mx.heads(m2 + ".b"), bits, shrink)));
        }
        return new QuantPlan(new PlanInfo(model.name(), "by hand", bits, bits), ops);
    }

    /**
     * BasePTQ-like variety with mixed precision: a quantized image (per tensor), per-tensor
     * patch-embedding weight, per-output-channel fc1 weights, per-head probabilities (uniform),
     * per-tensor k and v, the last attention's matmul1 and the head left float, and the ops of
     * block 0's MLP at {@code wideBits} (codes wider than int8).
     */
    public static QuantPlan mixed(Model model, Maxima mx, int bits, int wideBits, float shrink) {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        List<Linear> linears = model.linears();
        for (Linear l : linears) {
            if (l == linears.getLast()) continue;
            int b = l.id().startsWith("blocks.0.mlp") ? wideBits : bits;
            Granularity g = l.id().endsWith("attn.qkv") ? Granularity.ROW_BLOCKS
                    : l.id().endsWith("mlp.fc1") ? Granularity.PER_OUTPUT_CHANNEL : Granularity.PER_TENSOR;
            float inMax = l.id().equals("patch_embed.proj") ? 1f : mx.get(l.id() + ".in");
            ops.put(l.id(), new LinearQuant(weight(l, g, b, shrink), perTensor(new float[] {inMax}, b, shrink)));
        }
        List<AttentionOp> attn = model.attentionOps();
        for (AttentionOp a : attn) {
            String m1 = a.matmul1Id(), m2 = a.matmul2Id();
            if (a != attn.getLast())
                ops.put(m1, new MatmulQuant(perHead(mx.heads(m1 + ".a"), bits, shrink), perTensor(mx.heads(m1 + ".b"), bits, shrink)));
            ops.put(m2, new MatmulQuant(perHead(mx.heads(m2 + ".a"), bits, shrink), perTensor(mx.heads(m2 + ".b"), bits, shrink)));
        }
        return new QuantPlan(new PlanInfo(model.name(), "by hand", bits, bits), ops);
    }
}
