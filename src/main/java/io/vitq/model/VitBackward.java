package io.vitq.model;

import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.BackwardKernels;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.SoftmaxKernel;
import io.vitq.tensor.Tensor;
import io.vitq.tensor.VectorMath;

import java.util.Arrays;

/**
 * Float32 activation-gradient backward pass of a {@link VisionTransformer} (ViT, DeiT, DeiT
 * distilled): the gradient of a task loss at every quantizable op's output, for the
 * Hessian-guided metric of PTQ4ViT (ALGORITHMS.md, decision 1 and section 2.1).
 *
 * <p><b>Loss.</b> Cross-entropy of the float model's logits against target classes, averaged over
 * the batch (PyTorch's {@code reduction='mean'}): {@code L = (1/B) sum_b [logsumexp(z_b) - z_b[t_b]]},
 * so {@code dL/dz = (softmax(z) - onehot(t)) / B}. Default targets (null) are the float model's
 * own top-1 predictions (label-free); pass true labels as the option. The 1/B only scales every G
 * by the same positive factor, which does not change any argmax of the Hessian metric (its scores
 * scale by 1/B^2). For the distilled model the logits are {@code (head + head_dist) / 2}, so each
 * head's output gradient is {@code dL/dz / 2}.
 *
 * <p><b>Memory.</b> The forward (the model's own, with {@link FloatExecutor}: the logits are
 * bit-identical to {@link VisionTransformer#forward}) keeps only each block's input
 * {@code [B*T, D]}. The backward walks the blocks in reverse, recomputes each block's internals
 * from its stored input (bit-identical to the forward), hands every op's input, output and output
 * gradient to the {@link BackwardSink}, and reuses one set of block-sized buffers.
 *
 * <p>GELU is un-fused: {@code fc1}'s output (and its gradient) is pre-GELU, as timm's {@code fc1}
 * is an {@code nn.Linear} followed by a separate {@code act}. {@code matmul1}'s output is the raw
 * {@code q . k^T}; the {@code * scale} comes after it (PTQ4ViT's ViT attention).
 */
public final class VitBackward {
    private VitBackward() {}

    /** The forward's logits {@code [B, classes]}, the targets used and the loss (batch mean). */
    public record Result(float[] logits, int[] targets, double loss, int batch, int classes) {}

    /** Gradients only, collected as tensors by op id (small models; see {@link BackwardSink#gradients}). */
    public static Result run(VisionTransformer m, Tensor images, int[] targets, java.util.Map<String, Tensor> gradients) {
        return run(m, images, targets, BackwardSink.gradients(gradients));
    }

