package io.vitq.export;

import io.vitq.export.proto.Onnx.AttributeProto;
import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.quant.QdqGraph;

import java.util.List;

import static io.vitq.export.OnnxGraph.attr;

/**
 * vitq's quantizers as standard ONNX operators, each bit-identical to its fake quantizer in
 * {@code io.vitq.quant} (QdqEmitterTest checks this in ONNX Runtime):
 * <ul>
 *   <li><b>Uniform</b> {@code clamp(rint(x / s), lo, hi) · s}: {@code QuantizeLinear} (x / s,
 *       round half to even, saturate) then {@code DequantizeLinear} (code · s), zero point 0, per
 *       tensor (scalar scale) or per axis (1-D scales; matmul operands per head on axis 1 of
 *       [N, H, T, d]). Codes of k ≤ 8 bits are int8, or with {@link OnnxExporter.ActivationCodes#UINT8}
 *       (per tensor only) uint8 with zero point 128 (the same codes shifted, for runtimes that want
 *       unsigned activations). When the k-bit clamp is narrower than int8's saturation (k &lt; 8,
 *       or a range on one side of zero), per-tensor codes are stored as uint8 shifted so that
 *       QuantizeLinear's saturation is one bound of the clamp, and a {@code Clip} on the codes the
 *       other ({@link #shiftedCodes}); per axis a {@code Max}/{@code Min} with broadcast bounds goes
 *       before the QuantizeLinear: for x beyond a bound, the bound divided by s rounds back to the
 *       bound's code, so the result is the same as vitq's clamp of the code. k = 9..16: int16
 *       codes (a float Clip first) from opset 21 on; before opset 21 (QuantizeLinear is int8/uint8
 *       only) {@code Div, Round, Clip, Mul}, which is the fake quantizer's formula itself.</li>
 *   <li><b>Asymmetric</b> {@code (clamp(rint(x / s) + z, 0, 2^k - 1) - z) · s}: QuantizeLinear and
 *       DequantizeLinear with a uint8 zero point z, per tensor, a Clip of the codes between them
 *       when k &lt; 8.</li>
 *   <li><b>Twin softmax</b> (clean): two QDQ branches on the probabilities p, the small range with
 *       step Δ_R1 = s / L and the large range with step 1 / L (L = 2^(k-1) - 1), and
 *       {@code Where(p < s, small, large)}. The magnitudes 0..L are int8 codes rather than uint8:
 *       int8 saturates at 127 = L at 8 bits, so no Clip is needed, and the range flag of vitq's
 *       integer layout is what the Where expresses.
 *       The large range is written {@code Mul(L), QDQ(step 1), Div(L)} because vitq computes it as
 *       {@code rint(p · L) / L}, not as a division by fl(1/L) (see {@link #largeRange}).
 *       The reference-quirk mode is the sum of the large range of {@code Clip(p, s, 1)} and a QDQ
 *       of {@code Clip(p, 0, s)} with step Δ_R1, which is its definition.</li>
 *   <li><b>Twin GELU</b>: a negative QDQ branch (step Δ_neg, codes -2^(k-1)..0), a positive one
 *       (step Δ_pos, codes 0..L), and {@code Where(x < 0, negative, positive)}. As a Linear's input
 *       ({@code toOnnxParts}) the two branches are instead each clamped at zero and the Linear adds
 *       their products, so that ONNX Runtime fuses each product into an integer kernel: the
 *       negative range's codes as uint8 with zero point 255, saturation being the clamp at zero,
 *       when GELU's minimum cannot reach the low bound (the default Δ_neg; else zero point
 *       {@code 2^(k-1)} and a Clip of the codes at zero), the positive range's as uint8 with zero
 *       point 0 and a Clip of the codes at {@code 2^(k-1) - 1}.</li>
 * </ul>
 * Each quantizer is therefore bit-identical to vitq's fake quantizer on the same input (QuantizeLinear
 * divides by the scale, rounds half to even and saturates; DequantizeLinear multiplies by it, as
 * vitq does); the exported model differs from vitq only by the float rounding order of the
 * matmuls, convolution, softmax, LayerNorm and erf, which can move a value across a rounding
 * boundary of the next quantizer now and then.
 *
 * <p>One runtime caveat: ONNX Runtime's ClipQuantFusion drops a Clip in front of a QuantizeLinear
 * when the Clip's bounds are within float epsilon (1.2e-7, absolute) of the int8 range's; for the
 * narrower clamps here that needs a scale below about 1e-9, which calibration gives only to
 * all-zero tensors, where it makes no difference.
 */
