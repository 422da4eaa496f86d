package io.vitq.quant;

/**
 * The integer form of a per-tensor quantizer on an unsigned grid with a zero point
 * ({@link AsymmetricOperand}, and {@link CodebookOperand} whose grid codes then pass through its
 * level table): one component, the grid code q with {@code (q - z) * s} its value, so a product
 * takes z's column-sum correction.
 */
final class UnsignedGridCodes implements CodeForm {
    private final String opId;
    private final UniformQuantizer relative;
    private final float scale;
    private final int zeroPoint, top;
    /** Grid code to the code used, or null for the grid code itself. */
    private final int[] table;

    /**
     * @param relative the quantizer of {@code q - z}: {@code clamp(rint(x / s), -z, top - z)}
     * @param table    null, or a map of every grid code 0..top to the code that replaces it
     */
    UnsignedGridCodes(String opId, UniformQuantizer relative, float scale, int zeroPoint, int top, int[] table) {
        this.opId = opId;
        this.relative = relative;
        this.scale = scale;
        this.zeroPoint = zeroPoint;
        this.top = top;
        this.table = table;
    }

    @Override public int components() { return 1; }

    @Override public float unit(int c) { return scale; }

    @Override public int zeroPoint() { return zeroPoint; }

    /** Unsigned whatever the zero point, 0 included. */
    @Override public String storedLayout() { return "unsigned"; }

    @Override public int shift() { return 0; }

    @Override public long maxAbs(boolean combined) { return top; }

    @Override public boolean int8() { return false; }   // unsigned codes up to 255

    @Override public boolean uint8() { return top <= 255; }

    @Override
    public boolean encode(float[] x, int off, int n, int[] c0, int[] c1, int dOff) {
        boolean finite = ActivationCodes.uniform(x, off, n, 1f, scale, relative.minCode(), relative.maxCode(), c0, dOff);
        for (int i = dOff; i < dOff + n; i++) c0[i] = table == null ? c0[i] + zeroPoint : table[c0[i] + zeroPoint];
        return finite;
    }

    @Override
    public boolean encode(float[] x, int off, int n, byte[] c0, byte[] c1, int dOff) {
        throw new UnsupportedOperationException(opId + ": unsigned grid codes have no int8 form");
    }

    @Override
    public boolean encodeCombined(float[] x, int off, int n, int[] c, int dOff) { return encode(x, off, n, c, null, dOff); }

    /** The values that multiply the unit: {@code q - z}. */
    @Override
    public void encodeFloats(String id, float[] x, int off, int n, float[] c0, float[] c1, int dOff) {
        relative.codeValues(id, scale, x, off, c0, dOff, n);
        if (table != null)
            for (int i = dOff; i < dOff + n; i++) c0[i] = table[(int) c0[i] + zeroPoint] - zeroPoint;
    }
}
