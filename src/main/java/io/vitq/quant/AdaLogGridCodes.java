package io.vitq.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The integer form of {@link AdaLogOperand}: each AdaLog code c enters a product as its signed
 * grid code {@code s_c} ({@link AdaLogOperand#gridCodes}), value {@code step · s_c}, split into two
 * int8 components {@code s = c0 + c1 · 2^7} with {@code c0 = s & 127} (0..127) and
 * {@code c1 = s >> 7} (floor; from {@code -⌈z / 128⌉} to 127): the shift form of {@link CodeForm}
 * with m = 7, both components usually non-zero, no zero point (the shift is inside s). So a
 * product is one int32 accumulation of the combined code (or two int8 ones), and the sums of the
 * code-product fake quant stay small integers per component.
 */
final class AdaLogGridCodes implements CodeForm {
    /** The grid's bits: a 14-bit grid splits into two components of 7 bits, each an int8. */
    static final int GRID_BITS = 14;
    /** Bits of the low component. */
    static final int LOW_BITS = 7;
    private static final int LOW_MASK = (1 << LOW_BITS) - 1;
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;

    private final String opId;
    private final AdaLogOperand of;
    /** The largest |s| and the largest |c0|, |c1| over the grid codes (c1 reaches -128 when z nears 2^14). */
    private final long maxAbs, maxAbsComponent;

    AdaLogGridCodes(String opId, AdaLogOperand of) {
        this.opId = opId;
        this.of = of;
        long m = 0, mc = 0;
        for (int s : of.gridCodes()) {
            m = Math.max(m, Math.abs((long) s));
            mc = Math.max(mc, Math.max(low(s), Math.abs(high(s))));
        }
        this.maxAbs = m;
        this.maxAbsComponent = mc;
    }

    @Override public int components() { return 2; }

    @Override public float unit(int component) { return component == 0 ? of.gridStep() : Math.scalb(of.gridStep(), LOW_BITS); }

    @Override public int shift() { return LOW_BITS; }

    @Override public long maxAbs(boolean combined) { return combined ? maxAbs : maxAbsComponent; }

    @Override public boolean int8() { return true; }

    /** The grid code s itself, stored as I32 ({@link #storedBits}). */
    @Override public int storedCode(int c0, int c1) { return c0 + (c1 << LOW_BITS); }

    @Override public String storedLayout() { return "adalog-grid"; }

    /** One sign bit and the grid's bits. */
    @Override public int storedBits(int bits) { return of.gridBits() + 1; }

    @Override
    public boolean encode(float[] x, int off, int n, int[] c0, int[] c1, int dOff) {
        float[] s = scratch(n);
        if (!gridCodes(x, off, n, s)) return false;
        int i = 0, upper = FS.loopBound(n);
        for (; i < upper; i += FS.length()) {
            IntVector v = (IntVector) FloatVector.fromArray(FS, s, i).convertShape(VectorOperators.F2I, IS, 0);
            v.and(LOW_MASK).intoArray(c0, dOff + i);
            v.lanewise(VectorOperators.ASHR, LOW_BITS).intoArray(c1, dOff + i);
        }
        for (; i < n; i++) {
            c0[dOff + i] = low((int) s[i]);
            c1[dOff + i] = high((int) s[i]);
        }
        return true;
    }

    @Override
    public boolean encode(float[] x, int off, int n, byte[] c0, byte[] c1, int dOff) {
        float[] s = scratch(n);
        if (!gridCodes(x, off, n, s)) return false;
        int i = 0, upper = FS.loopBound(n);
        for (; i < upper; i += FS.length()) {
            IntVector v = (IntVector) FloatVector.fromArray(FS, s, i).convertShape(VectorOperators.F2I, IS, 0);
            ((ByteVector) v.and(LOW_MASK).convertShape(VectorOperators.I2B, B128, 0)).intoArray(c0, dOff + i);
            ((ByteVector) v.lanewise(VectorOperators.ASHR, LOW_BITS).convertShape(VectorOperators.I2B, B128, 0)).intoArray(c1, dOff + i);
        }
        for (; i < n; i++) {
            c0[dOff + i] = (byte) low((int) s[i]);
            c1[dOff + i] = (byte) high((int) s[i]);
        }
        return true;
    }

    /** The low component of grid code s, 0..127. */
    static int low(int s) { return s & LOW_MASK; }

    /** The high component, {@code floor(s / 128)}. */
    static int high(int s) { return s >> LOW_BITS; }

    @Override
    public boolean encodeCombined(float[] x, int off, int n, int[] c, int dOff) {
        float[] s = scratch(n);
        if (!gridCodes(x, off, n, s)) return false;
        for (int i = 0; i < n; i++) c[dOff + i] = (int) s[i];
        return true;
    }

    @Override
    public void encodeFloats(String id, float[] x, int off, int n, float[] c0, float[] c1, int dOff) {
        of.gridCodes(id, x, off, c0, dOff, n);
        for (int i = dOff; i < dOff + n; i++) {
            int v = (int) c0[i];
            c0[i] = low(v);
            c1[i] = high(v);
        }
    }

    /** The grid codes of n inputs into s (as floats), false on a NaN or an infinity (checked first). */
    private boolean gridCodes(float[] x, int off, int n, float[] s) {
        if (!QuantChecks.finite(x, off, n)) return false;
        of.gridCodesOfFinite(x, off, s, n);
        return true;
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) SCRATCH.set(s = new float[n]);
        return s;
    }
}
