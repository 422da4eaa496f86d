package io.vitq.quant;

import com.fasterxml.jackson.core.JsonGenerator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.util.List;

/**
 * AdaLog's adaptive-base logarithmic quantizer (docs/LOWBIT.md section 3.3), per tensor, for the
 * softmax probabilities (shift 0, scale 1) and the post-GELU inputs of fc2 (shift 0.16997, the
 * magnitude of GELU's minimum, so that the shifted values are positive). The base is
 * {@code 2^(q/37)}: code c stands for {@code scale · 2^(-c q / 37)}, with AdaLog's hardware table:
 * the fractional power {@code 2^(-j/37)}, {@code j = c q mod 37}, is stored rounded to a multiple of
 * {@code 1 / (2^(k+1) - 2)}, so a level is a table entry times a power of two,
 * {@code u_c = 2^(-⌊c q / 37⌋) · round(2^(-j/37) (2^(k+1) - 2)) / (2^(k+1) - 2)}, and the value is
 * {@code fl(fl(scale · u_c) - shift)}.
 *
 * <p>Codes (vitq's definition, exact in float, as {@link LogSqrt2Operand}'s): with
 * {@code y = fl(x + shift)}, c is the number of thresholds
 * {@code T_t = fl(scale · 2^(-(t + 1/2) q / 37))}, t in {@code 0 .. 2^k - 2}, with {@code y <= T_t}:
 * AdaLog's {@code round(-log2(y / scale) · 37 / q)}, clamped below at 0, with its half-way points
 * precomputed. Code {@code 2^k - 1} is zero (value {@code -shift}). [vitq] AdaLog keeps 2^k levels
 * and zeroes what falls below the smallest; here the zero is one of the 2^k codes.
 *
 * <p>Integer form: an approximation. An exact one would sum table entries shifted by exponents that
 * reach {@code ⌊(2^k - 2) q / 37⌋} bits (up to 55 at 4 bits), beyond the int8 and int32 runtimes.
 * Instead each level enters integer products as its nearest point of a G-bit grid over the
 * scale, G = 14 ({@link #gridBits}): code c becomes the signed grid code
 * {@code s_c = rint(u_c (2^G - 1)) - z}, {@code z = rint(shift / step)}, value {@code step · s_c}
 * with {@code step = fl(scale / (2^G - 1))}, within about a step of the level's value
 * ({@link AdaLogGridCodes}). The codes are AdaLog's (the same thresholds); only the values move,
 * by at most 1/2^(G+1) of the scale plus the shift's rounding. So integer execution and the
 * code-product fake quant run this grid form, and the default (dequantized) fake quant and the QDQ
 * export AdaLog's own levels (docs/LOWBIT.md 3.3 measures the difference). ONNX: the same codes from
 * {@link QdqGraph#thresholdSearch} (a logarithm corrected by one comparison, the thresholds being
 * geometric), bit-identical to the fake quant; where the export asks for integer forms
 * ({@link QdqGraph#integerForms}, {@code --integer-linears}) the grid's values instead, bit-identical
 * to the integer form's, a Linear's input as the grid code's two components.
 */
public record AdaLogOperand(int bits, int q, float scale, float shift) implements OperandQuant {
    public static final String KIND = "adalog";
    /** AdaLog's fixed numerator of the base exponent: base = 2^(q / R). */
    public static final int R = 37;
    /** AdaLog's base search range for q ({@code 10 .. 137}: its 128 candidates). */
    public static final int MIN_Q = 10, Q_CANDIDATES = 128;
    /** fc2's input shift: the magnitude of GELU's minimum, AdaLog's constant. */
    public static final float GELU_SHIFT = 0.16997124254703522f;
    /** The most bits: the zero code and the levels fit a byte. */
    public static final int MAX_BITS = 8;
    private static final int MAX_Q = 512;
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;

    public AdaLogOperand {
        QuantChecks.bits(bits, "adalog operand");
        if (bits > MAX_BITS) throw new IllegalArgumentException("adalog operand: " + bits + " bits (at most " + MAX_BITS + ")");
        if (q < 1 || q > MAX_Q) throw new IllegalArgumentException("adalog operand: q must be in 1.." + MAX_Q + ", got " + q);
        QuantChecks.scale("adalog operand scale", scale);
        if (!(shift >= 0f) || !Float.isFinite(shift)) throw new IllegalArgumentException("adalog operand: shift must be finite and >= 0, got " + shift);
    }

