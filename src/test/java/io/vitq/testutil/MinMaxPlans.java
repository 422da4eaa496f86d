package io.vitq.testutil;

import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.AsymmetricOperand;
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
import io.vitq.quant.TwinGeluQuantizer;
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
 * Quantization plans built by hand from min-max scales of a float forward (times a shrink factor
 * so that some values clip), as FakeQuantExecutorTest builds them: for tests and benchmarks of the
 * execution modes, not a calibration method.
 */
public final class MinMaxPlans {
    public static final PlanInfo INFO = new PlanInfo("test", "by hand", 8, 8);

    private MinMaxPlans() {}

    /** Records max |x| (and the signed max) of every Linear input and per-head maxima of q, k, v and the probabilities. */
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

        public float get(String key) { return max.get(key)[0]; }

        public float[] heads(String key) { return max.get(key).clone(); }

        @Override
        public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
            float abs = 0, signed = Float.NEGATIVE_INFINITY, low = Float.POSITIVE_INFINITY;
            for (int i = 0; i < m * op.in(); i++) {
                abs = Math.max(abs, Math.abs(x[i]));
                signed = Math.max(signed, x[i]);
                low = Math.min(low, x[i]);
            }
            merge(op.id() + ".in", 0, 1, abs);
            merge(op.id() + ".in+", 0, 1, signed);
            merge(op.id() + ".in-", 0, 1, -low); // stored negated: merge keeps maxima
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

    /** Maxima of a float forward of {@code images}. */
    public static Maxima maxima(Model model, Tensor images) {
        Maxima mx = new Maxima();
        model.forward(images, mx);
        return mx;
    }

    public static float[] scales(float[] maxAbs, int bits, float shrink) {
        float[] s = new float[maxAbs.length];
        for (int i = 0; i < s.length; i++) s[i] = ScaleGrid.initScale("test", maxAbs[i], bits) * shrink;
        return s;
    }

    public static UniformOperand perHead(float[] maxAbs, int bits, float shrink) {
        return new UniformOperand(bits, Granularity.PER_HEAD, scales(maxAbs, bits, shrink));
    }

    public static UniformOperand perTensor(float[] maxAbs, int bits, float shrink) {
        float m = 0;
        for (float v : maxAbs) m = Math.max(m, v);
        return UniformOperand.perTensor(bits, ScaleGrid.initScale("test", m, bits) * shrink);
    }

    /**
     * An asymmetric quantizer for the range [min, max] of a Linear input, the step times
     * {@code shrink}: {@code s = (max - min) / (2^k - 1)}, {@code z = rint(-min / s)} clamped to the codes.
     */
    public static AsymmetricOperand asymmetric(Maxima mx, String linearId, int bits, float shrink) {
        float hi = mx.get(linearId + ".in+"), lo = -mx.get(linearId + ".in-");
        int top = (1 << bits) - 1;
        float s = Math.max((hi - lo) / top, 1e-8f) * shrink;
        int z = (int) Math.max(0, Math.min(top, Math.rint(-lo / s)));
        return new AsymmetricOperand(bits, s, z);
    }

    /** {@code plan} with every uniform Linear input replaced by {@link #asymmetric} of its range. */
    public static QuantPlan withAsymmetricInputs(QuantPlan plan, Maxima mx, float shrink) {
        return withLinearInputs(plan, (id, u) -> asymmetric(mx, id, u.bits(), shrink));
    }

    /**
     * {@code plan} with every uniform Linear input replaced by a 4-bit codebook on the 8-bit grid of
     * the same reach (zero point 128): twelve levels, dense near zero, sparse towards the ends.
     */
    public static QuantPlan withCodebookInputs(QuantPlan plan) {
        int[] offsets = {-127, -40, -12, -4, -1, 0, 1, 3, 8, 21, 50, 127};
        int[] levels = new int[offsets.length];
        for (int i = 0; i < levels.length; i++) levels[i] = 128 + offsets[i];
        return withLinearInputs(plan, (id, u) -> io.vitq.quant.CodebookOperand.nearest(4,
                u.scales()[0] * ((1 << (u.bits() - 1)) - 1) / 127f, 128, levels));
    }

    /** {@code plan} with every matmul2's probabilities through a log-sqrt2 quantizer of {@code bits} bits and this delta. */
    public static QuantPlan withLogSoftmax(QuantPlan plan, int bits, float delta) {
        Map<String, OpQuant> ops = new LinkedHashMap<>(plan.ops());
        for (var e : plan.ops().entrySet())
            if (e.getKey().endsWith(".matmul2") && e.getValue() instanceof MatmulQuant m)
                ops.put(e.getKey(), new MatmulQuant(new io.vitq.quant.LogSqrt2Operand(bits, delta), m.b(), m.info()));
        return new QuantPlan(plan.info(), ops);
    }

