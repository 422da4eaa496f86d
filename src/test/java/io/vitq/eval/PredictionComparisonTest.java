package io.vitq.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** One predictions file against a reference's, on four images worked out by hand. */
class PredictionComparisonTest {
    private static Prediction p(String path, int label, int[] classes, float... probs) {
        return new Prediction(path, label, new TopK(classes, probs));
    }

    private static final List<Prediction> REFERENCE = List.of(
            p("a", 1, new int[] {1, 2, 3, 4, 5}, 0.9f, 0.05f, 0.02f, 0.02f, 0.01f),
            p("b", 2, new int[] {3, 2, 4, 5, 6}, 0.5f, 0.4f, 0.05f, 0.03f, 0.02f),
            p("c", 3, new int[] {3, 1, 2, 4, 5}, 0.8f, 0.1f, 0.05f, 0.03f, 0.02f),
            p("d", -1, new int[] {5, 1, 2, 3, 4}, 0.7f, 0.1f, 0.1f, 0.05f, 0.05f));

    /** The same images in another order: a agrees (p 0.5), b disagrees and is right (the reference's 3 at 0.3), c disagrees and is wrong (3 not in its top-5), d agrees unlabelled (0.9). */
    private static final List<Prediction> MODEL = List.of(
            p("d", -1, new int[] {5, 0, 1, 2, 3}, 0.9f, 0.04f, 0.03f, 0.02f, 0.01f),
            p("c", 3, new int[] {4, 7, 8, 9, 10}, 0.4f, 0.3f, 0.2f, 0.05f, 0.05f),
            p("a", 1, new int[] {1, 0, 2, 3, 4}, 0.5f, 0.2f, 0.1f, 0.1f, 0.1f),
            p("b", 2, new int[] {2, 3, 1, 4, 5}, 0.6f, 0.3f, 0.05f, 0.03f, 0.02f));

    @Test
    void handWorkedExample() {
        PredictionComparison c = PredictionComparison.of(REFERENCE, MODEL);
        assertEquals(4, c.images());
        assertEquals(3, c.labelled());
        assertEquals(2, c.top1Correct());   // a and b
        assertEquals(200.0 / 3, c.top1(), 1e-12);
        assertEquals(2, c.agreement());     // a and d
        double nll = -(Math.log(0.5f) + Math.log(0.3f) + Math.log(PredictionComparison.FLOOR) + Math.log(0.9f)) / 4;
        assertEquals(nll, c.meanNegLogP(), 1e-12);
        assertEquals(1, c.referenceOnly()); // c
        assertEquals(1, c.modelOnly());     // b
        assertEquals(1.0, c.mcnemarP());
        double[] ci = TopOneUncertainty.wilson(2, 3);
        assertArrayEquals(new double[] {100 * ci[0], 100 * ci[1]}, c.interval(), 1e-12);
        // against itself: everything agrees
        PredictionComparison self = PredictionComparison.of(REFERENCE, REFERENCE);
        assertEquals(4, self.agreement());
        assertEquals(0, self.referenceOnly() + self.modelOnly());
        assertEquals(-(Math.log(0.9f) + Math.log(0.5f) + Math.log(0.8f) + Math.log(0.7f)) / 4, self.meanNegLogP(), 1e-12);
    }

    @Test
    void unlabelledImagesHaveNoTopOne() {
        List<Prediction> ref = List.of(p("x", -1, new int[] {1, 2, 3, 4, 5}, 0.5f, 0.2f, 0.1f, 0.1f, 0.1f));
        PredictionComparison c = PredictionComparison.of(ref, ref);
        assertTrue(Double.isNaN(c.top1()));
        assertNull(c.interval());
    }

    @Test
    void differentImagesAreRefusedByName() {
        IllegalArgumentException e;
        e = assertThrows(IllegalArgumentException.class, () -> PredictionComparison.of(REFERENCE, MODEL.subList(0, 3)));
        assertTrue(e.getMessage().contains("it holds 3 images, the reference 4"), e.getMessage());
        List<Prediction> renamed = List.of(MODEL.get(0), MODEL.get(1), MODEL.get(2), p("e", 2, new int[] {2, 3, 1, 4, 5}, 0.6f, 0.3f, 0.05f, 0.03f, 0.02f));
        e = assertThrows(IllegalArgumentException.class, () -> PredictionComparison.of(REFERENCE, renamed));
        assertTrue(e.getMessage().contains("e is not among the reference's images"), e.getMessage());
        List<Prediction> twice = List.of(MODEL.get(0), MODEL.get(1), MODEL.get(2), MODEL.get(2));
        e = assertThrows(IllegalArgumentException.class, () -> PredictionComparison.of(REFERENCE, twice));
        assertTrue(e.getMessage().contains("holds a twice"), e.getMessage());
        List<Prediction> relabelled = List.of(MODEL.get(0), MODEL.get(1), MODEL.get(2), p("b", 5, new int[] {2, 3, 1, 4, 5}, 0.6f, 0.3f, 0.05f, 0.03f, 0.02f));
        e = assertThrows(IllegalArgumentException.class, () -> PredictionComparison.of(REFERENCE, relabelled));
        assertTrue(e.getMessage().contains("b: label 5 against the reference's 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PredictionComparison.of(List.of(REFERENCE.get(0), REFERENCE.get(0)), MODEL.subList(0, 2)));
        assertTrue(e.getMessage().contains("the reference holds a twice"), e.getMessage());
    }
}
