package io.vitq.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vitq.data.Batch;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.MinMaxPlans;
import io.vitq.testutil.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The mean KL(float || quantized) and top-1 agreement behind {@code vitq eval --compare-fp}:
 * {@link FpComparison#kl} against a restatement, and {@link Evaluator} with a reference executor
 * against the same quantities recomputed image by image.
 */
class FpComparisonTest {
    /** Unit roundoff of double. */
    static final double UD = 0x1p-53;

    /**
     * KL(p || q) of two logit rows, restated as {@code sum_i p_i (x_i - y_i) - lse(x) + lse(y)}
     * (lse = log-sum-exp; p = softmax(x), q = softmax(y)), in double.
     */
    static double klReference(float[] x, float[] y) {
        double lx = lse(x), ly = lse(y), s = 0;
        for (int i = 0; i < x.length; i++) s += Math.exp(x[i] - lx) * ((double) x[i] - y[i]);
        return s - lx + ly;
    }

    static double lse(float[] x) {
        double m = Double.NEGATIVE_INFINITY, s = 0;
        for (float v : x) m = Math.max(m, v);
        for (float v : x) s += Math.exp(v - m);
        return m + Math.log(s);
    }

    /**
     * Both sides run in double: every log-probability carries a few roundings of the size of the
     * values involved (|x_i|, lse), each exp a few more, and the n-term sums n roundings, so
     * {@code |kl - ref| <= 16 n UD (sum_i p_i (|x_i| + |y_i|) + |lse x| + |lse y| + 1)}.
     */
    static double tolerance(float[] x, float[] y) {
        double lx = lse(x), ly = lse(y), s = 0;
        for (int i = 0; i < x.length; i++) s += Math.exp(x[i] - lx) * (Math.abs(x[i]) + Math.abs(y[i]));
        return 16 * x.length * UD * (s + Math.abs(lx) + Math.abs(ly) + 1);
    }

    static void checkKl(float[] x, float[] y, String what) {
        double kl = FpComparison.kl(x, 0, y, 0, x.length);
        double ref = Math.max(0, klReference(x, y));
        double tol = tolerance(x, y);
        if (!(Math.abs(kl - ref) <= tol)) fail(what + ": kl = " + kl + " expected " + ref + " (tol " + tol + ")");
    }

    @Test
    void klAgainstTheLogSumExpRestatement() {
        SplittableRandom r = new SplittableRandom(1);
        for (int rep = 0; rep < 300; rep++) {
            int n = rep % 3 == 0 ? 1000 : 1 + r.nextInt(20);
            double sigma = rep % 4 == 0 ? 0.01 : rep % 4 == 1 ? 1 : rep % 4 == 2 ? 10 : 300;
            float[] x = new float[n], y = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (r.nextGaussian() * sigma);
                // small, medium and unrelated differences
                y[i] = rep % 5 == 0 ? (float) (r.nextGaussian() * sigma) : x[i] + (float) (r.nextGaussian() * sigma * (rep % 2 == 0 ? 1e-3 : 0.3));
            }
            checkKl(x, y, "rep " + rep + ", n " + n + ", sigma " + sigma);
        }
    }

    @Test
    void klIsZeroForEqualOrShiftedLogitsAndAsymmetric() {
        float[] x = {1f, 2f, 3f, -4f};
        assertEquals(0.0, FpComparison.kl(x, 0, x.clone(), 0, 4));
        float[] shifted = {101f, 102f, 103f, 96f};
        assertTrue(FpComparison.kl(x, 0, shifted, 0, 4) <= tolerance(x, shifted), "softmax is shift invariant");
        // KL(p || q) != KL(q || p): a peaked p against a flat q and the other way
        float[] peaked = {10f, 0f, 0f, 0f}, flat = {0f, 0f, 0f, 0f};
        double pq = FpComparison.kl(peaked, 0, flat, 0, 4), qp = FpComparison.kl(flat, 0, peaked, 0, 4);
        // closed forms: p = (e^10, 1, 1, 1) / (e^10 + 3), q = 1/4
        double z = Math.exp(10) + 3, p0 = Math.exp(10) / z, p1 = 1 / z;
        assertEquals(p0 * Math.log(4 * p0) + 3 * p1 * Math.log(4 * p1), pq, 1e-12);
        assertEquals(0.25 * Math.log(0.25 / p0) + 0.75 * Math.log(0.25 / p1), qp, 1e-12);
        // offsets select the rows
        float[] two = {9f, 1f, 2f, 3f, -4f, 7f};
        assertEquals(0.0, FpComparison.kl(two, 1, x, 0, 4));
        // logits beyond exp's range
        checkKl(new float[] {1000f, 990f, -1000f}, new float[] {995f, 1000f, 0f}, "logits near 1000");
    }

    @Test
    void evaluatorReportsMeanKlAndAgreementImageByImage() {
        Model m = TinyModels.VIT;
        Tensor calib = TinyModels.randomImages(4, 32, 21);
        // 4 bits: far enough from float that some top-1s change
        QuantPlan plan = MinMaxPlans.plan(m, MinMaxPlans.maxima(m, calib), MinMaxPlans.Spec.uniform().withBits(4));
        FakeQuantExecutor fq = new FakeQuantExecutor(plan, m);
        List<Batch> batches = new ArrayList<>();
        int[][] labels = {{3, -1, 7, 0, 2}, {-1, 5, 9}, {1}};
        int start = 0;
        for (int b = 0; b < labels.length; b++) {
            int n = labels[b].length;
            List<Path> paths = new ArrayList<>();
            for (int i = 0; i < n; i++) paths.add(Path.of("img" + (start + i) + ".png"));
            batches.add(new Batch(b, start, TinyModels.randomImages(n, 32, 100 + b), labels[b], paths));
            start += n;
        }
        EvalResult res = Evaluator.run(m, fq, FloatExecutor.INSTANCE, "test", batches.iterator(), 5, null);

        int images = 0, agree = 0, labelled = 0, c1 = 0, c5 = 0;
        double klSum = 0;
        int nc = m.numClasses();
        for (Batch b : batches) {
            float[] q = m.forward(b.images(), fq).data(), f = m.forward(b.images(), FloatExecutor.INSTANCE).data();
            for (int i = 0; i < b.size(); i++) {
                float[] x = java.util.Arrays.copyOfRange(f, i * nc, (i + 1) * nc), y = java.util.Arrays.copyOfRange(q, i * nc, (i + 1) * nc);
                klSum += Math.max(0, klReference(x, y));
                int tq = TopKTest.reference(q, i * nc, nc, 5)[0], tf = TopKTest.reference(f, i * nc, nc, 1)[0];
                if (tq == tf) agree++;
                int label = b.labels()[i];
                if (label >= 0) {
                    labelled++;
                    if (tq == label) c1++;
                    for (int c : TopKTest.reference(q, i * nc, nc, 5)) if (c == label) c5++;
                }
                Prediction p = res.predictions().get(images);
                assertEquals(b.paths().get(i).toString(), p.path());
                assertEquals(label, p.label());
                images++;
            }
        }
        FpComparison c = res.comparison();
        System.out.printf("compare-fp on %d images: agreement %d, mean KL %.6g (restated %.6g)%n", images, c.top1Agree(), c.meanKl(),
                klSum / images);
        assertEquals(images, res.images());
        assertEquals(images, c.images());
        assertEquals(agree, c.top1Agree());
        assertTrue(agree < images && agree > 0, "the 4-bit plan changes some top-1s but not all: " + agree + "/" + images);
        assertEquals(klSum / images, c.meanKl(), 1e-9 * klSum / images + 1e-15, "mean KL over all images, labelled or not");
        assertEquals(100.0 * agree / images, c.agreementPercent(), 1e-12);
        assertEquals(labelled, res.labelled());
        assertEquals(c1, res.top1Correct());
        assertEquals(c5, res.top5Correct());
        // without a reference executor there is no comparison
        assertEquals(null, Evaluator.run(m, fq, "test", batches.iterator(), 5, null).comparison());
        assertEquals(Double.NaN, new FpComparison(0, 0, 0).agreementPercent());
    }
}