    /** The probabilities' quantizer: scale 1, no shift (AdaLog's post-softmax form). */
    public static AdaLogOperand probabilities(int bits, int q) { return new AdaLogOperand(bits, q, 1f, 0f); }

    /** The zero's code, 2^k - 1; the levels are the codes below it. */
    public int zeroCode() { return (1 << bits) - 1; }

    /** The table's denominator {@code 2^(k+1) - 2} (AdaLog's {@code 4 n_levels - 2}). */
    private int tableDenominator() { return (1 << (bits + 1)) - 2; }

    /** {@code u_c}, the level of code c before scale and shift (exact in double); 0 for the zero code. */
    public double unit(int c) {
        if (c < 0 || c > zeroCode()) throw new IllegalArgumentException("adalog: code " + c + " outside [0, " + zeroCode() + "]");
        if (c == zeroCode()) return 0;
        long cq = (long) c * q;
        double d = tableDenominator();
        double mantissa = Math.rint(Math.pow(2, -(double) (cq % R) / R) * d) / d;
        return Math.scalb(mantissa, -(int) (cq / R));
    }

    /** Code c's value {@code fl(fl(scale · u_c) - shift)} ({@code -shift} for the zero code). */
    public float value(int c) { return (float) ((float) (scale * unit(c)) - shift); }

    /** The values of every code, index = code. */
    public float[] values() {
        float[] v = new float[zeroCode() + 1];
        for (int c = 0; c < v.length; c++) v[c] = value(c);
        return v;
    }

    /** The thresholds {@code T_0 >= T_1 >= ...}: a shifted value at or below T_t has a code above t. */
    public float[] thresholds() {
        float[] t = new float[zeroCode()];
        for (int i = 0; i < t.length; i++) t[i] = (float) (scale * Math.pow(2, -(i + 0.5) * q / R));
        return t;
    }

    /** The code of a finite x (see the class comment). */
    public int code(float x) { return ThresholdTable.count(x + shift, thresholds()); }

    @Override
    public String quantizerName() { return KIND; }

    @Override
    public String displayName() { return "AdaLog"; }

    @Override
    public String refuses(OperandRole role) {
        return role == OperandRole.PROBABILITIES || role == OperandRole.LINEAR_INPUT ? null
                : "AdaLog's quantizer is for the softmax probabilities and Linear inputs (fc2's post-GELU input), not " + role;
    }

    /**
     * Fewest thresholds (6 bits) for which {@link #fakeQuant} looks the code up in a
     * {@link ThresholdTable} instead of walking the cascade: per value the table's three gathers
     * cost a little more than 31 compares and blends do ({@code AdaLogQuantBench}, one ViT-Ti fc2
     * input: at 5 bits the cascade 130 us against the table's 152, at 6 bits 268 against 153, at 8
     * bits 1099 against 156).
     */
    static final int TABLE_THRESHOLDS = 63;

    /**
     * The comparisons of the class comment, vectorised: below 6 bits every lane walks the whole
     * threshold cascade (2^k - 1 compares and blends, nothing branches on data); from 6 bits on, a
     * {@link ThresholdTable} finds the same code from the value's bits.
     */
    @Override
    public void fakeQuant(String opId, int scaleIndex, float[] src, int off, float[] dst, int dOff, int n) {
        lookUp(prepared(), opId, src, off, dst, dOff, n);
    }

    /** {@code dst[dOff + i] = p.values[code(src[off + i])]}, by p's table or its cascade; non-finite inputs throw, naming opId. */
    private void lookUp(Prepared p, String opId, float[] src, int off, float[] dst, int dOff, int n) {
        QuantChecks.range(src, off, n);
        QuantChecks.range(dst, dOff, n);
        QuantChecks.finiteBlocks(opId, src, off, n, (b, len) -> p.apply(src, off + b, dst, dOff + b, len));
    }

