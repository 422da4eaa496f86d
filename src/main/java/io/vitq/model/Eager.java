package io.vitq.model;

import io.vitq.tensor.Activation;
import io.vitq.tensor.LayerNormKernel;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.Tensor;

import java.lang.ref.SoftReference;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Eager execution of a model's forward on float buffers: every op computes its result at once,
 * the quantizable ones (Linear, attention) through an {@link Executor}, which is where float,
 * fake-quant and integer execution (and sequential calibration) differ. The others (LayerNorm,
 * embedding, token layout, pooling) run the same float kernels in every mode.
 *
 * <p>Buffers come from a {@link Buffers} pool kept by the model between forwards: at the end of
 * each segment every buffer the segment took is returned, except its output, so a forward needs a
 * few block-sized buffers however deep the model is, and a batch allocates nothing after the first.
 */
public final class Eager implements Ops<Act> {

    /** A model's pool of reusable float buffers (one forward at a time takes it; concurrent ones get their own). */
    public static final class Buffers {
        private final AtomicReference<SoftReference<Pool>> spare = new AtomicReference<>();

        Pool take() {
            SoftReference<Pool> r = spare.getAndSet(null);
            Pool p = r == null ? null : r.get();
            return p != null ? p : new Pool();
        }

        void give(Pool p) { spare.set(new SoftReference<>(p)); }
    }

    /** Free buffers by exact length, and the ones handed out since a mark. */
    static final class Pool {
        private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
        private final Set<float[]> owned = Collections.newSetFromMap(new IdentityHashMap<>());
        private final List<float[]> taken = new ArrayList<>();

        /** A buffer of exactly n floats, with stale contents: every op writes all of its output. */
        float[] take(int n) {
            ArrayDeque<float[]> q = free.get(n);
            float[] a = q == null ? null : q.poll();
            if (a == null) {
                a = new float[n];
                owned.add(a);
            }
            taken.add(a);
            return a;
        }

        int mark() { return taken.size(); }

        /** Returns every buffer taken since {@code mark} except {@code keep}. */
        void releaseSince(int mark, float[] keep) {
            for (int i = taken.size() - 1; i >= mark; i--) {
                float[] a = taken.remove(i);
                if (a != keep) free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).add(a);
            }
        }

