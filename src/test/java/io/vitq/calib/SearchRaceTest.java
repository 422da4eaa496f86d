package io.vitq.calib;

import io.vitq.model.Linear;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The searches with branch and bound ({@link CandidateRace}) against the same searches scoring
 * every candidate on every sample: the same scales on calibration-sized sample counts (32), for
 * every weight granularity, the twin GELU input, integer products and both squared-error metrics,
 * with fewer samples scored. The ViT-sized data is random, with outsized tokens as ViTs have.
 */
class SearchRaceTest {
    static final int SAMPLES = 32, TOKENS = 12, HEADS = 3;

    @Test
    void linearSearchesPickWhatExhaustiveSearchesPick() {
        check("blocks.0.attn.proj", 32, 24, CalibConfig.ptq4vit(8, 8), 1);
        check("blocks.0.attn.qkv", 32, 48, CalibConfig.ptq4vit(8, 8), 2);
        check("blocks.0.attn.qkv", 32, 48, CalibConfig.ptq4vit(8, 8).withIntegerProducts(true), 3);
        check("blocks.0.mlp.fc1", 32, 64, CalibConfig.ptq4vit(6, 6).withPerChannelWeights(true), 4);
        check("blocks.0.mlp.fc2", 64, 32, CalibConfig.ptq4vit(8, 8), 5);
        check("blocks.0.mlp.fc2", 64, 32, CalibConfig.ptq4vit(4, 8).withGeluPowerOfTwo(true).withIntegerProducts(true), 6);
        check("blocks.0.attn.proj", 32, 24, CalibConfig.ptq4vit(4, 4).withMetric(Metric.MSE), 7);
        check("patch_embed.proj", 48, 32, CalibConfig.ptq4vit(8, 8), 8);
        check("blocks.0.mlp.fc2", 64, 32, CalibConfig.adalog(4, 4).withSearch(20, 2), 9);   // AdaLog's stages keep their best 32
        // asymmetric per-channel weights, twin GELU shift form on integer products: column subsets bound codes as the whole op does
        check("blocks.0.mlp.fc2", 64, 32, CalibConfig.ptq4vit(4, 8).withGeluPowerOfTwo(true).withIntegerProducts(true)
                .withPerChannelWeights(true).withAsymmetricWeights(true), 10);
    }

    /** Per-channel weights: lost channels stop being computed, and the choices stay the exhaustive search's. */
    @Test
    void perChannelSearchesComputeFewerColumns() {
        for (CalibConfig cfg : new CalibConfig[] {CalibConfig.ptq4vit(4, 8).withPerChannelWeights(true),
                CalibConfig.ptq4vit(4, 8).withPerChannelWeights(true).withIntegerProducts(true),
                CalibConfig.ptq4vit(4, 8).withPerChannelWeights(true).withAsymmetricWeights(true),
                CalibConfig.ptq4vit(4, 8).withPerChannelWeights(true).withAsymmetricWeights(true).withIntegerProducts(true),
                CalibConfig.adalog(4, 4).withSearch(20, 2)}) {
            LinearSearch raced = check("blocks.0.mlp.fc1", 32, 64, cfg, 21);
            assertTrue(raced.columnSubsets > 0, "candidates built on column subsets: " + raced.columnSubsets);
        }
    }

