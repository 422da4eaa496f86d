package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.tensor.MathOps;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SwinTransformer against a slow, literal double-precision re-implementation of timm's forward
 * written here: explicit torch.roll, window_partition, per-window attention with the bias gathered
 * from the table and the shift mask, window_reverse, roll back. Random weights, small dims.
 */
class SwinReferenceTest {

    /** timm's forward, spelled out on [B][H][W][C] arrays (flattened), in double. */
    static final class Reference {
        final SwinConfig c;
        final Map<String, Tensor> w;
        final Map<String, double[]> out = new LinkedHashMap<>();

        Reference(SwinConfig c, Weights weights) {
            this.c = c;
            this.w = weights.asMap();
        }

        float[] p(String k) { return w.get(k).data(); }

        double[] forward(float[] img, int B) {
            int p = c.patch(), S = c.imgSize(), G = S / p, D = c.embedDim(), Cin = c.inChans();
            // patch_embed: the conv itself, then LayerNorm
            float[] cw = p("patch_embed.proj.weight"), cb = p("patch_embed.proj.bias");
            double[] x = new double[B * G * G * D];
            for (int b = 0; b < B; b++)
                for (int gy = 0; gy < G; gy++)
                    for (int gx = 0; gx < G; gx++)
                        for (int d = 0; d < D; d++) {
                            double acc = cb[d];
                            for (int ch = 0; ch < Cin; ch++)
                                for (int ky = 0; ky < p; ky++)
                                    for (int kx = 0; kx < p; kx++) {
                                        acc += cw[((d * Cin + ch) * p + ky) * p + kx]
                                                * img[((b * Cin + ch) * S + gy * p + ky) * S + gx * p + kx];
                                    }
                            x[((b * G + gy) * G + gx) * D + d] = acc;
                        }
            x = layerNorm(x, D, "patch_embed.norm");
            out.put("patch_embed", x);
            int res = G;
            for (int s = 0; s < c.stages(); s++) {
                if (s > 0) {
                    x = patchMerging(x, B, res, D, "layers." + s + ".downsample");
                    res /= 2;
                    D *= 2;
                    out.put("layers." + s + ".downsample", x);
                }
                for (int blk = 0; blk < c.depth(s); blk++) x = block(x, B, res, D, c.heads(s), blk, "layers." + s + ".blocks." + blk);
                out.put("layers." + s, x);
            }
            x = layerNorm(x, D, "norm");
            out.put("norm", x);
            int L = res * res;
            double[] pooled = new double[B * D];
            for (int b = 0; b < B; b++)
                for (int t = 0; t < L; t++)
                    for (int d = 0; d < D; d++) pooled[b * D + d] += x[(b * L + t) * D + d] / L;
            out.put("pooled", pooled);
            return linear(pooled, D, "head.fc");
        }

        double[] patchMerging(double[] x, int B, int res, int C, String pre) {
            int r = res / 2;
            double[] y = new double[B * r * r * 4 * C];
            // x0 = x[:, 0::2, 0::2], x1 = x[:, 1::2, 0::2], x2 = x[:, 0::2, 1::2], x3 = x[:, 1::2, 1::2]
            int[][] offs = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
            for (int b = 0; b < B; b++)
                for (int i = 0; i < r; i++)
                    for (int j = 0; j < r; j++)
                        for (int k = 0; k < 4; k++)
                            for (int ch = 0; ch < C; ch++) {
                                y[((b * r + i) * r + j) * 4 * C + k * C + ch] =
                                        x[((b * res + 2 * i + offs[k][0]) * res + 2 * j + offs[k][1]) * C + ch];
                            }
            return linear(layerNorm(y, 4 * C, pre + ".norm"), 4 * C, pre + ".reduction");
        }

        /** torch.roll(x, shifts=(k, k), dims=(1, 2)): out[(i + k) mod n] = in[i]. */
        static double[] roll(double[] x, int B, int n, int C, int k) {
            double[] y = new double[x.length];
            for (int b = 0; b < B; b++)
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) {
                        int oi = Math.floorMod(i + k, n), oj = Math.floorMod(j + k, n);
                        System.arraycopy(x, ((b * n + i) * n + j) * C, y, ((b * n + oi) * n + oj) * C, C);
                    }
            return y;
        }

