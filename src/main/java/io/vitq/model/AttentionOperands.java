package io.vitq.model;

/**
 * The float operands and outputs of one attention op's two matmuls, head-major, exactly as
 * {@link BackwardSink#onMatmul} passes them: {@code q [G,H,T,d]} (Swin: q * scale), {@code kT
 * [G,H,d,T]}, the matmul1 output {@code scores [G,H,T,T]} (ViT: raw q.k^T; Swin: scaled),
 * the softmax {@code probs [G,H,T,T]}, {@code v [G,H,T,d]} and matmul2's output {@code out
 * [G,H,T,d]}. Computed by the backward pass's own forward recomputation (bit-identical to the
 * model's forward).
 */
public record AttentionOperands(float[] q, float[] kT, float[] scores, float[] probs, float[] v, float[] out) {

    /** The operands of {@code op} on a fused qkv buffer of {@code groups} groups (images or windows). */
    public static AttentionOperands of(AttentionOp op, float[] qkv, int groups) {
        var s = op.spec();
        int T = s.tokens(), D = s.dim(), M = groups * T;
        Backprop.BlockBuffers w = new Backprop.BlockBuffers(M * D, 0, groups * s.heads() * T * T, true);
        System.arraycopy(qkv, 0, w.qkv, 0, M * 3 * D);
        Backprop.attentionForward(op, groups, w, true);
        return new AttentionOperands(w.qh, w.kTh, w.scores, w.probs, w.vh, w.oh);
    }
}
