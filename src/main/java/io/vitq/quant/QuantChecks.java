package io.vitq.quant;

import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Argument checks shared by the quantizers; every message names the op so that a bad plan or input is traceable. */
final class QuantChecks {
    static final int MIN_BITS = 2, MAX_BITS = 16;

    private QuantChecks() {}

    static int bits(int bits, String what) {
        if (bits < MIN_BITS || bits > MAX_BITS)
            throw new IllegalArgumentException(what + ": bits must be in " + MIN_BITS + ".." + MAX_BITS + ", got " + bits);
        return bits;
    }

    static boolean isValidScale(float scale) {
        return scale > 0 && scale < Float.POSITIVE_INFINITY; // false for NaN too
    }

    static float scale(String opId, float scale) {
        if (!isValidScale(scale))
            throw new IllegalArgumentException(opId + ": quantization scale must be positive and finite, got " + scale);
        return scale;
    }

    static void scales(String opId, float[] scales) {
        Objects.requireNonNull(scales, "scales");
        for (int i = 0; i < scales.length; i++)
            if (!isValidScale(scales[i]))
                throw new IllegalArgumentException(opId + ": quantization scale [" + i + "] must be positive and finite, got "
                        + scales[i]);
    }

    static void range(float[] a, int off, int len) { Objects.checkFromIndexSize(off, len, a.length); }

    static void range(byte[] a, int off, int len) { Objects.checkFromIndexSize(off, len, a.length); }

    static void range(short[] a, int off, int len) { Objects.checkFromIndexSize(off, len, a.length); }

    /**
     * Array quantizers work in blocks of this many elements: each block is checked for NaN and
     * infinities (while it is in L1 cache) before any of it is written, so that an error can name
     * the offending index even when the quantization runs in place.
     */
    static final int BLOCK = 2048;

    private static final VectorSpecies<Float> FS = Rounding.FS;

    /** An array quantizer's body for one checked block: elements {@code [b, b + n)} of its range. */
    @FunctionalInterface
    interface Block {
        void run(int b, int n);
    }

    /**
     * Runs {@code body} over {@code src[off, off + len)} in blocks of {@link #BLOCK} elements, each
     * checked by {@link #requireFinite} (the error names the op and the index) before its body runs.
     */
    static void finiteBlocks(String opId, float[] src, int off, int len, Block body) {
        for (int b = 0; b < len; b += BLOCK) {
            int n = Math.min(BLOCK, len - b);
            requireFinite(opId, src, off + b, n, b);
            body.run(b, n);
        }
    }

    /**
     * Throws, naming the op and the index (counted from {@code indexBase}), when {@code x[off ..
     * off+len)} holds NaN or an infinity. Cost: one multiply-add per element ({@code x·0} is NaN
     * exactly for non-finite x).
     */
    static void requireFinite(String opId, float[] x, int off, int len, int indexBase) {
        if (!finite(x, off, len)) throw nonFinite(opId, x, off, len, indexBase);
    }

    /** True when {@code x[off .. off+len)} holds no NaN and no infinity: one multiply-add per element. */
    static boolean finite(float[] x, int off, int len) {
        int i = 0, upper = FS.loopBound(len);
        FloatVector acc = FloatVector.zero(FS);
        for (; i < upper; i += FS.length()) acc = acc.add(FloatVector.fromArray(FS, x, off + i).mul(0f));
        float tail = 0f;
        for (; i < len; i++) tail += x[off + i] * 0f;
        return !Float.isNaN(acc.reduceLanes(VectorOperators.ADD) + tail);
    }

    static IllegalArgumentException nonFinite(String opId, float[] x, int off, int len) {
        return nonFinite(opId, x, off, len, 0);
    }

    /** The error for the first non-finite element of a range. */
    static IllegalArgumentException nonFinite(String opId, float[] x, int off, int len, int indexBase) {
        for (int i = 0; i < len; i++) {
            float v = x[off + i];
            if (!Float.isFinite(v))
                return new IllegalArgumentException(opId + ": input contains " + v + " at index " + (indexBase + i)
                        + " (quantizers accept only finite values)");
        }
        return new IllegalArgumentException(opId + ": input contains a non-finite value");
    }

    static void requireByteCodes(int bits, String what) {
        if (bits > 8) throw new IllegalArgumentException(what + ": " + bits + "-bit codes do not fit a byte; use short[]");
    }
}
