package io.vitq.model;

import io.vitq.tensor.AttentionKernel;

/**
 * The two attention matmuls of one attention module, as quantizable ops:
 * {@code matmul1} = q . k^T and {@code matmul2} = softmax . v (PTQ4ViT's naming).
 *
 * @param bias       additive score bias {@code [biasGroups][H][T][T]} (Swin), or null
 * @param qPrescaled true when q is multiplied by the scale before q . k^T (Swin), false when
 *                   the product is scaled (ViT/DeiT); matters for which tensor gets quantized
 */
public record AttentionOp(String prefix, AttentionKernel.Spec spec, float[] bias, int biasGroups,
                          boolean qPrescaled) {
    public String matmul1Id() { return prefix + ".matmul1"; }

    /**
     * What q is multiplied by before q · kᵀ, and so before it is quantized: the attention scale
     * when the op pre-scales q (Swin, as timm computes it), else 1. Every mode reads the rule here.
     */
    public float qFactor() { return qPrescaled ? spec.scale() : 1f; }

    /** What the scores q · kᵀ are multiplied by before the softmax: 1 when q carries the scale. */
    public float scoreScale() { return qPrescaled ? 1f : spec.scale(); }

    public String matmul2Id() { return prefix + ".matmul2"; }
}
