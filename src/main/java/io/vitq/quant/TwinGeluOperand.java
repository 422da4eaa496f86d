package io.vitq.quant;

/**
 * A post-GELU operand quantized by {@link TwinGeluQuantizer}. Both steps are stored, so a plan
 * states the quantizer completely even though vitq's calibration fixes the negative step.
 */
public record TwinGeluOperand(int bits, float positiveStep, float negativeStep) implements OperandQuant {
    public TwinGeluOperand {
        QuantChecks.bits(bits, "twin GELU operand");
        QuantChecks.scale("twin GELU operand positive step", positiveStep);
        QuantChecks.scale("twin GELU operand negative step", negativeStep);
    }

    /** With the reference's fixed negative step for this bit width. */
    public static TwinGeluOperand withDefaultNegativeStep(int bits, float positiveStep) {
        return new TwinGeluOperand(bits, positiveStep, TwinGeluQuantizer.defaultNegativeStep(bits));
    }

    @Override
    public String quantizerName() { return "twin-gelu"; }

    public TwinGeluQuantizer quantizer() { return new TwinGeluQuantizer(bits, positiveStep, negativeStep); }

    /** True when positiveStep = 2^m · negativeStep (integer shift alignment possible). */
    public boolean isPowerOfTwo() { return TwinGeluQuantizer.powerOfTwoShift(positiveStep, negativeStep) >= 0; }

    @Override
    public boolean equals(Object o) {
        return o instanceof TwinGeluOperand t && t.bits == bits
                && Float.floatToIntBits(t.positiveStep) == Float.floatToIntBits(positiveStep)
                && Float.floatToIntBits(t.negativeStep) == Float.floatToIntBits(negativeStep);
    }

    @Override
    public int hashCode() { return (bits * 31 + Float.hashCode(positiveStep)) * 31 + Float.hashCode(negativeStep); }
}
