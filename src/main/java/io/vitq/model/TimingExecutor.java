package io.vitq.model;

import io.vitq.tensor.Activation;

import java.util.Map;
import java.util.TreeMap;

/**
 * Wraps an executor and adds up wall time per op kind (the op id without its block index, e.g.
 * {@code blocks.*.attn.qkv}), to see where a forward spends its time.
 */
public final class TimingExecutor implements Executor {
    private final Executor inner;
    private final Map<String, long[]> nanos = new TreeMap<>();

    public TimingExecutor(Executor inner) { this.inner = inner; }

    private void add(String id, long t) {
        nanos.computeIfAbsent(OpPattern.kind(id), k -> new long[1])[0] += t;
    }

    @Override
    public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
        long t0 = System.nanoTime();
        inner.linear(op, x, m, y, act, accumulate);
        add(op.id(), System.nanoTime() - t0);
    }

    @Override
    public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
        long t0 = System.nanoTime();
        inner.attention(op, qkv, groups, out);
        add(op.prefix() + ".core", System.nanoTime() - t0);
    }

    /** Seconds per op kind since construction or the last {@link #reset()}. */
    public Map<String, Double> seconds() {
        Map<String, Double> m = new TreeMap<>();
        nanos.forEach((k, v) -> m.put(k, v[0] / 1e9));
        return m;
    }

    public void reset() { nanos.clear(); }
}
