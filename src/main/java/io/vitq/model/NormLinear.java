package io.vitq.model;

/**
 * A LayerNorm whose output only one Linear reads (its rows possibly permuted, as Swin's window
 * partition does): per-channel factors can move between the LayerNorm's affine and the Linear's
 * input columns without changing the function (RepQ-ViT's reparameterisation, {@code quant.NormFold}).
 */
public record NormLinear(LayerNorm norm, Linear linear) {
    public NormLinear {
        if (norm.dim() != linear.in())
            throw new IllegalArgumentException(norm.id() + " has " + norm.dim() + " channels, " + linear.id() + " reads " + linear.in());
    }
}
