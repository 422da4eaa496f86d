package io.vitq.quant;

import io.vitq.testutil.MinMaxPlans;
import io.vitq.testutil.TinyModels;

import io.vitq.data.Preprocessing;
import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.RandomWeights;
import io.vitq.model.SwinCheckpoint;
import io.vitq.model.SwinConfig;
import io.vitq.model.SwinTransformer;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.model.Weights;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.MathOps;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.vitq.testutil.Diffs.maxAbs;
import static io.vitq.testutil.Diffs.maxDiff;

/**
 * FakeQuantExecutor against an independent slow reference: a plain-loop ViT forward (and one
 * Swin window-attention call) that applies the plan's quantizers element by element through the
 * scalar quantizer methods. Tiny random models; plans built by hand from min-max scales of a float
 * forward.
 */
class FakeQuantExecutorTest {
    static final ViTConfig VIT_CFG = TinyModels.VIT_CFG;
    static final Weights VIT_WEIGHTS = TinyModels.VIT_WEIGHTS;
    static final VisionTransformer VIT = TinyModels.VIT;
    static final SwinConfig SWIN_CFG = TinyModels.SWIN_CFG;
    static final SwinTransformer SWIN = TinyModels.SWIN;
    static final int B = TinyModels.B;
    static final Tensor IMAGES = TinyModels.IMAGES;
    static final PlanInfo INFO = new PlanInfo("test", "by hand", 8, 8);

    static float[] gaussian(int n, double std, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double u = r.nextDouble(1e-300, 1.0), v = r.nextDouble();
            x[i] = (float) (std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        }
        return x;
    }

    // ---- calibration maxima and hand-built plans ----

    /**
     * A float executor that records max |x| (and the signed max) of every Linear input and the
     * per-head maxima of q (times the scale for Swin), k, v and the probabilities.
     */
    /** Min-max maxima of the tiny models on IMAGES, and plans from them (the shared fixture {@link MinMaxPlans}). */
    static final MinMaxPlans.Maxima VIT_MAX = MinMaxPlans.maxima(VIT, IMAGES), SWIN_MAX = MinMaxPlans.maxima(SWIN, IMAGES);

    /** See {@link MinMaxPlans#plan}: twin quantizers (softmax split 2^-4, linear GELU) when {@code ptq4vit}. */
    static QuantPlan plan(Model model, MinMaxPlans.Maxima mx, int bits, float shrink, boolean ptq4vit) {
        return MinMaxPlans.plan(model, mx, new MinMaxPlans.Spec(bits, shrink, ptq4vit, false, 0x1p-4f, false));
    }

    // ---- the independent slow reference ----

    /** One operand's scalar fake quantizer; {@code head} picks a per-head scale (ignored otherwise). */
    interface Fq {
        float apply(float x, int head);
    }

    static Fq fq(OperandQuant o) {
        if (o == null) return (x, h) -> x;
        return switch (o) {
            case UniformOperand u -> {
                UniformQuantizer q = new UniformQuantizer(u.bits());
                float[] s = u.scales();
                yield (x, h) -> q.fakeQuant(x, u.granularity() == Granularity.PER_HEAD ? s[h] : s[0]);
            }
            case AsymmetricOperand a -> (x, h) -> AsymmetricOperandTest.reference(x, a.bits(), a.scale(), a.zeroPoint());
            case CodebookOperand c -> (x, h) -> CodebookOperandTest.reference(x, c.scale(), c.zeroPoint(), c.levels(), c.starts());
            case TwinSoftmaxOperand t -> {
                TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(t.bits(), t.split(), t.mode());
                yield (x, h) -> q.fakeQuant(x);
            }
            case TwinGeluOperand g -> {
                TwinGeluQuantizer q = new TwinGeluQuantizer(g.bits(), g.positiveStep(), g.negativeStep());
                yield (x, h) -> q.fakeQuant(x);
            }
            case LogSqrt2Operand l -> (x, h) -> LogSqrt2OperandTest.reference(x, l.bits(), l.delta());
            case AdaLogOperand l -> (x, h) -> AdaLogOperandTest.reference(x, l.bits(), l.q(), l.scale(), l.shift());
        };
    }

    static OperandQuant a(QuantPlan plan, String id) { return plan.op(id) instanceof MatmulQuant m ? m.a() : null; }

    static OperandQuant b(QuantPlan plan, String id) { return plan.op(id) instanceof MatmulQuant m ? m.b() : null; }

