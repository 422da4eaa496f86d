package io.vitq.model;

import io.vitq.tensor.Activation;
import io.vitq.tensor.BackwardKernels;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.Tensor;

import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Float32 activation-gradient backward pass of a {@link SwinTransformer}: the Swin counterpart of
 * {@link VitBackward}, with the same loss (cross-entropy against the targets or the model's own
 * top-1, batch mean), the same {@link VitBackward.Result} and the same {@link BackwardSink}.
 *
 * <p><b>Ops</b>, in the sink's (backward) order: {@code head.fc}; then for each stage from the
 * last, its blocks from the last, each {@code mlp.fc2, mlp.fc1, attn.proj, attn.matmul2,
 * attn.matmul1, attn.qkv}, then the stage's {@code downsample.reduction} (stages >= 1);
 * {@code patch_embed.proj} last. Their operands, as the forward has them:
 * <ul>
 * <li>{@code patch_embed.proj}: x = the im2col patches, out = before {@code patch_embed.norm};
 * <li>{@code attn.qkv}, {@code attn.proj}: rows in window order (row {@code b*L + w*T + t}: image b,
 *     window w of the rolled grid, token t of the window, timm's {@code window_partition}), as
 *     {@link SwinWindows#windowOrder} gathers them; {@code mlp.fc1} (pre-GELU), {@code mlp.fc2}: rows
 *     in image token order;
 * <li>{@code attn.matmul1}: groups = images x windows (image-major), a = q * scale (Swin scales q
 *     before the product), b = k^T, out = the scaled scores before the relative-position bias and
 *     shift mask are added (computed as the float kernel does, {@code (q.k^T) * scale}: equal to
 *     {@code (q * scale).k^T} up to float rounding); {@code attn.matmul2}: a = the softmax
 *     probabilities, b = v, as for ViT;
 * <li>{@code downsample.reduction}: x = LayerNorm(4C) of the gathered 2x2 neighbourhoods, no bias;
 * <li>{@code head.fc}: x = the average-pooled final norm [B, C].
 * </ul>
 * The relative-position bias and the shift mask are constants of the softmax input (no gradient
 * is needed for them); the softmax itself has scale 1, since q carries the scale.
 *
 * <p><b>Memory.</b> The forward (the model's own, with a {@link FloatExecutor}: the logits are
 * bit-identical to {@link SwinTransformer#forward}) keeps each block's input (and each stage's
 * output) in image token order. The backward walks the stages and blocks in reverse, recomputes
 * each block's internals from its stored input with the forward's kernels (bit-identical), and
 * reuses one set of buffers sized for the largest stage.
 */
public final class SwinBackward {
    private SwinBackward() {}

    /** Gradients only, collected as tensors by op id (small models; see {@link BackwardSink#gradients}). */
    public static VitBackward.Result run(SwinTransformer m, Tensor images, int[] targets, Map<String, Tensor> gradients) {
        return run(m, images, targets, BackwardSink.gradients(gradients));
    }

    /**
     * One float forward and one backward over {@code images [B, C, S, S]}.
     *
     * @param targets target class per image, or null for the model's own top-1 (first maximum)
     */
    public static VitBackward.Result run(SwinTransformer m, Tensor images, int[] targets, BackwardSink sink) {
        SwinConfig c = m.config();
        SwinTransformer.Stage[] stages = m.stages();
        int B = images.dim(0), NC = c.numClasses(), last = stages.length - 1;
        boolean want = sink.wantsForward();

        // ---- forward, keeping the block inputs and the operands of the ops outside the blocks
        Capture cap = new Capture(m, want);
        float[] logits = m.forward(images, cap, cap).data();

        // ---- loss and dL/dlogits
        Backprop.Loss loss = Backprop.crossEntropy(logits, targets, B, NC);

        // ---- head.fc, the average pool over tokens and the final norm
        int L = c.tokens(last), D = c.numFeatures();
        Linear head = m.head();
        LayerNorm norm = m.norm();
        float[] dPooled = new float[B * D];
        Backprop.linear(sink, head, cap.x(head), cap.out(head), loss.gradLogits(), B, dPooled);
        for (int i = 0; i < dPooled.length; i++) dPooled[i] /= L;   // each token's share of the mean
        float[] dX = new float[B * c.tokens(0) * c.dim(0)], dNext = new float[dX.length];
        float[] xLast = cap.blockIn[last][stages[last].blocks().length];
        for (int b = 0; b < B; b++) {   // all tokens of image b get the same gradient: row stride 0
            BackwardKernels.layerNormBackward(xLast, b * L * D, D, dPooled, b * D, 0, dX, b * L * D, D, L, D,
                    norm.weight(), norm.eps(), false, true);
        }

        // ---- stages last to first: blocks last to first, then the patch merging that opened the stage
        Workspace ws = new Workspace(B, c, want);
        for (int s = last; s >= 0; s--) {
            SwinTransformer.Stage st = stages[s];
            SwinTransformer.Block[] blocks = st.blocks();
            for (int i = blocks.length - 1; i >= 0; i--) {
                blockBackward(blocks[i], cap.blockIn[s][i], dX, dNext, B, ws, sink);
                float[] t = dX; dX = dNext; dNext = t;
            }
            if (st.downsample() != null) {
                float[] prevOut = cap.blockIn[s - 1][stages[s - 1].blocks().length];
                mergingBackward(st.downsample(), prevOut, dX, dNext, B, cap, ws, sink);
                float[] t = dX; dX = dNext; dNext = t;
            }
            cap.blockIn[s] = null;
        }

        // ---- patch embedding: patch_embed.norm, whose input is proj's output
        Linear pe = m.patchEmbed().proj();
        LayerNorm peNorm = m.patchEmbed().norm();
        int M0 = B * c.tokens(0), D0 = c.dim(0);
        float[] peOut = cap.out(pe);
        BackwardKernels.layerNormBackward(peOut, 0, D0, dX, 0, D0, dNext, 0, D0, M0, D0,
                peNorm.weight(), peNorm.eps(), false, true);
        sink.onLinear(pe, want ? cap.x(pe) : null, want ? peOut : null, dNext, M0);
        return new VitBackward.Result(logits, loss.targets(), loss.value(), B, NC);
    }

    /**
     * Float execution (so the forward is the model's own) that keeps each block's input and the
     * operands of the ops outside the blocks. A stage's first block reads the stage input (probes
     * {@code patch_embed}, {@code layers.s.downsample}); a block updates the residual stream in
     * place and ends with {@code fc2} accumulating into it, so fc2's y after the call is the
     * block's output: the next block's input, or the stage's output after its last block.
     */
    private static final class Capture extends FloatExecutor implements Probe {
        /** [stage][block]: the block's input; [stage][depth]: the stage's output. */
        final float[][][] blockIn;
        private final Map<Linear, int[]> fc2Block = new IdentityHashMap<>();   // fc2 -> {stage, block}
        private final Map<Linear, float[][]> outside = new IdentityHashMap<>(); // op -> {x, out}
        private final Linear patchProj;
        private final boolean want;

        Capture(SwinTransformer m, boolean want) {
            SwinTransformer.Stage[] st = m.stages();
            blockIn = new float[st.length][][];
            for (int s = 0; s < st.length; s++) {
                blockIn[s] = new float[st[s].blocks().length + 1][];
                for (int b = 0; b < st[s].blocks().length; b++) fc2Block.put(st[s].blocks()[b].fc2(), new int[] {s, b});
                if (st[s].downsample() != null) outside.put(st[s].downsample().reduction(), null);
            }
            patchProj = m.patchEmbed().proj();
            outside.put(patchProj, null);
            outside.put(m.head(), null);
            this.want = want;
        }

        @Override
        public void observe(String name, float[] data, int... shape) {
            if (name.equals("patch_embed")) blockIn[0][0] = data.clone();
            else if (name.endsWith(".downsample")) blockIn[Integer.parseInt(name.split("\\.")[1])][0] = data.clone();
        }

        @Override
        public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
            super.linear(op, x, m, y, act, accumulate);
            int[] sb = fc2Block.get(op);
            if (sb != null) {
                blockIn[sb[0]][sb[1] + 1] = Arrays.copyOf(y, m * op.out());
            } else if (outside.containsKey(op) && (want || op == patchProj)) {
                // x may be a reused model buffer: copy. The patch-embed norm's backward needs proj's output.
                outside.put(op, new float[][] {want ? Arrays.copyOf(x, m * op.in()) : null, Arrays.copyOf(y, m * op.out())});
            }
        }

        /** The op's input, null unless the sink wants the forward. */
        float[] x(Linear op) { float[][] o = outside.get(op); return o == null ? null : o[0]; }

        /** The op's output, null unless the sink wants the forward (always kept for patch_embed.proj). */
        float[] out(Linear op) { float[][] o = outside.get(op); return o == null ? null : o[1]; }
    }

    /** Buffers shared by all blocks of one backward, sized for the largest stage. */
    private static final class Workspace extends Backprop.BlockBuffers {
        final float[] projOut;   // attn.proj's output, window order (added to the residual in image order)
        final float[] dPerm;     // a gradient permuted between window and image order

        Workspace(int B, SwinConfig c, boolean want) {
            // the largest stage's rows x dim, rows x MLP hidden and windows x heads x T x T
            long tok = 0, hid = 0, att = 0;
            for (int s = 0; s < c.stages(); s++) {
                long rows = (long) B * c.tokens(s);
                tok = Math.max(tok, rows * c.dim(s));
                hid = Math.max(hid, rows * c.mlpHidden(s));
                att = Math.max(att, rows * c.heads(s) * c.windowAt(s) * c.windowAt(s));
            }
            if (Math.max(3 * tok, Math.max(hid, att)) > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("batch " + B + " too large for one Swin backward; split it");
            }
            super((int) tok, (int) hid, (int) att, want);
            projOut = new float[(int) tok];
            dPerm = new float[(int) tok];
        }
    }

    /**
     * Recomputes block {@code bl} from its input x (image order) and back-propagates {@code dy}
     * (gradient at the block output) to {@code dx} (gradient at the block input), reporting every
     * op to the sink.
     */
    private static void blockBackward(SwinTransformer.Block bl, float[] x, float[] dy, float[] dx,
                                      int B, Workspace w, BackwardSink sink) {
        int[] order = bl.windowOrder();
        int D = bl.norm1().dim(), M = B * order.length, windows = M / (bl.window() * bl.window());
        boolean want = sink.wantsForward();
        AttentionOp attn = bl.attn();
        if (!attn.qPrescaled()) throw new IllegalStateException(attn.prefix() + ": not a Swin attention");

        // ---- forward recomputation (the same kernels and order as SwinTransformer.Block.forward)
        bl.gatherNorm1(x, B, w.ln1);                       // norm1, roll, window_partition: window order
        Backprop.output(bl.qkv(), w.ln1, M, w.qkv);
        Backprop.attentionForward(attn, windows, w, want);
        Backprop.output(bl.proj(), w.attnOut, M, w.projOut);
        System.arraycopy(x, 0, w.h1, 0, M * D);
        bl.scatterAdd(w.projOut, w.h1, B);                 // window_reverse, roll back, residual: image order
        Backprop.mlpForward(bl.norm2(), bl.fc1(), M, w);

        // ---- mlp.fc2, GELU, mlp.fc1 (pre-GELU output), norm2 and the residual: dh1 = dy + LN2'(...) (image order)
        Backprop.mlpBackward(bl.norm2(), bl.fc1(), bl.fc2(), dy, M, w, sink);
        // ---- attn.proj: its window-ordered output went back to image order, so its gradient is dh1 in window order
        permuteRows(order, w.dh1, w.dPerm, B, D, true);
        Backprop.linear(sink, bl.proj(), w.attnOut, w.projOut, w.dPerm, M, w.dAttn);
        // ---- attention core: matmul2, softmax (bias and mask are constants), matmul1 (q pre-scaled)
        Backprop.attentionBackward(attn, windows, w);
        Backprop.reportAttention(attn, windows, w, sink);
        // ---- attn.qkv; norm1's output was rolled and partitioned: its gradient back in image order
        Backprop.linear(sink, bl.qkv(), w.ln1, w.qkv, w.dqkv, M, w.dln);
        permuteRows(order, w.dln, w.dPerm, B, D, false);
        // ---- norm1 and the residual: dx = dh1 + LN1'(dPerm)
        System.arraycopy(w.dh1, 0, dx, 0, M * D);
        BackwardKernels.layerNormBackward(x, 0, D, w.dPerm, 0, D, dx, 0, D, M, D,
                bl.norm1().weight(), bl.norm1().eps(), true, true);
    }

    /**
     * Between image order and window order ({@code order[r]}: the image token that window-ordered
     * row r reads, per image): {@code to[r] = from[token]} with {@code toWindows} (roll +
     * window_partition), else {@code to[token] = from[r]} (window_reverse + roll back).
     */
    private static void permuteRows(int[] order, float[] from, float[] to, int B, int D, boolean toWindows) {
        int L = order.length;
        Parallel.forRange(B * L, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int tok = r / L * L + order[r % L];
                if (toWindows) System.arraycopy(from, tok * D, to, r * D, D);
                else System.arraycopy(from, r * D, to, tok * D, D);
            }
        });
    }

    /**
     * Patch merging {@code out = reduction(LN(cat))}, cat = the 2x2 neighbourhoods of the previous
     * stage's output x as {@code [B*(R/2)^2, 4C]}: from dy at its output to dx at x. Every input
     * token is in exactly one neighbourhood, so the gather's backward is a scatter.
     */
    private static void mergingBackward(SwinTransformer.PatchMerging pm, float[] x, float[] dy, float[] dx,
                                        int B, Capture cap, Workspace w, BackwardSink sink) {
        int r = pm.inRes() / 2, rows = B * r * r, C4 = pm.norm().dim(), C = C4 / 4;
        // block buffers, free between blocks; [rows, 4C] is the previous stage's [B*R*R, C]
        float[] cat = w.h1, dNormed = w.dh1, dCat = w.dPerm;
        Parallel.forRange(rows, 64, (o0, o1) -> {
            for (int o = o0; o < o1; o++)
                for (int k = 0; k < 4; k++) System.arraycopy(x, pm.source(o, k) * C, cat, o * C4 + k * C, C);
        });
        Linear red = pm.reduction();
        Backprop.linear(sink, red, cap.x(red), cap.out(red), dy, rows, dNormed);
        BackwardKernels.layerNormBackward(cat, 0, C4, dNormed, 0, C4, dCat, 0, C4, rows, C4,
                pm.norm().weight(), pm.norm().eps(), false, true);
        Parallel.forRange(rows, 64, (o0, o1) -> {
            for (int o = o0; o < o1; o++)
                for (int k = 0; k < 4; k++) System.arraycopy(dCat, o * C4 + k * C, dx, pm.source(o, k) * C, C);
        });
    }
}
