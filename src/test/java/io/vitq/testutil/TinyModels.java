package io.vitq.testutil;

import io.vitq.data.Preprocessing;
import io.vitq.model.RandomWeights;
import io.vitq.model.SwinCheckpoint;
import io.vitq.model.SwinConfig;
import io.vitq.model.SwinTransformer;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.model.Weights;
import io.vitq.tensor.Tensor;

import java.util.SplittableRandom;

/** Tiny random ViT and Swin models and images for fast tests of the quantization code. */
public final class TinyModels {
    private TinyModels() {}

    /** Tiny ViT: image 32, patch 8 (17 tokens), dim 64, depth 2, 2 heads of 32, MLP 256, 10 classes. */
    public static final ViTConfig VIT_CFG = new ViTConfig(32, 8, 3, 64, 2, 2, 256, 10, 1, 1e-6f);
    public static final Weights VIT_WEIGHTS = vitWeights(VIT_CFG, 11);
    public static final VisionTransformer VIT = VisionTransformer.load("vit_tiny_test", VIT_CFG, Preprocessing.timm(32, true), VIT_WEIGHTS);
    /** Tiny Swin: 8x8 then 4x4 tokens, window 4 (stage 0's odd block shifted: window bias with mask), dims 16/32. */
    public static final SwinConfig SWIN_CFG = SwinConfig.of(32, 4, 16, new int[] {2, 2}, new int[] {2, 4}).withClasses(10);
    public static final SwinTransformer SWIN = SwinTransformer.load("swin_tiny_test", SWIN_CFG, Preprocessing.timm(32, false),
            SwinCheckpoint.random(SWIN_CFG, 5, false));
    public static final int B = 2;
    public static final Tensor IMAGES = randomImages(B, 32, 3);

    /**
     * RandomWeights' std 0.02 leaves attention almost uniform and GELU almost linear; larger qkv and
     * fc1 weights give peaked probabilities (both twin-softmax ranges in use) and GELU outputs on
     * both sides of zero.
     */
    public static Weights vitWeights(ViTConfig c, long seed) {
        Weights w = RandomWeights.vit(c, seed);
        for (int i = 0; i < c.depth(); i++) {
            scale(w, "blocks." + i + ".attn.qkv.weight", 8f);
            scale(w, "blocks." + i + ".mlp.fc1.weight", 5f);
        }
        return w;
    }

    public static void scale(Weights w, String name, float f) {
        float[] d = w.asMap().get(name).data();
        for (int i = 0; i < d.length; i++) d[i] *= f;
    }

    public static Tensor randomImages(int b, int size, long seed) {
        Tensor x = Tensor.zeros(b, 3, size, size);
        SplittableRandom r = new SplittableRandom(seed);
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextDouble(-1, 1);
        return x;
    }

}
