package io.vitq.eval;

import io.vitq.data.BatchLoader;
import io.vitq.data.Dataset;
import io.vitq.data.EvalTransform;
import io.vitq.data.Preprocessing;
import io.vitq.io.ModelLoader;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.model.ViTConfig;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The second real model, a DeiT-Ti (../shared/data/deit_tiny_patch16_224.pipevit_lnq8, see its
 * SOURCE.md): its file name gives it the zoo's DeiT-Ti architecture and timm's DeiT eval transform
 * (bicubic, crop_pct 0.9, ImageNet mean/std), and its float accuracy on VAL1300 is the 81.54 %
 * (1060/1300, top-5 1228) that SOURCE.md and the tables of docs/RESULTS.md take as its baseline.
 */
class DeitTinyVal1300Test {
    static final String FILE = "data/deit_tiny_patch16_224.pipevit_lnq8/deit_tiny_patch16_224.pipevit_lnq8.safetensors";

    @Test
    void floatTop1OnVal1300() {
        Path ck = TestData.sharedOrSkip(FILE);
        Path list = TestData.sharedOrSkip("data/imagenet_val_1300_acuity/dataset.txt");
        ModelLoader.Loaded l = ModelLoader.load(ck.toString(), null);
        Model m = l.model();
        assertEquals("deit_tiny_patch16_224", m.name());
        assertEquals(ViTConfig.of(224, 16, 192, 12, 3), m.spec().architecture());
        assertEquals(Preprocessing.timm(224, false), m.preprocessing());
        assertEquals(5_717_416L, m.parameterCount());
        Dataset ds = Dataset.open(list);
        EvalResult r;
        try (BatchLoader loader = new BatchLoader(ds, new EvalTransform(m.preprocessing()), 50)) {
            r = Evaluator.run(m, FloatExecutor.INSTANCE, list.toString(), loader, 50, null);
        }
        System.out.printf("DeiT-Ti on VAL1300: top-1 %d/%d (%.2f %%), top-5 %.2f %%%n", r.top1Correct(), r.images(), r.top1(),
                r.top5());
        assertEquals(1300, r.images());
        assertEquals(1060, r.top1Correct());
        assertEquals(1228, r.top5Correct());
    }
}