final class QdqEmitter implements QdqGraph {
    /** How k-bit codes are stored at this opset: the integer type and its saturation bounds, or emulated. */
    /**
     * How signed codes are stored: the integer type, its zero point, and its saturation bounds as
     * signed codes ({@code stored - zeroPoint}). uint8 with zero point 128 holds the same codes
     * -128..127 as int8 (stored {@code q + 128}), so both round and saturate alike.
     */
    record CodeType(TensorProto.DataType type, int zeroPoint, long min, long max) {}

    static final CodeType INT8 = new CodeType(TensorProto.DataType.INT8, 0, -128, 127);
    static final CodeType UINT8_OFFSET = new CodeType(TensorProto.DataType.UINT8, 128, -128, 127);
    static final CodeType INT16 = new CodeType(TensorProto.DataType.INT16, 0, -32768, 32767);

    private final OnnxGraph g;
    private final OnnxExporter.ActivationCodes codes;

    QdqEmitter(OnnxGraph g, OnnxExporter.ActivationCodes codes) {
        this.g = g;
        this.codes = codes;
    }

    /**
     * The QuantizeLinear output type for k-bit activation codes, or null when they need the
     * Div/Round/Clip/Mul form. Per-axis codes (per-head matmul operands) stay int8 in either
     * form: ONNX Runtime 1.23 fuses a per-axis uint8 QDQ operand into a MatMulIntegerToFloat that
     * then refuses to run ("a zero point must be a scalar"), and with int8 it keeps them unfused.
     */
    CodeType activationType(int bits, boolean perAxis) {
        if (bits <= 8) return codes == OnnxExporter.ActivationCodes.UINT8 && !perAxis ? UINT8_OFFSET : INT8;
        return g.opset() >= 21 ? INT16 : null;
    }

    // ---------------------------------------------------------------- QdqGraph: what quantizer kinds compose

    @Override
    public String constant(float c, String scope) { return g.scalar(c); }

    @Override
    public String less(String x, float c, String scope) { return g.node("Less", scope, List.of(x, g.scalar(c))); }

    /**
     * {@link QdqGraph#thresholdSearch} as int32 codes: with {@code bound[c] = nextUp(thr[c-1])} for
     * c = 1..n (and -inf past n, never passed), each round moves the code c of an element to
     * {@code c + step} where {@code x < bound[c + step]} (a Gather of the bound, a Less, a Where),
     * steps 2^(k-1) down to 1; the first round compares with one bound for all. Then a Gather of
     * the value.
     */
    @Override
    public String thresholdSearch(String x, float[] thr, float[] values, String scope) {
        int n = thr.length, size = Integer.highestOneBit(n) << 1;   // 2^k > n
        float[] bound = new float[size];
        for (int c = 0; c < size; c++) bound[c] = c >= 1 && c <= n ? Math.nextUp(thr[c - 1]) : Float.NEGATIVE_INFINITY;
        String bounds = g.floats(scope + "/bounds", bound, size);
        int first = size >> 1;
        String code = where(less(x, bound[first], scope + "/below_" + first), g.int32s(scope + "/step_" + first, new int[] {first}),
                g.int32s(scope + "/zero", new int[] {0}), scope + "/code_" + first);
        for (int step = first >> 1; step >= 1; step >>= 1) {
            String cand = add(code, g.int32s(scope + "/step_" + step, new int[] {step}), scope + "/candidate_" + step);
            String t = g.node("Gather", scope + "/bound_" + step, List.of(bounds, cand));
            code = where(g.node("Less", scope + "/below_" + step, List.of(x, t)), cand, code, scope + "/code_" + step);
        }
        return g.node("Gather", scope + "/value", List.of(g.floats(scope + "/values", values, values.length), code));
    }

