package io.vitq.model;

import io.vitq.tensor.PackedB;

/**
 * A Linear layer (or a convolution expressed as one over im2col patches) with its stable op id,
 * the timm module name (e.g. {@code blocks.3.attn.qkv}). The weight is kept in PyTorch's
 * {@code [out, in]} layout and packed once for the GEMM kernels; a mode that changes the weights
 * (fake quantization) packs its own copy.
 */
public final class Linear {
    private final String id;
    private final int in, out;
    private final float[] weight;
    private final float[] bias;
    private volatile PackedB packed;

    public Linear(String id, float[] weight, float[] bias, int out, int in) {
        if (weight.length != out * in) throw new IllegalArgumentException(id + ": weight size");
        if (bias != null && bias.length != out) throw new IllegalArgumentException(id + ": bias size");
        this.id = id;
        this.in = in;
        this.out = out;
        this.weight = weight;
        this.bias = bias;
    }

    /**
     * Loads {@code prefix.weight} [out, in] and, when the architecture has one, {@code prefix.bias}
     * [out]: strictly, so a missing bias is an error and a bias the architecture does not have is too.
     *
     * @param why for a bias present where the architecture has none: why it has none (for the message)
     */
    public static Linear load(Weights w, String prefix, int out, int in, boolean bias, String why) {
        float[] wt = w.data(prefix + ".weight", out, in);
        if (!bias && w.has(prefix + ".bias")) {
            throw new ModelException(w.source() + ": tensor " + w.describe(prefix + ".bias") + " is a bias that this layer"
                    + " does not have (" + why + ")");
        }
        float[] b = bias ? w.data(prefix + ".bias", out) : null;
        return new Linear(prefix, wt, b, out, in);
    }

    /** {@link #load(Weights, String, int, int, boolean, String)} of a layer that has a bias. */
    public static Linear load(Weights w, String prefix, int out, int in) {
        return load(w, prefix, out, in, true, null);
    }

    public String id() { return id; }

    public int in() { return in; }

    public int out() { return out; }

    public float[] weight() { return weight; }

    public float[] bias() { return bias; }

    public long parameterCount() { return (long) in * out + (bias == null ? 0 : out); }

    /** The weight packed for the float GEMM (built on first use, then shared). */
    public PackedB packed() {
        PackedB p = packed;
        if (p == null) {
            synchronized (this) {
                if (packed == null) packed = PackedB.packTransposed(weight, 0, in, out, in);
                p = packed;
            }
        }
        return p;
    }
}
