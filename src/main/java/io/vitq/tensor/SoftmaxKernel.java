package io.vitq.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Numerically stable softmax over a row, with the attention scale (and an optional additive bias)
 * fused in. Deterministic: the exponential is our own polynomial ({@link VectorMath#exp}) and lane
 * sums run in a fixed order, so the interpreter, C1 and C2 give bit-identical results (the Vector
 * API's EXP and reduceLanes(ADD) may not), which calibration's first-maximum-wins searches rely on.
 */
public final class SoftmaxKernel {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    /** Below this, exp underflows (float exp(-87.34) is the smallest normal): the result is 0. */
    private static final float EXP_MIN = -87.3f;

    private SoftmaxKernel() {}

    /**
     * {@code p[j] = softmax_j(s[j] * scale + bias[j])} in place over {@code n} values at {@code off};
     * {@code bias} may be null (ViT) or a row of relative-position bias plus mask (Swin).
     */
    public static void row(float[] s, int off, int n, float scale, float[] bias, int biasOff) {
        int bound = FS.loopBound(n);
        FloatVector vscale = FloatVector.broadcast(FS, scale);
        FloatVector vmax = FloatVector.broadcast(FS, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < bound; i += FS.length()) {
            FloatVector v = FloatVector.fromArray(FS, s, off + i).mul(vscale);
            if (bias != null) v = v.add(FloatVector.fromArray(FS, bias, biasOff + i));
            v.intoArray(s, off + i);
            vmax = vmax.max(v);
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            float v = s[off + i] * scale + (bias != null ? bias[biasOff + i] : 0f);
            s[off + i] = v;
            max = Math.max(max, v);
        }
        FloatVector vm = FloatVector.broadcast(FS, max);
        FloatVector vsum = FloatVector.zero(FS);
        for (i = 0; i < bound; i += FS.length()) {
            FloatVector y = FloatVector.fromArray(FS, s, off + i).sub(vm);
            FloatVector e = VectorMath.exp(y.max(EXP_MIN)).blend(0f, y.compare(VectorOperators.LT, EXP_MIN));
            e.intoArray(s, off + i);
            vsum = vsum.add(e);
        }
        float sum = sumLanes(vsum);
        for (; i < n; i++) {
            float y = s[off + i] - max;
            float e = y < EXP_MIN ? 0f : (float) Math.exp(y);
            s[off + i] = e;
            sum += e;
        }
        FloatVector vinv = FloatVector.broadcast(FS, 1f / sum);
        for (i = 0; i < bound; i += FS.length()) {
            FloatVector.fromArray(FS, s, off + i).mul(vinv).intoArray(s, off + i);
        }
        float inv = 1f / sum;
        for (; i < n; i++) s[off + i] *= inv;
    }

    /** Sum of the lanes in lane order (reduceLanes(ADD) leaves the order to the JIT). */
    static float sumLanes(FloatVector v) {
        float[] t = new float[FS.length()];
        v.intoArray(t, 0);
        float sum = 0f;
        for (float x : t) sum += x;
        return sum;
    }
}