    @Override
    public String where(String condition, String ifTrue, String ifFalse, String scope) {
        return g.node("Where", scope, List.of(condition, ifTrue, ifFalse));
    }

    @Override
    public String mul(String x, float c, String scope) { return g.node("Mul", scope, List.of(x, g.scalar(c))); }

    @Override
    public String div(String x, float c, String scope) { return g.node("Div", scope, List.of(x, g.scalar(c))); }

    @Override
    public String add(String a, String b, String scope) { return g.node("Add", scope, List.of(a, b)); }

    @Override
    public String clip(String x, float lo, float hi, String scope) {
        return g.node("Clip", scope, List.of(x, g.scalar(lo), g.scalar(hi)));
    }

    /**
     * {@code clamp(rint(x / s), min, max) · s}. {@code lowReachable}/{@code highReachable} say
     * whether values the caller keeps can reach the bound (a branch that Where selects only on one
     * side of zero cannot reach the other side's bound); an unreachable bound needs no Clip.
     *
     * @param axis -1 for one scale, else the axis of the per-axis scales in a tensor of rank {@code rank}
     */
    @Override
    public String qdq(String x, String scope, float[] scales, int axis, int rank, int bits, long min, long max,
                      boolean lowReachable, boolean highReachable) {
        CodeType type = activationType(bits, axis >= 0);
        if (type == null) return emulated(x, scope, scales, axis, rank, min, max);
        boolean clipLow = lowReachable && min > type.min(), clipHigh = highReachable && max < type.max();
        if (axis < 0 && (clipLow || clipHigh) && min <= 0 && max >= 0 && max - min <= 255)
            return shiftedCodes(x, scope, scales[0], min, max, lowReachable, highReachable);
        String in = x;
        if (clipLow || clipHigh) in = clip(x, scope, scales, axis, rank, clipLow ? min : null, clipHigh ? max : null);
        String scale = scaleTensor(scope, scales, axis);
        String zp = type.zeroPoint() == 0 ? g.zeroPoint(type.type(), axis < 0 ? 0 : scales.length)
                : g.uint8Scalar(type.zeroPoint()); // uint8 codes are per tensor only (activationType)
        AttributeProto[] ax = axis < 0 ? new AttributeProto[0] : new AttributeProto[] {attr("axis", axis)};
        String q = g.node("QuantizeLinear", scope + "/quantize", List.of(in, scale, zp), ax);
        return g.node("DequantizeLinear", scope + "/dequantize", List.of(q, scale, zp), ax);
    }

    /**
     * Per-tensor codes {@code [min, max]} whose clamp int8's saturation does not give: stored as
     * uint8 {@code q - min} (zero point {@code -min}) when the low bound can be reached, so that
     * QuantizeLinear's saturation at 0 is that clamp, else as {@code q + 255 - max} (zero point
     * {@code 255 - max}), saturation at 255 being the high clamp. A reachable high bound below the
     * stored 255 then takes a {@code Clip} of the uint8 codes (ONNX Runtime 1.23 has no uint8
     * {@code Min}). This replaces a float Clip pass (four bytes read and four written per value)
     * by nothing or by a pass over one-byte codes, and ONNX Runtime still fuses the product after
     * the DequantizeLinear into its integer kernel (OrtCensusTest). Values beyond an unreachable
     * bound are not clamped: the caller vouches for them.
     */
    private String shiftedCodes(String x, String scope, float s, long min, long max, boolean lowReachable, boolean highReachable) {
        int zp = (int) (lowReachable ? -min : 255 - max);
        String scale = g.scalar(s), z = g.uint8Scalar(zp);
        String q = g.node("QuantizeLinear", scope + "/quantize", List.of(x, scale, z));
        if (lowReachable && highReachable && max + zp < 255)
            q = g.node("Clip", scope + "/clamp_high", List.of(q, "", g.uint8Scalar((int) (max + zp))));
        return g.node("DequantizeLinear", scope + "/dequantize", List.of(q, scale, z));
    }