    /**
     * {@code plan} with AdaLog's quantizers where AdaLog puts them: every matmul2's probabilities at
     * base 2^(q/37), scale 1, and every fc2 input shifted by GELU's minimum with base 2^(qGelu/37) and
     * this scale.
     */
    public static QuantPlan withAdaLog(QuantPlan plan, int bits, int q, int qGelu, float geluScale) {
        Map<String, OpQuant> ops = new LinkedHashMap<>(plan.ops());
        for (var e : plan.ops().entrySet()) {
            if (e.getKey().endsWith(".matmul2") && e.getValue() instanceof MatmulQuant m)
                ops.put(e.getKey(), new MatmulQuant(io.vitq.quant.AdaLogOperand.probabilities(bits, q), m.b(), m.info()));
            if (e.getKey().endsWith("mlp.fc2") && e.getValue() instanceof LinearQuant lq)
                ops.put(e.getKey(), new LinearQuant(lq.weight(), new io.vitq.quant.AdaLogOperand(bits, qGelu, geluScale,
                        io.vitq.quant.AdaLogOperand.GELU_SHIFT), lq.bias(), lq.info()));
        }
        return new QuantPlan(plan.info(), ops);
    }

    /** {@code plan} with every uniform Linear input replaced by {@code replace(op id, that input)}. */
    public static QuantPlan withLinearInputs(QuantPlan plan,
                                             java.util.function.BiFunction<String, UniformOperand, io.vitq.quant.OperandQuant> replace) {
        Map<String, OpQuant> ops = new LinkedHashMap<>(plan.ops());
        for (var e : plan.ops().entrySet())
            if (e.getValue() instanceof LinearQuant lq && lq.input() instanceof UniformOperand u)
                ops.put(e.getKey(), new LinearQuant(lq.weight(), replace.apply(e.getKey(), u), lq.bias(), lq.info()));
        return new QuantPlan(plan.info(), ops);
    }

    /** What a hand-built plan does. */
    public record Spec(int bits, float shrink, boolean ptq4vit, boolean geluPowerOfTwo, float split, boolean perChannel) {
        public static Spec ptq4vit(boolean pow2) { return new Spec(8, 0.8f, true, pow2, 0x1p-4f, false); }

        public static Spec uniform() { return new Spec(8, 0.8f, false, false, 0f, false); }

        public Spec withSplit(float s) { return new Spec(bits, shrink, ptq4vit, geluPowerOfTwo, s, perChannel); }

        public Spec withBits(int b) { return new Spec(b, shrink, ptq4vit, geluPowerOfTwo, split, perChannel); }

        public Spec perChannelWeights() { return new Spec(bits, shrink, ptq4vit, geluPowerOfTwo, split, true); }
    }

    /**
     * PTQ4ViT's weight granularities (per out-channel patch embedding, q/k/v row blocks for qkv, else
     * per tensor), or per out-channel everywhere.
     */
    public static UniformOperand weight(Linear l, int bits, float shrink, boolean perChannel) {
        Granularity g = perChannel || l.id().equals("patch_embed.proj") ? Granularity.PER_OUTPUT_CHANNEL
                : l.id().endsWith("attn.qkv") ? Granularity.ROW_BLOCKS : Granularity.PER_TENSOR;
        return weight(l, g, bits, shrink);
    }

    /** Min-max weight scales (times {@code shrink}) at granularity {@code g} (row blocks: q, k, v). */
    public static UniformOperand weight(Linear l, Granularity g, int bits, float shrink) {
        int n = g == Granularity.PER_OUTPUT_CHANNEL ? l.out() : g == Granularity.ROW_BLOCKS ? 3 : 1;
        float[] max = ScaledRanges.maxAbsRows(l.id(), g, n, l.weight(), l.out(), l.in());
        return new UniformOperand(bits, g, scales(max, bits, shrink));
    }

