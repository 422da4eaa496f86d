package io.vitq.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * {@link AttentionKernel#forward} against a float64 restatement of timm's attention core,
 * {@code out = softmax(q k^T * scale + bias) v} per group and head on the fused qkv layout, with an
 * error bound derived from float32 rounding (U = 2^-24 per rounding): the GEMM bound of GemmTest
 * for q.k^T, carried through SoftmaxKernelTest's softmax bound, and the GEMM bound for P.v.
 */
class AttentionKernelTest {
    static final double U = SoftmaxKernelTest.U;

    private record Case(int tokens, int heads, int headDim, int groups, float scale, int biasGroups, double sigma) {}

    private static float[] gaussian(SplittableRandom r, int len, double sigma) {
        return SoftmaxKernelTest.gaussian(r, len, sigma);
    }

    /**
     * Runs one case and checks every output. Bound, per score: the float GEMM over d products rounds
     * d + 2 times on partial sums below {@code sum_k |q_k k_k|} (GemmTest's 6e-8 (k + 3) abs), which
     * enters the softmax as an input error ({@link SoftmaxKernelTest#reference}); each
     * probability is then within {@code tolP_j} of the exact one, and
     * {@code |out - exact| <= sum_j tolP_j |v_j| + (T + 2) U sum_j (p_j + tolP_j) |v_j|} (the P.v GEMM's own rounding).
     */
    private static double run(Case t, long seed, boolean hookRecords) {
        int T = t.tokens, H = t.heads, d = t.headDim, D = H * d, ld = 3 * D, G = t.groups;
        SplittableRandom r = new SplittableRandom(seed);
        float[] qkv = gaussian(r, G * T * ld, t.sigma);
        float[] bias = t.biasGroups > 0 ? gaussian(r, t.biasGroups * H * T * T, 1.5) : null;
        if (bias != null) {
            // a shift mask as Swin's: -100 between some token pairs
            for (int i = 0; i < bias.length; i++) if ((i * 31 + i / T) % 5 == 0) bias[i] -= 100f;
        }
        float[] out = new float[G * T * D];
        java.util.Arrays.fill(out, Float.NaN);
        Map<String, float[]> seen = new ConcurrentHashMap<>();
        AttentionKernel.ProbabilityHook hook = hookRecords ? (g, h, p, off, n) -> {
            assertEquals(T, n, "row length");
            assertEquals(0, off % n, "row offset");
            float[] row = java.util.Arrays.copyOfRange(p, off, off + n);
            if (seen.putIfAbsent(g + "/" + h + "/" + off / n, row) != null) fail("row " + g + "/" + h + "/" + off / n + " seen twice");
        } : null;
        AttentionKernel.forward(new AttentionKernel.Spec(T, H, d, t.scale), qkv, G, out, bias, Math.max(1, t.biasGroups), hook);
        if (hookRecords) assertEquals(G * H * T, seen.size(), "hook calls: one per group, head and query row");

        double worst = 0;
        double[] s = new double[T];
        double[] gemmErr = new double[T];
        for (int g = 0; g < G; g++) {
            for (int h = 0; h < H; h++) {
                int biasBase = bias == null ? 0 : ((g % t.biasGroups) * H + h) * T * T;
                for (int i = 0; i < T; i++) {
                    int qRow = (g * T + i) * ld + h * d;
                    for (int j = 0; j < T; j++) {
                        int kRow = (g * T + j) * ld + D + h * d;
                        double dot = 0, abs = 0;
                        for (int k = 0; k < d; k++) {
                            double p = (double) qkv[qRow + k] * qkv[kRow + k];
                            dot += p;
                            abs += Math.abs(p);
                        }
                        s[j] = dot;
                        gemmErr[j] = 6e-8 * (d + 3) * abs;   // the kernel's float score is this close to dot
                    }
                    double[][] ref = SoftmaxKernelTest.reference(s, t.scale, bias, biasBase + i * T, gemmErr);
                    if (hookRecords) {
                        // the hook gets the row's probabilities
                        float[] row = seen.get(g + "/" + h + "/" + i);
                        for (int j = 0; j < T; j++) {
                            if (!(Math.abs(row[j] - ref[0][j]) <= ref[1][j])) fail("hook row " + g + "/" + h + "/" + i + " p[" + j + "]");
                        }
                    }
                    for (int c = 0; c < d; c++) {
                        double o = 0, err = 0, vabs = 0;
                        for (int j = 0; j < T; j++) {
                            double v = qkv[(g * T + j) * ld + 2 * D + h * d + c];
                            o += ref[0][j] * v;
                            err += ref[1][j] * Math.abs(v);
                            vabs += (ref[0][j] + ref[1][j]) * Math.abs(v);
                        }
                        double tol = err + 6e-8 * (T + 3) * vabs + 1e-37;
                        float got = out[(g * T + i) * D + h * d + c];
                        double e = Math.abs(got - o);
                        if (!(e <= tol)) {
                            fail("out[g" + g + " h" + h + " t" + i + " c" + c + "] = " + got + " expected " + o + " (err " + e
                                    + ", tol " + tol + ") in " + t);
                        }
                        worst = Math.max(worst, e / tol);
                    }
                }
            }
        }
        return worst;
    }

    @Test
    void vitAndSwinShapesAndAwkwardSizes() {
        Case[] cases = {
                new Case(17, 2, 32, 2, (float) (1 / Math.sqrt(32)), 0, 1),     // the tiny test ViT
                new Case(197, 3, 64, 2, 0.125f, 0, 1),                          // ViT-Ti
                new Case(49, 2, 16, 8, 0.25f, 4, 1),                            // Swin windows with bias and mask
                new Case(1, 1, 16, 3, 0.25f, 0, 1),                             // one token
                new Case(5, 2, 24, 3, 0.2f, 1, 2),                              // head dim not a multiple of 16
                new Case(33, 1, 20, 1, 0.3f, 0, 4),                             // peaked scores: exp underflows
                new Case(16, 4, 8, 5, 1f, 2, 1e-3),                             // nearly uniform attention
                new Case(40, 2, 16, 2, 0.25f, 0, 30),                           // huge scores (|q.k| ~ 1e4)
        };
        double worst = 0;
        int v = 0;
        for (Case t : cases) worst = Math.max(worst, run(t, v++, false));
        System.out.println("attention: worst err/tol = " + worst);
    }

    @Test
    void hookSeesEveryProbabilityRowOnce() {
        run(new Case(17, 2, 32, 3, 0.18f, 0, 1), 7, true);
        run(new Case(49, 2, 16, 4, 0.25f, 2, 1), 8, true);
    }

    /**
     * Several groups (one task per group, its rows copied first) give the bits that each group
     * alone gives (one task per head, reading qkv in place, with two or more threads).
     */
    @Test
    void groupCopyGivesTheBitsOfHeadByHead() {
        int T = 49, H = 3, d = 32, D = H * d, G = 4;
        SplittableRandom r = new SplittableRandom(9);
        float[] qkv = gaussian(r, G * T * 3 * D, 1), bias = gaussian(r, H * T * T, 1);
        AttentionKernel.Spec spec = new AttentionKernel.Spec(T, H, d, 0.2f);
        float[] out = new float[G * T * D];
        AttentionKernel.forward(spec, qkv, G, out, bias, 1, null);
        for (int g = 0; g < G; g++) {
            float[] one = new float[T * D];
            AttentionKernel.forward(spec, java.util.Arrays.copyOfRange(qkv, g * T * 3 * D, (g + 1) * T * 3 * D), 1, one, bias, 1, null);
            assertArrayEquals(one, java.util.Arrays.copyOfRange(out, g * T * D, (g + 1) * T * D), "group " + g);
        }
    }

    @Test
    void hookRunsBeforeTheProductWithV() {
        // a hook that makes each row one-hot at column (row mod T) makes out = that token's v, exactly
        int T = 13, H = 2, d = 20, D = H * d, G = 3;
        float[] qkv = gaussian(new SplittableRandom(5), G * T * 3 * D, 1);
        float[] out = new float[G * T * D];
        AttentionKernel.forward(new AttentionKernel.Spec(T, H, d, 0.2f), qkv, G, out, null, 1, (g, h, p, off, n) -> {
            int row = off / n;
            for (int j = 0; j < n; j++) p[off + j] = j == (row * 5 + h) % n ? 1f : 0f;
        });
        for (int g = 0; g < G; g++) {
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < T; i++) {
                    int src = (i * 5 + h) % T;
                    for (int c = 0; c < d; c++) {
                        assertEquals(qkv[(g * T + src) * 3 * D + 2 * D + h * d + c], out[(g * T + i) * D + h * d + c],
                                "g" + g + " h" + h + " t" + i + " c" + c);
                    }
                }
            }
        }
    }
}
