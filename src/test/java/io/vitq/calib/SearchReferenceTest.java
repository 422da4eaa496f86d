package io.vitq.calib;

import io.vitq.model.Linear;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinGeluQuantizer;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The interval searches against a slow, independent re-statement of ALGORITHMS section 3 written
 * here with plain loops in double: all configured rounds (no early stop), every candidate's
 * output recomputed from scratch, scores reduced per group exactly as specified. Equal chosen
 * scales show that the vectorised, parallel search with its per-group batching and its
 * fixed-point early stop picks what the specification picks. Random data with distinct scores
 * (no near-ties at these sizes; seeds fixed).
 */
class SearchReferenceTest {
    static final int SAMPLES = 10, TOKENS = 5;

    @Test
    void linearPerTensorCosine() {
        checkLinear("blocks.0.attn.proj", 16, 12, CalibConfig.basePtq(4, 4).withSearch(20, 3), 1);
    }

    @Test
    void linearQkvRowBlocksHessian() {
        checkLinear("blocks.0.attn.qkv", 16, 24, CalibConfig.ptq4vit(4, 4).withSearch(20, 3), 2);
    }

    @Test
    void patchEmbedPerChannelBothMetrics() {
        checkLinear("patch_embed.proj", 12, 6, CalibConfig.ptq4vit(4, 4).withSearch(15, 3), 3);
        checkLinear("patch_embed.proj", 12, 6, CalibConfig.ptq4vit(4, 4).withSearch(15, 3).withMetric(Metric.COSINE), 4);
        checkLinear("patch_embed.proj", 12, 6, CalibConfig.basePtq(4, 4).withSearch(15, 1), 5);
    }

    /** --per-channel-weights: every Linear's weight per output channel (qkv, proj, fc2 with its twin input, patch embedding). */
    @Test
    void perChannelWeightsEveryLinear() {
        checkLinear("blocks.0.attn.qkv", 16, 24, CalibConfig.ptq4vit(4, 4).withSearch(20, 3).withPerChannelWeights(true), 13);
        checkLinear("blocks.0.attn.proj", 16, 12, CalibConfig.basePtq(4, 4).withSearch(20, 3).withPerChannelWeights(true), 14);
        checkLinear("blocks.1.mlp.fc2", 20, 8, CalibConfig.ptq4vit(4, 4).withSearch(20, 3).withGeluPowerOfTwo(true)
                .withPerChannelWeights(true), 15);
        checkLinear("patch_embed.proj", 12, 6, CalibConfig.basePtq(4, 4).withSearch(15, 1).withPerChannelWeights(true), 16);
    }

    /**
     * --integer-search: candidates scored on the integer runtime's outputs (int32 sums of the codes,
     * dequantized) pick what the specification's float products pick: uniform, per-channel and
     * row-block weights, the twin GELU input in its shift form (power-of-two grid) and split form
     * (linear grid); the patch embedding's float input stays on float products.
     */
    @Test
    void integerProductsPickWhatTheSpecificationPicks() {
        checkLinear("blocks.0.attn.proj", 16, 12, CalibConfig.basePtq(4, 4).withSearch(20, 3).withIntegerProducts(true), 1);
        checkLinear("blocks.0.attn.qkv", 16, 24, CalibConfig.ptq4vit(4, 4).withSearch(20, 3).withIntegerProducts(true), 2);
        checkLinear("blocks.0.attn.qkv", 16, 24, CalibConfig.ptq4vit(8, 8).withSearch(20, 3).withIntegerProducts(true)
                .withPerChannelWeights(true), 13);
        checkLinear("blocks.1.mlp.fc2", 20, 8, CalibConfig.ptq4vit(4, 4).withSearch(20, 3).withIntegerProducts(true), 6);
        checkLinear("blocks.1.mlp.fc2", 20, 8, CalibConfig.ptq4vit(6, 6).withSearch(20, 3).withGeluPowerOfTwo(true)
                .withIntegerProducts(true), 7);
        checkLinear("patch_embed.proj", 12, 6, CalibConfig.ptq4vit(4, 4).withSearch(15, 3).withIntegerProducts(true), 3);
    }