        double[] block(double[] x, int B, int res, int D, int H, int blk, String pre) {
            int ws = Math.min(c.window(), res);
            int shift = blk % 2 == 1 && res > c.window() ? c.window() / 2 : 0;
            int T = ws * ws, nw = res / ws, hd = D / H;
            double scale = Math.pow(hd, -0.5);
            float[] table = p(pre + ".attn.relative_position_bias_table");
            assertEquals((2 * ws - 1) * (2 * ws - 1) * H, table.length, pre + " table size");
            double[] h = roll(layerNorm(x, D, pre + ".norm1"), B, res, D, -shift);
            double[] attnOut = new double[h.length];
            for (int b = 0; b < B; b++)
                for (int wy = 0; wy < nw; wy++)
                    for (int wx = 0; wx < nw; wx++) {
                        // window_partition: tokens (ty, tx) of window (wy, wx)
                        double[] win = new double[T * D];
                        for (int t = 0; t < T; t++) {
                            int i = wy * ws + t / ws, j = wx * ws + t % ws;
                            System.arraycopy(h, ((b * res + i) * res + j) * D, win, t * D, D);
                        }
                        double[] qkv = linear(win, D, pre + ".attn.qkv");
                        double[] o = new double[T * D];
                        for (int hh = 0; hh < H; hh++)
                            for (int i = 0; i < T; i++) {
                                double[] sc = new double[T];
                                double max = Double.NEGATIVE_INFINITY;
                                for (int j = 0; j < T; j++) {
                                    double dot = 0;
                                    for (int e = 0; e < hd; e++) {
                                        dot += qkv[i * 3 * D + hh * hd + e] * scale * qkv[j * 3 * D + D + hh * hd + e];
                                    }
                                    int dy = i / ws - j / ws, dx = i % ws - j % ws;
                                    dot += table[((dy + ws - 1) * (2 * ws - 1) + dx + ws - 1) * H + hh];
                                    // shifted windows: tokens that wrapped around (in y or x) and tokens
                                    // that did not are not neighbours in the image
                                    if (shift > 0) {
                                        int yi = wy * ws + i / ws, yj = wy * ws + j / ws;
                                        int xi = wx * ws + i % ws, xj = wx * ws + j % ws;
                                        boolean apart = (yi + shift >= res) != (yj + shift >= res)
                                                || (xi + shift >= res) != (xj + shift >= res);
                                        if (apart) dot += -100;
                                    }
                                    sc[j] = dot;
                                    max = Math.max(max, dot);
                                }
                                double sum = 0;
                                for (int j = 0; j < T; j++) sum += sc[j] = Math.exp(sc[j] - max);
                                for (int j = 0; j < T; j++)
                                    for (int e = 0; e < hd; e++) {
                                        o[i * D + hh * hd + e] += sc[j] / sum * qkv[j * 3 * D + 2 * D + hh * hd + e];
                                    }
                            }
                        double[] pr = linear(o, D, pre + ".attn.proj");
                        // window_reverse
                        for (int t = 0; t < T; t++) {
                            int i = wy * ws + t / ws, j = wx * ws + t % ws;
                            System.arraycopy(pr, t * D, attnOut, ((b * res + i) * res + j) * D, D);
                        }
                    }
            attnOut = roll(attnOut, B, res, D, shift);
            double[] y = x.clone();
            for (int i = 0; i < y.length; i++) y[i] += attnOut[i];
            double[] hid = linear(layerNorm(y, D, pre + ".norm2"), D, pre + ".mlp.fc1");
            for (int i = 0; i < hid.length; i++) hid[i] = MathOps.gelu(hid[i]);
            double[] m = linear(hid, hid.length / (y.length / D), pre + ".mlp.fc2");
            for (int i = 0; i < y.length; i++) y[i] += m[i];
            return y;
        }

