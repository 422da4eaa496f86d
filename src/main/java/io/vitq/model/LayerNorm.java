package io.vitq.model;

import io.vitq.tensor.LayerNormKernel;

/** LayerNorm over the feature dimension (never quantized). */
public record LayerNorm(String id, float[] weight, float[] bias, float eps) {

    public static LayerNorm load(Weights w, String prefix, int dim, float eps) {
        return new LayerNorm(prefix, w.data(prefix + ".weight", dim), w.data(prefix + ".bias", dim), eps);
    }

    public int dim() { return weight.length; }

    /** Normalises {@code rows} rows of x (stride {@code dim}) into y. */
    public void apply(float[] x, float[] y, int rows) {
        LayerNormKernel.forward(x, 0, dim(), y, 0, dim(), rows, dim(), weight, bias, eps, true);
    }
}