    /**
     * Asymmetric min-max weight quantizer at granularity {@code g}: per scale group the range
     * [min(w, 0), max(w, 0)] over 2^k - 1 steps, step times {@code shrink}, zero point
     * {@code rint(-min / s)} clamped to the codes.
     */
    public static UniformOperand asymmetricWeight(Linear l, Granularity g, int bits, float shrink) {
        int n = g == Granularity.PER_OUTPUT_CHANNEL ? l.out() : g == Granularity.ROW_BLOCKS ? 3 : 1;
        float[] min = new float[n], max = new float[n];   // of each group's rows, and of zero
        for (int r = 0; r < l.out(); r++) {
            int i = g.scaleIndexOfRow(r, l.out(), n);
            for (int c = 0; c < l.in(); c++) {
                min[i] = Math.min(min[i], l.weight()[r * l.in() + c]);
                max[i] = Math.max(max[i], l.weight()[r * l.in() + c]);
            }
        }
        int top = (1 << bits) - 1;
        float[] s = new float[n];
        int[] z = new int[n];
        for (int i = 0; i < n; i++) {
            float lo = min[i], hi = max[i];
            s[i] = Math.max((hi - lo) / top, 1e-8f) * shrink;
            z[i] = (int) Math.max(0, Math.min(top, Math.rint(-lo / s[i])));
        }
        return new UniformOperand(bits, g, s, z);
    }

    /**
     * A weight on a table of levels (given on the 8-bit grid): per output row the step that puts the row's
     * max |w| on the largest |level|, times {@code shrink}.
     */
    public static UniformOperand levelledWeight(Linear l, int bits, int[] levels, float shrink) {
        int top = Math.max(-levels[0], levels[levels.length - 1]);
        float[] s = new float[l.out()];
        for (int r = 0; r < l.out(); r++) {
            float m = 0;
            for (int c = 0; c < l.in(); c++) m = Math.max(m, Math.abs(l.weight()[r * l.in() + c]));
            s[r] = Math.max(m / top, 1e-8f) * shrink;
        }
        return UniformOperand.withLevels(bits, Granularity.PER_OUTPUT_CHANNEL, s, levels);
    }

    /** {@code plan} with every Linear weight replaced by {@link #levelledWeight} at {@code bits}. */
    public static QuantPlan withLevelledWeights(QuantPlan plan, Model model, int bits, int[] levels, float shrink) {
        Map<String, OpQuant> ops = new LinkedHashMap<>(plan.ops());
        for (Linear l : model.linears())
            if (plan.ops().get(l.id()) instanceof LinearQuant lq)
                ops.put(l.id(), new LinearQuant(levelledWeight(l, bits, levels, shrink), lq.input(), lq.bias(), lq.info()));
        return new QuantPlan(plan.info(), ops);
    }

    /** Sixteen levels of the 8-bit grid, denser near 0 (as k-means puts them on bell-shaped weights). */
    public static final int[] LEVELS16 = {-127, -88, -61, -42, -28, -17, -9, -3, 3, 9, 17, 28, 42, 61, 88, 127};

    /**
     * 256 code pairs for 4-bit weights: {@link #LEVELS16} squared, the second code one lower after every odd
     * first level, so the table is not a product of two sets of levels (down to -128).
     */
    public static final io.vitq.quant.CodePairs PAIRS256 = pairs256();

    private static io.vitq.quant.CodePairs pairs256() {
        int[] flat = new int[2 * 256];
        for (int a = 0, i = 0; a < 16; a++)
            for (int b = 0; b < 16; b++) {
                flat[i++] = LEVELS16[a];
                flat[i++] = LEVELS16[b] - a % 2;
            }
        return new io.vitq.quant.CodePairs(4, flat);
    }

    /** {@code n} distinct pairs of codes in [-127, 127], bell-shaped around 0. */
    public static io.vitq.quant.CodePairs randomPairs(int bits, int n, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        java.util.Set<java.util.List<Integer>> seen = new java.util.LinkedHashSet<>();
        while (seen.size() < n) {
            int a = (int) Math.max(-127, Math.min(127, Math.rint(r.nextGaussian() * 40)));
            int b = (int) Math.max(-127, Math.min(127, Math.rint(r.nextGaussian() * 40)));
            seen.add(java.util.List.of(a, b));
        }
        int[] flat = seen.stream().flatMap(java.util.List::stream).mapToInt(Integer::intValue).toArray();
        return new io.vitq.quant.CodePairs(bits, flat);
    }

