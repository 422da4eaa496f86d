package io.vitq.model;

import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.BackwardKernels;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.SoftmaxKernel;
import io.vitq.tensor.VectorMath;

/**
 * The parts of the activation-gradient backward that {@link VitBackward} and {@link SwinBackward}
 * share: the task loss and its gradient at the logits, one Linear op's report and input gradient,
 * a block's buffers, the MLP half of a block, and the attention core (recomputation, backward,
 * report), which covers both ViT's attention (one
 * group per image, the scale applied to {@code q.k^T}) and Swin's window attention (one group per
 * window, q pre-scaled, an additive relative-position bias and shift mask).
 */
final class Backprop {
    private Backprop() {}

    /**
     * Cross-entropy of {@code logits} against {@code targets}, averaged over the batch, and its
     * gradient at the logits: {@code L = (1/B) sum_b [logsumexp(z_b) - z_b[t_b]]},
     * {@code dL/dz = (softmax(z) - onehot(t)) / B}.
     */
    record Loss(int[] targets, float[] gradLogits, double value) {}

    /** @param targets target class per image, or null for the logits' own top-1 (first maximum) */
    static Loss crossEntropy(float[] logits, int[] targets, int B, int NC) {
        int[] tg = targets != null ? targets.clone() : VitBackward.topOne(logits, B, NC);
        if (tg.length != B) throw new IllegalArgumentException("targets: " + tg.length + " values for a batch of " + B);
        float[] g = new float[B * NC];
        double loss = 0;
        for (int b = 0; b < B; b++) {
            int t = tg[b];
            if (t < 0 || t >= NC) throw new IllegalArgumentException("target " + t + " of image " + b + " is not in [0, " + NC + ")");
            int o = b * NC;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < NC; c++) max = Math.max(max, logits[o + c]);
            double sum = 0;
            for (int c = 0; c < NC; c++) sum += Math.exp(logits[o + c] - max);
            loss += (Math.log(sum) + max - logits[o + t]) / B;
            for (int c = 0; c < NC; c++) {
                double p = Math.exp(logits[o + c] - max) / sum;
                g[o + c] = (float) ((p - (c == t ? 1 : 0)) / B);
            }
        }
        return new Loss(tg, g, loss);
    }

    /** B = W ([out, in] row-major) as the right operand of {@code dX = dY . W}: B[k = out][n = in]. */
    static PackedB packForBackward(Linear op) {
        return PackedB.pack(op.weight(), 0, op.in(), op.out(), op.in());
    }

    /** {@code into = x . W^T + b} (rows x op.out()) as {@link FloatExecutor#linear} computes it, without activation. */
    static float[] output(Linear op, float[] x, int rows, float[] into) {
        Gemm.gemm(x, 0, op.in(), rows, op.packed(), into, 0, op.out(), op.bias(), Activation.NONE, false, true);
        return into;
    }

    /**
     * Reports Linear {@code op} to the sink (input x and output out are passed only when the sink
     * wants the forward) with output gradient dy {@code [rows, op.out()]}, then writes the input
     * gradient {@code dx = dy . W} {@code [rows, op.in()]}.
     */
    static void linear(BackwardSink sink, Linear op, float[] x, float[] out, float[] dy, int rows, float[] dx) {
        boolean want = sink.wantsForward();
        sink.onLinear(op, want ? x : null, want ? out : null, dy, rows);
        Gemm.gemm(dy, 0, op.out(), rows, packForBackward(op), dx, 0, op.in(), null, Activation.NONE, false, true);
    }

    // ---------------------------------------------------------------- block buffers and the MLP half

    /**
     * Buffers of one transformer block's recomputation and backward, sized for up to
     * {@code tokenValues} token-major values ({@code rows x D}), {@code hiddenValues} MLP values
     * ({@code rows x hidden}) and {@code scoreValues} scores ({@code groups x H x T x T}); a block
     * uses their leading parts. All blocks of one backward share them.
     */
    static class BlockBuffers {
        final float[] ln1, qkv, attnOut, h1, ln2, f, g;  // recomputed forward (f: fc1's pre-GELU output, g = gelu(f))
        final float[] probs;                             // softmax probabilities [G, H, T, T]
        final float[] scores, qh, kTh, vh, oh;           // head-major matmul operands for the sink, null unless wanted
        final float[] tmpOut;                            // a recomputed op output for the sink, null unless wanted
        final float[] dg, dln, dh1, dAttn, dqkv;         // gradients at g then f, a norm's output, h1, attnOut, qkv
        final float[] dScores, dOh;                      // gradients at matmul1's and matmul2's outputs

        BlockBuffers(int tokenValues, int hiddenValues, int scoreValues, boolean want) {
            ln1 = new float[tokenValues];
            qkv = new float[3 * tokenValues];
            attnOut = new float[tokenValues];
            h1 = new float[tokenValues];
            ln2 = new float[tokenValues];
            f = new float[hiddenValues];
            g = new float[hiddenValues];
            probs = new float[scoreValues];
            scores = want ? new float[scoreValues] : null;
            qh = want ? new float[tokenValues] : null;
            kTh = want ? new float[tokenValues] : null;
            vh = want ? new float[tokenValues] : null;
            oh = want ? new float[tokenValues] : null;
            tmpOut = want ? new float[tokenValues] : null;
            dg = new float[hiddenValues];
            dln = new float[tokenValues];
            dh1 = new float[tokenValues];
            dAttn = new float[tokenValues];
            dqkv = new float[3 * tokenValues];
            dScores = new float[scoreValues];
            dOh = new float[tokenValues];
        }
    }

    /**
     * The MLP half of a block, {@code out = h1 + fc2(gelu(fc1(norm2(h1))))}: recomputes
     * {@code w.ln2}, {@code w.f} and {@code w.g} from {@code w.h1} as the models compute them
     * (bit-identical: the fused GELU of the forward's fc1 equals GELU applied after it).
     */
    static void mlpForward(LayerNorm norm2, Linear fc1, int rows, BlockBuffers w) {
        int Hd = fc1.out();
        norm2.apply(w.h1, w.ln2, rows);
        output(fc1, w.ln2, rows, w.f);
        System.arraycopy(w.f, 0, w.g, 0, rows * Hd);
        Parallel.forRange(rows, (r0, r1) -> VectorMath.geluInPlace(w.g, r0 * Hd, (r1 - r0) * Hd));
    }

    /**
     * The MLP half's backward from {@code dy} (gradient at the block output): reports
     * {@code mlp.fc2} and {@code mlp.fc1} (pre-GELU output), and writes the gradient at h1 through
     * the MLP and the residual, {@code w.dh1 = dy + norm2'(dln)}.
     */
    static void mlpBackward(LayerNorm norm2, Linear fc1, Linear fc2, float[] dy, int rows, BlockBuffers w, BackwardSink sink) {
        int D = norm2.dim(), Hd = fc1.out();
        boolean want = sink.wantsForward();
        // ---- fc2: out = g . W2^T + b2 (added to h1)
        linear(sink, fc2, w.g, want ? output(fc2, w.g, rows, w.tmpOut) : null, dy, rows, w.dg);
        // ---- GELU, then fc1
        Parallel.forRange(rows, (r0, r1) -> BackwardKernels.geluBackward(w.f, w.dg, w.dg, r0 * Hd, (r1 - r0) * Hd));
        linear(sink, fc1, w.ln2, w.f, w.dg, rows, w.dln);
        // ---- norm2 and the residual
        System.arraycopy(dy, 0, w.dh1, 0, rows * D);
        BackwardKernels.layerNormBackward(w.h1, 0, D, w.dln, 0, D, w.dh1, 0, D, rows, D,
                norm2.weight(), norm2.eps(), true, true);
    }

    // ---------------------------------------------------------------- attention core

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

    /** Offset of group g, head h's {@code [T, T]} block of the op's additive bias. */
    private static int biasOffset(AttentionOp op, int g, int h) {
        return ((g % op.biasGroups()) * op.spec().heads() + h) * op.spec().tokens() * op.spec().tokens();
    }

    /**
     * From {@code w.qkv}: S = q.k^T (raw), P = softmax(S * scale + bias), O = P.v into
     * {@code w.attnOut}, computed as {@link AttentionKernel#forward} does (bit-identical). When
     * wanted, also the sink's head-major operands: matmul1's {@code a} is q, or q * scale when the
     * op pre-scales q (Swin), and its output is S, or S * scale: the scaled scores the forward's
     * softmax adds the bias to ({@code (q * scale) . k^T} up to float rounding).
     */
    static void attentionForward(AttentionOp op, int groups, BlockBuffers w, boolean want) {
        AttentionKernel.Spec s = op.spec();
        final int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim(), ld = 3 * D, TT = T * T;
        final float scale = s.scale(), aScale = op.qPrescaled() ? scale : 1f;
        final float[] qkv = w.qkv, bias = op.bias();
        Parallel.forEach(groups * H, task -> {
            int g = task / H, h = task % H;
            Scratch sc = SCRATCH.get();
            sc.size(T, d);
            int rowBase = g * T * ld, hm = task * TT;
            float[] S = want ? w.scores : sc.s;
            int sOff = want ? hm : 0;
            sc.pb.repackTransposed(qkv, rowBase + D + h * d, ld, T, d);
            Gemm.gemm(qkv, rowBase + h * d, ld, T, sc.pb, S, sOff, T, null, Activation.NONE, false, false);
            System.arraycopy(S, sOff, w.probs, hm, TT);
            int bOff = bias == null ? 0 : biasOffset(op, g, h);
            for (int i = 0; i < T; i++) SoftmaxKernel.row(w.probs, hm + i * T, T, scale, bias, bOff + i * T);
            sc.pb.repack(qkv, rowBase + 2 * D + h * d, ld, T, d);
            Gemm.gemm(w.probs, hm, T, T, sc.pb, w.attnOut, g * T * D + h * d, D, null, Activation.NONE, false, false);
            if (want) {
                int o = task * T * d;
                for (int t = 0; t < T; t++) {
                    for (int j = 0; j < d; j++) w.qh[o + t * d + j] = qkv[rowBase + t * ld + h * d + j] * aScale;
                    System.arraycopy(qkv, rowBase + t * ld + 2 * D + h * d, w.vh, o + t * d, d);
                    System.arraycopy(w.attnOut, (g * T + t) * D + h * d, w.oh, o + t * d, d);
                }
                BackwardKernels.transpose(qkv, rowBase + D + h * d, ld, T, d, w.kTh, o, T);
                if (aScale != 1f) for (int i = hm; i < hm + TT; i++) w.scores[i] *= scale;
            }
        });
    }

    /**
     * From dO (= {@code w.dAttn}, token-major): dP = dO.v^T, dv = P^T.dO; the gradient at
     * matmul1's output M, where P = softmax(M * c + bias) with c = scale for ViT (M = q.k^T) and
     * c = 1 for Swin (M = (q * scale).k^T): {@code dM = c P (dP - rowsum(dP P))}; then with
     * matmul1's left operand A (q, or q * scale): dA = dM.k, dk = dM^T.A, and dq = dA, or
     * dA * scale. Into {@code w.dqkv}; also dO head-major.
     */
    static void attentionBackward(AttentionOp op, int groups, BlockBuffers w) {
        AttentionKernel.Spec s = op.spec();
        final int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim(), ld = 3 * D, TT = T * T;
        final boolean pre = op.qPrescaled();
        final float scale = s.scale(), softmaxScale = pre ? 1f : scale;
        final float[] qkv = w.qkv, dqkv = w.dqkv;
        Parallel.forEach(groups * H, task -> {
            int g = task / H, h = task % H;
            Scratch sc = SCRATCH.get();
            sc.size(T, d);
            int rowBase = g * T * ld, hm = task * TT, dO = g * T * D + h * d;
            // dP = dO . v^T
            sc.pb.repackTransposed(qkv, rowBase + 2 * D + h * d, ld, T, d);
            Gemm.gemm(w.dAttn, dO, D, T, sc.pb, sc.dp, 0, T, null, Activation.NONE, false, false);
            // dv^T = dO^T . P
            BackwardKernels.transpose(w.dAttn, dO, D, T, d, sc.aT, 0, T);
            sc.pb.repack(w.probs, hm, T, T, T);
            Gemm.gemm(sc.aT, 0, T, d, sc.pb, sc.cT, 0, T, null, Activation.NONE, false, false);
            BackwardKernels.transpose(sc.cT, 0, T, d, T, dqkv, rowBase + 2 * D + h * d, ld);
            // softmax backward: gradient at matmul1's output
            for (int i = 0; i < T; i++) {
                BackwardKernels.softmaxBackwardRow(w.probs, hm + i * T, sc.dp, i * T, w.dScores, hm + i * T, T, softmaxScale);
            }
            // dq = dM . k (times the scale when q was pre-scaled)
            sc.pb.repack(qkv, rowBase + D + h * d, ld, T, d);
            Gemm.gemm(w.dScores, hm, T, T, sc.pb, dqkv, rowBase + h * d, ld, null, Activation.NONE, false, false);
            if (pre) {
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < d; j++) dqkv[rowBase + t * ld + h * d + j] *= scale;
            }
            // dk^T = A^T . dM
            BackwardKernels.transpose(qkv, rowBase + h * d, ld, T, d, sc.aT, 0, T);
            if (pre) for (int i = 0; i < d * T; i++) sc.aT[i] *= scale;
            sc.pb.repack(w.dScores, hm, T, T, T);
            Gemm.gemm(sc.aT, 0, T, d, sc.pb, sc.cT, 0, T, null, Activation.NONE, false, false);
            BackwardKernels.transpose(sc.cT, 0, T, d, T, dqkv, rowBase + D + h * d, ld);
            // matmul2's output gradient, head-major
            int o = task * T * d;
            for (int t = 0; t < T; t++) System.arraycopy(w.dAttn, dO + t * D, w.dOh, o + t * d, d);
        });
    }

    /** Reports matmul2, then matmul1 (backward order) of the attention just differentiated. */
    static void reportAttention(AttentionOp op, int groups, BlockBuffers w, BackwardSink sink) {
        boolean want = sink.wantsForward();
        int T = op.spec().tokens(), H = op.spec().heads(), d = op.spec().headDim();
        sink.onMatmul(op.matmul2Id(), want ? w.probs : null, want ? w.vh : null, want ? w.oh : null, w.dOh,
                groups, H, T, T, d);
        sink.onMatmul(op.matmul1Id(), want ? w.qh : null, want ? w.kTh : null, want ? w.scores : null, w.dScores,
                groups, H, T, d, T);
    }
}
