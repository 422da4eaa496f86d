package io.vitq.model;

import io.vitq.data.Preprocessing;
import io.vitq.io.ModelLoader;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VitModelTest {

    static Tensor randomImages(int b, int size, long seed) {
        Tensor x = Tensor.zeros(b, 3, size, size);
        SplittableRandom r = new SplittableRandom(seed);
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextDouble(-1, 1);
        return x;
    }

    /**
     * timm's pre_norm (CLIP): norm_pre read from the tensors with eps 1e-5 and no patch-embedding bias, and it
     * runs after the position embedding (norm_pre's shift shows up in the "embed" output).
     */
    @Test
    void preNormIsReadFromTheTensorsAndRunsAfterThePositionEmbedding() {
        ViTConfig c = new ViTConfig(32, 8, 3, 64, 2, 2, 128, 10, 1, 1e-5f).withPreNorm(true);
        Weights w = RandomWeights.vit(c, 3);
        assertEquals(c, VisionTransformer.inferConfig(w, 2));
        assertEquals(new ViTConfig(32, 8, 3, 64, 2, 2, 128, 10, 1, 1e-6f), VisionTransformer.inferConfig(RandomWeights.vit(c.withPreNorm(false), 3), 2));
        float[] shift = w.asMap().get("norm_pre.bias").data();
        java.util.Arrays.fill(shift, 7f);
        VisionTransformer m = VisionTransformer.load("clip_micro", c, Preprocessing.timm(32, false), w);
        float[][] embed = new float[1][];
        m.forward(randomImages(1, 32, 2), FloatExecutor.INSTANCE, (name, data, shape) -> {
            if (name.equals("embed")) embed[0] = data.clone();
        });
        double mean = 0;
        for (float v : embed[0]) mean += v;
        assertEquals(7.0, mean / embed[0].length, 1e-3, "a LayerNorm with weight 1 and bias 7 gives rows of mean 7");
    }

    /** DeiT distilled: the logits are the mean of head(cls) and head_dist(dist). */
    @Test
    void distilledAveragesTheTwoHeads() {
        ViTConfig c = new ViTConfig(64, 16, 3, 64, 2, 2, 128, 10, 2, 1e-6f);
        Weights w = RandomWeights.vit(c, 7);
        VisionTransformer m = VisionTransformer.load("deit_micro_distilled", c, Preprocessing.timm(64, false), w);
        Tensor x = randomImages(3, 64, 1);
        float[][] norms = new float[2][];
        float[] logits = m.forward(x, FloatExecutor.INSTANCE, (name, data, shape) -> {
            if (name.equals("blocks.1")) {
                // recompute the final norm of token 0 and token 1 independently
                norms[0] = new float[3 * 64];
                norms[1] = new float[3 * 64];
                for (int b = 0; b < 3; b++)
                    for (int t = 0; t < 2; t++)
                        io.vitq.tensor.LayerNormKernel.forward(data, (b * c.tokens() + t) * 64, 64, norms[t], b * 64, 64, 1, 64,
                                w.data("norm.weight", 64), w.data("norm.bias", 64), 1e-6f, false);
            }
        }).data();
        float[] hw = w.data("head.weight", 10, 64), hb = w.data("head.bias", 10);
        float[] dw = w.data("head_dist.weight", 10, 64), db = w.data("head_dist.bias", 10);
        for (int b = 0; b < 3; b++)
            for (int k = 0; k < 10; k++) {
                double a = hb[k], d = db[k];
                for (int j = 0; j < 64; j++) {
                    a += hw[k * 64 + j] * norms[0][b * 64 + j];
                    d += dw[k * 64 + j] * norms[1][b * 64 + j];
                }
                assertEquals((a + d) / 2, logits[b * 10 + k], 1e-5);
            }
    }

    @Test
    void inferConfigFromShapes() {
        ViTConfig c = new ViTConfig(384, 32, 3, 128, 3, 2, 256, 7, 1, 1e-6f);
        ViTConfig found = VisionTransformer.inferConfig(RandomWeights.vit(c, 1), 2);
        assertEquals(c, found);
    }

    @Test
    void zooRejectsWrongArchitecture() {
        Weights small = RandomWeights.vit(ViTConfig.of(224, 16, 384, 12, 6), 1);
        ModelException e = assertThrows(ModelException.class, () -> ModelZoo.get("vit_tiny_patch16_224").build(small));
        assertTrue(e.getMessage().contains("embed dim 384") && e.getMessage().contains("192"), e.getMessage());
    }

    @Test
    void wrongInputShapeIsRejected() {
        ViTConfig c = new ViTConfig(64, 16, 3, 64, 1, 2, 128, 10, 1, 1e-6f);
        VisionTransformer m = VisionTransformer.load("micro", c, Preprocessing.timm(64, true), RandomWeights.vit(c, 1));
        assertThrows(IllegalArgumentException.class, () -> m.forward(randomImages(1, 32, 1)));
    }

    /** The same weights as a DeiT-style {'model': state_dict} .pth give identical logits. */
    @Test
    void pthAndSafetensorsGiveIdenticalLogits() {
        Path pth = TestData.sharedOrSkip("golden/vit_tiny_patch16_224.model_key.pth");
        Model a = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        Model b = ModelLoader.load("vit_tiny_patch16_224", pth).model();
        Tensor x = randomImages(2, 224, 3);
        assertArrayEquals(a.forward(x).data(), b.forward(x).data(), 0f);
    }
}