    /** What {@link #fakeQuant} computes once per quantizer: the thresholds, the values and the table. */
    private record Prepared(AdaLogOperand of, float[] thresholds, float[] values, ThresholdTable table) {
        /** {@code dst[dOff + i] = values[code(src[off + i])]} for finite inputs, by the table or the cascade. */
        void apply(float[] src, int off, float[] dst, int dOff, int n) {
            if (table != null) table.apply(src, off, of.shift, dst, dOff, n);
            else cascade(thresholds, values, of.shift, src, off, dst, dOff, n);
        }
    }

    /**
     * The calling thread's last quantizer prepared: fake quant runs row by row in evaluation (a
     * softmax row is 197 values), where preparing anew for each call cost more than the quantization.
     */
    private static final ThreadLocal<Prepared> PREPARED = new ThreadLocal<>();

    private Prepared prepared() { return prepared(PREPARED, this::values); }

    /** The calling thread's prepared form in {@code cache}, made anew (with these values per code) for another quantizer. */
    private Prepared prepared(ThreadLocal<Prepared> cache, java.util.function.Supplier<float[]> values) {
        Prepared p = cache.get();
        if (p != null && p.of.equals(this)) return p;
        float[] thr = thresholds(), val = values.get();
        p = new Prepared(this, thr, val, thr.length >= TABLE_THRESHOLDS ? ThresholdTable.of(thr, val) : null);
        cache.set(p);
        return p;
    }

