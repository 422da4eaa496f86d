package io.vitq.model;

import io.vitq.tensor.Activation;
import io.vitq.tensor.BackwardKernels;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.LayerNormKernel;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.VectorMath;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Float execution of one segment that records, op by op, what the op's backward needs; then the
 * backward of the whole segment from the gradient at its output ({@link #backward}). This is the
 * only place an op's backward is written: one per op kind, none per architecture. Every quantizable
 * op (Linear, both attention matmuls) is reported to the {@link BackwardSink} with its float
 * input(s), its own output and its output gradient, in backward order.
 *
 * <p>The forward computes what {@link Eager} with {@link FloatExecutor} computes, bit for bit: the
 * same kernels in the same order, except that fc1's GELU runs after the GEMM instead of in its
 * epilogue (the same values) so that its pre-activation is kept, and the attention core is
 * recomputed by {@link AttentionRecord}. Nothing is updated in place: a residual add writes a new
 * buffer, so that every op's inputs are still there for its backward.
 *
 * <p>A value used by several ops gets the sum of their gradients, accumulated in backward order:
 * the first contribution is copied, the later ones added (for the residual stream, the residual's
 * pass-through first, then the LayerNorm's backward added into it, as the kernels' accumulate flag does).
 */
final class Tape implements Ops<Act> {
    private final BackwardSink sink;
    private final boolean want;
    private final List<Runnable> backward = new ArrayList<>();
    private final Map<Act, float[]> grads = new IdentityHashMap<>();

    Tape(BackwardSink sink) {
        this.sink = sink;
        this.want = sink.wantsForward();
    }

    /**
     * Runs the recorded backward from {@code dy}, the gradient at the segment's output {@code y};
     * returns the gradient at {@code x}, the segment's input (null when none flows there).
     */
    float[] backward(Act y, float[] dy, Act x) {
        grads.put(y, dy);
        for (int i = backward.size() - 1; i >= 0; i--) backward.get(i).run();
        return grads.get(x);
    }

    // ---------------------------------------------------------------- gradients

    private float[] grad(Act a) {
        float[] g = grads.get(a);
        if (g == null) throw new IllegalStateException("no gradient reached an op's output");
        return g;
    }

    /** Adds {@code g} (over the value's {@code size} elements) to a's gradient; the first contribution is a copy. */
    private void accumulate(Act a, float[] g) {
        float[] have = grads.get(a);
        if (have == null) {
            grads.put(a, Arrays.copyOf(g, a.size()));
            return;
        }
        int cols = a.cols;
        Parallel.forRange(a.rows, 64, (r0, r1) -> {
            for (int i = r0 * cols; i < r1 * cols; i++) have[i] += g[i];
        });
    }

    /** The gradient buffer of a, to add into: zeros the first time. */
    private float[] gradBuffer(Act a) {
        return grads.computeIfAbsent(a, k -> new float[a.size()]);
    }

    /**
     * Linear backward: reports {@code op} (input x, output out, gradient dy) and adds
     * {@code dy . W} to x's gradient (written directly the first time, as the GEMM's own result).
     */
    private void linearBackward(Linear op, Act x, float[] out, float[] dy) {
        sink.onLinear(op, want ? x.data : null, want ? out : null, dy, x.rows);
        PackedB w = PackedB.pack(op.weight(), 0, op.in(), op.out(), op.in());
        float[] have = grads.get(x);
        if (have == null) {
            float[] dx = new float[x.size()];
            Gemm.gemm(dy, 0, op.out(), x.rows, w, dx, 0, op.in(), null, Activation.NONE, false, true);
            grads.put(x, dx);
        } else {
            Gemm.gemm(dy, 0, op.out(), x.rows, w, have, 0, op.in(), null, Activation.NONE, true, true);
        }
    }

    /** {@code x . W^T + b} into a new buffer, no activation, as {@link FloatExecutor#linear} computes it. */
    private static float[] output(Linear op, Act x) {
        float[] y = new float[x.rows * op.out()];
        Gemm.gemm(x.data, 0, op.in(), x.rows, op.packed(), y, 0, op.out(), op.bias(), Activation.NONE, false, true);
        return y;
    }

    private static Act like(Act x, float[] data, int rows, int cols) { return new Act(data, x.images, rows, cols); }

    // ---------------------------------------------------------------- embedding

    @Override
    public Act patchEmbed(Linear proj, Act images, int channels, int size, int patch) {
        int B = images.images, G = size / patch, M = B * G * G;
        float[] patches = new float[M * channels * patch * patch];
        Eager.im2col(images.data, B, channels, size, patch, patches);
        Act p = new Act(patches, B, M, channels * patch * patch);
        Act y = like(images, output(proj, p), M, proj.out());
        // the image needs no gradient: the patch embedding is only reported
        backward.add(() -> sink.onLinear(proj, want ? patches : null, want ? y.data : null, grad(y), M));
        return y;
    }

    @Override
    public Act prependTokens(Act x, List<float[]> tokens) {
        int B = x.images, N = x.tokens(), D = x.cols, pre = tokens.size(), T = N + pre;
        float[] d = new float[B * T * D];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < pre; t++) System.arraycopy(tokens.get(t), 0, d, (b * T + t) * D, D);
            System.arraycopy(x.data, b * N * D, d, (b * T + pre) * D, N * D);
        }
        Act y = like(x, d, B * T, D);
        backward.add(() -> {
            float[] dy = grad(y), dx = new float[x.size()];
            for (int b = 0; b < B; b++) System.arraycopy(dy, (b * T + pre) * D, dx, b * N * D, N * D);
            accumulate(x, dx);
        });
        return y;
    }

    @Override
    public Act addPosition(Act x, float[] pos) {
        int T = x.tokens(), D = x.cols;
        float[] d = new float[x.size()];
        for (int b = 0; b < x.images; b++) for (int i = 0; i < T * D; i++) d[b * T * D + i] = x.data[b * T * D + i] + pos[i];
        Act y = like(x, d, x.rows, D);
        backward.add(() -> accumulate(x, grad(y)));
        return y;
    }

    // ---------------------------------------------------------------- layers

    @Override
    public Act layerNorm(LayerNorm ln, Act x) {
        int D = x.cols;
        Act y = like(x, new float[x.size()], x.rows, D);
        LayerNormKernel.forward(x.data, 0, D, y.data, 0, D, x.rows, D, ln.weight(), ln.bias(), ln.eps(), true);
        backward.add(() -> {
            boolean add = grads.containsKey(x);
            BackwardKernels.layerNormBackward(x.data, 0, D, grad(y), 0, D, gradBuffer(x), 0, D, x.rows, D,
                    ln.weight(), ln.eps(), add, true);
        });
        return y;
    }

    /** {@code R x}; backward {@code dx += R^T dy}. */
    @Override
    public Act rotate(Act x) {
        float[] d = new float[x.size()];
        InputRotation.rotate(x.data, x.rows, x.cols, d);
        Act y = like(x, d, x.rows, x.cols);
        backward.add(() -> {
            float[] dx = new float[x.size()];
            InputRotation.rotateBack(grad(y), x.rows, x.cols, dx);
            accumulate(x, dx);
        });
        return y;
    }

    @Override
    public Act linear(Linear op, Act x, Activation act) {
        float[] out = output(op, x);
        if (act == Activation.NONE) {
            Act y = like(x, out, x.rows, op.out());
            backward.add(() -> linearBackward(op, x, out, grad(y)));
            return y;
        }
        if (act != Activation.GELU) throw new IllegalArgumentException(op.id() + ": activation " + act);
        // GELU as timm's separate module after fc1: the Linear's own output is the pre-activation
        int H = op.out();
        float[] g = out.clone();
        Parallel.forRange(x.rows, (r0, r1) -> VectorMath.geluInPlace(g, r0 * H, (r1 - r0) * H));
        Act y = like(x, g, x.rows, H);
        backward.add(() -> {
            float[] dg = grad(y);   // this op's own buffer: differentiated through GELU in place
            Parallel.forRange(x.rows, (r0, r1) -> BackwardKernels.geluBackward(out, dg, dg, r0 * H, (r1 - r0) * H));
            linearBackward(op, x, out, dg);
        });
        return y;
    }

    @Override
    public Act addLinear(Act residual, Linear op, Act x) {
        float[] d = Arrays.copyOf(residual.data, residual.size());
        Gemm.gemm(x.data, 0, op.in(), x.rows, op.packed(), d, 0, op.out(), op.bias(), Activation.NONE, true, true);
        Act y = like(residual, d, residual.rows, residual.cols);
        backward.add(() -> {
            float[] dy = grad(y);
            linearBackward(op, x, want ? output(op, x) : null, dy);
            accumulate(residual, dy);
        });
        return y;
    }

    @Override
    public Act add(Act residual, Act y) {
        float[] d = Arrays.copyOf(residual.data, residual.size());
        for (int i = 0; i < d.length; i++) d[i] += y.data[i];
        Act out = like(residual, d, residual.rows, residual.cols);
        backward.add(() -> {
            accumulate(y, grad(out));
            accumulate(residual, grad(out));
        });
        return out;
    }

    @Override
    public Act scale(Act x, float[] gamma) {
        Act y = like(x, new float[x.size()], x.rows, x.cols);
        Eager.scaleRows(x.data, gamma, x.rows, x.cols, y.data);
        backward.add(() -> {
            float[] dx = new float[x.size()];
            Eager.scaleRows(grad(y), gamma, x.rows, x.cols, dx);
            accumulate(x, dx);
        });
        return y;
    }

    @Override
    public Act attention(AttentionOp op, Act qkv) {
        AttentionRecord r = AttentionRecord.forward(op, qkv.data, qkv.rows / op.spec().tokens(), want);
        Act y = like(qkv, r.out, qkv.rows, op.spec().dim());
        backward.add(() -> {
            float[] dqkv = r.backward(grad(y));
            r.report(sink);
            accumulate(qkv, dqkv);
        });
        return y;
    }

    // ---------------------------------------------------------------- token layout

    @Override
    public Act permuteRows(Act x, int[] order) {
        Act y = like(x, new float[x.size()], x.rows, x.cols);
        Eager.permute(order, x.data, y.data, x.rows, x.cols, true);
        backward.add(() -> {
            float[] dx = new float[x.size()];
            Eager.permute(order, grad(y), dx, x.rows, x.cols, false);
            accumulate(x, dx);
        });
        return y;
    }

    @Override
    public Act addPermuted(Act residual, Act y, int[] order) {
        float[] d = Arrays.copyOf(residual.data, residual.size());
        int L = order.length, D = residual.cols;
        Parallel.forRange(y.rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int dst = (r / L * L + order[r % L]) * D, src = r * D;
                for (int c = 0; c < D; c++) d[dst + c] += y.data[src + c];
            }
        });
        Act out = like(residual, d, residual.rows, D);
        backward.add(() -> {
            float[] dOut = grad(out), dy = new float[y.size()];
            Eager.permute(order, dOut, dy, y.rows, D, true);
            accumulate(y, dy);
            accumulate(residual, dOut);
        });
        return out;
    }

    @Override
    public Act mergePatches(Act x, int res) {
        int r = res / 2;
        Act y = like(x, new float[x.images * r * r * 4 * x.cols], x.images * r * r, 4 * x.cols);
        Eager.mergeGather(x.data, y.data, x.images, res, x.cols, true);
        backward.add(() -> {
            // every input token is in exactly one neighbourhood: the scatter writes all of dx
            float[] dx = new float[x.size()];
            Eager.mergeGather(dx, grad(y), x.images, res, x.cols, false);
            accumulate(x, dx);
        });
        return y;
    }

    @Override
    public Act token(Act x, int index) {
        int T = x.tokens(), D = x.cols;
        Act y = like(x, new float[x.images * D], x.images, D);
        for (int b = 0; b < x.images; b++) System.arraycopy(x.data, (b * T + index) * D, y.data, b * D, D);
        backward.add(() -> {
            float[] dx = gradBuffer(x), dy = grad(y);
            for (int b = 0; b < x.images; b++)
                for (int j = 0; j < D; j++) dx[(b * T + index) * D + j] += dy[b * D + j];
        });
        return y;
    }

    @Override
    public Act meanTokens(Act x, int first) {
        int T = x.tokens(), D = x.cols, L = T - first;
        Act y = like(x, new float[x.images * D], x.images, D);
        double[] acc = new double[D];
        for (int b = 0; b < x.images; b++) {
            Arrays.fill(acc, 0);
            for (int t = first; t < T; t++) for (int c = 0; c < D; c++) acc[c] += x.data[(b * T + t) * D + c];
            for (int c = 0; c < D; c++) y.data[b * D + c] = (float) (acc[c] / L);
        }
        backward.add(() -> {
            // each token's share of the mean
            float[] dy = grad(y), dx = new float[x.size()];
            for (int b = 0; b < x.images; b++)
                for (int t = first; t < T; t++)
                    for (int c = 0; c < D; c++) dx[(b * T + t) * D + c] = dy[b * D + c] / L;
            accumulate(x, dx);
        });
        return y;
    }

    @Override
    public Act average(Act a, Act b) {
        Act y = like(a, new float[a.size()], a.rows, a.cols);
        for (int i = 0; i < a.size(); i++) y.data[i] = (a.data[i] + b.data[i]) / 2;
        backward.add(() -> {
            float[] half = grad(y).clone();
            for (int i = 0; i < half.length; i++) half[i] *= 0.5f;
            accumulate(b, half);
            accumulate(a, half);
        });
        return y;
    }
}
