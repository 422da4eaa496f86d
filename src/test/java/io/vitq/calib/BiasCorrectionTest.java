package io.vitq.calib;

import io.vitq.model.Linear;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformQuantizer;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --bias-correction} for PTQ4ViT's search: the searched scales are those of the search
 * without it, and the corrected bias removes the mean output error on the calibration data
 * (restated with the plan's own fake quantizers and a plain loop).
 */
class BiasCorrectionTest {
    @Test
    void afterTheSearchTheMeanErrorIsRemovedAndTheScalesStay() {
        SplittableRandom r = new SplittableRandom(8);
        int samples = 3, tokens = 7, rows = samples * tokens, in = 24, out = 10;
        float[] w = SearchReferenceTest.rand(r, out * in, 0.5), x = SearchReferenceTest.rand(r, rows * in, 2),
                g = SearchReferenceTest.rand(r, rows * out, 1);
        for (int i = 0; i < x.length; i++) x[i] += 0.8f; // a mean in the input makes the weight error's mean visible
        for (String id : new String[] {"blocks.0.attn.proj", "layers.0.downsample.reduction"}) {
            float[] b = id.contains("reduction") ? null : SearchReferenceTest.rand(r, out, 0.1);
            float[] o = SearchReferenceTest.matmulT(x, w, b, rows, in, out);
            Linear op = new Linear(id, w, b, out, in);
            CalibConfig plain = CalibConfig.ptq4vit(3, 4).withSearch(20, 2).withPerChannelWeights(true);
            LinearQuant q0 = new LinearSearch(op, x, o, g, rows, samples, plain).run();
            LinearQuant q = new LinearSearch(op, x, o, g, rows, samples, plain.withBiasCorrection(true)).run();
            assertNull(q0.bias(), "without the option the layer's own bias stays");
            assertEquals(q0.weight(), q.weight(), id + ": the correction comes after the search");
            assertEquals(q0.input(), q.input(), id);
            float[] bias = q.bias();
            assertNotNull(bias, id + ": a corrected bias, also for a layer without one");
            float[] xq = new float[x.length], wq = new float[w.length];
            q.input().fakeQuant(id, 0, x, 0, xq, 0, x.length);
            ScaledRanges.fakeQuantRows(q.weight().withBits(3), id, w, out, in, wq);
            float[] after = SearchReferenceTest.matmulT(xq, wq, bias, rows, in, out),
                    before = SearchReferenceTest.matmulT(xq, wq, b, rows, in, out);
            double maxMean = SearchReferenceTest.maxChannelMeanError(after, o, rows, out),
                    maxBefore = SearchReferenceTest.maxChannelMeanError(before, o, rows, out);
            assertTrue(maxBefore > 1e-3, id + ": the test data must have a mean error to remove, got " + maxBefore);
            assertTrue(maxMean < 1e-5, id + ": mean output error after correction " + maxMean + " (before " + maxBefore + ")");
        }
    }
}