    /** {@code dst[dOff + i] = val[code]} by comparing each value with every threshold. */
    static void cascade(float[] thr, float[] val, float shift, float[] src, int off, float[] dst, int dOff, int len) {
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += FS.length()) {
            FloatVector y = FloatVector.fromArray(FS, src, off + i).add(shift);
            FloatVector v = FloatVector.broadcast(FS, val[0]);
            for (int t = 0; t < thr.length; t++) v = v.blend(val[t + 1], y.compare(VectorOperators.LE, thr[t]));
            v.intoArray(dst, dOff + i);
        }
        for (; i < len; i++) dst[dOff + i] = val[ThresholdTable.count(src[off + i] + shift, thr)];
    }

    /** The bits of the integer form's grid, 14: the most that two int8 components hold (see the class comment). */
    public int gridBits() { return AdaLogGridCodes.GRID_BITS; }

    /** The integer form's step, {@code fl(scale / (2^G - 1))}. */
    public float gridStep() { return scale / (float) ((1 << gridBits()) - 1); }

    /** The integer form's zero, {@code rint(shift / step)}: the grid code of the value 0 before the shift. */
    public int gridZero() { return (int) Math.rint(shift / gridStep()); }

    /** The integer form's signed grid code of every AdaLog code, {@code s_c = rint(u_c (2^G - 1)) - z} (index = code). */
    public int[] gridCodes() {
        int top = (1 << gridBits()) - 1, z = gridZero();
        int[] s = new int[zeroCode() + 1];
        for (int c = 0; c < s.length; c++) s[c] = (int) Math.rint(unit(c) * top) - z;
        return s;
    }

    /** The grid form approximates the levels. */
    @Override
    public boolean codeFormExact() { return false; }

    /** Null, or why the grid form does not hold (a shift larger than the scale puts the zero off the grid). */
    @Override
    public String codeFormMissing() {
        return gridZero() < (1 << gridBits()) ? null : "AdaLog's quantizer with scale " + scale + " below its shift " + shift
                + " has no integer form in vitq (its grid would not reach the shifted zero)";
    }

    @Override
    public CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes) {
        if (codeFormMissing() != null) throw new IllegalArgumentException(opId + ": " + codeFormMissing());
        if (pre != 1f) throw new IllegalArgumentException(opId + ": AdaLog's quantizer takes no pre-scale");
        return new AdaLogGridCodes(opId, this);
    }

    /**
     * {@code dst[dOff + i] = gridCode(code(src[off + i]))} as floats (exact integers): the comparisons
     * of {@link #fakeQuant} with the grid codes in place of the values.
     */
    void gridCodes(String opId, float[] src, int off, float[] dst, int dOff, int n) {
        lookUp(preparedGrid(), opId, src, off, dst, dOff, n);
    }

    /** {@link #gridCodes} for finite inputs the caller has checked (no check here). */
    void gridCodesOfFinite(float[] src, int off, float[] dst, int n) { preparedGrid().apply(src, off, dst, 0, n); }

    private static final ThreadLocal<Prepared> PREPARED_GRID = new ThreadLocal<>();

    /** As {@link #prepared}, with the grid codes as the values. */
    private Prepared preparedGrid() {
        return prepared(PREPARED_GRID, () -> {
            int[] s = gridCodes();
            float[] val = new float[s.length];
            for (int c = 0; c < s.length; c++) val[c] = s[c];
            return val;
        });
    }

    /**
     * The same comparisons as {@link #fakeQuant}: {@link QdqGraph#thresholdSearch} with the shift,
     * of AdaLog's levels, or where the export asks for integer forms ({@link QdqGraph#integerForms})
     * and the grid holds, of the grid's values {@code step s_c} (those of the code-product fake quant).
     */
    @Override
    public String toOnnx(QdqGraph g, String x, String scope, int axis, int rank) {
        if (!onGrid(g)) return g.thresholdSearch(x, shift, thresholds(), values(), scope);
        int[] s = gridCodes();
        float[] v = new float[s.length];
        for (int c = 0; c < s.length; c++) v[c] = s[c] * gridStep();   // as a DequantizeLinear of the grid code computes it
        return g.thresholdSearch(x, shift, thresholds(), v, scope);
    }

    /**
     * As a Linear's input in the integer form ({@link QdqGraph#integerForms}, the grid holding): the
     * grid code's two components as lookups of the code ({@link #gridCodeTables}), each a product
     * that ONNX Runtime runs as an integer kernel. Otherwise {@link #toOnnx}, one part.
     */
    @Override
    public List<String> toOnnxParts(QdqGraph g, String x, String scope, int axis, int rank) {
        return onGrid(g) ? g.thresholdSearchParts(x, gridCodeTables(), scope) : List.of(toOnnx(g, x, scope, axis, rank));
    }

    @Override
    public CodeTables integerCodeTables() { return codeFormMissing() == null ? gridCodeTables() : null; }

    /**
     * The grid code's components ({@link AdaLogGridCodes}) as lookups of AdaLog's code:
     * {@code c0 = s & 127} with step {@code step} and {@code c1 = s >> 7} stored as {@code c1 + 128}
     * with step {@code 2^7 step} and zero point 128, whose sum is {@code step s}.
     */
    public CodeTables gridCodeTables() {
        if (codeFormMissing() != null) throw new IllegalStateException(codeFormMissing());
        AdaLogGridCodes form = new AdaLogGridCodes(KIND, this);
        int[] s = gridCodes(), low = new int[s.length], high = new int[s.length];
        for (int c = 0; c < s.length; c++) {
            low[c] = AdaLogGridCodes.low(s[c]);
            high[c] = AdaLogGridCodes.high(s[c]) + 128;
        }
        return new CodeTables(shift, thresholds(), new int[][] {low, high}, new float[] {form.unit(0), form.unit(1)}, new int[] {0, 128});
    }

    /** Whether the export takes the integer form's grid: asked for, and the grid holds. */
    private boolean onGrid(QdqGraph g) { return g.integerForms() && codeFormMissing() == null; }

    @Override
    public String summary() { return KIND + "/per-tensor"; }

    @Override
    public List<String> inspectCells() {
        return List.of(KIND, "per-tensor", Integer.toString(zeroCode()), "base 2^(" + q + "/" + R + "), scale " + Format.num(scale)
                + (shift != 0f ? ", shift " + Format.num(shift) : "") + "; code " + zeroCode() + " is zero");
    }

    @Override
    public void writeJson(JsonGenerator g) throws IOException {
        g.writeNumberField("q", q);
        g.writeNumberField("scale", scale);
        g.writeNumberField("shift", shift);
    }

    static AdaLogOperand fromJson(PlanFields f) {
        f.only(OperandQuant.fields("q", "scale", "shift"));
        int bits = f.integer("bits");
        int q = f.integer("q");
        float scale = f.number("scale");
        float shift = f.number("shift");
        return f.build(() -> new AdaLogOperand(bits, q, scale, shift));
    }
}