    /**
     * One float forward and one backward over {@code images [B, C, S, S]}.
     *
     * @param targets target class per image, or null for the model's own top-1 (first maximum)
     */
    public static Result run(VisionTransformer m, Tensor images, int[] targets, BackwardSink sink) {
        ViTConfig cfg = m.config();
        int B = images.dim(0), T = cfg.tokens(), D = cfg.dim(), NC = cfg.numClasses();
        int NP = cfg.numPatches(), pre = cfg.prefixTokens(), depth = cfg.depth();
        boolean want = sink.wantsForward();

        // ---- forward, keeping the block inputs and the patch-embed / head operands
        float[][] blockIn = new float[depth + 1][];
        Capture cap = new Capture();
        Tensor logitsT = m.forward(images, cap, (name, data, shape) -> {
            if (name.equals("embed")) blockIn[0] = data.clone();
            else if (name.startsWith("blocks.")) blockIn[Integer.parseInt(name.substring(7)) + 1] = data.clone();
        });
        float[] logits = logitsT.data();

        // ---- loss and dL/dlogits
        int[] tg = targets != null ? targets.clone() : topOne(logits, B, NC);
        if (tg.length != B) throw new IllegalArgumentException("targets: " + tg.length + " values for a batch of " + B);
        float[] gLogits = new float[B * NC];
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
                gLogits[o + c] = (float) ((p - (c == t ? 1 : 0)) / B);
            }
        }

        // ---- head(s) and final norm
        Linear head = linear(m, "head"), headDist = cfg.distilled() ? linear(m, "head_dist") : null;
        LayerNorm norm = m.norm();
        float[] dX = new float[B * T * D];
        float[] dTok = new float[B * D];
        float[] xLast = blockIn[depth];
        Linear[] heads = headDist == null ? new Linear[] {head} : new Linear[] {head, headDist};
        for (int hi = 0; hi < heads.length; hi++) {
            Linear h = heads[hi];
            float[] g = gLogits.clone();
            if (headDist != null) for (int i = 0; i < g.length; i++) g[i] *= 0.5f;
            sink.onLinear(h, want ? cap.x(h) : null, want ? cap.out(h) : null, g, B);
            Gemm.gemm(g, 0, NC, B, packForBackward(h), dTok, 0, D, null, Activation.NONE, false, true);
            // token hi (class, then distillation) of each image went through the final norm
            BackwardKernels.layerNormBackward(xLast, hi * D, T * D, dTok, 0, D, dX, hi * D, T * D, B, D,
                    norm.weight(), norm.eps(), false, false);
        }
        blockIn[depth] = null;

        // ---- blocks, last to first
        VisionTransformer.Block[] blocks = m.blocks();
        Workspace ws = new Workspace(B, cfg, want);
        float[] dNext = new float[B * T * D];
        for (int i = depth - 1; i >= 0; i--) {
            blockBackward(blocks[i], blockIn[i], dX, dNext, B, cfg, ws, sink);
            blockIn[i] = null;
            float[] t = dX; dX = dNext; dNext = t;
        }

        // ---- patch embedding: gradient at its output (the patch tokens of dX)
        Linear pe = linear(m, "patch_embed.proj");
        float[] dPe = new float[B * NP * D];
        for (int b = 0; b < B; b++) System.arraycopy(dX, (b * T + pre) * D, dPe, b * NP * D, NP * D);
        sink.onLinear(pe, want ? cap.x(pe) : null, want ? cap.out(pe) : null, dPe, B * NP);
        return new Result(logits, tg, loss, B, NC);
    }

    /** Index of the first maximum of each row of {@code logits [B, NC]}. */
    public static int[] topOne(float[] logits, int B, int NC) {
        int[] t = new int[B];
        for (int b = 0; b < B; b++) {
            int best = 0;
            for (int c = 1; c < NC; c++) if (logits[b * NC + c] > logits[b * NC + best]) best = c;
            t[b] = best;
        }
        return t;
    }

    /** B = W ([out, in] row-major) as the right operand of {@code dX = dY . W}: B[k = out][n = in]. */
    static PackedB packForBackward(Linear op) {
        return PackedB.pack(op.weight(), 0, op.in(), op.out(), op.in());
    }

    private static Linear linear(VisionTransformer m, String id) {
        for (Linear l : m.linears()) if (l.id().equals(id)) return l;
        throw new IllegalStateException(m.name() + ": no Linear '" + id + "'");
    }

    /** Float execution that remembers the operands of the ops outside the blocks. */
    private static final class Capture extends FloatExecutor {
        private final java.util.Map<String, float[][]> ops = new java.util.HashMap<>();

        @Override
        public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
            super.linear(op, x, m, y, act, accumulate);
            String id = op.id();
            if (!id.startsWith("blocks.")) {   // patch_embed.proj, head, head_dist: fresh arrays, not reused
                ops.put(id, new float[][] {x, Arrays.copyOf(y, m * op.out())});
            }
        }

        float[] x(Linear op) { return ops.get(op.id())[0]; }

        float[] out(Linear op) { return ops.get(op.id())[1]; }
    }

    /** Block-sized buffers shared by all blocks of one backward. */
    private static final class Workspace {
        final float[] ln1, qkv, attnOut, h1, ln2, f, g;          // recomputed forward
        final float[] scores, probs;                              // [B, H, T, T]; scores null unless wanted
        final float[] qh, kTh, vh, oh, dOh;                       // head-major operands (sink); dOh always
        final float[] dg, dln, dh1, dAttn, dqkv, dScores, tmpOut; // gradients; tmpOut: proj/fc2 outputs

        Workspace(int B, ViTConfig c, boolean want) {
            int M = B * c.tokens(), D = c.dim(), Hd = c.mlpHidden(), T = c.tokens();
            int att = B * c.heads() * T * T;
            ln1 = new float[M * D];
            qkv = new float[M * 3 * D];
            attnOut = new float[M * D];
            h1 = new float[M * D];
            ln2 = new float[M * D];
            f = new float[M * Hd];
            g = new float[M * Hd];
            scores = want ? new float[att] : null;
            probs = new float[att];
            qh = want ? new float[M * D] : null;
            kTh = want ? new float[M * D] : null;
            vh = want ? new float[M * D] : null;
            oh = want ? new float[M * D] : null;
            dOh = new float[M * D];
            dg = new float[M * Hd];
            dln = new float[M * D];
            dh1 = new float[M * D];
            dAttn = new float[M * D];
            dqkv = new float[M * 3 * D];
            dScores = new float[att];
            tmpOut = want ? new float[M * D] : null;
        }
    }

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

    /**
     * Recomputes block {@code bl} from its input x and back-propagates {@code dy} (gradient at the
     * block output) to {@code dx} (gradient at the block input), reporting every op to the sink.
     */
    private static void blockBackward(VisionTransformer.Block bl, float[] x, float[] dy, float[] dx,
                                      int B, ViTConfig c, Workspace w, BackwardSink sink) {
        int T = c.tokens(), D = c.dim(), Hd = c.mlpHidden(), M = B * T;
        boolean want = sink.wantsForward();
        AttentionOp attn = bl.attn();
        if (attn.bias() != null || attn.qPrescaled()) throw new IllegalStateException(attn.prefix() + ": not a ViT attention");

        // ---- forward recomputation (the same kernels and order as VisionTransformer.Block.forward)
        bl.norm1().apply(x, w.ln1, M);
        Gemm.gemm(w.ln1, 0, D, M, bl.qkv().packed(), w.qkv, 0, 3 * D, bl.qkv().bias(), Activation.NONE, false, true);
        attentionForward(attn.spec(), B, w, want);
        System.arraycopy(x, 0, w.h1, 0, M * D);
        Gemm.gemm(w.attnOut, 0, D, M, bl.proj().packed(), w.h1, 0, D, bl.proj().bias(), Activation.NONE, true, true);
        bl.norm2().apply(w.h1, w.ln2, M);
        Gemm.gemm(w.ln2, 0, D, M, bl.fc1().packed(), w.f, 0, Hd, bl.fc1().bias(), Activation.NONE, false, true);
        System.arraycopy(w.f, 0, w.g, 0, M * Hd);
        Parallel.forRange(M, (r0, r1) -> VectorMath.geluInPlace(w.g, r0 * Hd, (r1 - r0) * Hd));

        // ---- mlp.fc2: out = gelu(f) . W2^T + b2 (added to h1)
        if (want) Gemm.gemm(w.g, 0, Hd, M, bl.fc2().packed(), w.tmpOut, 0, D, bl.fc2().bias(), Activation.NONE, false, true);
        sink.onLinear(bl.fc2(), want ? w.g : null, want ? w.tmpOut : null, dy, M);
        Gemm.gemm(dy, 0, D, M, packForBackward(bl.fc2()), w.dg, 0, Hd, null, Activation.NONE, false, true);
        // ---- GELU, then mlp.fc1 (pre-GELU output)
        Parallel.forRange(M, (r0, r1) -> BackwardKernels.geluBackward(w.f, w.dg, w.dg, r0 * Hd, (r1 - r0) * Hd));
        sink.onLinear(bl.fc1(), want ? w.ln2 : null, want ? w.f : null, w.dg, M);
        Gemm.gemm(w.dg, 0, Hd, M, packForBackward(bl.fc1()), w.dln, 0, D, null, Activation.NONE, false, true);
        // ---- norm2 and the residual: dh1 = dy + LN2'(dln)
        System.arraycopy(dy, 0, w.dh1, 0, M * D);
        BackwardKernels.layerNormBackward(w.h1, 0, D, w.dln, 0, D, w.dh1, 0, D, M, D,
                bl.norm2().weight(), bl.norm2().eps(), true, true);
        // ---- attn.proj
        if (want) Gemm.gemm(w.attnOut, 0, D, M, bl.proj().packed(), w.tmpOut, 0, D, bl.proj().bias(), Activation.NONE, false, true);
        sink.onLinear(bl.proj(), want ? w.attnOut : null, want ? w.tmpOut : null, w.dh1, M);
        Gemm.gemm(w.dh1, 0, D, M, packForBackward(bl.proj()), w.dAttn, 0, D, null, Activation.NONE, false, true);
        // ---- attention core: matmul2, softmax, matmul1
        attentionBackward(attn.spec(), B, w, want);
        int H = c.heads(), d = c.headDim();
        sink.onMatmul(attn.matmul2Id(), want ? w.probs : null, want ? w.vh : null, want ? w.oh : null, w.dOh,
                B, H, T, T, d);
        sink.onMatmul(attn.matmul1Id(), want ? w.qh : null, want ? w.kTh : null, want ? w.scores : null, w.dScores,
                B, H, T, d, T);
        // ---- attn.qkv, norm1 and the residual: dx = dh1 + LN1'(dqkv . Wqkv)
        sink.onLinear(bl.qkv(), want ? w.ln1 : null, want ? w.qkv : null, w.dqkv, M);
        Gemm.gemm(w.dqkv, 0, 3 * D, M, packForBackward(bl.qkv()), w.dln, 0, D, null, Activation.NONE, false, true);
        System.arraycopy(w.dh1, 0, dx, 0, M * D);
        BackwardKernels.layerNormBackward(x, 0, D, w.dln, 0, D, dx, 0, D, M, D,
                bl.norm1().weight(), bl.norm1().eps(), true, true);
    }

    /**
     * S = q.k^T (raw), P = softmax(S * scale), O = P.v into attnOut (token-major), computed as
     * {@link AttentionKernel#forward} does; also the head-major operands when wanted.
     */
    private static void attentionForward(AttentionKernel.Spec s, int B, Workspace w, boolean want) {
        final int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim(), ld = 3 * D, TT = T * T;
        final float[] qkv = w.qkv;
        Parallel.forEach(B * H, task -> {
            int g = task / H, h = task % H;
            Scratch sc = SCRATCH.get();
            sc.size(T, d);
            int rowBase = g * T * ld, hm = task * TT;
            float[] S = want ? w.scores : sc.s;
            int sOff = want ? hm : 0;
            sc.pb.repackTransposed(qkv, rowBase + D + h * d, ld, T, d);
            Gemm.gemm(qkv, rowBase + h * d, ld, T, sc.pb, S, sOff, T, null, Activation.NONE, false, false);
            System.arraycopy(S, sOff, w.probs, hm, TT);
            for (int i = 0; i < T; i++) SoftmaxKernel.row(w.probs, hm + i * T, T, s.scale(), null, 0);
            sc.pb.repack(qkv, rowBase + 2 * D + h * d, ld, T, d);
            Gemm.gemm(w.probs, hm, T, T, sc.pb, w.attnOut, g * T * D + h * d, D, null, Activation.NONE, false, false);
            if (want) {
                int o = task * T * d;
                for (int t = 0; t < T; t++) {
                    System.arraycopy(qkv, rowBase + t * ld + h * d, w.qh, o + t * d, d);
                    System.arraycopy(qkv, rowBase + t * ld + 2 * D + h * d, w.vh, o + t * d, d);
                    System.arraycopy(w.attnOut, (g * T + t) * D + h * d, w.oh, o + t * d, d);
                }
                BackwardKernels.transpose(qkv, rowBase + D + h * d, ld, T, d, w.kTh, o, T);
            }
        });
    }

    /**
     * From dO (= dAttn, token-major): dP = dO.v^T, dv = P^T.dO, dS = scale * P * (dP - rowsum(dP P))
     * (gradient at the raw scores), dq = dS.k, dk = dS^T.q, into dqkv; also dO head-major.
     */
    private static void attentionBackward(AttentionKernel.Spec s, int B, Workspace w, boolean want) {
        final int T = s.tokens(), H = s.heads(), d = s.headDim(), D = s.dim(), ld = 3 * D, TT = T * T;
        final float[] qkv = w.qkv, dqkv = w.dqkv;
        Parallel.forEach(B * H, task -> {
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
            // softmax (with the scale) backward: gradient at matmul1's output
            for (int i = 0; i < T; i++) {
                BackwardKernels.softmaxBackwardRow(w.probs, hm + i * T, sc.dp, i * T, w.dScores, hm + i * T, T, s.scale());
            }
            // dq = dS . k
            sc.pb.repack(qkv, rowBase + D + h * d, ld, T, d);
            Gemm.gemm(w.dScores, hm, T, T, sc.pb, dqkv, rowBase + h * d, ld, null, Activation.NONE, false, false);
            // dk^T = q^T . dS
            BackwardKernels.transpose(qkv, rowBase + h * d, ld, T, d, sc.aT, 0, T);
            sc.pb.repack(w.dScores, hm, T, T, T);
            Gemm.gemm(sc.aT, 0, T, d, sc.pb, sc.cT, 0, T, null, Activation.NONE, false, false);
            BackwardKernels.transpose(sc.cT, 0, T, d, T, dqkv, rowBase + D + h * d, ld);
            // matmul2's output gradient, head-major
            int o = task * T * d;
            for (int t = 0; t < T; t++) System.arraycopy(w.dAttn, dO + t * D, w.dOh, o + t * d, d);
        });
    }
}