    /**
     * The asymmetric form: uint8 codes {@code q = saturate(rint(x / s) + z)} and {@code (q - z) · s};
     * when k &lt; 8 a {@code Clip} of the codes at {@code 2^k - 1} is the top of the clamp
     * (saturation at 0 is its bottom), which is the quantizer's definition.
     */
    @Override
    public String qdqUnsigned(String x, String scope, float scale, int zeroPoint, int bits) {
        if (bits > 8) throw new IllegalArgumentException(scope + ": unsigned codes are uint8 (at most 8 bits), got " + bits);
        int top = (1 << bits) - 1;
        String s = g.scalar(scale), zp = g.uint8Scalar(zeroPoint);
        String q = g.node("QuantizeLinear", scope + "/quantize", List.of(x, s, zp));
        if (bits < 8) q = g.node("Clip", scope + "/clamp_high", List.of(q, "", g.uint8Scalar(top)));
        return g.node("DequantizeLinear", scope + "/dequantize", List.of(q, s, zp));
    }

    @Override
    public String qdqTable(String x, String scope, float scale, int zeroPoint, int[] table) {
        if (table.length != 256) throw new IllegalArgumentException(scope + ": a uint8 code table has 256 entries, got " + table.length);
        byte[] t = new byte[256];
        for (int i = 0; i < 256; i++) t[i] = (byte) table[i];
        String s = g.scalar(scale), zp = g.uint8Scalar(zeroPoint);
        String q = g.node("QuantizeLinear", scope + "/quantize", List.of(x, s, zp));
        String index = g.node("Cast", scope + "/index", q, OnnxGraph.attr("to", (long) TensorProto.DataType.INT32.getNumber()));
        String level = g.node("Gather", scope + "/level", List.of(g.uint8s(scope + "/table", t, 256), index),
                OnnxGraph.attr("axis", 0L));
        return g.node("DequantizeLinear", scope + "/dequantize", List.of(level, s, zp));
    }

    /** Clip to {@code [min · s, max · s]} (null: that side open); per-axis bounds through Max/Min. */
    private String clip(String x, String scope, float[] scales, int axis, int rank, Long min, Long max) {
        if (axis < 0) {
            float s = scales[0];
            return g.node("Clip", scope + "/clip", List.of(x, min == null ? "" : g.scalar(min * s),
                    max == null ? "" : g.scalar(max * s)));
        }
        String y = x;
        if (min != null) y = g.node("Max", scope + "/clip_low", List.of(y, bounds(scope + "/low", scales, min, axis, rank)));
        if (max != null) y = g.node("Min", scope + "/clip_high", List.of(y, bounds(scope + "/high", scales, max, axis, rank)));
        return y;
    }

    /** {@code code · s_i} per axis index, shaped to broadcast along {@code axis}. */
    private String bounds(String name, float[] scales, long code, int axis, int rank) {
        float[] b = new float[scales.length];
        for (int i = 0; i < b.length; i++) b[i] = code * scales[i]; // a float product, as DequantizeLinear computes it
        return g.floatConst(name, b, broadcastShape(scales.length, axis, rank));
    }

    /** The fake quantizer's own formula, for codes wider than the opset's QuantizeLinear. */
    private String emulated(String x, String scope, float[] scales, int axis, int rank, long min, long max) {
        String s = axis < 0 ? g.scalar(scales[0]) : g.floatConst(scope + "/scale", scales, broadcastShape(scales.length, axis, rank));
        String d = g.node("Div", scope + "/divide", List.of(x, s));
        String r = g.node("Round", scope + "/round", d);
        String c = g.node("Clip", scope + "/clamp", List.of(r, g.scalar((float) min), g.scalar((float) max)));
        return g.node("Mul", scope + "/dequantize", List.of(c, s));
    }

    /** A scalar scale, or a 1-D per-axis scale vector. */
    String scaleTensor(String scope, float[] scales, int axis) {
        if (axis < 0) return g.scalar(scales[0]);
        return g.floatConst(scope + "/scale", scales, scales.length);
    }

    private static long[] broadcastShape(int n, int axis, int rank) {
        long[] shape = new long[rank];
        java.util.Arrays.fill(shape, 1);
        shape[axis] = n;
        return shape;
    }
}
