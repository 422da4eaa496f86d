package io.vitq.model;

/**
 * The float operands and outputs of one attention op's two matmuls, head-major, exactly as
 * {@link BackwardSink#onMatmul} passes them: {@code q [G,H,T,d]} (Swin: q * scale), {@code kT
 * [G,H,d,T]}, the matmul1 output {@code scores [G,H,T,T]} (ViT: raw q.k^T; Swin: scaled),
 * the softmax {@code probs [G,H,T,T]}, {@code v [G,H,T,d]} and matmul2's output {@code out
 * [G,H,T,d]}. Computed by the backward pass's own forward recomputation ({@link AttentionRecord},
 * bit-identical to the model's forward).
 */
public record AttentionOperands(float[] q, float[] kT, float[] scores, float[] probs, float[] v, float[] out) {

    /** The operands of {@code op} on a fused qkv buffer of {@code groups} groups (images or windows). */
    public static AttentionOperands of(AttentionOp op, float[] qkv, int groups) {
        AttentionRecord r = AttentionRecord.forward(op, qkv, groups, true);
        return new AttentionOperands(r.q, r.kT, r.scores, r.probs, r.v, r.oh);
    }
}