    /**
     * The products behind the column subsets: a GEMM (float and int8) over some of the weight's rows
     * gives those columns' outputs bit for bit, at every column position and tail.
     */
    @Test
    void columnSubsetProductsAreTheFullProductsColumns() {
        SplittableRandom r = new SplittableRandom(4);
        int m = 37, k = 48, n = 75;
        float[] x = rand(r, m * k, 1), w = rand(r, n * k, 0.3), b = rand(r, n, 0.1);
        int[] cols = {0, 3, 16, 17, 31, 32, 50, 63, 64, 74};
        float[] full = new float[m * n], sub = new float[m * cols.length];
        float[] wSub = new float[cols.length * k], bSub = new float[cols.length];
        for (int j = 0; j < cols.length; j++) {
            System.arraycopy(w, cols[j] * k, wSub, j * k, k);
            bSub[j] = b[cols[j]];
        }
        io.vitq.tensor.Gemm.gemm(x, 0, k, m, io.vitq.tensor.PackedB.packTransposed(w, 0, k, n, k), full, 0, n, b,
                io.vitq.tensor.Activation.NONE, false, false);
        io.vitq.tensor.Gemm.gemm(x, 0, k, m, io.vitq.tensor.PackedB.packTransposed(wSub, 0, k, cols.length, k), sub, 0, cols.length,
                bSub, io.vitq.tensor.Activation.NONE, false, false);
        assertColumns(full, sub, m, n, cols, "float");
        float[] ws = new float[n], wsSub = new float[cols.length];
        for (int c = 0; c < n; c++) ws[c] = 0.3f * (1 + c % 7) / 127;
        for (int j = 0; j < cols.length; j++) wsSub[j] = ws[cols[j]];
        io.vitq.quant.OperandQuant xq = io.vitq.quant.UniformOperand.perTensor(8, 4f / 127);
        var fullK = new io.vitq.runtime.IntegerExecutor.LinearKernel(new Linear("blocks.0.mlp.fc1", w, b, n, k),
                new LinearQuant(new io.vitq.quant.UniformOperand(8, io.vitq.quant.Granularity.PER_OUTPUT_CHANNEL, ws), xq));
        var subK = new io.vitq.runtime.IntegerExecutor.LinearKernel(new Linear("blocks.0.mlp.fc1", wSub, bSub, cols.length, k),
                new LinearQuant(new io.vitq.quant.UniformOperand(8, io.vitq.quant.Granularity.PER_OUTPUT_CHANNEL, wsSub), xq));
        fullK.rows(x, 0, m, full, 0);
        subK.rows(x, 0, m, sub, 0);
        assertColumns(full, sub, m, n, cols, "int8");
    }