        /** Returns {@code a} if this pool made it (not the caller's input). */
        void release(float[] a) {
            if (!owned.contains(a)) return;
            taken.remove(a);
            free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).add(a);
        }
    }

    private final Executor ex;
    private final Probe probe;
    private final Pool pool;
    /** When not null, every segment's input is kept here (copied out of the pool). */
    private final List<Act> inputs;

    private Eager(Executor ex, Probe probe, Pool pool, List<Act> inputs) {
        this.ex = ex;
        this.probe = probe;
        this.pool = pool;
        this.inputs = inputs;
    }

    /**
     * The logits {@code [B, classes]} of images {@code [B, C, S, S]}, with the quantizable ops run by
     * {@code ex} and named intermediates reported to {@code probe}.
     */
    public static Tensor forward(Model m, Buffers buffers, Tensor images, Executor ex, Probe probe) {
        Act in = input(m, images);
        Pool pool = buffers.take();
        try {
            Act y = Ops.forward(m, in, new Eager(ex, probe, pool, null));
            return new Tensor(java.util.Arrays.copyOf(y.data, y.size()), y.rows, y.cols);
        } finally {
            pool.taken.clear();
            buffers.give(pool);
        }
    }

    /**
     * The float forward a backward starts from ({@link Backward}): the logits, and in {@code inputs}
     * every segment's input in order (the images for the first), kept in buffers of their own.
     */
    static Tensor forwardKeepingInputs(Model m, Tensor images, List<Act> inputs) {
        Act y = Ops.forward(m, input(m, images), new Eager(FloatExecutor.INSTANCE, Probe.NONE, new Pool(), inputs));
        return new Tensor(java.util.Arrays.copyOf(y.data, y.size()), y.rows, y.cols);
    }

    /** Images {@code [B, C, S, S]} as the forward's input value, checked against the model. */
    private static Act input(Model m, Tensor images) {
        Architecture a = m.spec().architecture();
        int S = a.imgSize(), C = a.inChans();
        if (images.rank() != 4 || images.dim(1) != C || images.dim(2) != S || images.dim(3) != S) {
            throw new IllegalArgumentException(m.name() + " expects images [B, " + C + ", " + S + ", " + S + "], got "
                    + images.shapeString());
        }
        int B = images.dim(0);
        return new Act(images.data(), B, B, C * S * S);
    }

    @Override
    public Act segment(Segment s, Act x) {
        if (inputs != null) {
            inputs.add(pool.owned.contains(x.data) ? new Act(java.util.Arrays.copyOf(x.data, x.size()), x.images, x.rows, x.cols) : x);
        }
        int mark = pool.mark();
        Act y = s.forward(x, this);
        pool.releaseSince(mark, y.data);
        if (x.data != y.data) pool.release(x.data);   // the previous segment's output, consumed
        return y;
    }

    private Act out(Act like, int rows, int cols) { return new Act(pool.take(rows * cols), like.images, rows, cols); }

    // ---------------------------------------------------------------- embedding

    @Override
    public Act patchEmbed(Linear proj, Act images, int channels, int size, int patch) {
        int B = images.images, G = size / patch, M = B * G * G;
        float[] patches = pool.take(M * channels * patch * patch);
        im2col(images.data, B, channels, size, patch, patches);
        Act y = out(images, M, proj.out());
        ex.linear(proj, patches, M, y.data, Activation.NONE, false);
        return y;
    }

    /** Rows (b, gy, gx), columns (c, ky, kx): the order of the conv weight [D, C, p, p]. */
    static void im2col(float[] img, int B, int C, int S, int p, float[] out) {
        int G = S / p, K = C * p * p;
        Parallel.forRange(B * G, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int b = r / G, gy = r % G;
                for (int gx = 0; gx < G; gx++) {
                    int o = ((b * G + gy) * G + gx) * K;
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < p; ky++) {
                            System.arraycopy(img, ((b * C + c) * S + gy * p + ky) * S + gx * p, out, o + (c * p + ky) * p, p);
                        }
                }
            }
        });
    }

    @Override
    public Act prependTokens(Act x, List<float[]> tokens) {
        int B = x.images, N = x.tokens(), D = x.cols, pre = tokens.size(), T = N + pre;
        Act y = out(x, B * T, D);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < pre; t++) System.arraycopy(tokens.get(t), 0, y.data, (b * T + t) * D, D);
            System.arraycopy(x.data, b * N * D, y.data, (b * T + pre) * D, N * D);
        }
        return y;
    }

    @Override
    public Act addPosition(Act x, float[] pos) {
        int T = x.tokens(), D = x.cols;
        Act y = out(x, x.rows, D);
        for (int b = 0; b < x.images; b++) {
            int o = b * T * D;
            for (int i = 0; i < T * D; i++) y.data[o + i] = x.data[o + i] + pos[i];
        }
        return y;
    }

    // ---------------------------------------------------------------- layers

    @Override
    public Act layerNorm(LayerNorm ln, Act x) {
        Act y = out(x, x.rows, x.cols);
        LayerNormKernel.forward(x.data, 0, x.cols, y.data, 0, x.cols, x.rows, x.cols, ln.weight(), ln.bias(), ln.eps(), true);
        return y;
    }

    @Override
    public Act rotate(Act x) {
        Act y = out(x, x.rows, x.cols);
        InputRotation.rotate(x.data, x.rows, x.cols, y.data);
        return y;
    }

    @Override
    public Act linear(Linear op, Act x, Activation act) {
        Act y = out(x, x.rows, op.out());
        ex.linear(op, x.data, x.rows, y.data, act, false);
        return y;
    }

    @Override
    public Act addLinear(Act residual, Linear op, Act x) {
        ex.linear(op, x.data, x.rows, residual.data, Activation.NONE, true);
        return residual;
    }

    @Override
    public Act add(Act residual, Act y) {
        float[] r = residual.data, d = y.data;
        int cols = residual.cols;
        Parallel.forRange(residual.rows, 64, (r0, r1) -> {
            for (int i = r0 * cols; i < r1 * cols; i++) r[i] += d[i];
        });
        return residual;
    }

    @Override
    public Act scale(Act x, float[] gamma) {
        Act y = out(x, x.rows, x.cols);
        scaleRows(x.data, gamma, x.rows, x.cols, y.data);
        return y;
    }

    static void scaleRows(float[] x, float[] gamma, int rows, int cols, float[] y) {
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++)
                for (int c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c] * gamma[c];
        });
    }

    @Override
    public Act attention(AttentionOp op, Act qkv) {
        int T = op.spec().tokens();
        Act y = out(qkv, qkv.rows, op.spec().dim());
        ex.attention(op, qkv.data, qkv.rows / T, y.data);
        return y;
    }

    // ---------------------------------------------------------------- token layout

    @Override
    public Act permuteRows(Act x, int[] order) {
        Act y = out(x, x.rows, x.cols);
        permute(order, x.data, y.data, x.rows, x.cols, true);
        return y;
    }

    /**
     * Per image of {@code order.length} rows: {@code to[r] = from[order[r]]} when {@code gather},
     * else {@code to[order[r]] = from[r]}.
     */
    static void permute(int[] order, float[] from, float[] to, int rows, int D, boolean gather) {
        int L = order.length;
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int tok = r / L * L + order[r % L];
                if (gather) System.arraycopy(from, tok * D, to, r * D, D);
                else System.arraycopy(from, r * D, to, tok * D, D);
            }
        });
    }

    @Override
    public Act addPermuted(Act residual, Act y, int[] order) {
        int L = order.length, D = residual.cols;
        float[] x = residual.data, d = y.data;
        Parallel.forRange(y.rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int dst = (r / L * L + order[r % L]) * D, src = r * D;
                for (int c = 0; c < D; c++) x[dst + c] += d[src + c];
            }
        });
        return residual;
    }

    @Override
    public Act mergePatches(Act x, int res) {
        int r = res / 2, L = r * r, C = x.cols;
        Act y = out(x, x.images * L, 4 * C);
        mergeGather(x.data, y.data, x.images, res, C, true);
        return y;
    }

    /**
     * Between a {@code res x res} map of C channels and its 2x2 merge rows of 4C: part k = 2 dx + dy of
     * output row (b, i, j) is input token (b, 2i + dy, 2j + dx). {@code gather}: merge rows from the
     * map; else the reverse scatter.
     */
    static void mergeGather(float[] map, float[] merged, int B, int res, int C, boolean gather) {
        int r = res / 2, L = r * r, C4 = 4 * C;
        Parallel.forRange(B * L, 64, (o0, o1) -> {
            for (int o = o0; o < o1; o++) {
                int b = o / L, i = o % L / r, j = o % r;
                for (int k = 0; k < 4; k++) {
                    int src = (b * res + 2 * i + (k & 1)) * res + 2 * j + (k >> 1);
                    if (gather) System.arraycopy(map, src * C, merged, o * C4 + k * C, C);
                    else System.arraycopy(merged, o * C4 + k * C, map, src * C, C);
                }
            }
        });
    }

    @Override
    public Act token(Act x, int index) {
        int T = x.tokens(), D = x.cols;
        Act y = out(x, x.images, D);
        for (int b = 0; b < x.images; b++) System.arraycopy(x.data, (b * T + index) * D, y.data, b * D, D);
        return y;
    }

    @Override
    public Act meanTokens(Act x, int first) {
        int T = x.tokens(), D = x.cols, L = T - first;
        Act y = out(x, x.images, D);
        double[] acc = new double[D];
        for (int b = 0; b < x.images; b++) {
            java.util.Arrays.fill(acc, 0);
            for (int t = first; t < T; t++) for (int c = 0; c < D; c++) acc[c] += x.data[(b * T + t) * D + c];
            for (int c = 0; c < D; c++) y.data[b * D + c] = (float) (acc[c] / L);
        }
        return y;
    }

    @Override
    public Act average(Act a, Act b) {
        Act y = out(a, a.rows, a.cols);
        for (int i = 0; i < a.size(); i++) y.data[i] = (a.data[i] + b.data[i]) / 2;
        return y;
    }

    @Override
    public void observe(String name, Act x) { probe.observe(name, x.data, x.probeShape()); }
}
