package io.vitq.model;

import io.vitq.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Random timm-named weights of a given architecture, for benchmarks and shape tests. */
public final class RandomWeights {
    private RandomWeights() {}

    /** Random weights of any zoo architecture: {@link #vit} or {@link SwinCheckpoint#random} (timm's current names). */
    public static Weights of(Architecture a, long seed) {
        return switch (a) {
            case ViTConfig c -> vit(c, seed);
            case SwinConfig c -> SwinCheckpoint.random(c, seed, false);
        };
    }

    public static Weights vit(ViTConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        int D = c.dim(), p = c.patch();
        put(m, r, "patch_embed.proj.weight", 0.02f, D, c.inChans(), p, p);
        if (!c.preNorm()) put(m, r, "patch_embed.proj.bias", 0.02f, D);
        if (c.prefixTokens() >= 1) put(m, r, "cls_token", 0.02f, 1, 1, D);
        if (c.distilled()) put(m, r, "dist_token", 0.02f, 1, 1, D);
        put(m, r, "pos_embed", 0.02f, 1, c.posEmbedPrefix() ? c.tokens() : c.numPatches(), D);
        if (c.preNorm()) norm(m, "norm_pre", D);
        for (int i = 0; i < c.depth(); i++) {
            String b = "blocks." + i;
            norm(m, b + ".norm1", D);
            put(m, r, b + ".attn.qkv.weight", 0.02f, 3 * D, D);
            if (c.qkvBias()) put(m, r, b + ".attn.qkv.bias", 0.02f, 3 * D);
            put(m, r, b + ".attn.proj.weight", 0.02f, D, D);
            put(m, r, b + ".attn.proj.bias", 0.02f, D);
            norm(m, b + ".norm2", D);
            put(m, r, b + ".mlp.fc1.weight", 0.02f, c.mlpHidden(), D);
            put(m, r, b + ".mlp.fc1.bias", 0.02f, c.mlpHidden());
            put(m, r, b + ".mlp.fc2.weight", 0.02f, D, c.mlpHidden());
            put(m, r, b + ".mlp.fc2.bias", 0.02f, D);
            if (c.layerScale()) { // about the size of trained DeiT-3 gammas, both signs
                put(m, r, b + ".ls1.gamma", 0.1f, D);
                put(m, r, b + ".ls2.gamma", 0.1f, D);
            }
        }
        norm(m, c.fcNorm() ? "fc_norm" : "norm", D);
        put(m, r, "head.weight", 0.02f, c.numClasses(), D);
        put(m, r, "head.bias", 0.02f, c.numClasses());
        if (c.distillationHead()) {
            put(m, r, "head_dist.weight", 0.02f, c.numClasses(), D);
            put(m, r, "head_dist.bias", 0.02f, c.numClasses());
        }
        return new Weights("random(seed " + seed + ")", m);
    }

    /** Normal(0, std) values of the given shape. */
    public static void put(Map<String, Tensor> m, SplittableRandom r, String name, float std, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) (gaussian(r) * std);
        m.put(name, t);
    }

    /** LayerNorm weights near identity. */
    public static void norm(Map<String, Tensor> m, String prefix, int dim) {
        Tensor w = Tensor.zeros(dim);
        java.util.Arrays.fill(w.data(), 1f);
        m.put(prefix + ".weight", w);
        m.put(prefix + ".bias", Tensor.zeros(dim));
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(1e-300, 1.0), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
