package io.vitq.model;

import io.vitq.tensor.Activation;
import io.vitq.tensor.BackwardKernels;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.Tensor;

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
        Backprop.Loss loss = Backprop.crossEntropy(logits, targets, B, NC);
        float[] gLogits = loss.gradLogits();

        // ---- head(s) and final norm
        Linear head = linear(m, "head"), headDist = cfg.distillationHead() ? linear(m, "head_dist") : null;
        LayerNorm norm = m.norm();
        float[] dX = new float[B * T * D];
        float[] dTok = new float[B * D];
        float[] xLast = blockIn[depth];
        Linear[] heads = headDist == null ? new Linear[] {head} : new Linear[] {head, headDist};
        for (int hi = 0; hi < heads.length; hi++) {
            Linear h = heads[hi];
            float[] g = gLogits.clone();
            if (headDist != null) for (int i = 0; i < g.length; i++) g[i] *= 0.5f;
            Backprop.linear(sink, h, cap.x(h), cap.out(h), g, B, dTok);
            // token hi (class, then distillation) of each image went through the final norm
            BackwardKernels.layerNormBackward(xLast, hi * D, T * D, dTok, 0, D, dX, hi * D, T * D, B, D,
                    norm.weight(), norm.eps(), false, false);
        }
        blockIn[depth] = null;

        // ---- blocks, last to first
        VisionTransformer.Block[] blocks = m.blocks();
        int M = B * T;
        Backprop.BlockBuffers ws = new Backprop.BlockBuffers(M * D, M * cfg.mlpHidden(), M * cfg.heads() * T, want);
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
        return new Result(logits, loss.targets(), loss.value(), B, NC);
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

    /**
     * Recomputes block {@code bl} from its input x and back-propagates {@code dy} (gradient at the
     * block output) to {@code dx} (gradient at the block input), reporting every op to the sink.
     */
    private static void blockBackward(VisionTransformer.Block bl, float[] x, float[] dy, float[] dx,
                                      int B, ViTConfig c, Backprop.BlockBuffers w, BackwardSink sink) {
        int D = c.dim(), M = B * c.tokens();
        boolean want = sink.wantsForward();
        AttentionOp attn = bl.attn();
        if (attn.bias() != null || attn.qPrescaled()) throw new IllegalStateException(attn.prefix() + ": not a ViT attention");

        // ---- forward recomputation (the same kernels and order as VisionTransformer.Block.forward)
        bl.norm1().apply(x, w.ln1, M);
        Backprop.output(bl.qkv(), w.ln1, M, w.qkv);
        Backprop.attentionForward(attn, B, w, want);
        System.arraycopy(x, 0, w.h1, 0, M * D);
        Gemm.gemm(w.attnOut, 0, D, M, bl.proj().packed(), w.h1, 0, D, bl.proj().bias(), Activation.NONE, true, true);
        Backprop.mlpForward(bl.norm2(), bl.fc1(), M, w);

        // ---- mlp.fc2, GELU, mlp.fc1 (pre-GELU output), norm2 and the residual: dh1 = dy + LN2'(...)
        Backprop.mlpBackward(bl.norm2(), bl.fc1(), bl.fc2(), dy, M, w, sink);
        // ---- attn.proj
        Backprop.linear(sink, bl.proj(), w.attnOut, want ? Backprop.output(bl.proj(), w.attnOut, M, w.tmpOut) : null,
                w.dh1, M, w.dAttn);
        // ---- attention core: matmul2, softmax, matmul1
        Backprop.attentionBackward(attn, B, w);
        Backprop.reportAttention(attn, B, w, sink);
        // ---- attn.qkv, norm1 and the residual: dx = dh1 + LN1'(dqkv . Wqkv)
        Backprop.linear(sink, bl.qkv(), w.ln1, w.qkv, w.dqkv, M, w.dln);
        System.arraycopy(w.dh1, 0, dx, 0, M * D);
        BackwardKernels.layerNormBackward(x, 0, D, w.dln, 0, D, dx, 0, D, M, D,
                bl.norm1().weight(), bl.norm1().eps(), true, true);
    }
}
