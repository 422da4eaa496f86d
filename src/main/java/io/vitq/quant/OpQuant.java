package io.vitq.quant;

import java.util.List;
import java.util.Map;

/**
 * How one quantizable op (a Linear layer or an attention matmul, by its timm module name) is
 * quantized. {@code info} holds free-form method metadata for reports (e.g. the metric or the
 * search score); executors must not depend on it.
 */
public sealed interface OpQuant permits LinearQuant, MatmulQuant {
    /** "linear" or "matmul" (the plan-file kind). */
    String kind();

    /** The quantized operands, in a fixed order; operands left in float are absent. */
    List<OperandQuant> operands();

    Map<String, String> info();
}
