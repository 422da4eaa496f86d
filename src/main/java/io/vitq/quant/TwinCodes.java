package io.vitq.quant;

/**
 * The k-bit integer codes shared by both twin quantizers: the top bit {@code 2^(k-1)} says which
 * of the two ranges a value lies in, the low k-1 bits hold its magnitude there. Each quantizer
 * defines the code of one value; the array forms, with their checks, are written once here.
 */
public sealed interface TwinCodes permits TwinGeluQuantizer, TwinSoftmaxQuantizer {
    int bits();

    /** The code in [0, 2^k) of one finite value. */
    int encode(float x);

    /** The value of a code in [0, 2^k); an out-of-range code is an {@link IllegalArgumentException}. */
    float decode(int code);

    /** Codes as unsigned bytes (bits ≤ 8; read back with {@code & 0xFF}); a non-finite input names {@code opId}. */
    default void encode(String opId, float[] src, int srcOff, byte[] dst, int dstOff, int len) {
        QuantChecks.requireByteCodes(bits(), opId);
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(dst, dstOff, len);
        for (int i = 0; i < len; i++) {
            float x = src[srcOff + i];
            if (!Float.isFinite(x)) throw QuantChecks.nonFinite(opId, src, srcOff, len);
            dst[dstOff + i] = (byte) encode(x);
        }
    }

    /** Decodes unsigned byte codes. */
    default void decode(byte[] codes, int off, float[] dst, int dstOff, int len) {
        QuantChecks.range(codes, off, len);
        QuantChecks.range(dst, dstOff, len);
        for (int i = 0; i < len; i++) dst[dstOff + i] = decode(codes[off + i] & 0xFF);
    }
}
