package io.vitq.quant;

/**
 * A quantized activation's integer form: how its values enter a product of integer codes (the
 * integer runtime's int32 sums, and the code-product fake quant's exact float sums). Each quantizer
 * kind gives its own ({@link OperandQuant#codeForm}); the executors only combine components.
 *
 * <p>One or two components. The dequantized value of an element is
 * {@code unit(0) * (c0 - zeroPoint()) + unit(1) * c1}: a uniform quantizer has one component (an
 * asymmetric one with its zero point), a twin quantizer two, its fine range c0 and its coarse
 * range c1, at most one of them non-zero. When the coarse step is 2^m fine steps ({@link #shift()}
 * m >= 0) a twin also has the <i>shift form</i>: one combined code {@code c0 + c1 * 2^m} in units
 * of {@code unit(0)}, one accumulation instead of two.
 *
 * <p>Every encode method returns false when the input holds a NaN or an infinity (the caller
 * reports it with the op id).
 */
public interface CodeForm {
    /** 1 or 2. */
    int components();

    /** The step of a component's codes. */
    float unit(int component);

    /** The integer subtracted from every component-0 code (an asymmetric quantizer's zero point), else 0. */
    default int zeroPoint() { return 0; }

    /** m of the shift form (coarse step = 2^m fine steps), or -1 when the form has none (one component: 0). */
    int shift();

    /**
     * The largest |c0|, |c1| as encoded (or, {@code combined}, |combined code|), for the int32 bound
     * of a sum: codes accumulate before the zero point's correction is subtracted.
     */
    long maxAbs(boolean combined);

    /** True when the component codes (before the zero point) fit int8, for the byte kernels. */
    boolean int8();

    /** True when the codes are one component of unsigned bytes (0..255, before the zero point), for the uint8 kernels. */
    default boolean uint8() { return false; }

    /** Component codes (c1 unused with one component). */
    boolean encode(float[] x, int off, int n, int[] c0, int[] c1, int dOff);

    /** Component codes as int8 ({@link #int8()} must hold). */
    boolean encode(float[] x, int off, int n, byte[] c0, byte[] c1, int dOff);

    /** The shift form's combined code (with one component: its codes). */
    boolean encodeCombined(float[] x, int off, int n, int[] c, int dOff);

    /** Component codes as floats (exact integers), for the code-product fake quant; throws, naming opId, on a non-finite input. */
    void encodeFloats(String opId, float[] x, int off, int n, float[] c0, float[] c1, int dOff);

    /**
     * One element's code as {@code vitq dump} stores it (docs/INTEGER_LAYOUT.md): a uniform code as
     * it is (an asymmetric code unsigned, its zero point included); a twin's k-bit layout of
     * ALGORITHMS section 6, {@code flag << (k-1) | magnitude}, the flag set when the coarse code is
     * non-zero (a zero reads the same in either range).
     *
     * @throws IllegalArgumentException when the components have no such code (a twin GELU magnitude
     *                                  of 2^(k-1): the layout's codes clamp at 2^(k-1) - 1)
     */
    default int storedCode(int c0, int c1) { return c0; }

    /** The bits a stored code needs, when more than the operand's {@code bits} (AdaLog's grid codes). */
    default int storedBits(int bits) { return bits; }

    /** How {@link #storedCode} reads back: "signed", "unsigned" (with {@link #zeroPoint()}), "twin-gelu", "twin-softmax" or "adalog-grid". */
    default String storedLayout() { return zeroPoint() == 0 ? "signed" : "unsigned"; }
}
