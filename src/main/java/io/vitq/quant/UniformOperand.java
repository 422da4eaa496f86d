package io.vitq.quant;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.util.Arrays;

/**
 * The signed symmetric uniform quantizer ({@link UniformQuantizer}: {@code clamp(rint(x / s),
 * -2^(k-1), 2^(k-1) - 1) * s}) with its granularity and scales: 1 scale per tensor, one per output
 * channel, one per row block, or one per head. It quantizes every kind of operand; its integer form
 * is its codes, one component.
 *
 * <p>A weight may also be asymmetric, with a zero point z per scale ({@code zeroPoints}, else null):
 * the unsigned k-bit codes {@code q = clamp(rint(w / s) + z, 0, 2^k - 1)} dequantize to
 * {@code (q - z) s}, which is the same step with the signed codes {@code c = q - z} clamped to
 * {@code [-z, 2^k - 1 - z]}. vitq stores and multiplies those codes c: below 8 bits they fit a
 * signed byte, so the integer products, the model file and the ONNX export need no zero-point
 * correction (the range of c is wider than k bits, not the arithmetic).
 *
 * <p>A weight below 8 bits may instead restrict its codes to a table of at most 2^k levels on the signed
 * 8-bit grid ({@code levels}, else null; docs/LOWBIT.md section 1.2): each weight is the level nearest
 * {@code w / s} times its row's step s. The codes are those levels, so products, files and exports
 * handle them as 8-bit codes; the model file stores each weight's k-bit index into the table.
 *
 * <p>Or a weight below 8 bits may code its columns two at a time on a table of at most 2^(2k) pairs of
 * 8-bit codes ({@code pairs}, else null; {@link CodePairs}, docs/LOWBIT.md section 1.3): columns 2m and
 * 2m + 1 of a row are the pair nearest {@code (w_2m / s, w_2m+1 / s)} times the row's step. Its rows must
 * have an even length; products, files and exports again see 8-bit codes, and the model file stores a
 * 2k-bit index per pair.
 */
