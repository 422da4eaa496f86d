package io.vitq.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Signed symmetric uniform quantizer with zero-point 0 (the quantizer of every weight and every
 * ordinary activation in BasePTQ and PTQ4ViT):
 * {@code q = clamp(rint(x / scale), -2^(k-1), 2^(k-1) - 1)}, {@code x̂ = q · scale}.
 *
 * <p>Exactness conventions, as the reference (PyTorch) computes them: {@code x / scale} is a float
 * division (not a multiplication by {@code 1/scale}, which differs in the last bit), rounding is
 * half to even ({@link Math#rint}, never {@link Math#round}), and the product is a float product.
 * The vectorised array methods give bit-identical results to the scalar {@link #fakeQuant(float, float)}.
 *
 * <p>Scales must be positive and finite, inputs finite: anything else is an
 * {@link IllegalArgumentException} naming the op (the check costs one multiply-add per element).
 * The quantizer is stateless apart from its bit width; the scale is an argument because one
 * tensor uses several scales (per channel, block or head) and the calibration tries many.
 *
 * <p>A weight's quantizer may restrict its codes to a table of levels ({@link UniformOperand#levels()},
 * docs/LOWBIT.md section 1.2): the code of x is then the level nearest {@code x / scale} (a tie to the
 * lower level), and a zero code is +0. Those paths are scalar: a weight is quantized once.
 *
 * <p>Or it may code values two at a time on a table of pairs ({@link CodePairs}, docs/LOWBIT.md section
 * 1.3): the array methods then take ranges of an even length, values {@code 2m} and {@code 2m + 1} of
 * the range coded as the pair nearest {@code (x_2m / scale, x_2m+1 / scale)}, both divisions in double.
 * A single value has no code of its own there: {@link #code}, {@link #fakeQuant(float, float)} and
 * {@link #roundCode} refuse.
 */
public final class UniformQuantizer {
    private static final VectorSpecies<Float> FS = Rounding.FS;

    private final int bits;
    private final float minCode, maxCode;
    private final int[] levels;   // the allowed codes, ascending, or null (every code in range)
    private final CodePairs pairs;   // the allowed pairs of codes, or null (each value coded alone)

    /** @param bits 2..16 (2..8 for the published settings; more for mixed precision) */
    public UniformQuantizer(int bits) {
        this(bits, -(1 << (bits - 1)), (1 << (bits - 1)) - 1);
    }

    /**
     * Codes clamped to {@code [minCode, maxCode]} instead of the signed k-bit range: an asymmetric
     * quantizer's codes relative to its zero point z are {@code [-z, 2^k - 1 - z]}.
     */
    UniformQuantizer(int bits, int minCode, int maxCode) {
        this.bits = QuantChecks.bits(bits, "uniform quantizer");
        if (minCode > 0 || maxCode < 0 || minCode < -(1 << 15) || maxCode > (1 << 15))
            throw new IllegalArgumentException("code range [" + minCode + ", " + maxCode + "] must hold 0 and stay within 2^15");
        this.minCode = minCode;
        this.maxCode = maxCode;
        this.levels = null;
        this.pairs = null;
    }

    /** Codes restricted to {@code levels} (ascending, distinct, holding 0 between the first and the last; not copied). */
    UniformQuantizer(int bits, int[] levels) {
        this.bits = QuantChecks.bits(bits, "uniform quantizer");
        if (levels.length < 2 || levels[0] > 0 || levels[levels.length - 1] < 0)
            throw new IllegalArgumentException("levels " + java.util.Arrays.toString(levels) + " must be at least two around 0");
        this.minCode = levels[0];
        this.maxCode = levels[levels.length - 1];
        this.levels = levels;
        this.pairs = null;
    }

    /** Values coded two at a time on {@code pairs} (their codes' range is the table's). */
    UniformQuantizer(CodePairs pairs) {
        this.bits = pairs.bits();
        this.minCode = Math.min(0, pairs.minCode());
        this.maxCode = Math.max(0, pairs.maxCode());
        this.levels = null;
        this.pairs = pairs;
    }

    /** The table of pairs, or null when each value is coded alone. */
    public CodePairs pairs() { return pairs; }

    /** The level nearest {@code v} (a tie to the lower one). */
    private static int nearestLevel(int[] levels, double v) {
        int lo = 0, hi = levels.length - 1;
        if (!(v > levels[lo])) return levels[lo];
        if (v >= levels[hi]) return levels[hi];
        while (hi - lo > 1) {   // levels[lo] < v < levels[hi]
            int mid = (lo + hi) >>> 1;
            if (levels[mid] <= v) lo = mid; else hi = mid;
        }
        return v - levels[lo] <= levels[hi] - v ? levels[lo] : levels[hi];
    }

    /**
     * The code of a value already divided by its scale, in double ({@code clamp(rint(v))}, or the
     * nearest level): GPTQ's rounding, which carries its error feedback in double.
     */
    public double roundCode(double v) {
        requireSingle();
        return levels != null ? nearestLevel(levels, v) : Math.min(Math.max(Math.rint(v), minCode), maxCode);
    }

    public int bits() { return bits; }

    /** {@code -2^(k-1)}. */
    public int minCode() { return (int) minCode; }

    /** {@code 2^(k-1) - 1}. */
    public int maxCode() { return (int) maxCode; }

    /** Validates a scale, with the op id in the message. */
    public static float checkScale(String opId, float scale) { return QuantChecks.scale(opId, scale); }

    /** The integer code of one finite value (scale is not checked here: hot path). */
    public int code(float x, float scale) { return (int) codeValue(x, scale); }

    /** The code as a float: {@code clamp(rint(x / scale))} with the sign of a zero kept, or the nearest level. */
    private float codeValue(float x, float scale) {
        requireSingle();
        return levels != null ? nearestLevel(levels, x / scale) : Rounding.rintClamp(x / scale, minCode, maxCode);
    }

    private void requireSingle() {
        if (pairs != null) throw new IllegalStateException("a table of pairs codes values two at a time, not one");
    }

    /**
     * The codes of {@code src[off .. off + len)} on the table of pairs, after the caller's scale and range
     * checks: a range of an even length of finite values, else an error naming {@code opId}.
     */
    private int[] pairCodes(String opId, float scale, float[] src, int off, int len) {
        if (len % 2 != 0)
            throw new IllegalArgumentException(opId + ": a table of code pairs codes rows of an even length, got " + len + " values");
        for (int i = 0; i < len; i++) if (!Float.isFinite(src[off + i])) throw QuantChecks.nonFinite(opId, src, off, len);
        int[] c = new int[len];
        for (int i = 0; i < len; i += 2) {
            int p = pairs.nearest(src[off + i] / (double) scale, src[off + i + 1] / (double) scale);
            c[i] = pairs.first(p);
            c[i + 1] = pairs.second(p);
        }
        return c;
    }

    /** Quantize-dequantize one finite value (scale is not checked here: hot path). */
    public float fakeQuant(float x, float scale) { return codeValue(x, scale) * scale; }

    /** The value a code stands for. */
    public float decode(int code, float scale) { return code * scale; }

    /**
     * {@code dst[dstOff + i] = fakeQuant(src[srcOff + i], scale)} for i in [0, len), vectorised.
     * {@code dst} may be {@code src} at the same offset (in place); other overlaps are not allowed.
     * Inputs are checked block by block before the block is written: after an error, elements of
     * earlier blocks may already be quantized.
     */
    public void fakeQuant(String opId, float scale, float[] src, int srcOff, float[] dst, int dstOff, int len) {
        QuantChecks.scale(opId, scale);
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(dst, dstOff, len);
        if (pairs != null) {
            int[] c = pairCodes(opId, scale, src, srcOff, len);
            for (int i = 0; i < len; i++) dst[dstOff + i] = c[i] * scale;
            return;
        }
        QuantChecks.finiteBlocks(opId, src, srcOff, len, (b, n) -> fakeQuantFinite(scale, src, srcOff + b, dst, dstOff + b, n));
    }

    private void fakeQuantFinite(float scale, float[] src, int srcOff, float[] dst, int dstOff, int len) {
        int i = 0, upper = levels != null ? 0 : FS.loopBound(len);
        for (; i < upper; i += FS.length()) {
            FloatVector x = FloatVector.fromArray(FS, src, srcOff + i);
            Rounding.rintClamp(x.div(scale), minCode, maxCode).mul(scale).intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) dst[dstOff + i] = fakeQuant(src[srcOff + i], scale);
    }

    /**
     * The codes as floats, {@code dst[dstOff + i] = clamp(rint(src[srcOff + i] / scale))}: exact
     * integers (zero is +0), bit for bit the factor that {@link #fakeQuant(float, float)} multiplies
     * by the scale. Same checks and overlap rules as the fake quant.
     */
    public void codeValues(String opId, float scale, float[] src, int srcOff, float[] dst, int dstOff, int len) {
        QuantChecks.scale(opId, scale);
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(dst, dstOff, len);
        if (pairs != null) {
            int[] c = pairCodes(opId, scale, src, srcOff, len);
            for (int i = 0; i < len; i++) dst[dstOff + i] = c[i];
            return;
        }
        QuantChecks.finiteBlocks(opId, src, srcOff, len, (b, n) -> codeValuesFinite(scale, src, srcOff + b, dst, dstOff + b, n));
    }

    private void codeValuesFinite(float scale, float[] src, int srcOff, float[] dst, int dstOff, int len) {
        int i = 0, upper = levels != null ? 0 : FS.loopBound(len);
        for (; i < upper; i += FS.length()) {
            FloatVector x = FloatVector.fromArray(FS, src, srcOff + i);
            Rounding.rintClamp(x.div(scale), minCode, maxCode).add(0f).intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) dst[dstOff + i] = codeValue(src[srcOff + i], scale) + 0f;
    }

    /** In-place form of {@link #fakeQuant(String, float, float[], int, float[], int, int)}. */
    public void fakeQuantInPlace(String opId, float scale, float[] x, int off, int len) {
        fakeQuant(opId, scale, x, off, x, off, len);
    }

    /** Scalar reference of the array method (same checks); the tests hold the vector path to it. */
    void fakeQuantScalar(String opId, float scale, float[] src, int srcOff, float[] dst, int dstOff, int len) {
        QuantChecks.scale(opId, scale);
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(dst, dstOff, len);
        for (int i = 0; i < len; i++) {
            float x = src[srcOff + i];
            if (!Float.isFinite(x)) throw QuantChecks.nonFinite(opId, src, srcOff, len);
            dst[dstOff + i] = fakeQuant(x, scale);
        }
    }

    /** Integer codes as signed bytes (bits ≤ 8). */
    public void codes(String opId, float scale, float[] src, int srcOff, byte[] dst, int dstOff, int len) {
        QuantChecks.requireByteCodes(bits, opId);
        QuantChecks.scale(opId, scale);
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(dst, dstOff, len);
        if (pairs != null) {
            int[] c = pairCodes(opId, scale, src, srcOff, len);
            for (int i = 0; i < len; i++) dst[dstOff + i] = (byte) c[i];
            return;
        }
        if (levels != null) {
            for (int i = 0; i < len; i++) {
                float x = src[srcOff + i];
                if (!Float.isFinite(x)) throw QuantChecks.nonFinite(opId, src, srcOff, len);
                dst[dstOff + i] = (byte) code(x, scale);
            }
            return;
        }
        // the activations' vectorized encoder: the same rint(x / s) clamped (a weight quantized per
        // candidate during calibration made the scalar loop a fifth of the search's time)
        if (!ActivationCodes.uniform(src, srcOff, len, 1f, scale, minCode, maxCode, dst, dstOff))
            throw QuantChecks.nonFinite(opId, src, srcOff, len);
    }

    /** Integer codes as signed shorts (any bit width up to 16). */
    public void codes(String opId, float scale, float[] src, int srcOff, short[] dst, int dstOff, int len) {
        QuantChecks.scale(opId, scale);
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(dst, dstOff, len);
        if (pairs != null) {
            int[] c = pairCodes(opId, scale, src, srcOff, len);
            for (int i = 0; i < len; i++) dst[dstOff + i] = (short) c[i];
            return;
        }
        for (int i = 0; i < len; i++) {
            float x = src[srcOff + i];
            if (!Float.isFinite(x)) throw QuantChecks.nonFinite(opId, src, srcOff, len);
            dst[dstOff + i] = (short) code(x, scale);
        }
    }

    /** {@code dst[i] = codes[i] · scale}. */
    public void decode(String opId, float scale, byte[] codes, int off, float[] dst, int dstOff, int len) {
        QuantChecks.scale(opId, scale);
        QuantChecks.range(codes, off, len);
        QuantChecks.range(dst, dstOff, len);
        for (int i = 0; i < len; i++) dst[dstOff + i] = codes[off + i] * scale;
    }

    @Override
    public String toString() {
        return "uniform int" + bits + (levels != null ? " levels " + java.util.Arrays.toString(levels) : "") + (pairs != null ? " " + pairs : "");
    }
}
