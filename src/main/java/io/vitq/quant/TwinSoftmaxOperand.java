package io.vitq.quant;

/** A post-softmax operand quantized by {@link TwinSoftmaxQuantizer}: one global split for all heads. */
public record TwinSoftmaxOperand(int bits, float split, TwinSoftmaxQuantizer.Mode mode) implements OperandQuant {
    public TwinSoftmaxOperand {
        QuantChecks.bits(bits, "twin softmax operand");
        TwinSoftmaxQuantizer.splitShift(split);
        if (mode == null) throw new IllegalArgumentException("twin softmax operand: mode missing");
    }

    @Override
    public String quantizerName() { return "twin-softmax"; }

    public TwinSoftmaxQuantizer quantizer() { return new TwinSoftmaxQuantizer(bits, split, mode); }

    public TwinSoftmaxOperand withBits(int newBits) { return new TwinSoftmaxOperand(newBits, split, mode); }
}
