package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.Activation;
import io.vitq.tensor.BackwardKernels;
import io.vitq.tensor.MathOps;
import io.vitq.tensor.Tensor;
import io.vitq.tensor.VectorMath;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float32 backward against central finite differences of the loss computed by an independent
 * float64 forward (written below), with a perturbation injected at one element of one op output.
 *
 * <p>Tolerance: the finite differences are in double with step 1e-3 on O(1) activations, so their
 * truncation error (~ h^2 L''' / 6) and round-off (~ 1e-16 / h) are below 1e-6 relative; the
 * analytic gradients are float32, whose accumulated round-off is a few 1e-7 relative to the
 * magnitudes being summed, which for an element can exceed the element itself when terms cancel.
 * So each sampled element is compared with
 * {@code |g - fd| <= TOL * (|fd| + 0.01 * max_op |g|)}, TOL = 1e-3: float32 error has ample room,
 * while a wrong formula (a missing factor, a transposed index, the scale on the wrong side) gives
 * errors of order 1.
 */
class VitBackwardTest {
    static final double TOL = 1e-3;

    /** A tiny ViT with weights large enough to make softmax, GELU and LayerNorm non-trivial. */
    static VisionTransformer tinyVit(ViTConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        int D = c.dim(), p = c.patch();
        RandomWeights.put(m, r, "patch_embed.proj.weight", 0.1f, D, c.inChans(), p, p);
        RandomWeights.put(m, r, "patch_embed.proj.bias", 0.1f, D);
        if (c.prefixTokens() >= 1) RandomWeights.put(m, r, "cls_token", 0.5f, 1, 1, D);
        if (c.distilled()) RandomWeights.put(m, r, "dist_token", 0.5f, 1, 1, D);
        RandomWeights.put(m, r, "pos_embed", 0.5f, 1, c.posEmbedPrefix() ? c.tokens() : c.numPatches(), D);
        for (int i = 0; i < c.depth(); i++) {
            String b = "blocks." + i;
            norm(m, r, b + ".norm1", D);
            RandomWeights.put(m, r, b + ".attn.qkv.weight", 0.3f, 3 * D, D);
            if (c.qkvBias()) RandomWeights.put(m, r, b + ".attn.qkv.bias", 0.1f, 3 * D);
            RandomWeights.put(m, r, b + ".attn.proj.weight", 0.2f, D, D);
            RandomWeights.put(m, r, b + ".attn.proj.bias", 0.1f, D);
            norm(m, r, b + ".norm2", D);
            RandomWeights.put(m, r, b + ".mlp.fc1.weight", 0.25f, c.mlpHidden(), D);
            RandomWeights.put(m, r, b + ".mlp.fc1.bias", 0.3f, c.mlpHidden());
            RandomWeights.put(m, r, b + ".mlp.fc2.weight", 0.15f, D, c.mlpHidden());
            RandomWeights.put(m, r, b + ".mlp.fc2.bias", 0.1f, D);
            if (c.layerScale()) { // gammas of both signs and sizes, so a missing or misplaced scale shows
                RandomWeights.put(m, r, b + ".ls1.gamma", 0.7f, D);
                RandomWeights.put(m, r, b + ".ls2.gamma", 0.7f, D);
            }
        }
        norm(m, r, c.fcNorm() ? "fc_norm" : "norm", D);
        RandomWeights.put(m, r, "head.weight", 0.3f, c.numClasses(), D);
        RandomWeights.put(m, r, "head.bias", 0.1f, c.numClasses());
        if (c.distilled()) {
            RandomWeights.put(m, r, "head_dist.weight", 0.3f, c.numClasses(), D);
            RandomWeights.put(m, r, "head_dist.bias", 0.1f, c.numClasses());
        }
        return VisionTransformer.load("tiny", c, Preprocessing.timm(c.imgSize(), false), new Weights("test", m));
    }

    private static void norm(Map<String, Tensor> m, SplittableRandom r, String prefix, int dim) {
        RandomWeights.put(m, r, prefix + ".weight", 0.2f, dim);
        for (int i = 0; i < dim; i++) m.get(prefix + ".weight").data()[i] += 1f;
        RandomWeights.put(m, r, prefix + ".bias", 0.1f, dim);
    }

    static Tensor images(int b, int size, long seed) {
        return VitModelTest.randomImages(b, size, seed);
    }

    // ------------------------------------------------------------------ float64 reference forward

    /** The ViT forward in double, straight from the weights, with one optional perturbed op output. */
    static final class RefVit {
        final VisionTransformer m;
        final ViTConfig c;
        final Map<String, double[]> p = new HashMap<>();

        RefVit(VisionTransformer m) {
            this.m = m;
            this.c = m.config();
            for (Linear l : m.linears()) {
                p.put(l.id() + ".weight", toD(l.weight()));
                p.put(l.id() + ".bias", toD(l.bias()));
            }
            for (VisionTransformer.Block b : m.blocks()) {
                for (LayerNorm n : List.of(b.norm1(), b.norm2())) {
                    p.put(n.id() + ".weight", toD(n.weight()));
                    p.put(n.id() + ".bias", toD(n.bias()));
                }
                if (b.ls1() != null) {
                    p.put(b.name() + ".ls1.gamma", toD(b.ls1()));
                    p.put(b.name() + ".ls2.gamma", toD(b.ls2()));
                }
            }
            LayerNorm n = m.norm();
            p.put("norm.weight", toD(n.weight()));
            p.put("norm.bias", toD(n.bias()));
        }

        /** {@code y} times LayerScale {@code gamma} per channel (identity without LayerScale). */
        double[] layerScale(String name, double[] y) {
            double[] g = p.get(name);
            if (g == null) return y;
            for (int k = 0; k < y.length; k++) y[k] *= g[k % g.length];
            return y;
        }

        static double[] toD(float[] a) {
            if (a == null) return null;
            double[] d = new double[a.length];
            for (int i = 0; i < a.length; i++) d[i] = a[i];
            return d;
        }

        String opId;
        int index;
        double delta;

        private void perturb(String id, double[] out) {
            if (id.equals(opId)) out[index] += delta;
        }

        private double[] linear(String id, double[] x, int rows) {
            double[] w = p.get(id + ".weight"), b = p.get(id + ".bias");
            int in = x.length / rows, out = w.length / in;
            double[] y = new double[rows * out];
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < out; o++) {
                    double s = b == null ? 0 : b[o];
                    for (int i = 0; i < in; i++) s += x[r * in + i] * w[o * in + i];
                    y[r * out + o] = s;
                }
            perturb(id, y);
            return y;
        }

        private double[] layerNorm(String id, double[] x, int rows, int n) {
            double[] g = p.get(id + ".weight"), b = p.get(id + ".bias"), y = new double[rows * n];
            for (int r = 0; r < rows; r++) {
                double mean = 0, var = 0;
                for (int i = 0; i < n; i++) mean += x[r * n + i];
                mean /= n;
                for (int i = 0; i < n; i++) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
                double rstd = 1 / Math.sqrt(var / n + c.eps());
                for (int i = 0; i < n; i++) y[r * n + i] = (x[r * n + i] - mean) * rstd * g[i] + b[i];
            }
            return y;
        }

        /** Logits [B, classes] with {@code delta} added to element {@code index} of op {@code opId}'s output. */
        double[] logits(float[] img, int B, String opId, int index, double delta) {
            this.opId = opId;
            this.index = index;
            this.delta = delta;
            int D = c.dim(), T = c.tokens(), NP = c.numPatches(), pre = c.prefixTokens();
            double[] patches = im2col(img, B, c.inChans(), c.imgSize(), c.patch());
            double[] pe = linear("patch_embed.proj", patches, B * NP);
            double[] x = new double[B * T * D];
            double[] pos = toD(cached("pos_embed"));
            for (int b = 0; b < B; b++)
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < D; j++) {
                        double v;
                        if (t == 0 && pre >= 1) v = cached("cls_token")[j];
                        else if (t == 1 && pre == 2) v = cached("dist_token")[j];
                        else v = pe[(b * NP + t - pre) * D + j];
                        x[(b * T + t) * D + j] = v + pos[t * D + j];
                    }
            int M = B * T, H = c.heads(), d = c.headDim(), Hd = c.mlpHidden();
            double scale = Math.pow(d, -0.5);
            for (int i = 0; i < c.depth(); i++) {
                String pb = "blocks." + i;
                double[] qkv = linear(pb + ".attn.qkv", layerNorm(pb + ".norm1", x, M, D), M);
                double[] attnOut = attention(qkv, B, T, H, d, 1, scale, null, this::perturb, pb + ".attn");
                double[] proj = layerScale(pb + ".ls1.gamma", linear(pb + ".attn.proj", attnOut, M));
                for (int k = 0; k < x.length; k++) x[k] += proj[k];
                double[] f = linear(pb + ".mlp.fc1", layerNorm(pb + ".norm2", x, M, D), M);
                for (int k = 0; k < f.length; k++) f[k] = MathOps.gelu(f[k]);
                double[] f2 = layerScale(pb + ".ls2.gamma", linear(pb + ".mlp.fc2", f, M));
                for (int k = 0; k < x.length; k++) x[k] += f2[k];
                assertEquals(M * Hd, f.length);
            }
            if (c.pooling() == ViTConfig.Pooling.AVERAGE) { // mean of the patch tokens, the norm before it or after (fc_norm)
                double[] src = c.fcNorm() ? x : layerNorm("norm", x, M, D), mean = new double[B * D];
                for (int b = 0; b < B; b++)
                    for (int t = pre; t < T; t++)
                        for (int j = 0; j < D; j++) mean[b * D + j] += src[(b * T + t) * D + j] / NP;
                return linear("head", c.fcNorm() ? layerNorm("norm", mean, B, D) : mean, B);
            }
            double[] xn = layerNorm("norm", x, M, D);
            double[] cls = new double[B * D], dist = new double[B * D];
            for (int b = 0; b < B; b++) {
                System.arraycopy(xn, b * T * D, cls, b * D, D);
                if (pre == 2) System.arraycopy(xn, (b * T + 1) * D, dist, b * D, D);
            }
            double[] logits = linear("head", cls, B);
            if (pre == 2) {
                double[] l2 = linear("head_dist", dist, B);
                for (int k = 0; k < logits.length; k++) logits[k] = (logits[k] + l2[k]) / 2;
            }
            return logits;
        }

        private final Map<String, float[]> extra = new HashMap<>();

        /** cls_token, dist_token, pos_embed: not exposed by the model, recovered from a probe. */
        float[] cached(String name) { return extra.get(name); }
    }

    /**
     * cls/dist token and position embedding are private to the model; recover them exactly from
     * the "embed" probe of a forward with a zero patch-embedding output.
     */
    static void recoverEmbeddings(RefVit ref) {
        ViTConfig c = ref.c;
        int D = c.dim(), T = c.tokens(), pre = c.prefixTokens();
        Executor zeroPe = new FloatExecutor() {
            @Override
            public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
                super.linear(op, x, m, y, act, accumulate);
                if (op.id().equals("patch_embed.proj")) java.util.Arrays.fill(y, 0, m * op.out(), 0f);
            }
        };
        float[][] embed = new float[1][];
        ref.m.forward(images(1, c.imgSize(), 0), zeroPe, (name, data, shape) -> {
            if (name.equals("embed")) embed[0] = data.clone();
        });
        // embed row 0 = cls + pos[0] (, row 1 = dist + pos[1]), rows >= pre = pos[t] exactly
        float[] pos = new float[T * D];
        System.arraycopy(embed[0], 0, pos, 0, T * D);
        ref.extra.put("pos_embed", pos);
        // the prefix rows hold cls + pos; split them as zero pos + the sum (same sum in double)
        if (pre >= 1) ref.extra.put("cls_token", java.util.Arrays.copyOfRange(embed[0], 0, D));
        if (pre == 2) ref.extra.put("dist_token", java.util.Arrays.copyOfRange(embed[0], D, 2 * D));
        for (int t = 0; t < pre * D; t++) pos[t] = 0f;
    }

    static double loss(double[] logits, int[] targets, int B, int NC) {
        double l = 0;
        for (int b = 0; b < B; b++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < NC; k++) max = Math.max(max, logits[b * NC + k]);
            for (int k = 0; k < NC; k++) sum += Math.exp(logits[b * NC + k] - max);
            l += Math.log(sum) + max - logits[b * NC + targets[b]];
        }
        return l / B;
    }

    // ------------------------------------------------------------------ the finite-difference check

    /** Max relative error per op kind over a sample of elements of every op output. */
    static Map<String, Double> checkAgainstFiniteDifferences(VisionTransformer m, Tensor img, int[] labels, int samples) {
        ViTConfig c = m.config();
        int B = img.dim(0), NC = c.numClasses();
        Map<String, Tensor> grads = new TreeMap<>();
        Backward.Result res = Backward.run(m, img, labels, grads);
        RefVit ref = new RefVit(m);
        recoverEmbeddings(ref);
        // the float64 forward agrees with the float32 model
        double[] l0 = ref.logits(img.data(), B, null, 0, 0);
        for (int k = 0; k < l0.length; k++) assertEquals(l0[k], res.logits()[k], 1e-4 * (1 + Math.abs(l0[k])));
        assertEquals(loss(l0, res.targets(), B, NC), res.loss(), 1e-5);

        int expectedOps = 1 + 1 + c.depth() * 6 + (c.distilled() ? 1 : 0);
        assertEquals(expectedOps, grads.size(), grads.keySet().toString());
        return compareWithFiniteDifferences(grads,
                (id, i, delta) -> loss(ref.logits(img.data(), B, id, i, delta), res.targets(), B, NC),
                samples, id -> id.replaceAll("^blocks\\.\\d+\\.", "blocks.*."));
    }

    /** Images [B, C, S, S] to patch rows (b, gy, gx) of columns (c, ky, kx), in double. */
    static double[] im2col(float[] img, int B, int C, int S, int P) {
        int G = S / P, K = C * P * P;
        double[] patches = new double[B * G * G * K];
        for (int b = 0; b < B; b++)
            for (int gy = 0; gy < G; gy++)
                for (int gx = 0; gx < G; gx++)
                    for (int ch = 0; ch < C; ch++)
                        for (int ky = 0; ky < P; ky++)
                            for (int kx = 0; kx < P; kx++)
                                patches[((b * G + gy) * G + gx) * K + (ch * P + ky) * P + kx] =
                                        img[((b * C + ch) * S + gy * P + ky) * S + gx * P + kx];
        return patches;
    }

    /** The float64 loss with {@code delta} added to element {@code index} of op {@code id}'s output. */
    interface PerturbedLoss {
        double at(String id, int index, double delta);
    }

    /**
     * Every op's gradient against central differences of {@code loss} (step 1e-3) on a sample of
     * elements: the op's largest and {@code samples} random ones. Asserts the tolerance; returns
     * the max relative error per op kind ({@code kind} maps an op id to its kind).
     */
    static Map<String, Double> compareWithFiniteDifferences(Map<String, Tensor> grads, PerturbedLoss loss, int samples,
                                                            UnaryOperator<String> kind) {
        SplittableRandom r = new SplittableRandom(42);
        double h = 1e-3;
        Map<String, Double> worst = new TreeMap<>();
        for (var e : grads.entrySet()) {
            String id = e.getKey();
            float[] g = e.getValue().data();
            int argmax = 0;
            double gmax = 0;
            for (int i = 0; i < g.length; i++) if (Math.abs(g[i]) > gmax) { gmax = Math.abs(g[i]); argmax = i; }
            assertTrue(gmax > 0, id + ": gradient is identically zero");
            List<Integer> idx = new ArrayList<>(List.of(argmax));
            for (int s = 0; s < samples; s++) idx.add(r.nextInt(g.length));
            for (int i : idx) {
                double fd = (loss.at(id, i, h) - loss.at(id, i, -h)) / (2 * h);
                double err = Math.abs(g[i] - fd) / (Math.abs(fd) + 0.01 * gmax);
                worst.merge(kind.apply(id), err, Math::max);
                assertTrue(err < TOL, String.format(Locale.ROOT, "%s[%d]: analytic %.8g, finite difference %.8g (err %.2g)",
                        id, i, g[i], fd, err));
            }
        }
        return worst;
    }

    /** Additive score bias of group g, head h, query i, key j. */
    interface ScoreBias {
        double at(int g, int h, int i, int j);
    }

    /**
     * The attention core in double over {@code qkv [G*T, 3D]} (timm's layout), per group g and head
     * h: matmul1 = (q * qScale) . k^T, P = softmax(matmul1 * sScale + bias), matmul2 = P . v.
     * {@code perturb} gets matmul1's output [G, H, T, T] and matmul2's [G, H, T, d] (ids
     * {@code prefix.matmul1}, {@code prefix.matmul2}) as they are computed. Returns the output
     * token-major [G*T, D].
     */
    static double[] attention(double[] qkv, int G, int T, int H, int d, double qScale, double sScale, ScoreBias bias,
                              BiConsumer<String, double[]> perturb, String prefix) {
        int D = H * d;
        double[] s = new double[G * H * T * T], o = new double[G * H * T * d], out = new double[G * T * D];
        for (int g = 0; g < G; g++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++)
                    for (int u = 0; u < T; u++) {
                        double v = 0;
                        for (int j = 0; j < d; j++)
                            v += qkv[(g * T + t) * 3 * D + h * d + j] * qScale * qkv[(g * T + u) * 3 * D + D + h * d + j];
                        s[((g * H + h) * T + t) * T + u] = v;
                    }
        perturb.accept(prefix + ".matmul1", s);
        for (int row = 0; row < G * H * T; row++) {
            int g = row / (H * T), h = row / T % H, t = row % T;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int u = 0; u < T; u++) {
                s[row * T + u] = s[row * T + u] * sScale + (bias == null ? 0 : bias.at(g, h, t, u));
                max = Math.max(max, s[row * T + u]);
            }
            for (int u = 0; u < T; u++) sum += s[row * T + u] = Math.exp(s[row * T + u] - max);
            for (int u = 0; u < T; u++) s[row * T + u] /= sum;
        }
        for (int g = 0; g < G; g++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < d; j++) {
                        double v = 0;
                        for (int u = 0; u < T; u++)
                            v += s[((g * H + h) * T + t) * T + u] * qkv[(g * T + u) * 3 * D + 2 * D + h * d + j];
                        o[((g * H + h) * T + t) * d + j] = v;
                    }
        perturb.accept(prefix + ".matmul2", o);
        for (int g = 0; g < G; g++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++)
                    System.arraycopy(o, ((g * H + h) * T + t) * d, out, (g * T + t) * D + h * d, d);
        return out;
    }

    @Test
    void matchesFiniteDifferencesOwnTopOne() {
        ViTConfig c = new ViTConfig(32, 8, 3, 32, 2, 2, 64, 5, 1, 1e-6f);
        VisionTransformer m = tinyVit(c, 11);
        Map<String, Double> worst = checkAgainstFiniteDifferences(m, images(2, 32, 5), null, 12);
        System.out.println("ViT (own top-1) max relative error per op kind: " + format(worst));
    }

    @Test
    void matchesFiniteDifferencesDistilledTrueLabels() {
        ViTConfig c = new ViTConfig(32, 16, 3, 32, 2, 2, 64, 5, 2, 1e-6f);
        VisionTransformer m = tinyVit(c, 12);
        Map<String, Double> worst = checkAgainstFiniteDifferences(m, images(2, 32, 6), new int[] {3, 1}, 12);
        System.out.println("DeiT distilled (labels) max relative error per op kind: " + format(worst));
    }

    /**
     * timm's ViT variants: DeiT-3 (LayerScale, position embedding on the patch tokens only), the GAP
     * ViTs (no class token, the mean of the normed tokens, no qkv bias, LayerScale) and average
     * pooling with fc_norm after it.
     */
    @Test
    void matchesFiniteDifferencesOnTheTimmVariants() {
        ViTConfig base = new ViTConfig(32, 8, 3, 32, 2, 2, 64, 5, 1, 1e-6f);
        Map<String, ViTConfig> variants = new LinkedHashMap<>();
        variants.put("DeiT-3 (LayerScale, no_embed_class)", base.withVariant(1, ViTConfig.Pooling.CLASS_TOKEN, false, false, true));
        variants.put("GAP (no class token, avg, norm first, no qkv bias, LayerScale)", new ViTConfig(32, 8, 3, 32, 2, 2, 64, 5, 0,
                1e-6f, false, ViTConfig.Pooling.AVERAGE, false, true, true));
        variants.put("avg + fc_norm (class token kept)", base.withVariant(1, ViTConfig.Pooling.AVERAGE, true, true, false));
        long seed = 20;
        for (var e : variants.entrySet()) {
            VisionTransformer m = tinyVit(e.getValue(), seed++);
            Map<String, Double> worst = checkAgainstFiniteDifferences(m, images(2, 32, seed), new int[] {4, 0}, 8);
            System.out.println(e.getKey() + " max relative error per op kind: " + format(worst));
        }
    }

    static String format(Map<String, Double> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "%n  %-22s %.2e", k, v)));
        return sb.toString();
    }

    // ------------------------------------------------------------------ logits gradient, zeros, operands

    @Test
    void headGradientIsSoftmaxMinusOneHotOverBatch() {
        for (int pre : new int[] {1, 2}) {
            ViTConfig c = new ViTConfig(32, 16, 3, 32, 2, 2, 64, 7, pre, 1e-6f);
            VisionTransformer m = tinyVit(c, 3);
            int B = 3, NC = 7;
            Map<String, Tensor> grads = new HashMap<>();
            Backward.Result res = Backward.run(m, images(B, 32, 9), null, grads);
            float[] ref = m.forward(images(B, 32, 9)).data();
            assertArrayEquals(ref, res.logits(), "the backward's forward is the model's forward");
            double factor = pre == 2 ? 0.5 : 1;
            assertOwnTopOneGradient(ref, res.targets(), grads.get("head").data(), B, NC, factor);
            if (pre == 2) assertOwnTopOneGradient(ref, res.targets(), grads.get("head_dist").data(), B, NC, factor);
        }
    }

    /** The targets are the logits' top-1 (first maximum) and {@code g = factor * (softmax - onehot(top)) / B}. */
    static void assertOwnTopOneGradient(float[] logits, int[] targets, float[] g, int B, int NC, double factor) {
        for (int b = 0; b < B; b++) {
            int top = 0;
            for (int k = 1; k < NC; k++) if (logits[b * NC + k] > logits[b * NC + top]) top = k;
            assertEquals(top, targets[b]);
            double max = logits[b * NC + top], sum = 0;
            for (int k = 0; k < NC; k++) sum += Math.exp(logits[b * NC + k] - max);
            for (int k = 0; k < NC; k++) {
                double want = factor * (Math.exp(logits[b * NC + k] - max) / sum - (k == top ? 1 : 0)) / B;
                assertEquals(want, g[b * NC + k], 1e-7);
            }
        }
    }

    /**
     * The PTQ4ViT pitfall (ALGORITHMS.md 2.1): with KL(FP || FP) every G is 0. With cross-entropy
     * against the own top-1, every op's G is non-zero almost everywhere, also on the realistic
     * small-weight initialisation. The only exact zeros are structural: in the last block only the
     * prefix (class/distillation) tokens reach the head, so the per-token ops (proj, fc1, fc2, the
     * query rows of matmul1/matmul2, the q part of qkv) have G = 0 on the other tokens' rows.
     */
    @Test
    void gradientsAreNotSystematicallyZero() {
        for (int pre : new int[] {1, 2}) {
            ViTConfig c = new ViTConfig(64, 16, 3, 64, 2, 4, 128, 10, pre, 1e-6f);
            VisionTransformer m = VisionTransformer.load("r", c, Preprocessing.timm(64, false), RandomWeights.vit(c, 5));
            Map<String, Tensor> grads = new TreeMap<>();
            Backward.Result res = Backward.run(m, images(4, 64, 2), null, grads);
            assertTrue(res.loss() > 0);
            int T = c.tokens(), D = c.dim(), last = c.depth() - 1;
            for (var e : grads.entrySet()) {
                String id = e.getKey();
                Tensor t = e.getValue();
                float[] g = t.data();
                boolean lastBlock = id.startsWith("blocks." + last + ".");
                int zeros = 0, structural = 0, nonZeroStructural = 0;
                for (int i = 0; i < g.length; i++) {
                    boolean mustBeZero = false;
                    if (lastBlock) {
                        if (t.rank() == 4) {                         // [B, H, T, n]: query row
                            mustBeZero = (i / t.dim(3)) % T >= pre;
                        } else {                                     // [B*T, out]
                            int tok = (i / t.dim(1)) % T, col = i % t.dim(1);
                            mustBeZero = tok >= pre && !(id.endsWith("qkv") && col >= D);
                        }
                    }
                    if (mustBeZero) {
                        structural++;
                        if (g[i] != 0f) nonZeroStructural++;
                    } else if (g[i] == 0f) {
                        zeros++;
                    }
                }
                assertEquals(0, nonZeroStructural, id + ": gradient reaches tokens that do not reach the head");
                assertTrue(zeros <= (g.length - structural) / 1000,
                        id + ": " + zeros + " of " + (g.length - structural) + " gradients are exactly 0");
            }
        }
    }

    /**
     * A float forward that records, by op id, every Linear's input, output and (when it adds into
     * the residual stream) the value before, and, by attention prefix, every attention's qkv and output.
     */
    static final class ForwardRecorder extends FloatExecutor {
        final Map<String, float[][]> ops = new HashMap<>();

        @Override
        public void linear(Linear op, float[] x, int rows, float[] y, Activation act, boolean acc) {
            float[] before = acc ? Arrays.copyOf(y, rows * op.out()) : null;
            super.linear(op, x, rows, y, act, acc);
            ops.put(op.id(), new float[][] {Arrays.copyOf(x, rows * op.in()), Arrays.copyOf(y, rows * op.out()), before});
        }

        @Override
        public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
            super.attention(op, qkv, groups, out);
            int rows = groups * op.spec().tokens(), D = op.spec().dim();
            ops.put(op.prefix(), new float[][] {Arrays.copyOf(qkv, rows * 3 * D), Arrays.copyOf(out, rows * D)});
        }

        /**
         * A Linear's sink operands are the forward's: the same input and output (fc1: before the
         * forward's fused GELU; a residual op: without the residual), and out = x . W^T + b in double.
         */
        void assertLinearOperands(Linear op, float[] x, float[] out, int rows) {
            String id = op.id();
            float[][] f = ops.get(id);
            assertNotNull(f, id);
            assertEquals(f[0].length / op.in(), rows, id + " rows");
            assertArrayEquals(f[0], Arrays.copyOf(x, rows * op.in()), id + " input");
            float[] o = Arrays.copyOf(out, rows * op.out());
            if (id.endsWith("mlp.fc1")) {        // scalar GELU may differ from the fused one by an ulp
                for (int i = 0; i < o.length; i++) o[i] = VectorMath.gelu(o[i]);
                for (int i = 0; i < o.length; i++) assertEquals(f[1][i], o[i], 1e-6f * (1 + Math.abs(o[i])), id);
            } else if (f[2] != null) {           // residual: the model's y = before + out
                for (int i = 0; i < o.length; i++) assertEquals(f[1][i] - f[2][i], o[i], 1e-5f * (1 + Math.abs(f[1][i])), id);
            } else {
                assertArrayEquals(f[1], o, id + " output");
            }
            float[] w = op.weight(), bias = op.bias();
            for (int rr = 0; rr < rows; rr += Math.max(1, rows / 7))
                for (int k = 0; k < op.out(); k++) {
                    double s = bias == null ? 0 : bias[k];
                    for (int i = 0; i < op.in(); i++) s += (double) x[rr * op.in() + i] * w[k * op.in() + i];
                    assertEquals(s, out[rr * op.out() + k], 1e-5 * (1 + Math.abs(s)), id);
                }
        }
    }

    /** {@code out = a . b} per group and head, in double. */
    static void assertMatmulProduct(String id, float[] a, float[] b, float[] out, int groups, int heads, int mm, int k, int n) {
        for (int gh = 0; gh < groups * heads; gh++)
            for (int i = 0; i < mm; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int q = 0; q < k; q++) s += (double) a[(gh * mm + i) * k + q] * b[(gh * k + q) * n + j];
                    assertEquals(s, out[(gh * mm + i) * n + j], 1e-5 * (1 + Math.abs(s)), id);
                }
    }

    /** The operands handed to the sink are the model's own forward tensors. */
    @Test
    void sinkOperandsAreTheForwardTensors() {
        ViTConfig c = new ViTConfig(32, 8, 3, 32, 2, 2, 64, 5, 2, 1e-6f);
        VisionTransformer m = tinyVit(c, 21);
        Tensor img = images(2, 32, 8);
        int B = 2, T = c.tokens(), D = c.dim(), H = c.heads(), d = c.headDim();
        ForwardRecorder fwd = new ForwardRecorder();
        m.forward(img, fwd);
        Map<String, Integer> seen = new HashMap<>();
        Backward.run(m, img, null, new BackwardSink() {
            @Override
            public void onLinear(Linear op, float[] x, float[] out, float[] gradOut, int rows) {
                fwd.assertLinearOperands(op, x, out, rows);
                seen.merge("linear", 1, Integer::sum);
            }

            @Override
            public void onMatmul(String id, float[] a, float[] b, float[] out, float[] gradOut,
                                 int groups, int heads, int mm, int k, int n) {
                assertEquals(B, groups);
                assertEquals(H, heads);
                assertMatmulProduct(id, a, b, out, groups, heads, mm, k, n);
                if (id.endsWith("matmul2")) {
                    float[] att = fwd.ops.get(id.substring(0, id.length() - ".matmul2".length()))[1];
                    for (int g = 0; g < B; g++)
                        for (int h = 0; h < H; h++)
                            for (int t = 0; t < T; t++)
                                for (int j = 0; j < d; j++)
                                    assertEquals(att[(g * T + t) * D + h * d + j], out[((g * H + h) * T + t) * d + j], 0f, id);
                    for (int row = 0; row < groups * heads * mm; row++) {
                        double s = 0;
                        for (int j = 0; j < k; j++) s += a[row * k + j];
                        assertEquals(1, s, 1e-5, id + " probabilities");
                    }
                }
                seen.merge("matmul", 1, Integer::sum);
            }
        });
        assertEquals(1 + 4 * c.depth() + 2, seen.get("linear"));
        assertEquals(2 * c.depth(), seen.get("matmul"));
    }

    @Test
    void geluDerivativeMatchesDouble() {
        for (double x = -12; x <= 12; x += 0.0137) {
            double h = 1e-5;
            double want = (MathOps.gelu(x + h) - MathOps.gelu(x - h)) / (2 * h);
            assertEquals(want, BackwardKernels.geluDerivative((float) x), 3e-7 * (1 + Math.abs(x)), "x=" + x);
        }
        float[] x = new float[37], dy = new float[37], dx = new float[37];
        for (int i = 0; i < 37; i++) { x[i] = (i - 18) * 0.3f; dy[i] = 1 + i; }
        BackwardKernels.geluBackward(x, dy, dx, 0, 37);
        for (int i = 0; i < 37; i++) assertEquals(dy[i] * BackwardKernels.geluDerivative(x[i]), dx[i], 1e-6f * dy[i]);
    }
}
