package io.vitq.quant;

/**
 * The graph operations a quantizer kind expresses itself in when a model is exported to ONNX
 * ({@link OperandQuant#toOnnx}); {@code io.vitq.export} implements them with QuantizeLinear,
 * DequantizeLinear and elementwise nodes. Values are graph value names; {@code scope} names the
 * nodes.
 */
public interface QdqGraph {
    /**
     * {@code clamp(rint(x / s), min, max) * s}: QuantizeLinear then DequantizeLinear with signed
     * codes, one scale (axis -1) or scales along {@code axis} of a rank-{@code rank} tensor; a Clip
     * first where the clamp is narrower than the code type's saturation and the caller keeps values
     * that reach it ({@code lowReachable}, {@code highReachable}).
     */
    String qdq(String x, String scope, float[] scales, int axis, int rank, int bits, long min, long max,
               boolean lowReachable, boolean highReachable);

    /** {@code (clamp(rint(x / s) + z, 0, 2^k - 1) - z) * s}, k <= 8: unsigned codes with a zero point, one scale. */
    String qdqUnsigned(String x, String scope, float scale, int zeroPoint, int bits);

    /**
     * {@code (table[clamp(rint(x / s) + z, 0, 255)] - z) * s}: QuantizeLinear to uint8, a 256-entry
     * uint8 table (looked up by GatherElements), DequantizeLinear.
     */
    String qdqTable(String x, String scope, float scale, int zeroPoint, int[] table);

    /** A scalar float constant (broadcast where it meets a tensor). */
    String constant(float c, String scope);

    /** {@code x < c} (a boolean value). */
    String less(String x, float c, String scope);

    String where(String condition, String ifTrue, String ifFalse, String scope);

    String mul(String x, float c, String scope);

    String div(String x, float c, String scope);

    String add(String a, String b, String scope);

    /** {@code min(max(x, lo), hi)}. */
    String clip(String x, float lo, float hi, String scope);

    /**
     * A quantizer coded by thresholds ({@link LogSqrt2Operand}, {@link AdaLogOperand}): code c is the
     * number of t with {@code fl(x + shift) <= thr[t]} (thr non-increasing, so those t are
     * {@code 0 .. c-1}; x itself for a shift of 0), the value {@code values[c]}. Comparisons, table lookups and, for geometric thresholds, a logarithm
     * whose estimate a comparison corrects: the codes are exact, so bit-identical in any runtime (a
     * cascade of one Where per threshold, as before 2026-12-05, cost 2^k - 1 passes over the tensor).
     */
    String thresholdSearch(String x, float shift, float[] thr, float[] values, String scope);

    /**
     * Whether each kind should be exported in its integer form where that form's values are not the
     * fake quant's ({@link AdaLogOperand}'s levels on a grid): the values of vitq's integer runtime
     * and code-product fake quant, for ONNX Runtime's integer-kernel form of the Linears
     * ({@code --integer-linears}). False: every kind exports its fake quant's values.
     */
    default boolean integerForms() { return false; }

    /**
     * The parts of {@code t} for graph value x: the shift added, {@link #thresholdSearch}'s codes c
     * of {@code t.thresholds()}, then for each part i the uint8 code {@code t.tables()[i][c]}
     * dequantized with step {@code t.units()[i]} and zero point {@code t.zeroPoints()[i]}.
     */
    java.util.List<String> thresholdSearchParts(String x, CodeTables t, String scope);
}
