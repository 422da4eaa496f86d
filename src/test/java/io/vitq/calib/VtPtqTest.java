package io.vitq.calib;

import io.vitq.model.Linear;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.vitq.calib.SearchReferenceTest.matmulT;
import static io.vitq.calib.SearchReferenceTest.rand;
import static io.vitq.testutil.TinyModels.IMAGES;
import static io.vitq.testutil.TinyModels.VIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** VT-PTQ's pieces: Pearson, the ranking loss, bias correction, and the whole method on a tiny ViT. */
class VtPtqTest {

    @Test
    void pearsonOnHandComputedCases() {
        float[] o = {1, 2, 3, 4};
        assertEquals(1.0, OutputScores.pearson(o, 0, new float[] {2, 4, 6, 8}, 0, 4), 1e-12);
        assertEquals(-1.0, OutputScores.pearson(o, 0, new float[] {4, 3, 2, 1}, 0, 4), 1e-12);
        // o = 1..4 (mean 2.5), q = 1,2,3,5 (mean 2.75): sums of products of deviations 6.5, 5 and 8.75
        assertEquals(6.5 / Math.sqrt(5 * 8.75), OutputScores.pearson(o, 0, new float[] {1, 2, 3, 5}, 0, 4), 1e-12);
        assertEquals(0.0, OutputScores.pearson(new float[] {3, 3, 3}, 0, new float[] {1, 2, 3}, 0, 3), "constant output");
        // long random vectors (vector path with a tail) against a two-pass double computation
        SplittableRandom r = new SplittableRandom(1);
        int n = 5003;
        float[] a = rand(r, n, 3), b = new float[n];
        for (int i = 0; i < n; i++) b[i] = a[i] + (float) (0.05 * r.nextGaussian()) + 0.7f;
        double ma = 0, mb = 0;
        for (int i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
        ma /= n; mb /= n;
        double c = 0, va = 0, vb = 0;
        for (int i = 0; i < n; i++) { c += (a[i] - ma) * (b[i] - mb); va += (a[i] - ma) * (a[i] - ma); vb += (b[i] - mb) * (b[i] - mb); }
        assertEquals(c / Math.sqrt(va * vb), OutputScores.pearson(a, 0, b, 0, n), 1e-9);
    }

    @Test
    void pearsonOfColumnBlocksIsEachBlocksCorrelation() {
        SplittableRandom r = new SplittableRandom(2);
        int rows = 7, n = 3 * 37, width = 37;
        float[] o = rand(r, rows * n, 2), q = new float[rows * n];
        for (int i = 0; i < q.length; i++) q[i] = o[i] + (float) (0.1 * r.nextGaussian()) + (i % n < width ? 0.3f : 0f);
        double[] got = new double[3];
        OutputScores.pearsonColumnBlocks(o, 0, q, 0, rows, n, 3, got);
        for (int k = 0; k < 3; k++) { // two-pass double computation over block k's rows x width values
            double mo = 0, mq = 0, c = 0, vo = 0, vq = 0;
            for (int t = 0; t < rows; t++)
                for (int j = 0; j < width; j++) { mo += o[t * n + k * width + j]; mq += q[t * n + k * width + j]; }
            mo /= rows * width;
            mq /= rows * width;
            for (int t = 0; t < rows; t++)
                for (int j = 0; j < width; j++) {
                    double a = o[t * n + k * width + j] - mo, b = q[t * n + k * width + j] - mq;
                    c += a * b; vo += a * a; vq += b * b;
                }
            assertEquals(c / Math.sqrt(vo * vq), got[k], 1e-9, "block " + k);
        }
    }

    @Test
    void rankingLossOnHandComputedCases() {
        // theta 0.2: (0,1) keeps the order with margin 0.1 -> 0.1; the other pairs have margins >= 1.9 -> 0
        assertEquals(0.1, rank(new float[] {0, 1, 2}, new float[] {0, 0.1f, 2}), 1e-6);
        // a tie in the float scores costs theta whatever the quantized scores
        assertEquals(0.2, rank(new float[] {1, 1, 2}, new float[] {0.5f, 0.5f, 3}), 1e-6);
        // swapped order: p = (0 - 1) * sign(2 - 1) = -1 -> 0.2 + 1
        assertEquals(1.2, rank(new float[] {2, 1}, new float[] {0, 1}), 1e-6);
        // random rows (vector path) against the O(n^2) definition, with a few ties
        SplittableRandom r = new SplittableRandom(2);
        int rows = 3, n = 37;
        float[] a = rand(r, rows * n, 1), q = new float[rows * n];
        a[5] = a[9];
        a[40] = a[41] = a[42];
        for (int i = 0; i < q.length; i++) q[i] = a[i] + (float) (0.3 * r.nextGaussian());
        double brute = 0;
        for (int row = 0; row < rows; row++)
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) {
                    int x = row * n + i, y = row * n + j;
                    double p = (q[x] - q[y]) * Math.signum(a[x] - a[y]);
                    brute += Math.max(0.2 - p, 0);
                }
        assertEquals(brute, new RankingLoss(a, rows, n, 0.2f).sumInto(q, 0, rows), 1e-9 * brute + 1e-4);
    }

