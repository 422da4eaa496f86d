package io.vitq.runtime;

import io.vitq.data.Batch;
import io.vitq.data.BatchLoader;
import io.vitq.data.Dataset;
import io.vitq.data.EvalTransform;
import io.vitq.eval.TopK;
import io.vitq.io.ModelLoader;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Integer execution of real ViT-Ti plans on the 1300 VAL1300 images against the fake quant that
 * sums products of codes ({@link FakeQuantExecutor.Products#CODES}): the README's claim is that
 * they are equal bit for bit (every logit, so 1300/1300 top-1 agreement).
 *
 * <p>By default (whenever the shared data is present) this runs on the two committed PTQ4ViT W8A8
 * plans in {@code src/test/resources/quant/} (linear and power-of-two GELU grid; the resource
 * README says how they were made), so no calibration is needed (about a minute). With plan files,
 * {@code -Dvitq.intplans=P.json[,Q.json]} also measures the table of docs/INTEGER.md for them:
 * <pre>
 * ./vitq quantize --method ptq4vit --bits w8a8 --gelu-grid power-of-two --plan /tmp/pow2.json
 * ./run-tests -Dtest=IntegerVal1300Test -Dvitq.intplans=/tmp/pow2.json[,more.json]
 * </pre>
 * It compares integer execution with the default dequantized fake quant too, and with a baseline
 * for "up to float rounding": fake quant against itself on the same images with every pixel moved
 * by one ulp ({@link Math#nextUp}), a perturbation of the size of one float rounding. Quantizers
 * are discontinuous, so such perturbations flip a few codes at rounding boundaries, and twelve
 * blocks spread the flips; the integer executor's sums differ from the dequantized fake quant's by
 * the same kind of rounding.
 */
class IntegerVal1300Test {
    static final List<String> COMMITTED = List.of("quant/ptq4vit_w8a8_vit_tiny.json", "quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json");

    /** The README's claim on the committed plans: integer == code-product fake quant, every logit, all 1300 images. */
    @Test
    void integerEqualsCodeProductFakeQuantOnVal1300() throws Exception {
        Path list = TestData.sharedOrSkip("data/imagenet_val_1300_acuity/dataset.txt");
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        int nc = m.numClasses();
        int plans = COMMITTED.size();
        IntegerExecutor[] ie = new IntegerExecutor[plans];
        FakeQuantExecutor[] fc = new FakeQuantExecutor[plans];
        for (int k = 0; k < plans; k++) {
            QuantPlan plan = QuantPlanJson.read(TestData.resource(COMMITTED.get(k)));
            ie[k] = new IntegerExecutor(plan, m);
            fc[k] = new FakeQuantExecutor(plan, m, FakeQuantExecutor.Products.CODES);
        }
        int images = 0;
        int[] agree = new int[plans], differing = new int[plans], correctInt = new int[plans], correctCodes = new int[plans];
        double[] maxDiff = new double[plans];
        try (BatchLoader loader = new BatchLoader(Dataset.open(list), new EvalTransform(m.preprocessing()), 50)) {
            while (loader.hasNext()) {
                Batch b = loader.next();
                for (int k = 0; k < plans; k++) {
                    float[] in = m.forward(b.images(), ie[k]).data(), c = m.forward(b.images(), fc[k]).data();
                    for (int i = 0; i < in.length; i++) {
                        if (Float.floatToRawIntBits(in[i]) != Float.floatToRawIntBits(c[i])) differing[k]++;
                        maxDiff[k] = Math.max(maxDiff[k], Math.abs(in[i] - c[i]));
                    }
                    for (int i = 0; i < b.size(); i++) {
                        int ti = TopK.of(in, i * nc, nc, 1).top1(), tc = TopK.of(c, i * nc, nc, 1).top1();
                        if (ti == tc) agree[k]++;
                        if (ti == b.labels()[i]) correctInt[k]++;
                        if (tc == b.labels()[i]) correctCodes[k]++;
                    }
                }
                images += b.size();
            }
        }
        for (int k = 0; k < plans; k++) {
            System.out.printf("VAL1300 %s: integer vs code-product fake quant: %d logits differ, max |diff| %.3g, top-1 agreement %d/%d, "
                    + "top-1 correct: integer %d, codes %d%n", COMMITTED.get(k), differing[k], maxDiff[k], agree[k], images,
                    correctInt[k], correctCodes[k]);
        }
        assertEquals(1300, images);
        for (int k = 0; k < plans; k++) {
            assertEquals(0, differing[k], COMMITTED.get(k) + ": logits that differ between integer and code-product execution");
            assertEquals(1300, agree[k], COMMITTED.get(k) + ": top-1 agreement");
        }
    }

    @Test
    void integerAgreesWithFakeQuant() throws Exception {
        String plans = System.getProperty("vitq.intplans");
        if (plans == null || plans.isBlank()) {
            String msg = "SKIPPED: give -Dvitq.intplans=PLAN.json[,PLAN2.json] (ViT-Ti plans) to compare on VAL1300";
            System.out.println(msg);
            Assumptions.abort(msg);
        }
        Path list = TestData.sharedOrSkip("data/imagenet_val_1300_acuity/dataset.txt");
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        for (String file : plans.split(",")) {
            QuantPlan plan = QuantPlanJson.read(Path.of(file.trim()));
            FakeQuantExecutor fq = new FakeQuantExecutor(plan, m);
            FakeQuantExecutor fc = new FakeQuantExecutor(plan, m, FakeQuantExecutor.Products.CODES);
            IntegerExecutor ie = new IntegerExecutor(plan, m);
            int images = 0, agree = 0, fqCorrect = 0, intCorrect = 0, floatCorrect = 0, ulpAgree = 0, ulpCorrect = 0;
            int codesAgree = 0, codesCorrect = 0;
            double maxDiff = 0, maxLogit = 0, ulpDiff = 0, codesDiff = 0;
            long fqNanos = 0, intNanos = 0;
            try (BatchLoader loader = new BatchLoader(Dataset.open(list), new EvalTransform(m.preprocessing()), 50)) {
                while (loader.hasNext()) {
                    Batch b = loader.next();
                    long t0 = System.nanoTime();
                    float[] f = m.forward(b.images(), fq).data();
                    long t1 = System.nanoTime();
                    float[] in = m.forward(b.images(), ie).data();
                    long t2 = System.nanoTime();
                    float[] fl = m.forward(b.images()).data();
                    float[] c = m.forward(b.images(), fc).data();
                    float[] px = b.images().data().clone();
                    for (int i = 0; i < px.length; i++) px[i] = Math.nextUp(px[i]);
                    float[] fu = m.forward(new io.vitq.tensor.Tensor(px, b.images().shape()), fq).data();
                    fqNanos += t1 - t0;
                    intNanos += t2 - t1;
                    int nc = m.numClasses();
                    for (int i = 0; i < b.labels().length; i++) {
                        int tf = TopK.of(f, i * nc, nc, 1).top1(), ti = TopK.of(in, i * nc, nc, 1).top1();
                        if (tf == ti) agree++;
                        int tc = TopK.of(c, i * nc, nc, 1).top1();
                        if (tc == ti) codesAgree++;
                        if (tc == b.labels()[i]) codesCorrect++;
                        if (tf == b.labels()[i]) fqCorrect++;
                        if (ti == b.labels()[i]) intCorrect++;
                        if (TopK.of(fl, i * nc, nc, 1).top1() == b.labels()[i]) floatCorrect++;
                        int tu = TopK.of(fu, i * nc, nc, 1).top1();
                        if (tu == tf) ulpAgree++;
                        if (tu == b.labels()[i]) ulpCorrect++;
                    }
                    for (int i = 0; i < f.length; i++) {
                        maxDiff = Math.max(maxDiff, Math.abs(f[i] - in[i]));
                        ulpDiff = Math.max(ulpDiff, Math.abs(f[i] - fu[i]));
                        codesDiff = Math.max(codesDiff, Math.abs(c[i] - in[i]));
                        maxLogit = Math.max(maxLogit, Math.abs(f[i]));
                    }
                    images += b.labels().length;
                }
            }
            System.out.printf("VAL1300 %s: %s%n  integer vs fake quant: max|logit diff| %.3g (%.2g of max|logit| %.3g), "
                            + "top-1 agreement %d/%d; top-1 correct: float %d, fake quant %d, integer %d; "
                            + "forward images/s: fake quant %.1f, integer %.1f%n  forms: %s%n",
                    file, plan.info().bitsLabel(), maxDiff, maxDiff / maxLogit, maxLogit, agree, images, floatCorrect,
                    fqCorrect, intCorrect, images / (fqNanos / 1e9), images / (intNanos / 1e9), formCounts(ie));
            System.out.printf("  fake quant on images moved by 1 ulp vs fake quant: max|logit diff| %.3g, top-1 agreement %d/%d, "
                    + "top-1 correct %d%n", ulpDiff, ulpAgree, images, ulpCorrect);
            System.out.printf("  integer vs code-product fake quant: max|logit diff| %.3g, top-1 agreement %d/%d, "
                    + "top-1 correct %d (integer %d)%n", codesDiff, codesAgree, images, codesCorrect, intCorrect);
            assertEquals(1300, images);
            // the README's claim: the fake quant that sums codes equals integer execution bit for bit
            assertEquals(0.0, codesDiff, "integer vs code-product fake quant: max |logit difference|");
            assertEquals(images, codesAgree, "integer vs code-product fake quant: top-1 agreement");
            assertEquals(intCorrect, codesCorrect, "top-1 correct, integer vs code-product fake quant");
            assertTrue(agree >= 0.97 * images, "top-1 agreement " + agree);
            assertTrue(agree >= ulpAgree - images / 100, "integer agrees with fake quant on " + agree
                    + " images, fake quant with itself under 1-ulp input moves on " + ulpAgree);
        }
    }

    static String formCounts(IntegerExecutor ie) {
        java.util.Map<String, Integer> c = new java.util.TreeMap<>();
        ie.forms().forEach((id, f) -> c.merge(id.replaceAll("\\.\\d+\\.", ".*.") + "=" + f, 1, Integer::sum));
        return c.toString();
    }
}