    @Test
    void fc2TwinGeluLinearAndPowerOfTwoGrids() {
        checkLinear("blocks.1.mlp.fc2", 20, 8, CalibConfig.ptq4vit(4, 4).withSearch(20, 3), 6);
        checkLinear("blocks.1.mlp.fc2", 20, 8, CalibConfig.ptq4vit(4, 4).withSearch(20, 3).withGeluPowerOfTwo(true), 7);
    }

    @Test
    void matmulPerHeadAndTwinSoftmax() {
        checkMatmul("blocks.0.attn.matmul1", CalibConfig.ptq4vit(4, 4).withSearch(20, 3), false, 8);
        checkMatmul("blocks.0.attn.matmul1", CalibConfig.basePtq(4, 4).withSearch(20, 1), false, 9);
        checkMatmul("blocks.0.attn.matmul2", CalibConfig.ptq4vit(4, 4).withSearch(20, 3), true, 10);
        checkMatmul("blocks.0.attn.matmul2", CalibConfig.ptq4vit(4, 4).withSearch(20, 3).withMetric(Metric.COSINE), true, 11);
    }

    /** AdaLog's metric, the output's squared error: per-channel weights with a uniform input, and q, k per head. */
    @Test
    void mseMetricLinearAndMatmul() {
        checkLinear("blocks.0.attn.proj", 16, 12, CalibConfig.ptq4vit(4, 4).withSearch(20, 3).withMetric(Metric.MSE)
                .withPerChannelWeights(true), 17);
        checkMatmul("blocks.0.attn.matmul1", CalibConfig.adalog(4, 4).withSearch(20, 3), false, 18);
    }

    /**
     * AdaLog's matmul2: per round, the probabilities' base q (10 .. 137, one for all heads, AdaLog's
     * formula, the heads' squared-error scores summed) with v at its scales, then v's per-head scales.
     */
    @Test
    void adaLogSoftmaxBaseThenV() {
        SplittableRandom r = new SplittableRandom(19);
        int G = SAMPLES, H = 2, m = 6, k = 6, n = 5;
        float[] a = rand(r, G * H * m * k, 1.5), b = rand(r, G * H * k * n, 1.5);
        for (int row = 0; row < G * H * m; row++) {
            double sum = 0;
            for (int c = 0; c < k; c++) sum += a[row * k + c] = (float) Math.exp(4 * a[row * k + c]);
            for (int c = 0; c < k; c++) a[row * k + c] /= (float) sum;
        }
        float[] o = new float[G * H * m * n];
        for (int t = 0; t < G * H; t++) System.arraycopy(mm(a, t * m * k, b, t * k * n, m, k, n), 0, o, t * m * n, m * n);
        CalibConfig cfg = CalibConfig.adalog(4, 4).withSearch(20, 3);
        MatmulQuant got = new MatmulSearch("blocks.0.attn.matmul2", a, b, o, null, G, H, m, k, n, cfg, false).run();

        int bits = 4, cand = cfg.candidates();
        float[][] bC = grid(b, G, H, k * n, cfg);
        float[] bS = new float[H];
        for (int h = 0; h < H; h++) bS[h] = bC[h][cand];
        int q = -1;
        for (int round = 0; round < 3; round++) {
            float[] bs = bS.clone();
            double best = Double.NEGATIVE_INFINITY;
            for (int cq = 10; cq <= 137; cq++) {
                int qq = cq;
                double sum = 0;
                for (double v : mmScores(Metric.MSE, a, b, o, null, G, H, m, k, n,
                        (h, v) -> io.vitq.quant.AdaLogOperandTest.reference(v, bits, qq, 1f, 0f),
                        (h, v) -> new UniformQuantizer(bits).fakeQuant(v, bs[h]))) sum += v;
                if (sum > best) { best = sum; q = cq; }
            }
            int qf = q;
            bS = argmaxPerHead(bC, cand, i -> mmScores(Metric.MSE, a, b, o, null, G, H, m, k, n,
                    (h, v) -> io.vitq.quant.AdaLogOperandTest.reference(v, bits, qf, 1f, 0f),
                    (h, v) -> new UniformQuantizer(bits).fakeQuant(v, bC[h][i])));
        }
        io.vitq.quant.AdaLogOperand p = assertInstanceOf(io.vitq.quant.AdaLogOperand.class, got.a());
        assertEquals(q, p.q(), "base");
        assertEquals(1f, p.scale());
        assertArrayEquals(bS, assertInstanceOf(UniformOperand.class, got.b()).scales(), "v scales");
    }

