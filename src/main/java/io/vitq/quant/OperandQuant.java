package io.vitq.quant;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A quantizer kind, with its parameters: how one operand of an op (a weight, a Linear input, a
 * matmul operand) is quantized. A kind is one class that owns everything about it: which operands
 * it can quantize ({@link #refuses}), its fake quantization, its integer form ({@link #codeForm}, or
 * an error saying it has none), its ONNX form ({@link #toOnnx}) and its plan-file form
 * ({@link #writeJson}, and a parser in {@link #KINDS}). The executors, the exporter and the plan
 * file only call these, so a new kind is a new class and one line in {@link #KINDS}.
 */
public sealed interface OperandQuant permits UniformOperand, AsymmetricOperand, CodebookOperand, TwinSoftmaxOperand, TwinGeluOperand,
        LogSqrt2Operand, AdaLogOperand {

    /** The kinds a plan file names, by {@link #quantizerName()}, with their parsers. */
    Map<String, Function<PlanFields, OperandQuant>> KINDS = Map.of(
            UniformOperand.KIND, UniformOperand::fromJson,
            AsymmetricOperand.KIND, AsymmetricOperand::fromJson,
            CodebookOperand.KIND, CodebookOperand::fromJson,
            TwinSoftmaxOperand.KIND, TwinSoftmaxOperand::fromJson,
            TwinGeluOperand.KIND, TwinGeluOperand::fromJson,
            LogSqrt2Operand.KIND, LogSqrt2Operand::fromJson,
            AdaLogOperand.KIND, AdaLogOperand::fromJson);

    /** Bit width of this operand (per operand, so a plan can mix precisions). */
    int bits();

    /** The kind's name in plan files ("uniform", "twin-softmax", ...). */
    String quantizerName();

    /** The kind's name in messages ("uniform", "twin GELU", ...). */
    String displayName();

    /** Null when this kind (with these parameters) can quantize an operand of {@code role}, else why not. */
    String refuses(OperandRole role);

    /**
     * Fake quantization (quantize, dequantize) of {@code n} values; {@code scaleIndex} is the head
     * whose scale applies for a per-head operand (0 otherwise). {@code src} and {@code dst} may be
     * the same range. A non-finite input is an error naming {@code opId}.
     */
    void fakeQuant(String opId, int scaleIndex, float[] src, int off, float[] dst, int dOff, int n);

    /**
     * The integer form for the scale {@code scaleIndex}, or an {@link IllegalArgumentException}
     * naming {@code opId} and why this kind (or these parameters) has none.
     *
     * @param pre         a factor applied to the values before quantization (Swin's q scale), else 1
     * @param layoutCodes twin GELU: clamp the negative range at the uint8 layout's L instead of 2^(k-1)
     */
    CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes);

    /** Null when {@link #codeForm} exists, else why not (the executors then keep the dequantized arithmetic or refuse). */
    default String codeFormMissing() { return null; }

    /**
     * Whether {@link #codeForm}'s values are this quantizer's own (false: an approximation of them,
     * AdaLog's levels on a grid), so that products of its codes score what the fake quant computes.
     */
    default boolean codeFormExact() { return true; }

    /**
     * The ONNX nodes that quantize graph value {@code x} bit-identically to {@link #fakeQuant}, or
     * where {@link QdqGraph#integerForms} asks for it and {@link #codeForm}'s values are not the fake
     * quant's ({@link #codeFormExact}), to those values: per-head scales run along {@code axis} of a
     * rank-{@code rank} tensor.
     */
    String toOnnx(QdqGraph g, String x, String scope, int axis, int rank);

    /**
     * The same quantization as values whose sum is {@link #toOnnx}'s, each a DequantizeLinear
     * output (of a QuantizeLinear, or of a code lookup), for an input that a product consumes: the
     * product of each part is then one integer kernel in ONNX Runtime (its QDQ fusions need
     * DequantizeLinear right before the MatMul). One part unless the kind has two ranges (the twin
     * GELU) or its integer form two components (AdaLog's grid, under {@link QdqGraph#integerForms}).
     */
    default java.util.List<String> toOnnxParts(QdqGraph g, String x, String scope, int axis, int rank) {
        return java.util.List.of(toOnnx(g, x, scope, axis, rank));
    }

    /**
     * The integer form's parts as lookups of a code (AdaLog's grid components: what
     * {@link #toOnnxParts} writes where {@link QdqGraph#integerForms} asks for integer forms), or
     * null. One code per element, from that element's value alone (a per-tensor quantizer), so the
     * exporter may find it from another value of which this one is a function: fc2's input from
     * fc1's output by one lookup ({@code GeluCodeLookup}).
     */
    default CodeTables integerCodeTables() { return null; }

    /** Short, for a plan's summary: the kind and its variant ("uniform/per-head", "twin-gelu/power-of-two"). */
    String summary();

    /**
     * For {@code vitq inspect}'s table: the quantizer (with its mode), the granularity, the number of
     * scales or steps, and their values ({@link Format#scales}).
     */
    List<String> inspectCells();

    /** Checks a per-head operand's scale count against the op's heads (no-op for kinds without per-head scales). */
    default void checkHeads(String opId, String operand, int heads) {}

    /** The plan-file fields after {@code "quantizer"} and {@code "bits"}. */
    void writeJson(JsonGenerator g) throws IOException;

    /** A plan file's operand object: its kind's parser by the {@code quantizer} field. */
    static OperandQuant fromJson(PlanFields f) {
        String kind = f.string("quantizer");
        Function<PlanFields, OperandQuant> parser = KINDS.get(kind);
        if (parser == null) {
            throw f.error("quantizer", "expected one of " + new java.util.TreeSet<>(KINDS.keySet()) + ", got \"" + kind + "\"");
        }
        return parser.apply(f);
    }

    /** The fields every kind has, and its own. */
    static Set<String> fields(String... own) {
        Set<String> s = new java.util.HashSet<>(Set.of("quantizer", "bits"));
        s.addAll(Set.of(own));
        return s;
    }
}
