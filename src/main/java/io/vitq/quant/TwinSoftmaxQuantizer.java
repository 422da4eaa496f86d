package io.vitq.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * PTQ4ViT's twin uniform quantizer for post-softmax probabilities (matmul2's A operand), unsigned.
 * With {@code L = 2^(k-1) - 1} and split {@code s = 2^-m}: the small range R1 = [0, s) has step
 * {@code Δ_R1 = s / L}, the large range R2 = [s, 1] has step {@code Δ_R2 = 1 / L}; so
 * {@code Δ_R2 / Δ_R1 = 2^m} and an integer runtime aligns R2 codes to R1 units by a left shift of m.
 *
 * <p>{@link Mode#CLEAN} (vitq's default, ALGORITHMS decision 2):
 * {@code x̂ = x < s ? clamp(rint(x / Δ_R1), 0, L) · Δ_R1 : clamp(rint(x · L), 0, L) / L}.
 * <br>{@link Mode#REFERENCE_QUIRK} reproduces the reference code, which adds both partial
 * quantizations: {@code hi = clamp(rint(L · min(max(x, s), 1)), 0, L) / L},
 * {@code lo = clamp(rint(min(max(x, 0), s) / Δ_R1), 0, L) · Δ_R1}, {@code x̂ = hi + lo}
 * (so values ≥ s carry a +s offset; 8 bit, s = 2^-4: 0 → 0.0630, 0.3 → 0.3617). Use it only to
 * compare with the published numbers; it has no integer code form.
 *
 * <p>Integer codes (ALGORITHMS section 6, generalised to k bits): the top bit {@code 2^(k-1)}
 * flags R2, the low k-1 bits hold the magnitude:
 * {@code code = x ≥ s ? FLAG | clamp(rint(x · L), 0, L) : clamp(rint(x / Δ_R1), 0, L)}.
 * {@code decode(encode(x))} equals the clean {@code fakeQuant(x)} bit for bit. Every code decodes
 * (R1 codes to {@code i · Δ_R1 ∈ [0, s]}, R2 codes to {@code i / L ∈ [0, 1]}), but the two grids
 * overlap, so {@code encode(decode(c)) == c} holds only for the canonical codes: every R1 code
 * whose value is below s (all but possibly the top one, whose value is s up to rounding), and
 * every R2 code whose value is at least s. The other codes are aliases that encode never
 * produces, except R1's top code, which inputs just below s round to.
 */
public final class TwinSoftmaxQuantizer implements TwinCodes {
    /** How values are fake-quantized; see the class comment. */
    public enum Mode { CLEAN, REFERENCE_QUIRK }

    /** Largest split exponent m accepted (the reference searches 0..19). */
    public static final int MAX_SPLIT_SHIFT = 30;

    private static final VectorSpecies<Float> FS = Rounding.FS;

    private final int bits, shift, flag;
    private final float split, levels, smallStep;
    private final Mode mode;

    /**
     * @param split s = 2^-m with m in 0..{@value #MAX_SPLIT_SHIFT}
     */
    public TwinSoftmaxQuantizer(int bits, float split, Mode mode) {
        this.bits = QuantChecks.bits(bits, "twin softmax quantizer");
        this.shift = splitShift(split);
        this.mode = java.util.Objects.requireNonNull(mode, "mode");
        this.split = split;
        this.flag = 1 << (bits - 1);
        this.levels = flag - 1;
        this.smallStep = split / levels; // s is a power of two, so this is exactly 2^-m · fl(1/L)
    }

    /** Clean-mode quantizer. */
    public TwinSoftmaxQuantizer(int bits, float split) { this(bits, split, Mode.CLEAN); }

    /** m such that split = 2^-m, or an exception when split is not such a power of two. */
    public static int splitShift(float split) {
        for (int m = 0; m <= MAX_SPLIT_SHIFT; m++)
            if (split == Math.scalb(1f, -m)) return m;
        throw new IllegalArgumentException("twin softmax split must be 2^-m with m in 0.." + MAX_SPLIT_SHIFT + ", got " + split);
    }

    @Override
    public int bits() { return bits; }

    public Mode mode() { return mode; }

    /** s. */
    public float split() { return split; }

    /** m = -log2(s): the left shift that aligns an R2 magnitude to R1 units. */
    public int shift() { return shift; }

    /** L = 2^(k-1) - 1, the largest magnitude in either range. */
    public int levels() { return (int) levels; }

    /** Δ_R1 = s / L. */
    public float smallStep() { return smallStep; }

    /** Δ_R2 = 1 / L (as a float; the quantizer itself divides by L). */
    public float largeStep() { return 1f / levels; }

    /** The R2 flag bit, {@code 2^(k-1)}. */
    public int rangeFlag() { return flag; }

    /** Quantize-dequantize one finite value. */
    public float fakeQuant(float x) {
        if (mode == Mode.CLEAN)
            return x < split ? Rounding.rintClamp(x / smallStep, 0f, levels) * smallStep
                    : Rounding.rintClamp(x * levels, 0f, levels) / levels;
        float hi = Rounding.rintClamp(Math.min(Math.max(x, split), 1f) * levels, 0f, levels) / levels;
        float lo = Rounding.rintClamp(Math.min(Math.max(x, 0f), split) / smallStep, 0f, levels) * smallStep;
        return hi + lo;
    }

    /** Vectorised fake quant, bit-identical to {@link #fakeQuant(float)}; dst may be src at the same offset. */
    public void fakeQuant(String opId, float[] src, int srcOff, float[] dst, int dstOff, int len) {
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(dst, dstOff, len);
        QuantChecks.finiteBlocks(opId, src, srcOff, len, (b, n) -> fakeQuantFinite(src, srcOff + b, dst, dstOff + b, n));
    }

    private void fakeQuantFinite(float[] src, int srcOff, float[] dst, int dstOff, int len) {
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += FS.length()) {
            FloatVector x = FloatVector.fromArray(FS, src, srcOff + i);
            FloatVector y;
            if (mode == Mode.CLEAN) {
                FloatVector lo = Rounding.rintClamp(x.div(smallStep), 0f, levels).mul(smallStep);
                FloatVector hi = Rounding.rintClamp(x.mul(levels), 0f, levels).div(levels);
                y = hi.blend(lo, x.lt(split));
            } else {
                FloatVector hi = Rounding.rintClamp(x.max(split).min(1f).mul(levels), 0f, levels).div(levels);
                FloatVector lo = Rounding.rintClamp(x.max(0f).min(split).div(smallStep), 0f, levels).mul(smallStep);
                y = hi.add(lo);
            }
            y.intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) dst[dstOff + i] = fakeQuant(src[srcOff + i]);
    }

    /**
     * The clean fake quant's factors as floats: {@code small[i] = clamp(rint(x / Δ_R1), 0, L)} and
     * {@code large[i] = 0} for {@code x < s}, else {@code small[i] = 0} and
     * {@code large[i] = clamp(rint(x · L), 0, L)} (exact integers, zero is +0): the magnitudes of
     * {@link #encode(float)} split by range. Clean mode only (the quirk has no such factors).
     */
    public void codeValues(String opId, float[] src, int srcOff, float[] small, float[] large, int dstOff, int len) {
        if (mode != Mode.CLEAN)
            throw new IllegalArgumentException(opId + ": twin softmax in quirk mode has no code form; use the clean mode");
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(small, dstOff, len);
        QuantChecks.range(large, dstOff, len);
        QuantChecks.finiteBlocks(opId, src, srcOff, len, (b, n) -> codeValuesFinite(src, srcOff + b, small, large, dstOff + b, n));
    }

    private void codeValuesFinite(float[] src, int srcOff, float[] small, float[] large, int dstOff, int len) {
        FloatVector zero = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += FS.length()) {
            FloatVector x = FloatVector.fromArray(FS, src, srcOff + i);
            var inSmall = x.lt(split);
            FloatVector lo = Rounding.rintClamp(x.div(smallStep), 0f, levels).add(0f);
            FloatVector hi = Rounding.rintClamp(x.mul(levels), 0f, levels).add(0f);
            zero.blend(lo, inSmall).intoArray(small, dstOff + i);
            hi.blend(zero, inSmall).intoArray(large, dstOff + i);
        }
        for (; i < len; i++) {
            float x = src[srcOff + i];
            boolean inSmall = x < split;
            small[dstOff + i] = inSmall ? Rounding.rintClamp(x / smallStep, 0f, levels) + 0f : 0f;
            large[dstOff + i] = inSmall ? 0f : Rounding.rintClamp(x * levels, 0f, levels) + 0f;
        }
    }

    /** The k-bit code of one finite value (clean layout, whatever the mode). */
    @Override
    public int encode(float x) {
        return x >= split ? flag | (int) Rounding.rintClamp(x * levels, 0f, levels)
                : (int) Rounding.rintClamp(x / smallStep, 0f, levels);
    }

    /** The value of a code in [0, 2^k). */
    @Override
    public float decode(int code) {
        if (code < 0 || code >= 2 * flag)
            throw new IllegalArgumentException("twin softmax code " + code + " is outside 0.." + (2 * flag - 1));
        int magnitude = code & (flag - 1);
        return (code & flag) != 0 ? magnitude / levels : magnitude * smallStep;
    }

    @Override
    public String toString() { return "twin-softmax int" + bits + " split 2^-" + shift + " " + mode; }
}