    /**
     * AdaLog's fc2: per round the per-channel weight scales with the input at its AdaLog quantizer
     * (AdaLog's formula), then the input by AdaLog's progression (restated in AdaLogSearchTest) scored
     * by the output's squared error, its coarse stages on every fourth sample.
     */
    @Test
    void adaLogGeluInputAlternatesWithTheWeights() {
        adaLogGeluInputAlternatesWithTheWeights(false);
    }

    /**
     * The same with asymmetric weights: for each row and candidate step the zero point of least
     * squared weight error over all 2^k (ties: nearest 2^(k-1)), the row quantized into
     * {@code [-z, 2^k - 1 - z]}; the searched scales and zero points are the restatement's.
     */
    @Test
    void adaLogGeluInputWithAsymmetricWeights() {
        adaLogGeluInputAlternatesWithTheWeights(true);
    }

    /** Row {@code row}'s zero point at step s by the weight error, restated over all 2^bits. */
    static int zeroPointRestated(float[] w, int row, int in, float s, int bits) {
        int top = (1 << bits) - 1, mid = 1 << (bits - 1), best = mid;
        double bestErr = Double.POSITIVE_INFINITY;
        for (int z = 0; z <= top; z++) {
            double e = 0;
            for (int c = 0; c < in; c++) {
                double v = w[row * in + c], d = v - Math.min(Math.max(Math.rint(v / s), -z), top - z) * s;
                e += d * d;
            }
            if (e < bestErr * (1 - 1e-12) || (Math.abs(e - bestErr) <= 1e-12 * bestErr && Math.abs(z - mid) < Math.abs(best - mid))) {
                bestErr = e;
                best = z;
            }
        }
        return best;
    }