public record UniformOperand(int bits, Granularity granularity, float[] scales, int[] zeroPoints, int[] levels, CodePairs pairs)
        implements OperandQuant {
    public static final String KIND = "uniform";
    /** Asymmetric weights only below this many bits: their codes c = q - z must fit a signed byte. */
    public static final int MAX_ASYMMETRIC_BITS = 7;

    public UniformOperand {
        QuantChecks.bits(bits, "uniform operand");
        if (granularity == null) throw new IllegalArgumentException("uniform operand: granularity missing");
        if (scales == null || scales.length == 0) throw new IllegalArgumentException("uniform operand: no scales");
        if (granularity == Granularity.PER_TENSOR && scales.length != 1)
            throw new IllegalArgumentException("uniform operand: per-tensor needs 1 scale, got " + scales.length);
        scales = scales.clone();
        QuantChecks.scales("uniform operand", scales);
        if (zeroPoints != null) {
            if (bits > MAX_ASYMMETRIC_BITS)
                throw new IllegalArgumentException("uniform operand: zero points at " + bits + " bits (asymmetric weights: at most "
                        + MAX_ASYMMETRIC_BITS + " bits, so that their codes fit a signed byte)");
            if (!granularity.appliesToRows())
                throw new IllegalArgumentException("uniform operand: zero points are for weights, not " + granularity.jsonName() + " operands");
            if (zeroPoints.length != scales.length)
                throw new IllegalArgumentException("uniform operand: " + zeroPoints.length + " zero points for " + scales.length + " scales");
            for (int z : zeroPoints)
                if (z < 0 || z > (1 << bits) - 1)
                    throw new IllegalArgumentException("uniform operand: zero point " + z + " outside [0, " + ((1 << bits) - 1) + "]");
            zeroPoints = zeroPoints.clone();
        }
        if (levels != null) {
            String why = levelsRefused(bits, levels);
            if (why != null) throw new IllegalArgumentException("uniform operand: " + why);
            if (zeroPoints != null) throw new IllegalArgumentException("uniform operand: levels and zero points together");
            if (!granularity.appliesToRows())
                throw new IllegalArgumentException("uniform operand: levels are for weights, not " + granularity.jsonName() + " operands");
            levels = levels.clone();
        }
        if (pairs != null) {
            if (pairs.bits() != bits)
                throw new IllegalArgumentException("uniform operand: a table of pairs for " + pairs.bits() + "-bit weights at " + bits + " bits");
            if (zeroPoints != null || levels != null)
                throw new IllegalArgumentException("uniform operand: pairs with " + (levels != null ? "levels" : "zero points"));
            if (!granularity.appliesToRows())
                throw new IllegalArgumentException("uniform operand: pairs are for weights, not " + granularity.jsonName() + " operands");
        }
    }

    /** Why {@code levels} cannot be a k-bit weight's table, or null. */
    private static String levelsRefused(int bits, int[] levels) {
        if (bits >= 8) return "levels at " + bits + " bits (a table of levels is for weights below 8 bits)";
        if (levels.length < 2 || levels.length > 1 << bits)
            return levels.length + " levels for " + bits + "-bit indices (2 to " + (1 << bits) + ")";
        for (int i = 0; i < levels.length; i++) {
            if (levels[i] < -128 || levels[i] > 127) return "level " + levels[i] + " outside the 8-bit grid [-128, 127]";
            if (i > 0 && levels[i] <= levels[i - 1]) return "levels " + Arrays.toString(levels) + " are not strictly ascending";
        }
        if (levels[0] > 0 || levels[levels.length - 1] < 0) return "levels " + Arrays.toString(levels) + " do not surround 0";
        return null;
    }

    /** A uniform quantizer, symmetric or with zero points. */
    public UniformOperand(int bits, Granularity granularity, float[] scales, int[] zeroPoints) {
        this(bits, granularity, scales, zeroPoints, null, null);
    }

    /** The symmetric quantizer. */
    public UniformOperand(int bits, Granularity granularity, float[] scales) { this(bits, granularity, scales, null, null, null); }

    /** A weight's k-bit levels on the 8-bit grid with a step per row (or per scale of {@code granularity}). */
    public static UniformOperand withLevels(int bits, Granularity granularity, float[] scales, int[] levels) {
        return new UniformOperand(bits, granularity, scales, null, java.util.Objects.requireNonNull(levels, "levels"), null);
    }

    /** A weight's columns coded two at a time on a table of {@code pairs} with a step per row (or per scale of {@code granularity}). */
    public static UniformOperand withPairs(int bits, Granularity granularity, float[] scales, CodePairs pairs) {
        return new UniformOperand(bits, granularity, scales, null, null, java.util.Objects.requireNonNull(pairs, "pairs"));
    }

    /** One per-tensor scale. */
    public static UniformOperand perTensor(int bits, float scale) {
        return new UniformOperand(bits, Granularity.PER_TENSOR, new float[] {scale});
    }

    @Override
    public String quantizerName() { return KIND; }

    @Override
    public String displayName() { return "uniform"; }

    /** True when the weight has zero points. */
    public boolean asymmetric() { return zeroPoints != null; }

    /** A copy of the table of levels, or null (every code of the k-bit range). */
    public int[] levels() { return levels == null ? null : levels.clone(); }

    /** True when the codes are restricted to a table of levels. */
    public boolean hasLevels() { return levels != null; }

    /** True when the columns are coded two at a time on a table of pairs. */
    public boolean hasPairs() { return pairs != null; }

    /** The index of code {@code code} in the table of levels, or -1 when it is not a level. */
    public int levelIndex(int code) {
        int i = Arrays.binarySearch(levels, code);
        return i >= 0 ? i : -1;
    }

    /** A copy of the zero points, or null (symmetric). */
    @Override
    public int[] zeroPoints() { return zeroPoints == null ? null : zeroPoints.clone(); }

    /** The zero point of scale {@code i} (0 when symmetric: the codes are then the signed k-bit range). */
    public int zeroPoint(int i) { return zeroPoints == null ? 0 : zeroPoints[i]; }

    /**
     * The bound on |code| that integer-overflow checks use: 2^(k-1), or 2^k - 1 when asymmetric
     * (whatever the zero points: a search scoring some of the rows must pick the form the whole op
     * gets).
     */
    public long maxAbsCode() {
        if (levels != null) return Math.max(-levels[0], levels[levels.length - 1]);
        if (pairs != null) return Math.max(-pairs.minCode(), pairs.maxCode());
        return zeroPoints == null ? 1L << (bits - 1) : (1L << bits) - 1;
    }

    @Override
    public String refuses(OperandRole role) {
        if (zeroPoints != null && role != OperandRole.WEIGHT) return "zero points are for weights, not a " + role;
        if (levels != null && role != OperandRole.WEIGHT) return "levels are for weights, not a " + role;
        if (pairs != null && role != OperandRole.WEIGHT) return "pairs are for weights, not a " + role;
        return switch (role) {
            case WEIGHT -> granularity.appliesToRows() ? null
                    : "weight granularity " + granularity.jsonName() + " does not apply to weight rows";
            case LINEAR_INPUT -> granularity == Granularity.PER_TENSOR ? null
                    : "a uniform Linear input must be per-tensor, got " + granularity.jsonName();
            case HEAD_OPERAND, PROBABILITIES -> granularity == Granularity.PER_HEAD || granularity == Granularity.PER_TENSOR
                    ? null : "a matmul operand must be per-head or per-tensor, got " + granularity.jsonName();
        };
    }

    /** The scale of head {@code h} (a per-head operand) or the tensor's. */
    private float scaleOf(int h) { return granularity == Granularity.PER_HEAD ? scales[h] : scales[0]; }

    @Override
    public void fakeQuant(String opId, int scaleIndex, float[] src, int off, float[] dst, int dOff, int n) {
        int i = granularity == Granularity.PER_HEAD ? scaleIndex : 0;   // as scaleOf: the head's scale, else the first
        quantizer(i).fakeQuant(opId, scales[i], src, off, dst, dOff, n);
    }

    @Override
    public CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes) {
        if (zeroPoints != null || levels != null || pairs != null)
            throw new IllegalArgumentException(opId + ": " + weightForm() + " weight codes are not an activation's code form");
        UniformQuantizer q = quantizer();
        float step = scaleOf(scaleIndex), lo = q.minCode(), hi = q.maxCode();
        boolean int8 = bits <= 8;
        return new CodeForm() {
            @Override public int components() { return 1; }

            @Override public float unit(int c) { return step; }

            @Override public int shift() { return 0; }

            @Override public long maxAbs(boolean combined) { return 1L << (bits - 1); }

            @Override public boolean int8() { return int8; }

            @Override
            public boolean encode(float[] x, int off, int n, int[] c0, int[] c1, int dOff) {
                return ActivationCodes.uniform(x, off, n, pre, step, lo, hi, c0, dOff);
            }

            @Override
            public boolean encode(float[] x, int off, int n, byte[] c0, byte[] c1, int dOff) {
                return ActivationCodes.uniform(x, off, n, pre, step, lo, hi, c0, dOff);
            }

            @Override
            public boolean encodeCombined(float[] x, int off, int n, int[] c, int dOff) { return encode(x, off, n, c, null, dOff); }

            @Override
            public void encodeFloats(String id, float[] x, int off, int n, float[] c0, float[] c1, int dOff) {
                if (pre != 1f) throw new IllegalArgumentException(id + ": pre-scaled code values are not implemented");
                q.codeValues(id, step, x, off, c0, dOff, n);
            }
        };
    }

    @Override
    public String toOnnx(QdqGraph g, String x, String scope, int axis, int rank) {
        if (zeroPoints != null || levels != null || pairs != null)
            throw new IllegalArgumentException(scope + ": " + weightForm() + " weights are exported as codes, not as a QDQ pair");
        long min = -(1L << (bits - 1)), max = (1L << (bits - 1)) - 1;
        return g.qdq(x, scope, scales, granularity == Granularity.PER_TENSOR ? -1 : axis, rank, bits, min, max, true, true);
    }

    /** "asymmetric", "levelled" or "paired": the weight forms that only their codes express. */
    private String weightForm() { return levels != null ? "levelled" : pairs != null ? "paired" : "asymmetric"; }

    @Override
    public String summary() {
        return KIND + "/" + granularity.jsonName() + (zeroPoints != null ? "/asymmetric" : "") + (levels != null ? "/levels" : "")
                + (pairs != null ? "/pairs" : "");
    }

    @Override
    public java.util.List<String> inspectCells() {
        String kind = zeroPoints != null ? KIND + " (asymmetric)" : levels != null ? KIND + " (" + levels.length + " levels)"
                : pairs != null ? KIND + " (" + pairs.size() + " pairs)" : KIND;
        String table = levels != null ? "; levels " + Arrays.toString(levels)
                : pairs != null ? "; pair codes " + pairs.minCode() + " to " + pairs.maxCode() : "";
        return java.util.List.of(kind, granularity.jsonName(), String.valueOf(scales.length), Format.scales(scales) + table);
    }

    @Override
    public void checkHeads(String opId, String operand, int heads) {
        if (granularity == Granularity.PER_HEAD && scales.length != heads)
            throw new IllegalArgumentException(opId + ": operand " + operand + " has " + scales.length
                    + " per-head scales for " + heads + " heads");
    }

    @Override
    public void writeJson(JsonGenerator g) throws IOException {
        g.writeStringField("granularity", granularity.jsonName());
        g.writeArrayFieldStart("scales");
        for (float s : scales) g.writeNumber(s);
        g.writeEndArray();
        if (zeroPoints != null) {
            g.writeArrayFieldStart("zero_points");
            for (int z : zeroPoints) g.writeNumber(z);
            g.writeEndArray();
        }
        if (levels != null) {
            g.writeArrayFieldStart("levels");
            for (int l : levels) g.writeNumber(l);
            g.writeEndArray();
        }
        if (pairs != null) {   // a_0, b_0, a_1, b_1, ...
            g.writeArrayFieldStart("pairs");
            for (int c : pairs.flat()) g.writeNumber(c);
            g.writeEndArray();
        }
    }

    static UniformOperand fromJson(PlanFields f) {
        f.only(OperandQuant.fields("granularity", "scales", "zero_points", "levels", "pairs"));
        int bits = f.integer("bits");
        String name = f.string("granularity");
        Granularity g = Granularity.fromJsonName(name);
        if (g == null) throw f.error("granularity", "unknown granularity \"" + name
                + "\" (per-tensor, per-output-channel, row-blocks, per-head)");
        float[] scales = f.scales("scales");
        int[] zeroPoints = f.has("zero_points") ? f.integers("zero_points") : null;
        int[] levels = f.has("levels") ? f.integers("levels") : null;
        int[] pairs = f.has("pairs") ? f.integers("pairs") : null;
        return f.build(() -> new UniformOperand(bits, g, scales, zeroPoints, levels, pairs == null ? null : new CodePairs(bits, pairs)));
    }

    /** A copy of the scales. */
    @Override
    public float[] scales() { return scales.clone(); }

    public int scaleCount() { return scales.length; }

    public float scale(int i) { return scales[i]; }

    /** The symmetric quantizer; an asymmetric weight has one per scale ({@link #quantizer(int)}). */
    public UniformQuantizer quantizer() {
        if (zeroPoints != null) throw new IllegalStateException("an asymmetric weight has a quantizer per scale");
        return levels != null ? new UniformQuantizer(bits, levels) : pairs != null ? new UniformQuantizer(pairs) : new UniformQuantizer(bits);
    }

    /** The quantizer of scale {@code i}: codes relative to its zero point, {@code [-z, 2^k - 1 - z]}. */
    public UniformQuantizer quantizer(int i) {
        if (zeroPoints == null) return quantizer();
        return new UniformQuantizer(bits, -zeroPoints[i], (1 << bits) - 1 - zeroPoints[i]);
    }

    /**
     * One scale per attention head (a matmul operand): the per-head scales, or the per-tensor scale
     * repeated {@code heads} times.
     */
    public float[] headScales(int heads) {
        if (granularity == Granularity.PER_HEAD) return scales();
        float[] s = new float[heads];
        Arrays.fill(s, scales[0]);
        return s;
    }

    /** Same scales at another bit width (a per-op precision override). */
    public UniformOperand withBits(int newBits) {
        if ((zeroPoints != null || levels != null || pairs != null) && newBits != bits)
            throw new IllegalArgumentException("a" + (levels != null ? " levelled weight's levels" : pairs != null ? " paired weight's pairs"
                    : "n asymmetric weight's zero points") + " belong to its " + bits + " bits");
        return new UniformOperand(newBits, granularity, scales, zeroPoints, levels, pairs);
    }

    @Override
    public boolean equals(Object o) {
        // Arrays.equals compares floats by their bits (floatToIntBits), which is what a plan round trip must keep
        return o instanceof UniformOperand u && u.bits == bits && u.granularity == granularity
                && Arrays.equals(u.scales, scales) && Arrays.equals(u.zeroPoints, zeroPoints) && Arrays.equals(u.levels, levels)
                && java.util.Objects.equals(u.pairs, pairs);
    }

    @Override
    public int hashCode() {
        return (((bits * 31 + granularity.hashCode()) * 31 + Arrays.hashCode(scales)) * 31 + Arrays.hashCode(zeroPoints)) * 31
                + Arrays.hashCode(levels) + java.util.Objects.hashCode(pairs);
    }

    @Override
    public String toString() {
        return "uniform int" + bits + " " + granularity.jsonName() + " " + Arrays.toString(scales)
                + (zeroPoints != null ? " zero points " + Arrays.toString(zeroPoints) : "")
                + (levels != null ? " levels " + Arrays.toString(levels) : "") + (pairs != null ? " " + pairs : "");
    }
}
