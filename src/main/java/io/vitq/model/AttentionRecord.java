package io.vitq.model;

import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.BackwardKernels;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.SoftmaxKernel;

/**
 * One attention op's forward recorded for its backward, and the backward: the attention core of
 * {@link AttentionKernel#forward} recomputed step by step (bit-identical to it), keeping the softmax
 * probabilities, and when wanted the head-major operands of its two matmuls
 * ({@link BackwardSink#onMatmul}): q (Swin: q * scale), k^T, matmul1's output (ViT: raw q.k^T;
 * Swin: the scaled scores), v and matmul2's output. It covers ViT's attention (one group per image,
 * the scale applied to q.k^T) and Swin's window attention (one group per window, q pre-scaled, an
 * additive relative-position bias and shift mask).
 */
final class AttentionRecord {
    final AttentionOp op;
    final int groups;
    final float[] qkv, probs, out;
    /** Head-major operands for the sink, null unless wanted. */
    final float[] q, kT, scores, v, oh;
    /** Gradients at matmul1's and matmul2's outputs (after {@link #backward}). */
    private float[] dScores, dOh;

    /** Per-thread scratch of the attention tasks. */
    private static final class Scratch {
        float[] s = new float[0], dp = new float[0], aT = new float[0], cT = new float[0];
        final PackedB pb = PackedB.buffer();