    private static void adaLogGeluInputAlternatesWithTheWeights(boolean asymmetric) {
        SplittableRandom r = new SplittableRandom(20);
        int in = 12, out = 6, rows = SAMPLES * TOKENS, bits = 4;
        float[] w = rand(r, out * in, 0.5), b = rand(r, out, 0.1), x = rand(r, rows * in, 2);
        for (int i = 0; i < w.length; i++) if (asymmetric && i / in % 2 == 1) w[i] += 0.4f;   // odd rows off centre
        for (int i = 0; i < x.length; i++) x[i] = gelu(x[i]);
        float[] o = matmulT(x, w, b, rows, in, out);
        CalibConfig cfg = CalibConfig.adalog(bits, bits).withSearch(20, 2).withAsymmetricWeights(asymmetric);
        LinearQuant got = new LinearSearch(new Linear("blocks.1.mlp.fc2", w, b, out, in), x, o, null, rows, SAMPLES, cfg).run();

        int n = cfg.candidates();
        float[][] wCand = new float[out][n];
        float[] ws = new float[out];
        for (int row = 0; row < out; row++) {
            float max = 0;
            for (int c = 0; c < in; c++) max = Math.max(max, Math.abs(w[row * in + c]));
            float init = max / ((1 << (bits - 1)) - 0.5f);
            for (int i = 0; i < n; i++) wCand[row][i] = (float) (cfg.alpha() + i * (cfg.beta() - cfg.alpha()) / n) * init;
        }
        // each row's code range at each candidate: symmetric, or around the zero point of least weight error
        int[][] zCand = new int[out][n];
        for (int row = 0; row < out; row++)
            for (int i = 0; i < n; i++) zCand[row][i] = asymmetric ? zeroPointRestated(w, row, in, wCand[row][i], bits) : 1 << (bits - 1);
        int[] zs = new int[out];
        float[] range = AdaLogSearch.range("fc2", x, x.length, io.vitq.quant.AdaLogOperand.GELU_SHIFT);
        io.vitq.quant.AdaLogOperand xq = AdaLogSearch.start(bits, range, io.vitq.quant.AdaLogOperand.GELU_SHIFT);
        for (int round = 0; round < cfg.rounds(); round++) {
            io.vitq.quant.AdaLogOperand cur = xq;
            float[] xd = new float[x.length];
            for (int i = 0; i < x.length; i++) xd[i] = io.vitq.quant.AdaLogOperandTest.reference(x[i], bits, cur.q(), cur.scale(), cur.shift());
            double[][] sc = new double[n][];
            for (int i = 0; i < n; i++) {
                float[] wq = new float[w.length];
                for (int row = 0; row < out; row++)
                    for (int c = 0; c < in; c++) wq[row * in + c] = rowQuant(w[row * in + c], wCand[row][i], zCand[row][i], bits);
                sc[i] = score(Metric.MSE, o, matmulT(xd, wq, b, rows, in, out), null, rows, out, out, true);
            }
            for (int row = 0; row < out; row++) {
                int best = 0;
                for (int i = 1; i < n; i++) if (sc[i][row] > sc[best][row]) best = i;
                ws[row] = wCand[row][best];
                zs[row] = zCand[row][best];
            }
            float[] wq = new float[w.length];
            for (int row = 0; row < out; row++)
                for (int c = 0; c < in; c++) wq[row * in + c] = rowQuant(w[row * in + c], ws[row], zs[row], bits);
            java.util.function.IntFunction<java.util.function.ToDoubleFunction<io.vitq.quant.AdaLogOperand>> by = stride -> a -> {
                float[] xa = new float[x.length];
                for (int i = 0; i < x.length; i++) xa[i] = io.vitq.quant.AdaLogOperandTest.reference(x[i], bits, a.q(), a.scale(), a.shift());
                return score(Metric.MSE, o, matmulT(xa, wq, b, rows, in, out), null, rows, out, 1, false, stride)[0];
            };
            float[] qs = AdaLogSearchTest.restated(bits, cur.scale(), range[0], range[1], by.apply(AdaLogSearch.COARSE_STRIDE), by.apply(1));
            xq = new io.vitq.quant.AdaLogOperand(bits, (int) qs[0], qs[1], io.vitq.quant.AdaLogOperand.GELU_SHIFT);
        }
        assertArrayEquals(ws, got.weight().scales(), "weight scales");
        if (asymmetric) {
            assertArrayEquals(zs, got.weight().zeroPoints(), "zero points");
            assertTrue(java.util.Arrays.stream(zs).anyMatch(z -> z != 1 << (bits - 1)), "some row off the symmetric grid: "
                    + java.util.Arrays.toString(zs));
        } else {
            assertEquals(null, got.weight().zeroPoints());
        }
        assertEquals(xq, got.input(), "AdaLog input");
    }

    /** {@code s clamp(rint(v / s), -z, 2^k - 1 - z)}: z = 2^(k-1) is the symmetric grid. */
    static float rowQuant(float v, float s, int z, int bits) {
        return (float) (Math.min(Math.max(Math.rint(v / s), -z), (1 << bits) - 1 - z) * s);
    }

    @Test
    void zeroGradientsTieAndTheFirstCandidateWins() {
        // the reference's KL pitfall: with G = 0 every Hessian score is 0; argmax keeps the first candidate
        SplittableRandom r = new SplittableRandom(12);
        int in = 8, out = 4, rows = SAMPLES * TOKENS;
        float[] w = rand(r, out * in, 1), x = rand(r, rows * in, 1);
        Linear op = new Linear("blocks.0.attn.proj", w, null, out, in);
        float[] o = matmulT(x, w, null, rows, in, out);
        CalibConfig cfg = CalibConfig.ptq4vit(8, 8).withSearch(10, 2);
        LinearQuant q = new LinearSearch(op, x, o, new float[rows * out], rows, SAMPLES, cfg).run();
        float w0 = io.vitq.quant.ScaleGrid.candidates(io.vitq.quant.ScaleGrid.initScale("w", maxAbs(w), 8), 0.01, 1.2, 10)[0];
        assertEquals(w0, q.weight().scale(0));
    }