    private static void assertColumns(float[] full, float[] sub, int m, int n, int[] cols, String what) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < cols.length; j++)
                assertEquals(Float.floatToRawIntBits(full[i * n + cols[j]]), Float.floatToRawIntBits(sub[i * cols.length + j]),
                        what + ": row " + i + ", column " + cols[j]);
    }

    /** Random recorded operands of both attention products ({@link #HEADS} heads, m = n = 10 tokens, k = 8) with gradients. */
    private record Attention(float[] q, float[] kt, float[] o1, float[] g1, float[] p, float[] v, float[] o2, float[] g2) {
        static final int M = 10, K = 8, N = 10;

        static Attention random(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            float[] q = rand(r, SAMPLES * HEADS * M * K, 1), kt = rand(r, SAMPLES * HEADS * K * N, 1);
            float[] o1 = bmm(q, kt, HEADS, M, K, N), g1 = rand(r, o1.length, 1);
            float[] p = softmaxRows(rand(r, SAMPLES * HEADS * M * N, 3), N), v = rand(r, SAMPLES * HEADS * N * K, 1);
            float[] o2 = bmm(p, v, HEADS, M, N, K), g2 = rand(r, o2.length, 1);
            return new Attention(q, kt, o1, g1, p, v, o2, g2);
        }

        MatmulSearch scores(CalibConfig cfg) {
            return new MatmulSearch("blocks.0.attn.matmul1", q, kt, o1, g1, SAMPLES, HEADS, M, K, N, cfg, false);
        }

        MatmulSearch probabilities(CalibConfig cfg, boolean twin) {
            return new MatmulSearch("blocks.0.attn.matmul2", p, v, o2, g2, SAMPLES, HEADS, M, N, K, cfg, twin);
        }
    }

    @Test
    void matmulSearchesPickWhatExhaustiveSearchesPick() {
        Attention at = Attention.random(11);
        matmul("matmul1 W8A8", () -> at.scores(CalibConfig.ptq4vit(8, 8)));
        matmul("matmul1 W4A4 mse", () -> at.scores(CalibConfig.ptq4vit(4, 4).withMetric(Metric.MSE)));
        matmul("matmul2 twin", () -> at.probabilities(CalibConfig.ptq4vit(8, 8), true));
        // AdaLog's base, one for all heads (the heads' summed objective), then v per head
        matmul("matmul2 adalog", () -> at.probabilities(CalibConfig.adalog(4, 4).withSearch(20, 2), false));
        // integer products (q and k as int8 codes); matmul2's twin probabilities stay float products
        matmul("matmul1 integer products", () -> at.scores(CalibConfig.ptq4vit(8, 8).withIntegerProducts(true)));
        matmul("matmul2 twin, integer products", () -> at.probabilities(CalibConfig.ptq4vit(8, 8).withIntegerProducts(true), true));
    }

    /**
     * Integer products in the matmul search: q and k as int8 codes, the int32 sums times both steps.
     * Their scores equal the float products' up to rounding, so the searches pick the same scales here,
     * at 8 and 6 bits; the probabilities of matmul2's twin quantizer are not one uniform code and keep
     * the float product, while v's uniform codes meet them there.
     */
    @Test
    void matmulSearchesOnIntegerProductsPickWhatFloatProductsPick() {
        Attention at = Attention.random(12);
        for (int bits : new int[] {8, 6}) {
            CalibConfig floats = CalibConfig.ptq4vit(bits, bits);
            MatmulSearch onFloats = at.scores(floats), onCodes = at.scores(floats.withIntegerProducts(true));
            MatmulQuant want = onFloats.run(), got = onCodes.run();
            assertEquals(want.a(), got.a(), bits + " bits: q's scales");
            assertEquals(want.b(), got.b(), bits + " bits: k's scales");
            assertEquals(0, onFloats.integerTasks());
            assertEquals(onCodes.samplesScored(), onCodes.integerTasks(), bits + " bits: every product on codes");
        }
        MatmulSearch twin = at.probabilities(CalibConfig.ptq4vit(8, 8).withIntegerProducts(true), true);
        twin.run();
        assertEquals(0, twin.integerTasks(), "twin probabilities: float products");
    }

    private static LinearSearch check(String id, int in, int out, CalibConfig cfg, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int rows = SAMPLES * TOKENS;
        float[] w = rand(r, out * in, 0.5), b = rand(r, out, 0.1), x = rand(r, rows * in, 1);
        for (int t = 0; t < rows; t += 7) for (int c = 0; c < in; c += 5) x[t * in + c] *= 20;   // outsized activations
        if (id.endsWith("fc2")) for (int i = 0; i < x.length; i++) x[i] = (float) (x[i] / (1 + Math.exp(-1.702 * x[i])));
        float[] o = SearchReferenceTest.matmulT(x, w, b, rows, in, out), g = rand(r, rows * out, 1);
        Linear op = new Linear(id, w, b, out, in);
        LinearSearch raced = new LinearSearch(op, x, o, g, rows, SAMPLES, cfg);
        LinearSearch full = new LinearSearch(op, x, o, g, rows, SAMPLES, cfg);
        full.exhaustive = true;
        LinearQuant got = raced.run(), want = full.run();
        assertArrayEquals(want.weight().scales(), got.weight().scales(), id + " weight scales");
        assertEquals(want.input(), got.input(), id + " input");
        assertEquals(full.samplesExhaustive(), full.samplesScored(), id + ": the exhaustive search scores everything");
        assertTrue(raced.samplesScored() < raced.samplesExhaustive(),
                id + ": " + raced.samplesScored() + " of " + raced.samplesExhaustive() + " samples scored");
        return raced;
    }

    /** The search {@code search} makes, raced and exhaustive ({@code id} names it in the messages). */
    private static void matmul(String id, java.util.function.Supplier<MatmulSearch> search) {
        MatmulSearch raced = search.get(), full = search.get();
        full.exhaustive = true;
        MatmulQuant got = raced.run(), want = full.run();
        assertEquals(want.a(), got.a(), id + " operand a");
        assertEquals(want.b(), got.b(), id + " operand b");
        assertEquals(full.samplesExhaustive(), full.samplesScored(), id + ": the exhaustive search scores everything");
        assertTrue(raced.samplesScored() < raced.samplesExhaustive(),
                id + ": " + raced.samplesScored() + " of " + raced.samplesExhaustive() + " (sample, head) products");
    }

    static float[] rand(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * scale);
        return v;
    }

    /** {@code [S, H, m, k] x [S, H, k, n]}. */
    private static float[] bmm(float[] a, float[] b, int heads, int m, int k, int n) {
        float[] o = new float[SAMPLES * heads * m * n];
        for (int t = 0; t < SAMPLES * heads; t++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int c = 0; c < k; c++) s += (double) a[t * m * k + i * k + c] * b[t * k * n + c * n + j];
                    o[t * m * n + i * n + j] = (float) s;
                }
        return o;
    }

    private static float[] softmaxRows(float[] x, int n) {
        for (int r = 0; r < x.length / n; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < n; j++) max = Math.max(max, x[r * n + j]);
            for (int j = 0; j < n; j++) sum += Math.exp(x[r * n + j] - max);
            for (int j = 0; j < n; j++) x[r * n + j] = (float) (Math.exp(x[r * n + j] - max) / sum);
        }
        return x;
    }
}