    /**
     * softmax(q kᵀ · scale + bias) v per group and head, spelled out, with q, k, v and the
     * probabilities fake-quantized as the plan says. {@code prescaled}: q is multiplied by the
     * scale before it is quantized (Swin); otherwise the product is scaled (ViT).
     */
    static float[] slowAttention(QuantPlan plan, String prefix, float[] qkv, int groups, int T, int H, int hd,
                                 float scale, boolean prescaled, float[] bias, int biasGroups) {
        Fq fq = fq(a(plan, prefix + ".matmul1")), fk = fq(b(plan, prefix + ".matmul1"));
        Fq fp = fq(a(plan, prefix + ".matmul2")), fv = fq(b(plan, prefix + ".matmul2"));
        int D = H * hd, ld = 3 * D;
        float[] out = new float[groups * T * D];
        for (int g = 0; g < groups; g++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < T; i++) {
                    double[] s = new double[T];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < T; j++) {
                        double dot = 0;
                        for (int e = 0; e < hd; e++) {
                            float q = qkv[(g * T + i) * ld + h * hd + e];
                            dot += (double) fq.apply(prescaled ? q * scale : q, h) * fk.apply(qkv[(g * T + j) * ld + D + h * hd + e], h);
                        }
                        s[j] = prescaled ? dot : dot * scale;
                        if (bias != null) s[j] += bias[(((g % biasGroups) * H + h) * T + i) * T + j];
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < T; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int e = 0; e < hd; e++) {
                        double acc = 0;
                        for (int j = 0; j < T; j++)
                            acc += (double) fp.apply((float) (s[j] / sum), h) * fv.apply(qkv[(g * T + j) * ld + 2 * D + h * hd + e], h);
                        out[(g * T + i) * D + h * hd + e] = (float) acc;
                    }
                }
        return out;
    }

    /** timm's ViT forward in plain loops (double accumulation), with the plan's fake quantization. */
    static final class SlowVit {
        final ViTConfig c;
        final Map<String, Tensor> w;
        final QuantPlan plan;

        SlowVit(ViTConfig c, Weights weights, QuantPlan plan) {
            this.c = c;
            this.w = weights.asMap();
            this.plan = plan;
        }

        float[] p(String name) { return w.get(name).data(); }

        float[] forward(float[] img, int batch) {
            int S = c.imgSize(), p = c.patch(), C = c.inChans(), G = S / p, NP = G * G, T = c.tokens(), D = c.dim();
            int K = C * p * p;
            // the conv (kernel = stride = patch) over patches in the weight's (c, ky, kx) order
            float[] patches = new float[batch * NP * K];
            for (int b = 0; b < batch; b++)
                for (int gy = 0; gy < G; gy++)
                    for (int gx = 0; gx < G; gx++)
                        for (int ch = 0; ch < C; ch++)
                            for (int ky = 0; ky < p; ky++)
                                for (int kx = 0; kx < p; kx++)
                                    patches[((b * G + gy) * G + gx) * K + (ch * p + ky) * p + kx] =
                                            img[((b * C + ch) * S + gy * p + ky) * S + gx * p + kx];
            float[] pe = linear("patch_embed.proj", patches, K);
            float[] cls = p("cls_token"), pos = p("pos_embed");
            float[] x = new float[batch * T * D];
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < T; t++)
                    for (int d = 0; d < D; d++)
                        x[(b * T + t) * D + d] = (t == 0 ? cls[d] : pe[(b * NP + t - 1) * D + d]) + pos[t * D + d];
            for (int i = 0; i < c.depth(); i++) block(x, batch, "blocks." + i);
            float[] tok = new float[batch * D];
            for (int b = 0; b < batch; b++) System.arraycopy(x, b * T * D, tok, b * D, D);
            return linear("head", layerNorm(tok, "norm"), D);
        }

        void block(float[] x, int batch, String pre) {
            int D = c.dim(), hd = c.headDim();
            float[] qkv = linear(pre + ".attn.qkv", layerNorm(x, pre + ".norm1"), D);
            float[] attn = slowAttention(plan, pre + ".attn", qkv, batch, c.tokens(), c.heads(), hd,
                    (float) Math.pow(hd, -0.5), false, null, 1);
            add(x, linear(pre + ".attn.proj", attn, D));
            float[] h = linear(pre + ".mlp.fc1", layerNorm(x, pre + ".norm2"), D);
            for (int i = 0; i < h.length; i++) h[i] = (float) MathOps.gelu(h[i]);
            add(x, linear(pre + ".mlp.fc2", h, c.mlpHidden()));
        }

        static void add(float[] x, float[] y) {
            for (int i = 0; i < x.length; i++) x[i] += y[i];
        }

        /** y = fq(x) fq(W)ᵀ + b: the weight row-wise with its granularity, the input as the plan says, bias float. */
        float[] linear(String id, float[] x, int in) {
            float[] W = p(id + ".weight").clone(), bias = p(id + ".bias");
            int out = W.length / in, rows = x.length / in;
            Fq fin = (x1, h) -> x1;
            if (plan.op(id) instanceof LinearQuant lq) {
                UniformOperand u = lq.weight();
                UniformQuantizer q = new UniformQuantizer(u.bits());
                for (int r = 0; r < out; r++) {
                    int s = switch (u.granularity()) {
                        case PER_TENSOR -> 0;
                        case PER_OUTPUT_CHANNEL -> r;
                        case ROW_BLOCKS -> r / (out / u.scaleCount());
                        case PER_HEAD -> throw new AssertionError();
                    };
                    for (int k = 0; k < in; k++) W[r * in + k] = q.fakeQuant(W[r * in + k], u.scale(s));
                }
                fin = fq(lq.input());
            }
            float[] y = new float[rows * out];
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < out; o++) {
                    double acc = bias[o];
                    for (int k = 0; k < in; k++) acc += (double) fin.apply(x[r * in + k], 0) * W[o * in + k];
                    y[r * out + o] = (float) acc;
                }
            return y;
        }

        float[] layerNorm(float[] x, String pre) {
            float[] g = p(pre + ".weight"), be = p(pre + ".bias");
            int D = g.length;
            float[] y = new float[x.length];
            for (int r = 0; r < x.length / D; r++) {
                double mean = 0, var = 0;
                for (int d = 0; d < D; d++) mean += x[r * D + d];
                mean /= D;
                for (int d = 0; d < D; d++) var += (x[r * D + d] - mean) * (x[r * D + d] - mean);
                var /= D;
                for (int d = 0; d < D; d++) y[r * D + d] = (float) ((x[r * D + d] - mean) / Math.sqrt(var + c.eps()) * g[d] + be[d]);
            }
            return y;
        }
    }

    // ---- tests ----

    /**
     * Tolerance 1e-3 of max |logit|: executor and reference compute the same quantized network,
     * differing only in float summation order and precision (~1e-6 relative). A quantizer is
     * discontinuous, so a value that lands within that distance of a rounding boundary can round
     * to the neighbouring level in one of the two; such rare flips move one element by one step
     * (~1/127 of its range), which the following matmuls dilute to well below 1e-3 of the logits.
     * Quantization itself moves the logits by far more (checked), so a wrong operand, scale or
     * granularity would not pass.
     */
    @Test
    void vitMatchesSlowReference() {
        float[] flt = VIT.forward(IMAGES).data();
        for (int variant = 0; variant < 6; variant++) {
            boolean ptq4vit = variant != 1, asymmetric = variant == 2, codebook = variant == 3, logSoftmax = variant == 4,
                    adaLog = variant == 5;
            QuantPlan plan = plan(VIT, VIT_MAX, 8, 0.8f, ptq4vit);
            if (asymmetric) plan = MinMaxPlans.withAsymmetricInputs(plan, VIT_MAX, 0.9f);
            if (codebook) plan = MinMaxPlans.withCodebookInputs(plan);
            if (logSoftmax) plan = MinMaxPlans.withLogSoftmax(plan, 4, 0.5f);
            if (adaLog) plan = MinMaxPlans.withAdaLog(plan, 4, 23, 41, 1.5f);
            FakeQuantExecutor ex = new FakeQuantExecutor(plan, VIT);
            float[] got = VIT.forward(IMAGES, ex).data();
            float[] ref = new SlowVit(VIT_CFG, VIT_WEIGHTS, plan).forward(IMAGES.data(), B);
            double d = maxDiff(got, ref), tol = 1e-3 * maxAbs(ref), dq = maxDiff(ref, flt);
            System.out.printf("fake quant ViT %s: max|exec - ref| %.3g, max|ref - float| %.3g, max|ref| %.3g%n",
                    adaLog ? "ptq4vit, AdaLog probabilities and fc2 inputs" : logSoftmax ? "ptq4vit, log-sqrt2 probabilities" : codebook ? "ptq4vit, codebook Linear inputs" : ptq4vit ? asymmetric ? "ptq4vit, asymmetric Linear inputs" : "ptq4vit"
                            : "uniform", d, dq, maxAbs(ref));
            assertTrue(d <= tol, "max |diff| " + d + " > " + tol);
            assertTrue(dq > 20 * tol, "quantization should move the logits: " + dq);
            assertArrayEquals(got, VIT.forward(IMAGES, ex).data(), "a second forward (cached weights) gives the same logits");
        }
    }

    @Test
    void emptyPlanIsBitIdenticalToFloat() {
        QuantPlan empty = new QuantPlan(INFO, Map.of());
        for (Model m : List.of(VIT, SWIN)) {
            assertArrayEquals(m.forward(IMAGES).data(), m.forward(IMAGES, new FakeQuantExecutor(empty, m)).data(), m.name());
        }
    }

    /** 16-bit min-max scales: one step is 1/32767.5 of each range, so the logits stay close to float. */
    @Test
    void sixteenBitsIsCloseToFloat() {
        for (Model m : List.of(VIT, SWIN)) {
            MinMaxPlans.Maxima mx = m == VIT ? VIT_MAX : SWIN_MAX;
            float[] flt = m.forward(IMAGES).data();
            double d16 = maxDiff(flt, m.forward(IMAGES, new FakeQuantExecutor(plan(m, mx, 16, 1f, true), m)).data());
            double d8 = maxDiff(flt, m.forward(IMAGES, new FakeQuantExecutor(plan(m, mx, 8, 1f, true), m)).data());
            System.out.printf("fake quant %s vs float: max|diff| 16 bit %.3g, 8 bit %.3g, max|logit| %.3g%n",
                    m.name(), d16, d8, maxAbs(flt));
            assertTrue(d16 <= 2e-3 * maxAbs(flt), m.name() + " 16 bit: " + d16);
            assertTrue(d8 > 10 * d16, m.name() + " 8 bit should be much further from float than 16 bit");
        }
    }

    /** The first shifted-window attention of stage 0: relative-position bias plus shift mask per window. */
    static AttentionOp shiftedSwinAttention() {
        return SWIN.attentionOps().stream().filter(a -> a.biasGroups() > 1).findFirst().orElseThrow();
    }

    /**
     * Swin scales q before q · kᵀ, so matmul1's a operand is q·scale: the executor must match a
     * reference that quantizes q·scale, and must not match one that quantizes q and scales the
     * product (the ViT convention), which with scales calibrated on q·scale clips q heavily.
     * Tolerance as in {@link #vitMatchesSlowReference}, relative to max |out|.
     */
    @Test
    void swinQuantizesPrescaledQ() {
        AttentionOp op = shiftedSwinAttention();
        var s = op.spec();
        int T = s.tokens(), H = s.heads(), hd = s.headDim(), D = s.dim(), groups = 2 * op.biasGroups();
        assertTrue(op.qPrescaled() && op.bias() != null);
        float[] qkv = gaussian(groups * T * 3 * D, 2.0, 17);
        float[] qMax = new float[H], kMax = new float[H], vMax = new float[H];
        for (int r = 0; r < groups * T; r++)
            for (int c = 0; c < D; c++) {
                int h = c / hd, i = r * 3 * D + c;
                qMax[h] = Math.max(qMax[h], Math.abs(qkv[i] * s.scale()));
                kMax[h] = Math.max(kMax[h], Math.abs(qkv[i + D]));
                vMax[h] = Math.max(vMax[h], Math.abs(qkv[i + 2 * D]));
            }
        QuantPlan plan = new QuantPlan(INFO, Map.of(
                op.matmul1Id(), new MatmulQuant(MinMaxPlans.perHead(qMax, 8, 1f), MinMaxPlans.perHead(kMax, 8, 1f)),
                op.matmul2Id(), new MatmulQuant(new TwinSoftmaxOperand(8, 0x1p-4f, TwinSoftmaxQuantizer.Mode.CLEAN),
                        MinMaxPlans.perHead(vMax, 8, 1f))));
        float[] got = new float[groups * T * D];
        new FakeQuantExecutor(plan, SWIN).attention(op, qkv, groups, got);
        float[] ref = slowAttention(plan, op.prefix(), qkv, groups, T, H, hd, s.scale(), true, op.bias(), op.biasGroups());
        float[] unscaled = slowAttention(plan, op.prefix(), qkv, groups, T, H, hd, s.scale(), false, op.bias(), op.biasGroups());
        float[] flt = new float[got.length];
        FloatExecutor.INSTANCE.attention(op, qkv, groups, flt);
        double d = maxDiff(got, ref), tol = 1e-3 * maxAbs(ref);
        System.out.printf("fake quant Swin attention: max|exec - ref| %.3g, max|exec - unscaled-q ref| %.3g, max|exec - float| %.3g, max|ref| %.3g%n",
                d, maxDiff(got, unscaled), maxDiff(got, flt), maxAbs(ref));
        assertTrue(d <= tol, "max |diff| " + d + " > " + tol);
        assertTrue(maxDiff(got, unscaled) > 20 * tol, "q quantized after the scale, not before");
        assertTrue(maxDiff(got, flt) > 20 * tol, "quantization should change the output");
    }

    @Test
    void callerBuffersAreNotModified() {
        FakeQuantExecutor ex = new FakeQuantExecutor(plan(VIT, VIT_MAX, 8, 0.8f, true), VIT);
        Linear fc2 = VIT.blocks()[0].fc2(), qkvLayer = VIT.blocks()[0].qkv();
        for (Linear l : List.of(fc2, qkvLayer)) {
            int m = 5;
            float[] x = gaussian(m * l.in(), 1.0, 1), copy = x.clone();
            ex.linear(l, x, m, new float[m * l.out()], Activation.NONE, false);
            assertArrayEquals(copy, x, l.id());
        }
        AttentionOp vitAttn = VIT.attentionOps().getFirst();
        float[] qkv = gaussian(B * VIT_CFG.tokens() * 3 * VIT_CFG.dim(), 1.0, 2), copy = qkv.clone();
        ex.attention(vitAttn, qkv, B, new float[B * VIT_CFG.tokens() * VIT_CFG.dim()]);
        assertArrayEquals(copy, qkv, vitAttn.prefix());

        // Swin: the prescaled path multiplies q in its copy, never in the caller's buffer
        FakeQuantExecutor swinEx = new FakeQuantExecutor(plan(SWIN, SWIN_MAX, 8, 0.8f, true), SWIN);
        AttentionOp op = shiftedSwinAttention();
        int groups = op.biasGroups(), T = op.spec().tokens(), D = op.spec().dim();
        float[] sq = gaussian(groups * T * 3 * D, 1.0, 3), sqCopy = sq.clone();
        swinEx.attention(op, sq, groups, new float[groups * T * D]);
        assertArrayEquals(sqCopy, sq, op.prefix());
    }

    @Test
    void planForAnotherModelIsRejectedNamingTheOp() {
        QuantPlan good = plan(VIT, VIT_MAX, 8, 1f, true);
        var e1 = assertThrows(IllegalArgumentException.class,
                () -> new FakeQuantExecutor(good.with("blocks.7.attn.qkv", good.op("blocks.0.attn.qkv")), VIT));
        assertTrue(e1.getMessage().contains("blocks.7.attn.qkv"), e1.getMessage());

        // same shapes, 4 heads instead of 2: the per-head scales do not fit
        ViTConfig fourHeads = new ViTConfig(32, 8, 3, 64, 2, 4, 256, 10, 1, 1e-6f);
        var other = VisionTransformer.load("four_heads", fourHeads, Preprocessing.timm(32, true), RandomWeights.vit(fourHeads, 1));
        var e2 = assertThrows(IllegalArgumentException.class, () -> new FakeQuantExecutor(good, other));
        assertTrue(e2.getMessage().contains("blocks.0.attn.matmul1") && e2.getMessage().contains("2 per-head scales for 4 heads"),
                e2.getMessage());

        // twin softmax fits only the probabilities, not q
        MatmulQuant twinQ = new MatmulQuant(new TwinSoftmaxOperand(8, 0x1p-4f, TwinSoftmaxQuantizer.Mode.CLEAN), null);
        var e3 = assertThrows(IllegalArgumentException.class,
                () -> new FakeQuantExecutor(good.with("blocks.1.attn.matmul1", twinQ), VIT));
        assertTrue(e3.getMessage().contains("blocks.1.attn.matmul1"), e3.getMessage());

        // a layer of another model under a known id is refused, not run with this model's cached weight
        FakeQuantExecutor ex = new FakeQuantExecutor(good, VIT);
        Linear own = VIT.blocks()[0].qkv(), foreign = other.blocks()[0].qkv();
        ex.linear(own, new float[own.in()], 1, new float[own.out()], Activation.NONE, false);
        var e4 = assertThrows(IllegalArgumentException.class,
                () -> ex.linear(foreign, new float[own.in()], 1, new float[own.out()], Activation.NONE, false));
        assertTrue(e4.getMessage().contains("blocks.0.attn.qkv"), e4.getMessage());
    }
}
