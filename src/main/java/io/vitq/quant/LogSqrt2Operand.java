package io.vitq.quant;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.util.List;

/**
 * RepQ-ViT's log√2 quantizer for the softmax probabilities (matmul2's operand a), per tensor:
 * k-bit codes q whose levels are {@code δ · 2^(-q/2)}, two levels per octave below δ, so that the
 * many small probabilities keep their relative precision and the few large ones their reach
 * (docs/LOWBIT.md section 3.2).
 *
 * <p>Codes (vitq's definition, exact in float): q = 0 .. 2^k - 2 are the levels, code 2^k - 1 is
 * zero. q is RepQ-ViT's {@code rint(-2 log2(x / δ))}, computed by comparing x with the thresholds
 * between neighbouring levels, {@code T_t = fl(δ · 2^(-(2t+1)/4))}: q is the number of thresholds
 * t in {@code 0 .. 2^k - 2} with {@code x <= T_t}, so values above δ take δ, and values at or below
 * the last threshold (zero, denormals, negatives) take zero. [vitq] RepQ-ViT keeps 2^k levels and
 * maps everything below the smallest to zero, 2^k + 1 values in all; here the zero is one of the
 * 2^k codes. The odd levels are {@code fl(δ·√2) · 2^(-(q+1)/2)}, the even {@code δ · 2^(-q/2)}.
 *
 * <p>Integer form (k <= 4): two components, the even levels in units of {@code δ · 2^-M} and the
 * odd ones in units of {@code fl(δ·√2) · 2^-M}, each code a power of two {@code 2^(M - ⌈q/2⌉)},
 * M = 2^(k-1) - 1 (the smallest level's code is 1). A product with v's codes is then two integer
 * sums (the shifts RepQ-ViT deploys as bit shifts), each dequantized by its unit. At 4 bits the
 * largest code is 128, one past int8, so the runtime takes its int32 path; from 5 bits the codes
 * reach 2^15 and their sums leave float's exact integers, so vitq gives no integer form there.
 */
public record LogSqrt2Operand(int bits, float delta) implements OperandQuant {
    public static final String KIND = "log-sqrt2";
    /** The most bits: the zero code and the levels fit a byte. */
    public static final int MAX_BITS = 8;
    /** The most bits with an integer form (see the class comment). */
    public static final int MAX_INTEGER_BITS = 4;
    private static final double INV_LN2 = 1 / Math.log(2);

    public LogSqrt2Operand {
        QuantChecks.bits(bits, "log-sqrt2 operand");
        if (bits > MAX_BITS) throw new IllegalArgumentException("log-sqrt2 operand: " + bits + " bits (at most " + MAX_BITS + ")");
        QuantChecks.scale("log-sqrt2 operand delta", delta);
    }

    /** The zero's code, 2^k - 1; the levels are the codes below it. */
    public int zeroCode() { return (1 << bits) - 1; }

    /** {@code fl(δ·√2)}, the odd levels' base. */
    public float oddBase() { return (float) (delta * Math.sqrt(2)); }

    /** Level q (0 <= q < {@link #zeroCode()}), or 0 for the zero code. */
    public float level(int q) {
        if (q < 0 || q > zeroCode()) throw new IllegalArgumentException("log-sqrt2: code " + q + " outside [0, " + zeroCode() + "]");
        if (q == zeroCode()) return 0f;
        return (q & 1) == 0 ? Math.scalb(delta, -(q / 2)) : Math.scalb(oddBase(), -((q + 1) / 2));
    }

    /** The thresholds {@code T_0 > T_1 > ...}, one per level: x <= T_t moves x below level t. */
    public float[] thresholds() {
        float[] t = new float[zeroCode()];
        for (int i = 0; i < t.length; i++) t[i] = (float) (delta * Math.pow(2, -(2 * i + 1) / 4.0));
        return t;
    }

    /** The code of a finite x (see the class comment). */
    static int code(float x, float delta, float[] thr) {
        int zero = thr.length;
        if (!(x > thr[zero - 1])) return zero;
        if (x > thr[0]) return 0;
        int q = (int) Math.rint(-2 * Math.log(x / delta) * INV_LN2);  // a guess within one of the answer
        q = Math.max(1, Math.min(zero - 1, q));
        while (q > 0 && x > thr[q - 1]) q--;
        while (q < zero && x <= thr[q]) q++;
        return q;
    }

    /** The codes of {@code n} values into {@code dst[dOff..]}; a non-finite input is an error naming opId. */
    public void codes(String opId, float[] src, int off, int[] dst, int dOff, int n) {
        QuantChecks.range(src, off, n);
        float[] thr = thresholds();
        for (int i = 0; i < n; i++) {
            float x = src[off + i];
            if (!Float.isFinite(x)) throw QuantChecks.nonFinite(opId, src, off, n);
            dst[dOff + i] = code(x, delta, thr);
        }
    }

    @Override
    public String quantizerName() { return KIND; }

    @Override
    public String displayName() { return "log-sqrt2"; }

    @Override
    public String refuses(OperandRole role) {
        return role == OperandRole.PROBABILITIES ? null : "log-sqrt2 is for matmul2's probabilities, not " + role;
    }

