package io.vitq.eval;

import io.vitq.data.BatchLoader;
import io.vitq.data.Dataset;
import io.vitq.data.EvalTransform;
import io.vitq.io.ModelLoader;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * End to end (decode, preprocess, forward, top-k) against timm 0.4.12 + PyTorch's top-5 for the
 * real ViT-Ti: the shipped 200 images always, all 1300 VAL1300 images when the shared data is present.
 */
class ReferenceAgreementTest {

    static Map<String, int[]> reference() throws IOException {
        Map<String, int[]> ref = new HashMap<>();
        List<String> lines = Files.readAllLines(TestData.resource("golden/vit_tiny_val1300_reference_top5.tsv"));
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t");
            String[] t = f[2].split(",");
            int[] top = new int[5];
            for (int i = 0; i < 5; i++) top[i] = Integer.parseInt(t[i]);
            ref.put(f[0], top);
        }
        return ref;
    }

    /**
     * Returns {agreeing top-1, agreeing top-5 lists (the same five classes in the same order),
     * correct top-1, evaluated, correct top-5}.
     */
    static int[] compare(Path list) throws IOException {
        Map<String, int[]> ref = reference();
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        Dataset ds = Dataset.open(list);
        EvalResult r;
        try (BatchLoader loader = new BatchLoader(ds, new EvalTransform(m.preprocessing()), 50)) {
            r = Evaluator.run(m, FloatExecutor.INSTANCE, list.toString(), loader, 50, null);
        }
        int agree = 0, agree5 = 0, disagreements = 0;
        for (Prediction p : r.predictions()) {
            int[] top = ref.get(Path.of(p.path()).getFileName().toString());
            if (top[0] == p.top().top1()) agree++;
            if (Arrays.equals(top, p.top().classes())) agree5++;
            else if (disagreements++ < 10) {
                System.out.println("differs from reference: " + p.path() + " ours " + Arrays.toString(p.top().classes())
                        + " ref " + Arrays.toString(top));
            }
        }
        System.out.printf("reference agreement on %s: top-1 agrees %d/%d, whole top-5 list agrees %d/%d, top-1 correct %d (%.2f %%), "
                        + "top-5 correct %d, %.1f images/s forward%n",
                list, agree, r.images(), agree5, r.images(), r.top1Correct(), r.top1(), r.top5Correct(), r.forwardImagesPerSecond());
        return new int[]{agree, agree5, r.top1Correct(), r.images(), r.top5Correct()};
    }

    /** The README: 200/200 agree with timm, top-1 82.50 % (165), top-5 95.00 % (190). */
    @Test
    void shippedDemoImages() throws IOException {
        int[] a = compare(TestData.demo("val/dataset.txt"));
        assertEquals(200, a[3]);
        assertEquals(200, a[0], "top-1 agreement with timm");
        assertEquals(200, a[1], "whole top-5 lists agreeing with timm");
        assertEquals(165, a[2], "top-1 correct (82.50 %)");
        assertEquals(190, a[4], "top-5 correct (95.00 %)");
    }

    /** The README: top-1 82.62 % (1074/1300, as timm), top-5 96.00 %, top-1 and whole top-5 lists agree on 1300/1300. */
    @Test
    void val1300() throws IOException {
        Path list = TestData.sharedOrSkip("data/imagenet_val_1300_acuity/dataset.txt");
        int[] a = compare(list);
        assertEquals(1300, a[3]);
        assertEquals(1300, a[0], "top-1 agreement with timm");
        assertEquals(1300, a[1], "whole top-5 lists agreeing with timm");
        assertEquals(1074, a[2], "top-1 correct (timm: 1074, 82.62 %)");
        assertEquals(1248, a[4], "top-5 correct (96.00 %)");
    }
}
