package io.vitq.quant;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.util.Arrays;

/**
 * The signed symmetric uniform quantizer ({@link UniformQuantizer}: {@code clamp(rint(x / s),
 * -2^(k-1), 2^(k-1) - 1) * s}) with its granularity and scales: 1 scale per tensor, one per output
 * channel, one per row block, or one per head. It quantizes every kind of operand; its integer form
 * is its codes, one component.
 */
public record UniformOperand(int bits, Granularity granularity, float[] scales) implements OperandQuant {
    public static final String KIND = "uniform";

    public UniformOperand {
        QuantChecks.bits(bits, "uniform operand");
        if (granularity == null) throw new IllegalArgumentException("uniform operand: granularity missing");
        if (scales == null || scales.length == 0) throw new IllegalArgumentException("uniform operand: no scales");
        if (granularity == Granularity.PER_TENSOR && scales.length != 1)
            throw new IllegalArgumentException("uniform operand: per-tensor needs 1 scale, got " + scales.length);
        scales = scales.clone();
        QuantChecks.scales("uniform operand", scales);
    }

    /** One per-tensor scale. */
    public static UniformOperand perTensor(int bits, float scale) {
        return new UniformOperand(bits, Granularity.PER_TENSOR, new float[] {scale});
    }

    @Override
    public String quantizerName() { return KIND; }

    @Override
    public String displayName() { return "uniform"; }

    @Override
    public String refuses(OperandRole role) {
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
        quantizer().fakeQuant(opId, scaleOf(scaleIndex), src, off, dst, dOff, n);
    }

    @Override
    public CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes) {
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
        long min = -(1L << (bits - 1)), max = (1L << (bits - 1)) - 1;
        return g.qdq(x, scope, scales, granularity == Granularity.PER_TENSOR ? -1 : axis, rank, bits, min, max, true, true);
    }

    @Override
    public String summary() { return KIND + "/" + granularity.jsonName(); }

    @Override
    public java.util.List<String> inspectCells() {
        return java.util.List.of(KIND, granularity.jsonName(), String.valueOf(scales.length), Format.scales(scales));
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
    }

    static UniformOperand fromJson(PlanFields f) {
        f.only(OperandQuant.fields("granularity", "scales"));
        int bits = f.integer("bits");
        String name = f.string("granularity");
        Granularity g = Granularity.fromJsonName(name);
        if (g == null) throw f.error("granularity", "unknown granularity \"" + name
                + "\" (per-tensor, per-output-channel, row-blocks, per-head)");
        float[] scales = f.scales("scales");
        return f.build(() -> new UniformOperand(bits, g, scales));
    }

    /** A copy of the scales. */
    @Override
    public float[] scales() { return scales.clone(); }

    public int scaleCount() { return scales.length; }

    public float scale(int i) { return scales[i]; }

    public UniformQuantizer quantizer() { return new UniformQuantizer(bits); }

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
    public UniformOperand withBits(int newBits) { return new UniformOperand(newBits, granularity, scales); }

    @Override
    public boolean equals(Object o) {
        // Arrays.equals compares floats by their bits (floatToIntBits), which is what a plan round trip must keep
        return o instanceof UniformOperand u && u.bits == bits && u.granularity == granularity
                && Arrays.equals(u.scales, scales);
    }

    @Override
    public int hashCode() { return (bits * 31 + granularity.hashCode()) * 31 + Arrays.hashCode(scales); }

    @Override
    public String toString() {
        return "uniform int" + bits + " " + granularity.jsonName() + " " + Arrays.toString(scales);
    }
}
