package io.vitq.quant;

/** What a quantized operand is in its op; a quantizer kind says which it can quantize ({@link OperandQuant#refuses}). */
public enum OperandRole {
    /** A Linear layer's weight (rows: output channels). */
    WEIGHT("a Linear weight"),
    /** A Linear layer's input (per tensor). */
    LINEAR_INPUT("a Linear input"),
    /** q or k (matmul1), or v (matmul2's b): per head or per tensor. */
    HEAD_OPERAND("q, k or v"),
    /** The softmax probabilities (matmul2's a): per head or per tensor. */
    PROBABILITIES("the softmax probabilities");

    private final String words;

    OperandRole(String words) { this.words = words; }

    @Override
    public String toString() { return words; }
}
