package io.vitq.model;

import io.vitq.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Swin checkpoint key conventions. vitq's internal names (and op ids) are current timm's:
 * patch merging is {@code layers.{s}.downsample} at the START of stage s >= 1, the classifier is
 * {@code head.fc}. timm 0.4.12 and Microsoft's checkpoints store the merging at the END of the
 * previous stage ({@code layers.{s-1}.downsample}) and the classifier as {@code head}; the two
 * differences are detected independently. Buffers ({@code relative_position_index},
 * {@code attn_mask}) are recomputed, never read.
 */
public final class SwinCheckpoint {
    private final Weights w;
    private final boolean legacyDownsample, legacyHead;

    private SwinCheckpoint(Weights w) {
        this.w = w;
        // current timm never has a merging in stage 0; 0.4.12 always does (when there are 2+ stages)
        legacyDownsample = w.has("layers.0.downsample.reduction.weight");
        legacyHead = !w.has("head.fc.weight") && w.has("head.weight");
    }

    public static SwinCheckpoint of(Weights w) { return new SwinCheckpoint(w); }

    public Weights weights() { return w; }

    /** True when the checkpoint uses timm 0.4.12 / Microsoft naming (for messages and tests). */
    public boolean legacy() { return legacyDownsample || legacyHead; }

    /** The checkpoint's key for an internal (current timm) key. */
    public String key(String internal) {
        if (legacyHead && internal.startsWith("head.fc.")) return "head." + internal.substring("head.fc.".length());
        if (legacyDownsample && internal.startsWith("layers.")) {
            int dot = internal.indexOf('.', 7);
            if (internal.startsWith(".downsample.", dot)) {
                int s = Integer.parseInt(internal.substring(7, dot));
                return "layers." + (s - 1) + internal.substring(dot);
            }
        }
        return internal;
    }

    /**
     * The internal (current timm) key of one of the checkpoint's keys: the inverse of {@link #key},
     * used to store a checkpoint under current names whatever naming it came in.
     */
    public String internal(String key) {
        if (legacyHead && key.startsWith("head.") && !key.startsWith("head.fc.")) return "head.fc." + key.substring(5);
        if (legacyDownsample && key.startsWith("layers.")) {
            int dot = key.indexOf('.', 7);
            if (dot > 7 && key.startsWith(".downsample.", dot)) {
                int s = Integer.parseInt(key.substring(7, dot));
                return "layers." + (s + 1) + key.substring(dot);
            }
        }
        return key;
    }

    public boolean has(String internal) { return w.has(key(internal)); }

    public int[] shape(String internal) { return w.shape(key(internal)); }

    public float[] data(String internal, int... shape) { return w.data(key(internal), shape); }

    public LayerNorm layerNorm(String internal, int dim, float eps) {
        return new LayerNorm(internal, data(internal + ".weight", dim), data(internal + ".bias", dim), eps);
    }

    /**
     * A Linear with op id {@code internal}, strictly: with a bias exactly when {@code bias} (patch
     * merging's reduction has none; qkv has one when {@code qkv_bias}).
     */
    public Linear linear(String internal, int out, int in, boolean bias) {
        if (!bias && has(internal + ".bias")) {
            throw new ModelException(w.source() + ": tensor " + w.describe(key(internal + ".bias"))
                    + " is a bias that this layer does not have (" + (internal.endsWith(".qkv")
                    ? "the model's qkv layers have no bias" : "Swin's patch merging has no bias") + ")");
        }
        float[] b = bias ? data(internal + ".bias", out) : null;
        return new Linear(internal, data(internal + ".weight", out, in), b, out, in);
    }

    /** Marks stored buffers that timm recomputes as consumed, so they are not reported as unused. */
    void ignoreBuffer(String internal) {
        if (has(internal)) w.require(key(internal));
    }

    /**
     * Random weights of architecture {@code c} under either naming (tests and benchmarks; not timm's
     * init): Linear weights N(0, 1/in) so activations stay O(1) through depth, small random biases
     * and LayerNorm affine terms, relative-position tables N(0, 0.5^2) so that the bias and masks
     * visibly matter.
     */
    public static Weights random(SwinConfig c, long seed, boolean legacyNaming) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        int D0 = c.embedDim(), K = c.inChans() * c.patch() * c.patch();
        m.put("patch_embed.proj.weight", gauss(rnd, 1 / Math.sqrt(K), 0, D0, c.inChans(), c.patch(), c.patch()));
        m.put("patch_embed.proj.bias", gauss(rnd, 0.1, 0, D0));
        norm(m, rnd, "patch_embed.norm", D0);
        for (int s = 0; s < c.stages(); s++) {
            int D = c.dim(s), Hd = c.mlpHidden(s), ws = c.windowAt(s);
            if (s > 0) {
                String p = legacyNaming ? "layers." + (s - 1) + ".downsample" : "layers." + s + ".downsample";
                norm(m, rnd, p + ".norm", 4 * c.dim(s - 1));
                m.put(p + ".reduction.weight", gauss(rnd, 1 / Math.sqrt(4.0 * c.dim(s - 1)), 0, D, 4 * c.dim(s - 1)));
            }
            for (int b = 0; b < c.depth(s); b++) {
                String p = "layers." + s + ".blocks." + b;
                norm(m, rnd, p + ".norm1", D);
                m.put(p + ".attn.relative_position_bias_table", gauss(rnd, 0.5, 0, (2 * ws - 1) * (2 * ws - 1), c.heads(s)));
                linear(m, rnd, p + ".attn.qkv", 3 * D, D);
                linear(m, rnd, p + ".attn.proj", D, D);
                norm(m, rnd, p + ".norm2", D);
                linear(m, rnd, p + ".mlp.fc1", Hd, D);
                linear(m, rnd, p + ".mlp.fc2", D, Hd);
            }
        }
        norm(m, rnd, "norm", c.numFeatures());
        linear(m, rnd, legacyNaming ? "head" : "head.fc", c.numClasses(), c.numFeatures());
        return new Weights("random Swin " + c, m);
    }

    private static void linear(Map<String, Tensor> m, SplittableRandom rnd, String p, int out, int in) {
        m.put(p + ".weight", gauss(rnd, 1 / Math.sqrt(in), 0, out, in));
        m.put(p + ".bias", gauss(rnd, 0.1, 0, out));
    }

    private static void norm(Map<String, Tensor> m, SplittableRandom rnd, String p, int dim) {
        m.put(p + ".weight", gauss(rnd, 0.1, 1, dim));
        m.put(p + ".bias", gauss(rnd, 0.1, 0, dim));
    }

    private static Tensor gauss(SplittableRandom rnd, double std, double mean, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) (mean + std * rnd.nextGaussian());
        return t;
    }
}