        double[] linear(double[] x, int in, String pre) {
            float[] W = p(pre + ".weight");
            float[] bias = w.containsKey(pre + ".bias") ? p(pre + ".bias") : null;
            int out = W.length / in, rows = x.length / in;
            double[] y = new double[rows * out];
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < out; o++) {
                    double acc = bias == null ? 0 : bias[o];
                    for (int k = 0; k < in; k++) acc += x[r * in + k] * W[o * in + k];
                    y[r * out + o] = acc;
                }
            return y;
        }

        double[] layerNorm(double[] x, int D, String pre) {
            float[] g = p(pre + ".weight"), be = p(pre + ".bias");
            double[] y = new double[x.length];
            for (int r = 0; r < x.length / D; r++) {
                double mean = 0, var = 0;
                for (int d = 0; d < D; d++) mean += x[r * D + d] / D;
                for (int d = 0; d < D; d++) var += (x[r * D + d] - mean) * (x[r * D + d] - mean) / D;
                for (int d = 0; d < D; d++) y[r * D + d] = (x[r * D + d] - mean) / Math.sqrt(var + 1e-5) * g[d] + be[d];
            }
            return y;
        }
    }

    static float[] randomImages(int B, int S, long seed) {
        Random r = new Random(seed);
        float[] img = new float[B * 3 * S * S];
        for (int i = 0; i < img.length; i++) img[i] = (float) r.nextGaussian();
        return img;
    }

    static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    /** Runs model and reference; every probe and the logits agree to 1e-4 of max(1, max |ref|). */
    static void compare(String label, SwinConfig c, Weights w, int B) {
        SwinTransformer model = SwinTransformer.load(label, c, Preprocessing.timm(c.imgSize(), false), w);
        float[] img = randomImages(B, c.imgSize(), 42);
        Map<String, float[]> seen = new HashMap<>();
        Map<String, int[]> shapes = new HashMap<>();
        Tensor logits = model.forward(new Tensor(img, B, 3, c.imgSize(), c.imgSize()), FloatExecutor.INSTANCE,
                (name, data, shape) -> { seen.put(name, data.clone()); shapes.put(name, shape.clone()); });
        assertArrayEquals(new int[]{B, c.numClasses()}, logits.shape());
        Reference ref = new Reference(c, w);
        double[] refLogits = ref.forward(img, B);
        ref.out.put("logits", refLogits);
        seen.put("logits", logits.data());
        for (var e : ref.out.entrySet()) {
            float[] o = seen.get(e.getKey());
            double[] r = e.getValue();
            assertTrue(o != null && o.length == r.length, label + " " + e.getKey() + " missing or wrong size");
            double d = 0;
            for (int i = 0; i < r.length; i++) d = Math.max(d, Math.abs(o[i] - r[i]));
            double tol = 1e-4 * Math.max(1, maxAbs(r));
            System.out.printf("swin reference %-8s %-20s max|diff| %.3g (max|ref| %.3g)%n", label, e.getKey(), d, maxAbs(r));
            assertTrue(d <= tol, label + " " + e.getKey() + ": max |diff| " + d + " > " + tol);
        }
        for (int s = 0; s < c.stages(); s++) {
            assertArrayEquals(new int[]{B, c.tokens(s), c.dim(s)}, shapes.get("layers." + s), "layers." + s + " shape");
        }
    }

    @Test
    void window12At384MatchesReference() {
        SwinConfig c = SwinConfig.of(384, 12, 16, new int[]{2, 2, 2, 2}, new int[]{1, 2, 2, 4}).withClasses(7);
        assertEquals(6, c.shiftAt(0));
        assertEquals(0, c.shiftAt(3), "12x12 map = window: no shift");
        assertEquals(12, c.windowAt(3));
        Weights w = SwinCheckpoint.random(c, 1, false);
        assertEquals(c, SwinTransformer.inferConfig(w, 384));
        compare("384/w12", c, w, 2);
    }

    /** Stage 2's 8x8 map equals the window (no shift), stage 3's 4x4 is smaller (window clamps to 4, 7x7 table). */
    @Test
    void lateStagesSmallerThanWindowClamp() {
        SwinConfig c = new SwinConfig(128, 4, 3, 16, new int[]{2, 2, 2, 2}, new int[]{1, 2, 2, 4}, 8, 4.0, 5, SwinConfig.EPS);
        assertEquals(8, c.windowAt(2));
        assertEquals(0, c.shiftAt(2));
        assertEquals(4, c.windowAt(3));
        assertEquals(0, c.shiftAt(3));
        Weights w = SwinCheckpoint.random(c, 2, false);
        assertArrayEquals(new int[]{49, 4}, w.shape("layers.3.blocks.1.attn.relative_position_bias_table"));
        compare("128/w8", c, w, 2);
        assertEquals(c, SwinTransformer.inferConfig(w, 128));
        // a wrong image size (8 * 4 * 8 = 256) does not fit the tables: a clear error, not a wrong model
        var e = assertThrows(ModelException.class, () -> fromShapes("x", w, 256));
        assertTrue(e.getMessage().contains("relative_position_bias_table") && e.getMessage().contains("image size 256"), e.getMessage());
    }

    @Test
    void legacyAndNewNamingGiveSameLogits() {
        SwinConfig c = SwinConfig.of(224, 7, 16, new int[]{2, 2, 2, 2}, new int[]{1, 2, 2, 4}).withClasses(3);
        Weights neu = SwinCheckpoint.random(c, 3, false), old = SwinCheckpoint.random(c, 3, true);
        assertTrue(old.has("layers.0.downsample.reduction.weight") && old.has("head.weight"));
        assertTrue(neu.has("layers.1.downsample.reduction.weight") && neu.has("head.fc.weight"));
        Tensor img = new Tensor(randomImages(1, 224, 5), 1, 3, 224, 224);
        var a = fromShapes("new", neu, 224);
        var b = fromShapes("old", old, 224);
        // the same weights under both namings: the same logits bit for bit, on the first forwards
        assertArrayEquals(a.forward(img).data(), b.forward(img).data());
    }

    @Test
    void windowOrderIsAPermutationAndMaskMatchesWrapAround() {
        for (int[] rws : new int[][]{{8, 4, 2}, {14, 7, 3}, {24, 12, 6}, {7, 7, 0}}) {
            int res = rws[0], ws = rws[1], shift = rws[2], T = ws * ws, nw = res / ws;
            int[] order = SwinWindows.windowOrder(res, ws, shift);
            Set<Integer> seen = new HashSet<>();
            for (int v : order) seen.add(v);
            assertEquals(res * res, seen.size());
            if (shift == 0) continue;
            float[] mask = SwinWindows.shiftMask(res, ws, shift);
            assertEquals(nw * nw * T * T, mask.length);
            for (int w = 0; w < nw * nw; w++)
                for (int i = 0; i < T; i++)
                    for (int j = 0; j < T; j++) {
                        // tokens are neighbours iff the shifted window did not wrap between them
                        int ti = order[w * T + i], tj = order[w * T + j];
                        boolean near = Math.abs(ti / res - tj / res) < ws && Math.abs(ti % res - tj % res) < ws;
                        assertEquals(near ? 0f : -100f, mask[(w * T + i) * T + j], "mask " + res + "/" + ws + " w" + w);
                    }
        }
        int[] idx = SwinWindows.relativePositionIndex(3);
        assertEquals(12, idx[0]);                 // same token: the table's centre row (dy = dx = 0)
        assertEquals(0, idx[8]);                  // query (0,0), key (2,2): dy = dx = -2
        assertEquals(24, idx[8 * 9]);             // query (2,2), key (0,0): dy = dx = +2
    }

    @Test
    void zooBuildsSwinTinyAndNamesMismatches() {
        SwinConfig t = SwinConfig.of(224, 7, 96, new int[]{2, 2, 6, 2}, new int[]{3, 6, 12, 24});
        Weights w = SwinCheckpoint.random(t, 4, true);
        Model m = ModelZoo.get("swin_tiny_patch4_window7_224").build(w);
        assertEquals(28_288_354L, m.parameterCount(), "timm's Swin-T parameter count");
        assertEquals(224, m.preprocessing().inputSize());
        assertEquals(248, m.preprocessing().resizeSize()); // crop_pct 0.9
        assertEquals(384, ModelZoo.get("swin_base_patch4_window12_384").input().resizeSize()); // crop_pct 1.0
        System.out.printf("swin zoo Swin-T: %d params, %.3f GFLOPs (%.3f GMACs) per image%n", m.parameterCount(),
                t.flopsPerImage() / 1e9, t.flopsPerImage() / 2e9);
        var e = assertThrows(ModelException.class, () -> ModelZoo.get("swin_small_patch4_window7_224").build(w));
        assertTrue(e.getMessage().contains("does not fit swin_small_patch4_window7_224: it has depths [2, 2, 6, 2] (expected [2, 2, 18, 2])"),
                e.getMessage());
        var e2 = assertThrows(ModelException.class, () -> ModelZoo.get("swin_base_patch4_window12_384").build(w));
        assertTrue(e2.getMessage().contains("embed dim 96"), e2.getMessage());
    }

    /** The Swin that {@code w}'s tensor shapes describe at image size {@code img}, with timm's eval transform. */
    static SwinTransformer fromShapes(String name, Weights w, int img) {
        return SwinTransformer.load(name, SwinTransformer.inferConfig(w, img), Preprocessing.timm(img, false), w);
    }
}