    static double rank(float[] a, float[] q) {
        return new RankingLoss(a, 1, a.length, 0.2f).sumInto(q, 0, 1);
    }

    @Test
    void branchAndBoundPicksWhatScoringEveryCandidatePicks() {
        for (long seed = 20; seed < 26; seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            int G = 3, H = 2, m = 9, k = 8, n = 9;
            float[] a = rand(r, G * H * m * k, 1.5), b = rand(r, G * H * k * n, 1.5), o = new float[G * H * m * n];
            for (int t = 0; t < G * H; t++)
                System.arraycopy(SearchReferenceTest.mm(a, t * m * k, b, t * k * n, m, k, n), 0, o, t * m * n, m * n);
            double gamma = seed % 2 == 0 ? 0.1 : 2.0;
            CalibConfig c = CalibConfig.vtptq(4, 4).withSearch(30, 5).withVt(new CalibConfig.VtOptions(true, gamma, 0.2, seed % 3 != 0, false));
            MatmulSearch fast = new MatmulSearch("blocks.0.attn.matmul1", a, b, o, null, G, H, m, k, n, c, false);
            MatmulSearch full = new MatmulSearch("blocks.0.attn.matmul1", a, b, o, null, G, H, m, k, n, c, false);
            full.exhaustive = true;
            assertEquals(full.run(), fast.run(), "seed " + seed);
        }
    }

    @Test
    void biasCorrectionRemovesTheMeanErrorOnTheCalibrationData() {
        SplittableRandom r = new SplittableRandom(3);
        int samples = 3, tokens = 7, rows = samples * tokens, in = 24, out = 10;
        float[] w = rand(r, out * in, 0.5), x = rand(r, rows * in, 2);
        for (int i = 0; i < x.length; i++) x[i] += 0.8f; // a mean in the input makes the weight error's mean visible
        for (String id : new String[] {"blocks.0.attn.proj", "layers.0.downsample.reduction"}) {
            float[] b = id.contains("reduction") ? null : rand(r, out, 0.1);
            float[] o = matmulT(x, w, b, rows, in, out);
            Linear op = new Linear(id, w, b, out, in);
            LinearQuant q = new LinearSearch(op, x, o, null, rows, samples, CalibConfig.vtptq(3, 4).withSearch(20, 20)).run();
            float[] bias = q.bias();
            assertNotNull(bias, id + ": a corrected bias, also for a layer without one");
            float[] xq = new float[x.length], wq = new float[w.length];
            UniformQuantizer u3 = new UniformQuantizer(3), u4 = new UniformQuantizer(4);
            for (int i = 0; i < x.length; i++) xq[i] = u4.fakeQuant(x[i], ((UniformOperand) q.input()).scale(0));
            for (int i = 0; i < w.length; i++) wq[i] = u3.fakeQuant(w[i], q.weight().scale(0));
            float[] oq = matmulT(xq, wq, bias, rows, in, out);
            float[] before = matmulT(xq, wq, b, rows, in, out);
            double maxMean = SearchReferenceTest.maxChannelMeanError(oq, o, rows, out),
                    maxBefore = SearchReferenceTest.maxChannelMeanError(before, o, rows, out);
            assertTrue(maxBefore > 1e-3, id + ": the test data must have a mean error to remove, got " + maxBefore);
            assertTrue(maxMean < 1e-5, id + ": mean output error after correction " + maxMean + " (before " + maxBefore + ")");
        }
    }