    /**
     * A weight on a table of code pairs: per output row the step that puts the row's max |w| on the largest
     * |code|, times {@code shrink}.
     */
    public static UniformOperand pairedWeight(Linear l, io.vitq.quant.CodePairs pairs, float shrink) {
        int top = Math.max(-pairs.minCode(), pairs.maxCode());
        float[] s = new float[l.out()];
        for (int r = 0; r < l.out(); r++) {
            float m = 0;
            for (int c = 0; c < l.in(); c++) m = Math.max(m, Math.abs(l.weight()[r * l.in() + c]));
            s[r] = Math.max(m / top, 1e-8f) * shrink;
        }
        return UniformOperand.withPairs(pairs.bits(), Granularity.PER_OUTPUT_CHANNEL, s, pairs);
    }

    /** {@code plan} with every Linear weight replaced by {@link #pairedWeight}. */
    public static QuantPlan withPairedWeights(QuantPlan plan, Model model, io.vitq.quant.CodePairs pairs, float shrink) {
        Map<String, OpQuant> ops = new LinkedHashMap<>(plan.ops());
        for (Linear l : model.linears())
            if (plan.ops().get(l.id()) instanceof LinearQuant lq)
                ops.put(l.id(), new LinearQuant(pairedWeight(l, pairs, shrink), lq.input(), lq.bias(), lq.info()));
        return new QuantPlan(plan.info(), ops);
    }

    /** {@code plan} with every Linear weight replaced by {@link #asymmetricWeight} at its granularity and bits. */
    public static QuantPlan withAsymmetricWeights(QuantPlan plan, Model model, float shrink) {
        return withAsymmetricWeights(plan, model, 0, shrink);
    }

    /** The same at {@code bits} weight bits (0: each weight's own). */
    public static QuantPlan withAsymmetricWeights(QuantPlan plan, Model model, int bits, float shrink) {
        Map<String, OpQuant> ops = new LinkedHashMap<>(plan.ops());
        for (Linear l : model.linears())
            if (plan.ops().get(l.id()) instanceof LinearQuant lq)
                ops.put(l.id(), new LinearQuant(asymmetricWeight(l, lq.weight().granularity(), bits > 0 ? bits : lq.weight().bits(), shrink),
                        lq.input(), lq.bias(), lq.info()));
        return new QuantPlan(plan.info(), ops);
    }

    /**
     * {@code ptq4vit}: twin GELU for fc2's input (positive step from the signed max, or the nearest
     * 2^m Δneg), twin softmax (clean) for the probabilities, every other matmul operand per head.
     * Otherwise: uniform per-tensor fc2 input, uniform per-head probabilities, per-tensor k and v,
     * the head and the last attention's matmul1 left float.
     */
    public static QuantPlan plan(Model model, Maxima mx, Spec sp) {
        int bits = sp.bits;
        float shrink = sp.shrink;
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        List<Linear> linears = model.linears();
        for (Linear l : linears) {
            if (!sp.ptq4vit && l == linears.getLast()) continue;
            OperandQuant in;
            if (l.id().equals("patch_embed.proj")) in = null;
            else if (sp.ptq4vit && l.id().endsWith("mlp.fc2")) {
                float init = ScaleGrid.geluPositiveInit("test", mx.get(l.id() + ".in+"), bits) * shrink;
                float neg = TwinGeluQuantizer.defaultNegativeStep(bits);
                float pos = sp.geluPowerOfTwo ? Math.scalb(neg, Math.max(0, Math.round((float) (Math.log(init / neg) / Math.log(2)))))
                        : init;
                in = new TwinGeluOperand(bits, pos, neg);
            } else in = perTensor(new float[] {mx.get(l.id() + ".in")}, bits, shrink);
            ops.put(l.id(), new LinearQuant(weight(l, bits, shrink, sp.perChannel), in));
        }
        List<AttentionOp> attn = model.attentionOps();
        for (AttentionOp a : attn) {
            String m1 = a.matmul1Id(), m2 = a.matmul2Id();
            if (sp.ptq4vit || a != attn.getLast()) {
                ops.put(m1, new MatmulQuant(perHead(mx.heads(m1 + ".a"), bits, shrink),
                        sp.ptq4vit ? perHead(mx.heads(m1 + ".b"), bits, shrink) : perTensor(mx.heads(m1 + ".b"), bits, shrink)));
            }
            OperandQuant probs = sp.ptq4vit ? new TwinSoftmaxOperand(bits, sp.split, TwinSoftmaxQuantizer.Mode.CLEAN)
                    : perHead(mx.heads(m2 + ".a"), bits, shrink);
            ops.put(m2, new MatmulQuant(probs,
                    sp.ptq4vit ? perHead(mx.heads(m2 + ".b"), bits, shrink) : perTensor(mx.heads(m2 + ".b"), bits, shrink)));
        }
        return new QuantPlan(INFO, ops);
    }
}