        void size(int T, int d) {
            if (s.length < T * T) { s = new float[T * T]; dp = new float[T * T]; }
            if (aT.length < d * T) { aT = new float[d * T]; cT = new float[d * T]; }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private AttentionRecord(AttentionOp op, int groups, float[] qkv, boolean want) {
        var s = op.spec();
        int T = s.tokens(), D = s.dim(), M = groups * T, scoreValues = groups * s.heads() * T * T;
        this.op = op;
        this.groups = groups;
        this.qkv = qkv;
        probs = new float[scoreValues];
        out = new float[M * D];
        scores = want ? new float[scoreValues] : null;
        q = want ? new float[M * D] : null;
        kT = want ? new float[M * D] : null;
        v = want ? new float[M * D] : null;
        oh = want ? new float[M * D] : null;
    }

    /**
     * From {@code qkv} ({@code groups x T} rows of q, k, v): S = q.k^T (raw), P = softmax(S * scale +
     * bias), O = P.v into {@link #out}, computed as {@link AttentionKernel#forward} does. When
     * wanted, also the sink's operands: matmul1's a is q, or q * scale when the op pre-scales q
     * (Swin), and its output is S, or S * scale: the scaled scores the softmax adds the bias to.
     */
    static AttentionRecord forward(AttentionOp op, float[] qkv, int groups, boolean want) {
        AttentionRecord r = new AttentionRecord(op, groups, qkv, want);
        AttentionKernel.Spec s = op.spec();
        final int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim(), ld = 3 * D, TT = T * T;
        final float scale = s.scale(), aScale = op.qFactor();
        final float[] bias = op.bias();
        Parallel.forEach(groups * H, task -> {
            int g = task / H, h = task % H;
            Scratch sc = SCRATCH.get();
            sc.size(T, d);
            int rowBase = g * T * ld, hm = task * TT;
            float[] S = want ? r.scores : sc.s;
            int sOff = want ? hm : 0;
            sc.pb.repackTransposed(qkv, rowBase + D + h * d, ld, T, d);
            Gemm.gemm(qkv, rowBase + h * d, ld, T, sc.pb, S, sOff, T, null, Activation.NONE, false, false);
            System.arraycopy(S, sOff, r.probs, hm, TT);
            int bOff = bias == null ? 0 : ((g % op.biasGroups()) * H + h) * TT;
            for (int i = 0; i < T; i++) SoftmaxKernel.row(r.probs, hm + i * T, T, scale, bias, bOff + i * T);
            sc.pb.repack(qkv, rowBase + 2 * D + h * d, ld, T, d);
            Gemm.gemm(r.probs, hm, T, T, sc.pb, r.out, g * T * D + h * d, D, null, Activation.NONE, false, false);
            if (want) {
                int o = task * T * d;
                for (int t = 0; t < T; t++) {
                    for (int j = 0; j < d; j++) r.q[o + t * d + j] = qkv[rowBase + t * ld + h * d + j] * aScale;
                    System.arraycopy(qkv, rowBase + t * ld + 2 * D + h * d, r.v, o + t * d, d);
                    System.arraycopy(r.out, (g * T + t) * D + h * d, r.oh, o + t * d, d);
                }
                BackwardKernels.transpose(qkv, rowBase + D + h * d, ld, T, d, r.kT, o, T);
                if (aScale != 1f) for (int i = hm; i < hm + TT; i++) r.scores[i] *= scale;
            }
        });
        return r;
    }

    /**
     * From dO ({@code dOut}, token-major): dP = dO.v^T, dv = P^T.dO; the gradient at matmul1's
     * output M, where P = softmax(M * c + bias) with c = scale for ViT (M = q.k^T) and c = 1 for Swin
     * (M = (q * scale).k^T): {@code dM = c P (dP - rowsum(dP P))}; then with matmul1's left operand
     * A (q, or q * scale): dA = dM.k, dk = dM^T.A, and dq = dA, or dA * scale.
     *
     * @return the gradient at qkv
     */
    float[] backward(float[] dOut) {
        AttentionKernel.Spec s = op.spec();
        final int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim(), ld = 3 * D, TT = T * T;
        final boolean pre = op.qPrescaled();
        final float scale = s.scale(), softmaxScale = op.scoreScale();
        final float[] dqkv = new float[groups * T * ld];
        dScores = new float[groups * H * TT];
        dOh = new float[groups * T * D];
        Parallel.forEach(groups * H, task -> {
            int g = task / H, h = task % H;
            Scratch sc = SCRATCH.get();
            sc.size(T, d);
            int rowBase = g * T * ld, hm = task * TT, dO = g * T * D + h * d;
            // dP = dO . v^T
            sc.pb.repackTransposed(qkv, rowBase + 2 * D + h * d, ld, T, d);
            Gemm.gemm(dOut, dO, D, T, sc.pb, sc.dp, 0, T, null, Activation.NONE, false, false);
            // dv^T = dO^T . P
            BackwardKernels.transpose(dOut, dO, D, T, d, sc.aT, 0, T);
            sc.pb.repack(probs, hm, T, T, T);
            Gemm.gemm(sc.aT, 0, T, d, sc.pb, sc.cT, 0, T, null, Activation.NONE, false, false);
            BackwardKernels.transpose(sc.cT, 0, T, d, T, dqkv, rowBase + 2 * D + h * d, ld);
            // softmax backward: gradient at matmul1's output
            for (int i = 0; i < T; i++) {
                BackwardKernels.softmaxBackwardRow(probs, hm + i * T, sc.dp, i * T, dScores, hm + i * T, T, softmaxScale);
            }
            // dq = dM . k (times the scale when q was pre-scaled)
            sc.pb.repack(qkv, rowBase + D + h * d, ld, T, d);
            Gemm.gemm(dScores, hm, T, T, sc.pb, dqkv, rowBase + h * d, ld, null, Activation.NONE, false, false);
            if (pre) {
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < d; j++) dqkv[rowBase + t * ld + h * d + j] *= scale;
            }
            // dk^T = A^T . dM
            BackwardKernels.transpose(qkv, rowBase + h * d, ld, T, d, sc.aT, 0, T);
            if (pre) for (int i = 0; i < d * T; i++) sc.aT[i] *= scale;
            sc.pb.repack(dScores, hm, T, T, T);
            Gemm.gemm(sc.aT, 0, T, d, sc.pb, sc.cT, 0, T, null, Activation.NONE, false, false);
            BackwardKernels.transpose(sc.cT, 0, T, d, T, dqkv, rowBase + D + h * d, ld);
            // matmul2's output gradient, head-major
            int o = task * T * d;
            for (int t = 0; t < T; t++) System.arraycopy(dOut, dO + t * D, dOh, o + t * d, d);
        });
        return dqkv;
    }

    /** Reports matmul2, then matmul1 (backward order) after {@link #backward}. */
    void report(BackwardSink sink) {
        boolean want = sink.wantsForward();
        int T = op.spec().tokens(), H = op.spec().heads(), d = op.spec().headDim();
        sink.onMatmul(op.matmul2Id(), want ? probs : null, want ? v : null, want ? oh : null, dOh, groups, H, T, T, d);
        sink.onMatmul(op.matmul1Id(), want ? q : null, want ? kT : null, want ? scores : null, dScores, groups, H, T, d, T);
    }
}
