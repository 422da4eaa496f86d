package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.MathOps;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntBinaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Backward} on a Swin against central finite differences of the loss computed by an independent
 * float64 Swin forward (written below with explicit roll, window partition, per-window attention
 * with the bias table and wrap-around mask, window reverse; linear, LayerNorm, roll and patch
 * merging from {@link SwinReferenceTest.Reference}), with a perturbation injected at one element
 * of one op output.
 *
 * <p>Tolerance as in {@link VitBackwardTest}: {@code |g - fd| <= TOL * (|fd| + 0.01 * max_op |g|)},
 * TOL = 1e-3 (finite differences in double with step 1e-3; float32 gradients). Measured max
 * relative error over all ops (each op's largest gradient element plus 20 random ones): 9.2e-6 on
 * the 56/w7 model (patch_embed.proj), 2.9e-5 on the 32/w2 model (layers.1 attn.matmul1); ViT's
 * backward reaches 2.5e-5 in {@link VitBackwardTest}.
 */
class SwinBackwardTest {
    static final double TOL = 1e-3;

    /** 56x56, patch 4: stage 0 is 14x14 in 4 windows of 7x7 (block 1 shifted by 3), patch merging, stage 1 one 7x7 window. */
    static final SwinConfig W7 = new SwinConfig(56, 4, 3, 16, new int[] {2, 2}, new int[] {2, 4}, 7, 4.0, 5, SwinConfig.EPS);
    /** 32x32: stage 0 is 8x8 in 16 windows of 2x2, stage 1 4x4 in 4 windows; shift 1 on block 1 of both. */
    static final SwinConfig W2 = new SwinConfig(32, 4, 3, 16, new int[] {2, 2}, new int[] {2, 2}, 2, 4.0, 5, SwinConfig.EPS);

    static Weights weights(SwinConfig c, long seed) {
        return SwinCheckpoint.random(c, seed, false);
    }

    static SwinTransformer swin(SwinConfig c, Weights w) {
        return SwinTransformer.load("tiny-swin", c, Preprocessing.timm(c.imgSize(), false), w);
    }

    static SwinTransformer swin(SwinConfig c, long seed) {
        return swin(c, weights(c, seed));
    }

    static Tensor images(int B, int S, long seed) {
        return new Tensor(SwinReferenceTest.randomImages(B, S, seed), B, 3, S, S);
    }

    // ------------------------------------------------------------------ float64 reference forward

    /**
     * The Swin forward in double with {@code delta} added to one element of one op's output. It
     * runs as steps (patch embedding, each patch merging, each block, the head), each on the
     * previous step's output; a perturbed run starts at the perturbed op's step, from that step's
     * input in the unperturbed run.
     */
    static final class RefSwin {
        final SwinConfig c;
        final SwinReferenceTest.Reference r;
        final float[] img;
        final int B;
        final List<String> stepPrefix = new ArrayList<>();
        final List<UnaryOperator<double[]>> steps = new ArrayList<>();
        final double[][] stepInput;
        String opId;
        int index;
        double delta;

        RefSwin(SwinConfig c, Weights w, Tensor images) {
            this.c = c;
            this.r = new SwinReferenceTest.Reference(c, w);
            this.img = images.data();
            this.B = images.dim(0);
            step("patch_embed.", none -> patchEmbed());
            int D = c.embedDim(), res = c.imgSize() / c.patch();
            for (int s = 0; s < c.stages(); s++) {
                if (s > 0) {
                    String pre = "layers." + s + ".downsample";
                    int res0 = res, D0 = D;
                    step(pre + ".", x -> perturb(pre + ".reduction", r.patchMerging(x, B, res0, D0, pre)));
                    res /= 2;
                    D *= 2;
                }
                for (int blk = 0; blk < c.depth(s); blk++) {
                    String pre = "layers." + s + ".blocks." + blk;
                    int res0 = res, D0 = D, H = c.heads(s), b0 = blk;
                    step(pre + ".", x -> block(x, res0, D0, H, b0, pre));
                }
            }
            int L = res * res, DL = D;
            step("head.", x -> head(x, L, DL));
            stepInput = new double[steps.size()][];
            logits(null, 0, 0);
        }

        private void step(String prefix, UnaryOperator<double[]> f) {
            stepPrefix.add(prefix);
            steps.add(f);
        }

        double[] perturb(String id, double[] out) {
            if (id.equals(opId)) out[index] += delta;
            return out;
        }

        /** Logits [B, classes]; opId null: the unperturbed forward. */
        double[] logits(String opId, int index, double delta) {
            this.opId = opId;
            this.index = index;
            this.delta = delta;
            int first = 0;
            while (opId != null && !opId.startsWith(stepPrefix.get(first))) first++;
            double[] x = stepInput[first];
            for (int k = first; k < steps.size(); k++) {
                if (opId == null) stepInput[k] = x;
                x = steps.get(k).apply(x);   // steps do not modify their input
            }
            return x;
        }

        double[] patchEmbed() {
            double[] patches = VitBackwardTest.im2col(img, B, c.inChans(), c.imgSize(), c.patch());
            int K = c.inChans() * c.patch() * c.patch();
            return r.layerNorm(perturb("patch_embed.proj", r.linear(patches, K, "patch_embed.proj")), c.embedDim(), "patch_embed.norm");
        }

        /** Final norm, mean over the L tokens, head.fc. */
        double[] head(double[] x, int L, int D) {
            double[] xn = r.layerNorm(x, D, "norm");
            double[] pooled = new double[B * D];
            for (int b = 0; b < B; b++)
                for (int t = 0; t < L; t++)
                    for (int j = 0; j < D; j++) pooled[b * D + j] += xn[(b * L + t) * D + j] / L;
            return perturb("head.fc", r.linear(pooled, D, "head.fc"));
        }

        /** One block on whole-layer arrays; window-ordered rows (image, window, token) as the model orders them. */
        double[] block(double[] x, int res, int D, int H, int blk, String pre) {
            int ws = Math.min(c.window(), res), shift = blk % 2 == 1 && res > c.window() ? c.window() / 2 : 0;
            int T = ws * ws, nw = res / ws, nW = nw * nw, G = B * nW, d = D / H, M = B * res * res;
            double scale = Math.pow(d, -0.5);
            float[] table = r.p(pre + ".attn.relative_position_bias_table");
            // window-ordered row g * T + t (group g: image g / nW, window g % nW) is this row of the rolled image
            IntBinaryOperator rolledRow = (g, t) ->
                    ((g / nW * res + g % nW / nw * ws + t / ws) * res + g % nW % nw * ws + t % ws);
            // norm1, roll, window_partition
            double[] h = SwinReferenceTest.Reference.roll(r.layerNorm(x, D, pre + ".norm1"), B, res, D, -shift);
            double[] win = new double[M * D];
            for (int g = 0; g < G; g++)
                for (int t = 0; t < T; t++) System.arraycopy(h, rolledRow.applyAsInt(g, t) * D, win, (g * T + t) * D, D);
            double[] qkv = perturb(pre + ".attn.qkv", r.linear(win, D, pre + ".attn.qkv"));
            // matmul1 = (q * scale) . k^T, then the relative-position bias and the mask, softmax, matmul2 = P . v
            VitBackwardTest.ScoreBias bias = (g, hh, i, j) -> {
                int dy = i / ws - j / ws, dx = i % ws - j % ws, w = g % nW, wy = w / nw, wx = w % nw;
                double v = table[((dy + ws - 1) * (2 * ws - 1) + dx + ws - 1) * H + hh];
                // tokens from both sides of the wrap-around are not neighbours
                int yi = wy * ws + i / ws, yj = wy * ws + j / ws, xi = wx * ws + i % ws, xj = wx * ws + j % ws;
                boolean apart = (yi + shift >= res) != (yj + shift >= res) || (xi + shift >= res) != (xj + shift >= res);
                return shift > 0 && apart ? v - 100 : v;
            };
            double[] attnOut = VitBackwardTest.attention(qkv, G, T, H, d, scale, 1, bias, this::perturb, pre + ".attn");
            double[] pr = perturb(pre + ".attn.proj", r.linear(attnOut, D, pre + ".attn.proj"));
            // window_reverse, roll back, residual
            double[] back = new double[M * D];
            for (int g = 0; g < G; g++)
                for (int t = 0; t < T; t++) System.arraycopy(pr, (g * T + t) * D, back, rolledRow.applyAsInt(g, t) * D, D);
            back = SwinReferenceTest.Reference.roll(back, B, res, D, shift);
            double[] y = x.clone();
            for (int k = 0; k < y.length; k++) y[k] += back[k];
            double[] f = perturb(pre + ".mlp.fc1", r.linear(r.layerNorm(y, D, pre + ".norm2"), D, pre + ".mlp.fc1"));
            for (int k = 0; k < f.length; k++) f[k] = gelu(f[k]);
            double[] f2 = perturb(pre + ".mlp.fc2", r.linear(f, f.length / M, pre + ".mlp.fc2"));
            for (int k = 0; k < y.length; k++) y[k] += f2[k];
            return y;
        }
    }

    /**
     * Exact GELU in double with erf from its series of positive terms,
     * {@code erf(z) = 2/sqrt(pi) exp(-z^2) sum_n (2 z^2)^n z / (2n+1)!!} (no cancellation; erf = 1
     * in double beyond 6): {@link MathOps#gelu}'s continued fraction needs hundreds of steps near
     * 1, and the finite differences call GELU millions of times.
     */
    static double gelu(double x) {
        double z = Math.abs(x) / Math.sqrt(2), erf = 1;
        if (z < 6) {
            double term = z, sum = z;
            for (int n = 1; term > 1e-17 * sum; n++) sum += term *= 2 * z * z / (2 * n + 1);
            erf = 2 / Math.sqrt(Math.PI) * Math.exp(-z * z) * sum;
        }
        return 0.5 * x * (1 + Math.copySign(erf, x));
    }

    @Test
    void referenceGeluIsMathOpsGelu() {
        for (double x = -10; x <= 10; x += 0.00731) assertEquals(MathOps.gelu(x), gelu(x), 1e-14 * (1 + Math.abs(x)), "x=" + x);
    }

    // ------------------------------------------------------------------ the finite-difference check

    /** Every quantizable op id of the model: its Linear layers and both matmuls of each attention. */
    static Set<String> opIds(SwinTransformer m) {
        Set<String> ids = new HashSet<>();
        for (Linear l : m.linears()) ids.add(l.id());
        for (AttentionOp a : m.attentionOps()) ids.addAll(List.of(a.matmul1Id(), a.matmul2Id()));
        return ids;
    }

    /** Max relative error per op kind over the op's argmax and {@code samples} random elements of every op output. */
    static Map<String, Double> checkAgainstFiniteDifferences(SwinConfig c, long seed, Tensor img, int[] labels, int samples) {
        Weights w = weights(c, seed);
        SwinTransformer m = swin(c, w);
        int B = img.dim(0), NC = c.numClasses();
        Map<String, Tensor> grads = new TreeMap<>();
        Backward.Result res = Backward.run(m, img, labels, grads);
        RefSwin ref = new RefSwin(c, w, img);
        double[] l0 = ref.logits(null, 0, 0);
        for (int k = 0; k < l0.length; k++) assertEquals(l0[k], res.logits()[k], 1e-4 * (1 + Math.abs(l0[k])));
        assertEquals(VitBackwardTest.loss(l0, res.targets(), B, NC), res.loss(), 1e-5);
        assertEquals(opIds(m), grads.keySet());

        return VitBackwardTest.compareWithFiniteDifferences(grads,
                (id, i, delta) -> VitBackwardTest.loss(ref.logits(id, i, delta), res.targets(), B, NC),
                samples, id -> id.replaceAll("^layers\\.(\\d+)\\.blocks\\.\\d+\\.", "layers.$1.blocks.*."));
    }

    @Test
    void matchesFiniteDifferencesWindow7OwnTopOne() {
        Map<String, Double> worst = checkAgainstFiniteDifferences(W7, 11, images(2, 56, 5), null, 20);
        System.out.println("Swin 56/w7 (own top-1) max relative error per op kind: " + VitBackwardTest.format(worst));
    }

    @Test
    void matchesFiniteDifferencesWindow2TrueLabels() {
        Map<String, Double> worst = checkAgainstFiniteDifferences(W2, 12, images(2, 32, 6), new int[] {3, 1}, 20);
        System.out.println("Swin 32/w2 (labels) max relative error per op kind: " + VitBackwardTest.format(worst));
    }

    // ------------------------------------------------------------------ logits, order, operands, gradients-only path

    /** Records each op's arguments (and, for the sink, gradients), to compare the two passes. */
    static final class Recorder implements BackwardSink {
        final boolean want;
        final List<String> order = new ArrayList<>();
        final Map<String, float[]> grads = new HashMap<>();

        Recorder(boolean want) { this.want = want; }

        @Override public boolean wantsForward() { return want; }

        @Override
        public void onLinear(Linear op, float[] x, float[] out, float[] gradOut, int rows) {
            order.add(op.id());
            grads.put(op.id(), Arrays.copyOf(gradOut, rows * op.out()));
        }

        @Override
        public void onMatmul(String id, float[] a, float[] b, float[] out, float[] gradOut,
                             int groups, int heads, int m, int k, int n) {
            order.add(id);
            grads.put(id, Arrays.copyOf(gradOut, groups * heads * m * n));
        }
    }

    @Test
    void logitsAreTheForwardsAndHeadGradientIsSoftmaxMinusOneHot() {
        SwinTransformer m = swin(W7, 3);
        Tensor img = images(3, 56, 9);
        int B = 3, NC = W7.numClasses();
        float[] plain = m.forward(img).data();
        Recorder rec = new Recorder(true);
        Backward.Result res = Backward.run(m, img, null, rec);
        assertArrayEquals(plain, res.logits(), "the backward's forward is the model's forward");
        assertArrayEquals(plain, m.forward(img).data());
        VitBackwardTest.assertOwnTopOneGradient(plain, res.targets(), rec.grads.get("head.fc"), B, NC, 1);
    }

    /** Backward order, and every quantizable op reported exactly once. */
    @Test
    void sinkOrderAndOpIds() {
        SwinTransformer m = swin(W2, 4);
        Recorder rec = new Recorder(false);
        Backward.run(m, images(2, 32, 1), null, rec);
        List<String> want = new ArrayList<>(List.of("head.fc"));
        SwinTransformer.Stage[] st = m.stages();
        for (int s = st.length - 1; s >= 0; s--) {
            for (int b = st[s].blocks().length - 1; b >= 0; b--) {
                String p = "layers." + s + ".blocks." + b + ".";
                want.addAll(List.of(p + "mlp.fc2", p + "mlp.fc1", p + "attn.proj", p + "attn.matmul2", p + "attn.matmul1", p + "attn.qkv"));
            }
            if (s > 0) want.add("layers." + s + ".downsample.reduction");
        }
        want.add("patch_embed.proj");
        assertEquals(want, rec.order);
        assertEquals(opIds(m), new HashSet<>(rec.order));
        assertEquals(rec.order.size(), opIds(m).size());
    }

    /** Without the forward tensors, the gradients are the same to the bit. */
    @Test
    void gradientsOnlyPathGivesIdenticalGradients() {
        for (SwinConfig c : List.of(W7, W2)) {
            SwinTransformer m = swin(c, 6);
            Tensor img = images(2, c.imgSize(), 2);
            Recorder full = new Recorder(true), only = new Recorder(false);
            Backward.run(m, img, null, full);
            Backward.run(m, img, null, only);
            Map<String, Tensor> viaMap = new HashMap<>();
            Backward.run(m, img, null, viaMap);
            assertEquals(full.order, only.order);
            for (String id : full.order) {
                assertArrayEquals(full.grads.get(id), only.grads.get(id), id);
                assertArrayEquals(full.grads.get(id), viaMap.get(id).data(), id);
            }
        }
    }

    /** The operands handed to the sink are the model's own forward tensors. */
    @Test
    void sinkOperandsAreTheForwardTensors() {
        for (SwinConfig c : List.of(W7, W2)) checkOperands(c);
    }

    private static void checkOperands(SwinConfig c) {
        SwinTransformer m = swin(c, 21);
        int B = 2;
        Tensor img = images(B, c.imgSize(), 8);
        VitBackwardTest.ForwardRecorder fwd = new VitBackwardTest.ForwardRecorder();
        m.forward(img, fwd);
        Map<String, AttentionOp> attn = new HashMap<>();
        for (AttentionOp a : m.attentionOps()) attn.put(a.prefix(), a);
        Map<String, float[]> probs = new HashMap<>();
        int[] seen = new int[2];
        Backward.run(m, img, null, new BackwardSink() {
            @Override
            public void onLinear(Linear op, float[] x, float[] out, float[] gradOut, int rows) {
                fwd.assertLinearOperands(op, x, out, rows);
                seen[0]++;
            }

            @Override
            public void onMatmul(String id, float[] a, float[] b, float[] out, float[] gradOut,
                                 int groups, int heads, int mm, int k, int n) {
                String prefix = id.substring(0, id.lastIndexOf('.'));
                AttentionOp op = attn.get(prefix);
                int T = op.spec().tokens(), H = op.spec().heads(), d = op.spec().headDim(), D = op.spec().dim();
                float[] qkv = fwd.ops.get(prefix)[0], att = fwd.ops.get(prefix)[1];
                assertEquals(qkv.length / (3 * D * T), groups, id + ": groups = images x windows");
                assertEquals(H, heads);
                VitBackwardTest.assertMatmulProduct(id, a, b, out, groups, heads, mm, k, n);
                for (int g = 0; g < groups; g++)
                    for (int h = 0; h < H; h++)
                        for (int t = 0; t < T; t++)
                            for (int j = 0; j < d; j++) {
                                int hm = ((g * H + h) * T + t) * d, row = (g * T + t) * 3 * D + h * d + j;
                                if (id.endsWith("matmul2")) {
                                    assertEquals(att[(g * T + t) * D + h * d + j], out[hm + j], 0f, id + " output");
                                    assertEquals(qkv[row + 2 * D], b[hm + j], 0f, id + " v");
                                } else {
                                    assertEquals(qkv[row] * op.spec().scale(), a[hm + j], 0f, id + " q * scale");
                                    assertEquals(qkv[row + D], b[((g * H + h) * d + j) * T + t], 0f, id + " k^T");
                                }
                            }
                if (id.endsWith("matmul2")) {
                    probs.put(prefix, Arrays.copyOf(a, groups * heads * mm * k));
                } else {
                    // softmax(out + relative-position bias + mask) = matmul2's probabilities: out is before the bias
                    float[] p = probs.get(prefix), bias = op.bias();
                    for (int g = 0; g < groups; g++)
                        for (int h = 0; h < H; h++)
                            for (int i = 0; i < T; i++) {
                                int row = ((g * H + h) * T + i) * T, bo = (((g % op.biasGroups()) * H + h) * T + i) * T;
                                double max = Double.NEGATIVE_INFINITY, sum = 0;
                                for (int j = 0; j < T; j++) max = Math.max(max, out[row + j] + bias[bo + j]);
                                for (int j = 0; j < T; j++) sum += Math.exp(out[row + j] + bias[bo + j] - max);
                                for (int j = 0; j < T; j++) {
                                    assertEquals(Math.exp(out[row + j] + bias[bo + j] - max) / sum, p[row + j], 1e-5, id + " softmax");
                                }
                            }
                }
                seen[1]++;
            }
        });
        assertEquals(m.linears().size(), seen[0]);
        assertEquals(2 * m.attentionOps().size(), seen[1]);
    }
}