    @Test
    void mixedPrecisionGivesOneWidthPerUnitWithinTheBudget() {
        CalibConfig c = CalibConfig.vtptq(8, 8).withSearch(6, 2);
        io.vitq.calib.mp.UnitPlan units = io.vitq.calib.mp.UnitPlan.of(VIT);
        MixedPrecisionCalibration.Result r = MixedPrecisionCalibration.calibrate(VIT, IMAGES, null, c,
                io.vitq.calib.mp.MpTarget.MP8, null, "test", null);
        assertTrue(r.allocation().size() <= r.allocation().budget());
        QuantPlan p = r.plan();
        int[] bits = r.allocation().unitBits();
        for (int u = 0; u < units.units().size(); u++)
            for (String id : units.units().get(u).opIds())
                for (var o : p.op(id).operands()) assertEquals(bits[u], o.bits(), id);
        assertEquals(8, p.linear("head").weight().bits());
        assertEquals(8, p.linear("patch_embed.proj").weight().bits());
        assertTrue(p.info().options().get("unit_bits").startsWith("blocks.0.attn="), p.info().options().toString());
        // the smallest possible budget leaves every unit at 6 bits
        int[] six = new int[units.units().size()];
        java.util.Arrays.fill(six, 6);
        double minMb = io.vitq.calib.mp.ModelSize.mb(io.vitq.calib.mp.ModelSize.bits(units, six, 8));
        MixedPrecisionCalibration.Result tight = MixedPrecisionCalibration.calibrate(VIT, IMAGES, null, c,
                io.vitq.calib.mp.MpTarget.MP8, minMb + 1e-9, "test", null);
        for (int b : tight.allocation().unitBits()) assertEquals(6, b);
        // the [INFERRED] variant: the attention unit's nuclear norm from its output feature
        MixedPrecisionCalibration.Result out = MixedPrecisionCalibration.calibrate(VIT, IMAGES, null, c,
                io.vitq.calib.mp.MpTarget.MP8, null, MixedPrecisionCalibration.MsaNorm.OUTPUT_FEATURE, "test", null);
        assertTrue(out.allocation().size() <= out.allocation().budget());
        assertTrue(out.plan().info().options().get("mixed_precision").endsWith("output feature"));
    }

    @Test
    void vtptqOnATinyViT() throws Exception {
        CalibConfig c = CalibConfig.vtptq(8, 8).withSearch(12, 20);
        QuantPlan p = Calibrator.calibrate(VIT, IMAGES, null, c, "test", null).plan();
        assertEquals("vtptq", p.info().method());
        assertEquals("pearson", p.info().metric());
        p.ops().forEach((id, op) -> op.operands().forEach(o ->
                assertEquals(io.vitq.quant.Granularity.PER_TENSOR, assertInstanceOf(UniformOperand.class, o).granularity(), id)));
        assertNotNull(p.linear("blocks.0.attn.qkv").bias(), "bias correction on");
        MatmulQuant m1 = p.matmul("blocks.0.attn.matmul1");
        assertNotNull(m1.a());
        // the plan (with its corrected biases) survives JSON
        assertEquals(p, QuantPlanJson.parse(QuantPlanJson.toJson(p), "test"));
        // ablation switches reach the plan
        QuantPlan noBc = Calibrator.calibrate(VIT, IMAGES, null,
                c.withVt(new CalibConfig.VtOptions(false, 0.1, 0.2, true, false)), "test", null).plan();
        assertEquals(null, noBc.linear("blocks.0.attn.qkv").bias());
        assertEquals("off", noBc.info().options().get("ranking"));
    }

    @Test
    void qkvPerMatrixGivesQKAndVAScaleEach() throws Exception {
        CalibConfig.VtOptions v = CalibConfig.VtOptions.defaults();
        CalibConfig c = CalibConfig.vtptq(6, 6).withSearch(12, 20)
                .withVt(new CalibConfig.VtOptions(v.ranking(), v.gamma(), v.theta(), v.normalizeRanking(), v.biasCorrection(), true));
        QuantPlan p = Calibrator.calibrate(VIT, IMAGES, null, c, "test", null).plan();
        p.ops().forEach((id, op) -> {
            UniformOperand w = op instanceof io.vitq.quant.LinearQuant l ? l.weight() : null;
            if (id.endsWith(".qkv")) {
                assertEquals(io.vitq.quant.Granularity.ROW_BLOCKS, w.granularity(), id);
                assertEquals(3, w.scales().length, id);
            } else {
                op.operands().forEach(o ->
                        assertEquals(io.vitq.quant.Granularity.PER_TENSOR, assertInstanceOf(UniformOperand.class, o).granularity(), id));
            }
        });
        float[] s = p.linear("blocks.0.attn.qkv").weight().scales();
        assertTrue(s[0] != s[1] || s[1] != s[2], "q, k and v searched apart: " + java.util.Arrays.toString(s));
        assertEquals("per-tensor, qkv per matrix (q, k, v)", p.info().options().get("granularity"));
        assertEquals(p, QuantPlanJson.parse(QuantPlanJson.toJson(p), "test"));
    }

    @Test
    void vtOptionsPrintLikeTheRecordUnlessQkvPerMatrixIsSet() {
        // results files compare this text: cells written before qkvPerMatrix existed must still match
        assertEquals("VtOptions[ranking=true, gamma=0.1, theta=0.2, normalizeRanking=true, biasCorrection=true]",
                CalibConfig.VtOptions.defaults().toString());
        assertTrue(new CalibConfig.VtOptions(true, 0.1, 0.2, true, true, true).toString().endsWith(", qkvPerMatrix=true]"));
    }
}