    @Override
    public void fakeQuant(String opId, int scaleIndex, float[] src, int off, float[] dst, int dOff, int n) {
        QuantChecks.range(src, off, n);
        QuantChecks.range(dst, dOff, n);
        float[] thr = thresholds();
        float[] lv = new float[zeroCode() + 1];
        for (int q = 0; q < lv.length; q++) lv[q] = level(q);
        for (int i = 0; i < n; i++) {
            float x = src[off + i];
            if (!Float.isFinite(x)) throw QuantChecks.nonFinite(opId, src, off, n);
            dst[dOff + i] = lv[code(x, delta, thr)];
        }
    }

    @Override
    public String codeFormMissing() {
        return bits <= MAX_INTEGER_BITS ? null : "log-sqrt2 at " + bits + " bits has no integer form in vitq: its levels span 2^-"
                + (zeroCode() - 1) / 2 + " of delta, so its integer codes reach 2^" + (zeroCode() - 1) / 2
                + " and their products leave float's exact integers (the integer form covers at most " + MAX_INTEGER_BITS + " bits)";
    }

    @Override
    public CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes) {
        if (codeFormMissing() != null) throw new IllegalArgumentException(opId + ": " + codeFormMissing());
        if (pre != 1f) throw new IllegalArgumentException(opId + ": log-sqrt2 takes no pre-scale");
        return new Codes(opId);
    }

    /** The two-component integer form of the class comment. */
    private final class Codes implements CodeForm {
        private final String opId;
        private final int m = (zeroCode() - 1) / 2;
        private final float[] thr = thresholds();

        Codes(String opId) { this.opId = opId; }

        @Override public int components() { return 2; }

        @Override public float unit(int c) { return Math.scalb(c == 0 ? delta : oddBase(), -m); }

        @Override public int shift() { return -1; }

        @Override public long maxAbs(boolean combined) { return 1L << m; }

        @Override public boolean int8() { return (1L << m) <= Byte.MAX_VALUE; }

        /** Code q's component magnitude {@code 2^(M - ⌈q/2⌉)} (even q: c0, odd q: c1), 0 for the zero code. */
        private int magnitude(int q) { return q == zeroCode() ? 0 : 1 << (m - (q + 1) / 2); }

        @Override
        public boolean encode(float[] x, int off, int n, int[] c0, int[] c1, int dOff) {
            for (int i = 0; i < n; i++) {
                float v = x[off + i];
                if (!Float.isFinite(v)) return false;
                int q = code(v, delta, thr), c = magnitude(q);
                c0[dOff + i] = (q & 1) == 0 ? c : 0;
                c1[dOff + i] = (q & 1) == 1 ? c : 0;
            }
            return true;
        }

        @Override
        public boolean encode(float[] x, int off, int n, byte[] c0, byte[] c1, int dOff) {
            if (!int8()) throw new IllegalStateException(opId + ": log-sqrt2 codes at " + bits + " bits do not fit int8");
            for (int i = 0; i < n; i++) {
                float v = x[off + i];
                if (!Float.isFinite(v)) return false;
                int q = code(v, delta, thr), c = magnitude(q);
                c0[dOff + i] = (byte) ((q & 1) == 0 ? c : 0);
                c1[dOff + i] = (byte) ((q & 1) == 1 ? c : 0);
            }
            return true;
        }

        @Override
        public boolean encodeCombined(float[] x, int off, int n, int[] c, int dOff) {
            throw new IllegalStateException(opId + ": log-sqrt2 has no shift form (its two units differ by √2)");
        }

        @Override
        public void encodeFloats(String id, float[] x, int off, int n, float[] c0, float[] c1, int dOff) {
            for (int i = 0; i < n; i++) {
                float v = x[off + i];
                if (!Float.isFinite(v)) throw QuantChecks.nonFinite(id, x, off, n);
                int q = code(v, delta, thr), c = magnitude(q);
                c0[dOff + i] = (q & 1) == 0 ? c : 0;
                c1[dOff + i] = (q & 1) == 1 ? c : 0;
            }
        }

        /** The k-bit code q: from the even component {@code 2^(M - q/2)}, else the odd one; both zero is the zero code. */
        @Override
        public int storedCode(int c0, int c1) {
            if (c0 != 0) return 2 * (m - Integer.numberOfTrailingZeros(c0));
            if (c1 != 0) return 2 * (m - Integer.numberOfTrailingZeros(c1)) - 1;
            return zeroCode();
        }

        @Override public String storedLayout() { return KIND; }
    }

    /** The same comparisons as {@link #fakeQuant}: {@link QdqGraph#thresholdSearch} on the thresholds and levels. */
    @Override
    public String toOnnx(QdqGraph g, String x, String scope, int axis, int rank) {
        float[] levels = new float[zeroCode() + 1];
        for (int q = 0; q < levels.length; q++) levels[q] = level(q);
        return g.thresholdSearch(x, 0f, thresholds(), levels, scope);
    }

    @Override
    public String summary() { return KIND + "/per-tensor"; }

    @Override
    public List<String> inspectCells() {
        return List.of(KIND, "per-tensor", Integer.toString(zeroCode()), "delta " + Format.num(delta) + ", levels delta * 2^(-q/2), q < "
                + zeroCode() + "; code " + zeroCode() + " is zero");
    }

    @Override
    public void writeJson(JsonGenerator g) throws IOException {
        g.writeNumberField("delta", delta);
    }

    static LogSqrt2Operand fromJson(PlanFields f) {
        f.only(OperandQuant.fields("delta"));
        int bits = f.integer("bits");
        float delta = f.number("delta");
        return f.build(() -> new LogSqrt2Operand(bits, delta));
    }
}