    // ---------------------------------------------------------------- Linear

    static void checkLinear(String id, int in, int out, CalibConfig cfg, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int rows = SAMPLES * TOKENS;
        float[] w = rand(r, out * in, 0.5), b = rand(r, out, 0.1);
        float[] x = rand(r, rows * in, 2);
        if (id.endsWith("fc2")) for (int i = 0; i < x.length; i++) x[i] = gelu(x[i]);
        float[] o = matmulT(x, w, b, rows, in, out);
        float[] g = rand(r, rows * out, 1);
        Linear op = new Linear(id, w, b, out, in);
        LinearSearch search = new LinearSearch(op, x, o, g, rows, SAMPLES, cfg);
        LinearQuant got = search.run();
        boolean integerInput = !id.endsWith("patch_embed.proj") && cfg.weightBits() <= 8 && cfg.activationBits() <= 8;
        assertEquals(cfg.integerProducts() && integerInput, search.integerCandidates() > 0,
                id + ": candidates scored on integer products (" + search.integerCandidates() + ")");

        // reference
        Granularity gran = cfg.perChannelWeights() ? Granularity.PER_OUTPUT_CHANNEL
                : id.endsWith("patch_embed.proj") ? (cfg.patchEmbedPerChannel() ? Granularity.PER_OUTPUT_CHANNEL : Granularity.PER_TENSOR)
                : id.endsWith("qkv") ? Granularity.ROW_BLOCKS : Granularity.PER_TENSOR;
        int groups = gran == Granularity.PER_OUTPUT_CHANNEL ? out : gran == Granularity.ROW_BLOCKS ? 3 : 1;
        boolean floatInput = id.endsWith("patch_embed.proj"), twin = id.endsWith("fc2") && cfg.twinGelu();
        int n = cfg.candidates();
        float[][] wCand = new float[groups][n];
        float[] ws = new float[groups];
        for (int s = 0; s < groups; s++) {
            float max = 0;
            for (int row = 0; row < out; row++) if (row * groups / out == s) for (int c = 0; c < in; c++) max = Math.max(max, Math.abs(w[row * in + c]));
            ws[s] = max / ((1 << (cfg.weightBits() - 1)) - 0.5f);
            for (int i = 0; i < n; i++) wCand[s][i] = (float) (cfg.alpha() + i * (cfg.beta() - cfg.alpha()) / n) * ws[s];
        }
        float[] xCand = new float[n];
        float xs = Float.NaN;
        if (!floatInput) {
            float max = 0;
            for (float v : x) max = twin ? Math.max(max, v) : Math.max(max, Math.abs(v));
            xs = max / ((1 << (cfg.activationBits() - 1)) - 0.5f);
            for (int i = 0; i < n; i++) xCand[i] = (float) (cfg.alpha() + i * (cfg.beta() - cfg.alpha()) / n) * xs;
            if (twin && cfg.geluPowerOfTwo()) {
                xCand = new float[cfg.geluMaxShift() + 1];
                float neg = TwinGeluQuantizer.defaultNegativeStep(cfg.activationBits());
                int best = 0;
                for (int m = 0; m < xCand.length; m++) {
                    xCand[m] = Math.scalb(neg, m);
                    if (Math.abs(Math.log(xCand[m] / xs)) < Math.abs(Math.log(xCand[best] / xs))) best = m;
                }
                xs = xCand[best];
            }
        }
        for (int round = 0; round < cfg.rounds(); round++) {
            float[] xq = floatInput ? x : quantizeInput(x, xs, twin, cfg.activationBits());
            double[][] sc = new double[n][];
            for (int i = 0; i < n; i++) {
                float[] wq = new float[w.length];
                for (int row = 0; row < out; row++)
                    for (int c = 0; c < in; c++) wq[row * in + c] = new UniformQuantizer(cfg.weightBits()).fakeQuant(w[row * in + c], wCand[row * groups / out][i]);
                sc[i] = score(cfg.metric(), o, matmulT(xq, wq, b, rows, in, out), g, rows, out, groups, gran == Granularity.PER_OUTPUT_CHANNEL);
            }
            for (int s = 0; s < groups; s++) {
                int best = 0;
                for (int i = 1; i < n; i++) if (sc[i][s] > sc[best][s]) best = i;
                ws[s] = wCand[s][best];
            }
            if (floatInput) continue;
            float[] wq = new float[w.length];
            for (int row = 0; row < out; row++)
                for (int c = 0; c < in; c++) wq[row * in + c] = new UniformQuantizer(cfg.weightBits()).fakeQuant(w[row * in + c], ws[row * groups / out]);
            int best = 0;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < xCand.length; i++) {
                double s = score(cfg.metric(), o, matmulT(quantizeInput(x, xCand[i], twin, cfg.activationBits()), wq, b, rows, in, out), g, rows, out, 1, false)[0];
                if (s > bestScore) { bestScore = s; best = i; }
            }
            xs = xCand[best];
        }
        assertEquals(gran, got.weight().granularity(), id);
        assertArrayEquals(ws, got.weight().scales(), id + " weight scales");
        if (floatInput) assertEquals(null, got.input());
        else if (twin) assertEquals(xs, assertInstanceOf(TwinGeluOperand.class, got.input()).positiveStep(), id + " twin GELU step");
        else assertEquals(xs, assertInstanceOf(UniformOperand.class, got.input()).scale(0), id + " input scale");
    }

    static float[] quantizeInput(float[] x, float step, boolean twin, int bits) {
        float[] q = new float[x.length];
        TwinGeluQuantizer tg = twin ? new TwinGeluQuantizer(bits, step) : null;
        UniformQuantizer u = new UniformQuantizer(bits);
        for (int i = 0; i < x.length; i++) q[i] = twin ? tg.fakeQuant(x[i]) : u.fakeQuant(x[i], step);
        return q;
    }

    /**
     * Section 3.1 literally: per sample, per group: cosine over the group's columns per token then
     * the mean over tokens (per-channel cosine: over the tokens of the column), or the mean over the
     * group's columns of -(G E)^2 then the mean over tokens; then the sum over samples.
     */
    static double[] score(Metric m, float[] o, float[] q, float[] g, int rows, int out, int groups, boolean perColumnCosine) {
        return score(m, o, q, g, rows, out, groups, perColumnCosine, 1);
    }

    /** {@link #score} over samples 0, stride, 2 stride, ... only. */
    static double[] score(Metric m, float[] o, float[] q, float[] g, int rows, int out, int groups, boolean perColumnCosine, int stride) {
        double[] total = new double[groups];
        int width = out / groups;
        for (int s = 0; s < SAMPLES; s += stride) {
            for (int k = 0; k < groups; k++) {
                double acc = 0;
                if (m == Metric.COSINE && perColumnCosine && groups > 1) {
                    double d = 0, a2 = 0, b2 = 0;
                    for (int t = 0; t < TOKENS; t++) {
                        int idx = (s * TOKENS + t) * out + k;
                        d += (double) o[idx] * q[idx]; a2 += (double) o[idx] * o[idx]; b2 += (double) q[idx] * q[idx];
                    }
                    total[k] += d / Math.sqrt(Math.max(a2 * b2, 1e-16));
                    continue;
                }
                for (int t = 0; t < TOKENS; t++) {
                    int base = (s * TOKENS + t) * out + k * width;
                    if (m == Metric.COSINE) {
                        double d = 0, a2 = 0, b2 = 0;
                        for (int c = 0; c < width; c++) {
                            d += (double) o[base + c] * q[base + c]; a2 += (double) o[base + c] * o[base + c]; b2 += (double) q[base + c] * q[base + c];
                        }
                        acc += d / Math.sqrt(Math.max(a2 * b2, 1e-16));
                    } else {
                        double e2 = 0;
                        for (int c = 0; c < width; c++) {
                            double ge = (m == Metric.MSE ? 1.0 : g[base + c]) * ((double) q[base + c] - o[base + c]);
                            e2 += ge * ge;
                        }
                        acc += -e2 / width;
                    }
                }
                total[k] += acc / TOKENS;
            }
        }
        return total;
    }

    // ---------------------------------------------------------------- matmul

    static void checkMatmul(String id, CalibConfig cfg, boolean twin, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int G = SAMPLES, H = 2, m = 6, k = 4, n = 6;
        float[] a = rand(r, G * H * m * k, 1.5), b = rand(r, G * H * k * n, 1.5);
        if (twin) { // rows of softmax probabilities
            for (int row = 0; row < G * H * m; row++) {
                double sum = 0;
                for (int c = 0; c < k; c++) sum += a[row * k + c] = (float) Math.exp(3 * a[row * k + c]);
                for (int c = 0; c < k; c++) a[row * k + c] /= (float) sum;
            }
        }
        float[] o = new float[G * H * m * n], g = rand(r, G * H * m * n, 1);
        for (int t = 0; t < G * H; t++) System.arraycopy(mm(a, t * m * k, b, t * k * n, m, k, n), 0, o, t * m * n, m * n);
        MatmulQuant got = new MatmulSearch(id, a, b, o, g, G, H, m, k, n, cfg, twin).run();

        int bits = cfg.activationBits(), cand = cfg.candidates();
        float[][] aC = grid(a, G, H, m * k, cfg), bC = grid(b, G, H, k * n, cfg);
        float[] aS = new float[H], bS = new float[H];
        for (int h = 0; h < H; h++) { aS[h] = aC[h][cand]; bS[h] = bC[h][cand]; } // index cand holds the init
        float split = Float.NaN;
        for (int round = 0; round < cfg.rounds(); round++) {
            if (twin) {
                double best = Double.NEGATIVE_INFINITY;
                for (int e = 0; e < cfg.softmaxSplits(); e++) {
                    float sp = Math.scalb(1f, -e);
                    TwinSoftmaxQuantizer tq = new TwinSoftmaxQuantizer(bits, sp, cfg.softmaxMode());
                    double[] s = mmScores(cfg.metric(), a, b, o, g, G, H, m, k, n, (h, v) -> tq.fakeQuant(v), (h, v) -> v);
                    double sum = 0;
                    for (double v : s) sum += v;
                    if (sum > best) { best = sum; split = sp; }
                }
            } else {
                float[] bs = bS.clone();
                aS = argmaxPerHead(aC, cand, i -> mmScores(cfg.metric(), a, b, o, g, G, H, m, k, n,
                        (h, v) -> new UniformQuantizer(bits).fakeQuant(v, aC[h][i]), (h, v) -> new UniformQuantizer(bits).fakeQuant(v, bs[h])));
            }
            float[] as = aS.clone();
            float sp = split;
            TwinSoftmaxQuantizer tq = twin ? new TwinSoftmaxQuantizer(bits, sp, cfg.softmaxMode()) : null;
            bS = argmaxPerHead(bC, cand, i -> mmScores(cfg.metric(), a, b, o, g, G, H, m, k, n,
                    (h, v) -> twin ? tq.fakeQuant(v) : new UniformQuantizer(bits).fakeQuant(v, as[h]),
                    (h, v) -> new UniformQuantizer(bits).fakeQuant(v, bC[h][i])));
        }
        if (twin) assertEquals(split, assertInstanceOf(TwinSoftmaxOperand.class, got.a()).split(), id + " split");
        else assertArrayEquals(aS, assertInstanceOf(UniformOperand.class, got.a()).scales(), id + " a scales");
        assertArrayEquals(bS, assertInstanceOf(UniformOperand.class, got.b()).scales(), id + " b scales");
    }

    interface ElemQ { float q(int head, float v); }

    /** Per head: sum over groups of the mean over rows of the row score. */
    static double[] mmScores(Metric metric, float[] a, float[] b, float[] o, float[] g, int G, int H, int m, int k, int n,
                             ElemQ aq, ElemQ bq) {
        double[] s = new double[H];
        for (int t = 0; t < G * H; t++) {
            int h = t % H;
            float[] qa = new float[m * k], qb = new float[k * n];
            for (int i = 0; i < m * k; i++) qa[i] = aq.q(h, a[t * m * k + i]);
            for (int i = 0; i < k * n; i++) qb[i] = bq.q(h, b[t * k * n + i]);
            float[] out = mm(qa, 0, qb, 0, m, k, n);
            float[] oo = java.util.Arrays.copyOfRange(o, t * m * n, (t + 1) * m * n),
                    gg = g == null ? null : java.util.Arrays.copyOfRange(g, t * m * n, (t + 1) * m * n);
            double acc = 0;
            for (int row = 0; row < m; row++) {
                double d = 0, a2 = 0, b2 = 0, e2 = 0;
                for (int c = 0; c < n; c++) {
                    double x = oo[row * n + c], y = out[row * n + c], ge = (metric == Metric.MSE ? 1.0 : gg[row * n + c]) * (y - x);
                    d += x * y; a2 += x * x; b2 += y * y; e2 += ge * ge;
                }
                acc += metric == Metric.COSINE ? d / Math.sqrt(Math.max(a2 * b2, 1e-16)) : -e2 / n;
            }
            s[h] += acc / m;
        }
        return s;
    }

    static float[] argmaxPerHead(float[][] cand, int count, java.util.function.IntFunction<double[]> eval) {
        int H = cand.length;
        double[] best = new double[H];
        java.util.Arrays.fill(best, Double.NEGATIVE_INFINITY);
        float[] choice = new float[H];
        for (int i = 0; i < count; i++) {
            double[] s = eval.apply(i);
            for (int h = 0; h < H; h++) if (s[h] > best[h]) { best[h] = s[h]; choice[h] = cand[h][i]; }
        }
        return choice;
    }

    /** Per head: the candidates, then the init at index {@code candidates}. */
    static float[][] grid(float[] x, int G, int H, int slice, CalibConfig cfg) {
        float[][] c = new float[H][cfg.candidates() + 1];
        for (int h = 0; h < H; h++) {
            float max = 0;
            for (int gr = 0; gr < G; gr++) for (int i = 0; i < slice; i++) max = Math.max(max, Math.abs(x[(gr * H + h) * slice + i]));
            float init = max / ((1 << (cfg.activationBits() - 1)) - 0.5f);
            for (int i = 0; i < cfg.candidates(); i++) c[h][i] = (float) (cfg.alpha() + i * (cfg.beta() - cfg.alpha()) / cfg.candidates()) * init;
            c[h][cfg.candidates()] = init;
        }
        return c;
    }

    // ---------------------------------------------------------------- helpers

    static float[] mm(float[] a, int aOff, float[] b, int bOff, int m, int k, int n) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double) a[aOff + i * k + t] * b[bOff + t * n + j];
                c[i * n + j] = (float) s;
            }
        return c;
    }

    /** x [rows, in] . w^T ([out, in]) + b, accumulated in double. */
    /** max over output channels of |mean over rows of (y - o)|: the largest per-channel mean error. */
    static double maxChannelMeanError(float[] y, float[] o, int rows, int out) {
        double max = 0;
        for (int c = 0; c < out; c++) {
            double m = 0;
            for (int t = 0; t < rows; t++) m += (double) y[t * out + c] - o[t * out + c];
            max = Math.max(max, Math.abs(m / rows));
        }
        return max;
    }

    static float[] matmulT(float[] x, float[] w, float[] b, int rows, int in, int out) {
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) s += (double) x[r * in + i] * w[o * in + i];
                y[r * out + o] = (float) s;
            }
        return y;
    }

    static float[] rand(SplittableRandom r, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (std * (r.nextDouble() * 2 - 1) * 1.7);
        return a;
    }

    static float maxAbs(float[] a) {
        float m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    static float gelu(float x) {
        return (float) (0.5 * x * (1 + erf(x / Math.sqrt(2))));
    }

    static double erf(double x) { // Abramowitz-Stegun 7.1.26 is enough for test data
        double t = 1 / (1 + 0.3275911 * Math.abs(x));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
        return x >= 0 ? y : -y;
    }
}
