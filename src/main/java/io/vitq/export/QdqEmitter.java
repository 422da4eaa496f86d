package io.vitq.export;

import io.vitq.export.proto.Onnx.AttributeProto;
import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.quant.CodeTables;
import io.vitq.quant.QdqGraph;

import java.util.List;

import static io.vitq.export.OnnxGraph.attr;

/**
 * vitq's quantizers as standard ONNX operators, each bit-identical to its fake quantizer in
 * {@code io.vitq.quant}, or with {@link #integerForms} to its integer form where that has other
 * values (AdaLog's grid) (QdqEmitterTest checks both in ONNX Runtime):
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
 *       point 0 and a Clip of the codes at {@code 2^(k-1) - 1}. The integer form ({@link #integerForms})
 *       stores the negative range's magnitudes instead, with the negated step and zero point 0
 *       ({@link #mirroredCodes}).</li>
 * </ul>
 * Each quantizer is therefore bit-identical to vitq's fake quantizer (or its integer form) on the same input (QuantizeLinear
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
    private final boolean integerForms;

    /** Every kind as its fake quant's values. */
    QdqEmitter(OnnxGraph g, OnnxExporter.ActivationCodes codes) { this(g, codes, false); }

    /** @param integerForms {@link QdqGraph#integerForms}: each kind in its integer form's values */
    QdqEmitter(OnnxGraph g, OnnxExporter.ActivationCodes codes, boolean integerForms) {
        this.g = g;
        this.codes = codes;
        this.integerForms = integerForms;
    }

    @Override
    public boolean integerForms() { return integerForms; }

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
     * {@link QdqGraph#thresholdSearch} as int32 codes, then the value of each code looked up. Thresholds
     * that are geometric ({@link LogCodes#fit}: AdaLog's and log-sqrt2's) take the logarithm's code
     * corrected by one comparison ({@link #logCodes}); any others a binary search ({@link #binarySearch}).
     * Either way the codes are the count of thresholds at or above the value, exactly.
     */
    @Override
    public String thresholdSearch(String x, float shift, float[] thr, float[] values, String scope) {
        String y = shifted(x, shift, scope);
        String lead = leadingShape(y, scope);
        return lookUp(values, codes(y, thr, lead, scope), lead, scope + "/value");
    }

    /** The shift added, the codes of {@link #thresholdSearch}, then one uint8 lookup and DequantizeLinear per part. */
    @Override
    public List<String> thresholdSearchParts(String x, CodeTables t, String scope) {
        String y = shifted(x, t.shift(), scope);
        String lead = leadingShape(y, scope);
        String code = codes(y, t.thresholds(), lead, scope);
        List<String> parts = new java.util.ArrayList<>();
        for (int i = 0; i < t.partCount(); i++) {
            String part = scope + "/component" + i;
            String level = lookUp(g.uint8s(part + "/table", bytes(t.tables()[i]), t.tables()[i].length), t.tables()[i].length, code, lead, part);
            parts.add(g.node("DequantizeLinear", part + "/dequantize", List.of(level, g.scalar(t.units()[i]), g.uint8Scalar(t.zeroPoints()[i]))));
        }
        return parts;
    }

    /** {@code x + shift} as vitq's threshold-coded quantizers compute it; x itself for a shift of 0. */
    private String shifted(String x, float shift, String scope) {
        return shift == 0f ? x : add(x, constant(shift, scope + "/shift"), scope + "/shifted");
    }

    /** uint8 codes (0..255, as {@link CodeTables} holds them) as bytes. */
    static byte[] bytes(int[] codes) {
        byte[] b = new byte[codes.length];
        for (int i = 0; i < codes.length; i++) b[i] = (byte) codes[i];
        return b;
    }

    /** Int32 codes of {@code x}: the count of thresholds at or above it ({@link #logCodes} or {@link #binarySearch}). */
    private String codes(String x, float[] thr, String lead, String scope) {
        LogCodes log = LogCodes.fit(thr);
        return log != null ? logCodes(x, thr, log, lead, scope) : binarySearch(x, thr, lead, scope);
    }

    /**
     * How the logarithm estimates a code: thresholds within a quarter of a step of
     * {@code T_0 e^(-σ t)} put {@code rint(ln(T_0 / y) / σ)} within one below or at the exact
     * count c for every y: a threshold sits within a quarter of an integer of that scale, the
     * rounding's boundaries half way between them, and float Div, Log and QuantizeLinear err by a
     * few ulps of a logarithm below 70 (the range check), about 3e-5, against a quarter of a step
     * of at least 0.01. So one comparison with the estimate's own threshold finishes it.
     *
     * @param floor the value below which every y has the last code: y is raised to it before the
     *              logarithm, so that zero and negative values (their code is the last) stay finite
     */
    record LogCodes(float sigma, float floor) {
        /** The fit, or null: fewer than 3 thresholds, a threshold off the geometric sequence, a step below 0.01, or a range beyond float's. */
        static LogCodes fit(float[] thr) {
            int n = thr.length;
            if (n < 3) return null;
            double top = thr[0], bottom = thr[n - 1];
            if (!(bottom >= 2 * Float.MIN_NORMAL) || !Double.isFinite(top) || top / bottom > 0x1p100) return null;
            double sigma = Math.log(top / bottom) / (n - 1);
            if (!(sigma >= 0.01)) return null;
            for (int t = 0; t < n; t++)
                if (!(Math.abs(Math.log(top / thr[t]) / sigma - t) <= 0.25)) return null;
            return new LogCodes((float) sigma, thr[n - 1] / 2);
        }
    }

    /**
     * {@code c0 = min(n, rint(ln(T_0 / max(y, floor)) / σ))} as uint8 codes (QuantizeLinear with step
     * σ; its saturation at 0 takes the values above the largest threshold), then
     * {@code c = c0 + (y <= T_c0)}, the comparison written {@code y < nextUp(T_c0)} against a lookup
     * of the bound ({@code -inf} at c0 = n). Two lookups and cheap elementwise passes, whatever the bits
     * (a binary search takes one lookup, Less and Where per bit).
     */
    private String logCodes(String y, float[] thr, LogCodes log, String lead, String scope) {
        int n = thr.length;
        String raised = g.node("Max", scope + "/raised", List.of(y, g.scalar(log.floor())));
        String ratio = g.node("Div", scope + "/ratio", List.of(g.scalar(thr[0]), raised));
        String ln = g.node("Log", scope + "/log", ratio);
        String estimate = g.node("QuantizeLinear", scope + "/estimate", List.of(ln, g.scalar(log.sigma()), g.uint8Scalar(0)));
        if (n < 255) estimate = g.node("Clip", scope + "/estimate_at_most_" + n, List.of(estimate, "", g.uint8Scalar(n)));
        String c0 = g.node("Cast", scope + "/estimate_int32", estimate, attr("to", (long) TensorProto.DataType.INT32.getNumber()));
        float[] bound = new float[n + 1];
        for (int c = 0; c <= n; c++) bound[c] = c < n ? Math.nextUp(thr[c]) : Float.NEGATIVE_INFINITY;
        String atOrBelow = g.node("Less", scope + "/at_or_below", List.of(y, lookUp(bound, c0, lead, scope + "/bound")));
        String one = g.node("Cast", scope + "/correction", atOrBelow, attr("to", (long) TensorProto.DataType.INT32.getNumber()));
        return add(c0, one, scope + "/code");
    }

    /**
     * The binary search: with {@code bound[c] = nextUp(thr[c-1])} for c = 1..n (and -inf past n,
     * never passed), each round moves the code c of an element to {@code c + step} where
     * {@code x < bound[c + step]} (a lookup of the bound, a Less, a Where), steps 2^(k-1) down to
     * 1; the first round compares with one bound for all.
     */
    private String binarySearch(String x, float[] thr, String lead, String scope) {
        int n = thr.length, size = Integer.highestOneBit(n) << 1;   // 2^k > n
        float[] bound = new float[size];
        for (int c = 0; c < size; c++) bound[c] = c >= 1 && c <= n ? Math.nextUp(thr[c - 1]) : Float.NEGATIVE_INFINITY;
        int first = size >> 1;
        String code = where(less(x, bound[first], scope + "/below_" + first), g.int32s(scope + "/step_" + first, new int[] {first}),
                g.int32s(scope + "/zero", new int[] {0}), scope + "/code_" + first);
        for (int step = first >> 1; step >= 1; step >>= 1) {
            String cand = add(code, g.int32s(scope + "/step_" + step, new int[] {step}), scope + "/candidate_" + step);
            String t = lookUp(bound, cand, lead, scope + "/bound_" + step);
            code = where(g.node("Less", scope + "/below_" + step, List.of(x, t)), cand, code, scope + "/code_" + step);
        }
        return code;
    }

    /** {@code Shape(x)} without its last axis: the leading shape a lookup table is expanded to. */
    private String leadingShape(String x, String scope) {
        return g.node("Slice", scope + "/leading_shape", List.of(g.node("Shape", scope + "/shape", x), g.longs(new long[] {0}, 1),
                g.longs(new long[] {-1}, 1)));
    }

    /**
     * {@code table[index]} elementwise: the table broadcast along the index's last axis (Expand to
     * the leading shape and the table's length) and a {@code GatherElements} on that axis. ONNX
     * Runtime runs this three to six times faster than a {@code Gather} of the 1-D table (measured,
     * not explained: docs/BENCHMARKS.md, "2026-12-05, night"); the expanded table is the tensor's
     * size times the table's length over the last axis's (fc2's 4-bit input: 16 / 768).
     */
    private String lookUp(float[] table, String index, String lead, String scope) {
        return lookUp(g.floats(scope + "/entries", table, table.length), table.length, index, lead, scope);
    }

    /** {@link #lookUp(float[], String, String, String)} of a 1-D table initializer of {@code length} entries, of any type. */
    private String lookUp(String table, int length, String index, String lead, String scope) {
        String shape = g.node("Concat", scope + "/table_shape", List.of(lead, g.longs(new long[] {length}, 1)), attr("axis", 0L));
        String expanded = g.node("Expand", scope + "/table", List.of(table, shape));
        return g.node("GatherElements", scope, List.of(expanded, index), attr("axis", -1L));
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
        if (max == 0 && integerForms) return mirroredCodes(x, scope, s, min, lowReachable);
        int zp = (int) (lowReachable ? -min : 255 - max);
        String scale = g.scalar(s), z = g.uint8Scalar(zp);
        String q = g.node("QuantizeLinear", scope + "/quantize", List.of(x, scale, z));
        if (lowReachable && highReachable && max + zp < 255)
            q = g.node("Clip", scope + "/clamp_high", List.of(q, "", g.uint8Scalar((int) (max + zp))));
        return g.node("DequantizeLinear", scope + "/dequantize", List.of(q, scale, z));
    }

    /**
     * Per-tensor codes {@code [min, 0]} (the twin GELU's negative range) in the integer form: stored as
     * the magnitudes {@code -q}, uint8 with the negated step and zero point 0, so that QuantizeLinear's
     * saturation at 0 is the clamp at zero ({@code rint} is symmetric: the same codes), a reachable low
     * bound a {@code Clip} of the codes at {@code -min}. Stored as {@code q + 255} instead (zero point
     * 255, {@link #shiftedCodes}) every code lies at 127 or above, and ONNX Runtime's U8S8 GEMM on x86
     * without VNNI (vpmaddubsw: two adjacent u8 x s8 products summed into a saturated int16) can then
     * saturate where two adjacent weights of a column have the same sign and magnitudes summing
     * beyond 128; with codes at most 128 no pair can (at most 128 x 254 = 32512, at least 128 x -256 =
     * -32768). The values, the sums after the zero point and ONNX Runtime's logits are the same
     * (docs/BENCHMARKS.md, "nineteenth session"). A negative QuantizeLinear scale: ONNX Runtime takes
     * it; other runtimes were not checked, so only this form (ONNX Runtime's) uses it.
     */
    private String mirroredCodes(String x, String scope, float s, long min, boolean lowReachable) {
        String scale = g.scalar(-s), z = g.uint8Scalar(0);
        String q = g.node("QuantizeLinear", scope + "/quantize", List.of(x, scale, z));
        if (lowReachable && -min < 255) q = g.node("Clip", scope + "/clamp_low", List.of(q, "", g.uint8Scalar((int) -min)));
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
        byte[] t = bytes(table);
        String s = g.scalar(scale), zp = g.uint8Scalar(zeroPoint);
        String q = g.node("QuantizeLinear", scope + "/quantize", List.of(x, s, zp));
        String index = g.node("Cast", scope + "/index", q, OnnxGraph.attr("to", (long) TensorProto.DataType.INT32.getNumber()));
        String level = lookUp(g.uint8s(scope + "/table", t, 256), 256, index, leadingShape(x, scope), scope + "/level");
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
