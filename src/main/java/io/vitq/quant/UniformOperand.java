package io.vitq.quant;

import java.util.Arrays;

/**
 * A signed symmetric uniform operand ({@link UniformQuantizer}) with its granularity and scales:
 * 1 scale per tensor, one per output channel, one per row block, or one per head.
 */
public record UniformOperand(int bits, Granularity granularity, float[] scales) implements OperandQuant {
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
    public String quantizerName() { return "uniform"; }

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
