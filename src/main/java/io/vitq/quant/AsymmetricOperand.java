package io.vitq.quant;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;

/**
 * The asymmetric (affine) uniform quantizer, per tensor: unsigned k-bit codes
 * {@code q = clamp(rint(x / s) + z, 0, 2^k - 1)} with a zero point z, dequantized as
 * {@code (q - z) * s} (ONNX's QuantizeLinear / DequantizeLinear with a uint8 zero point). For a
 * Linear input whose range is not centred on zero (post-LayerNorm activations, RepQ-ViT).
 *
 * <p>Integer form: one component, the codes q, whose zero point enters a product as a correction,
 * {@code sum_k (q_k - z) w_jk = sum_k q_k w_jk - z sum_k w_jk}, with the weight's column sums.
 */
public record AsymmetricOperand(int bits, float scale, int zeroPoint) implements OperandQuant {
    public static final String KIND = "asymmetric";

    public AsymmetricOperand {
        QuantChecks.bits(bits, "asymmetric operand");
        if (bits > 8) throw new IllegalArgumentException("asymmetric operand: " + bits + " bits (uint8 codes: at most 8)");
        QuantChecks.scale("asymmetric operand scale", scale);
        if (zeroPoint < 0 || zeroPoint > (1 << bits) - 1)
            throw new IllegalArgumentException("asymmetric operand: zero point " + zeroPoint + " outside [0, " + ((1 << bits) - 1) + "]");
    }

    /** The quantizer whose codes are {@code q - z}: {@code clamp(rint(x / s), -z, 2^k - 1 - z)}. */
    UniformQuantizer relative() { return new UniformQuantizer(bits, -zeroPoint, (1 << bits) - 1 - zeroPoint); }

    @Override
    public String quantizerName() { return KIND; }

    @Override
    public String displayName() { return "asymmetric"; }

    @Override
    public String refuses(OperandRole role) {
        return role == OperandRole.LINEAR_INPUT ? null : "asymmetric quantizes a Linear input (per tensor), not " + role;
    }

    @Override
    public void fakeQuant(String opId, int scaleIndex, float[] src, int off, float[] dst, int dOff, int n) {
        relative().fakeQuant(opId, scale, src, off, dst, dOff, n);
    }

    @Override
    public CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes) {
        if (pre != 1f) throw new IllegalArgumentException(opId + ": the asymmetric quantizer takes no pre-scale");
        return new UnsignedGridCodes(opId, relative(), scale, zeroPoint, (1 << bits) - 1, null);
    }

    @Override
    public String toOnnx(QdqGraph g, String x, String scope, int axis, int rank) {
        return g.qdqUnsigned(x, scope, scale, zeroPoint, bits);
    }

    @Override
    public String summary() { return KIND + "/per-tensor"; }

    @Override
    public java.util.List<String> inspectCells() {
        return java.util.List.of(KIND, "per-tensor", "1", Format.num(scale) + ", zero point " + zeroPoint);
    }

    @Override
    public void writeJson(JsonGenerator g) throws IOException {
        g.writeNumberField("scale", scale);
        g.writeNumberField("zeroPoint", zeroPoint);
    }

    static AsymmetricOperand fromJson(PlanFields f) {
        f.only(OperandQuant.fields("scale", "zeroPoint"));
        int bits = f.integer("bits"), z = f.integer("zeroPoint");
        float s = f.number("scale");
        return f.build(() -> new AsymmetricOperand(bits, s, z));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AsymmetricOperand a && a.bits == bits && a.zeroPoint == zeroPoint
                && Float.floatToIntBits(a.scale) == Float.floatToIntBits(scale);
    }

    @Override
    public int hashCode() { return (bits * 31 + Float.hashCode(scale)) * 31 + zeroPoint; }
}
