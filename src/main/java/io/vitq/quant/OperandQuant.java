package io.vitq.quant;

/**
 * How one operand of an op (a weight, a Linear input, a matmul operand) is quantized: the
 * quantizer kind, its bit width and its parameters. Pure data, independent of how the parameters
 * were chosen; {@code quantizer()} on each kind builds the matching quantizer.
 */
public sealed interface OperandQuant permits UniformOperand, TwinSoftmaxOperand, TwinGeluOperand {
    /** Bit width of this operand (per operand, so a plan can mix precisions). */
    int bits();

    /** The quantizer's name in plan files: "uniform", "twin-softmax" or "twin-gelu". */
    String quantizerName();
}
