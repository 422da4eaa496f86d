package io.vitq.quant;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;

/**
 * PTQ4ViT's twin uniform quantizer for post-softmax probabilities ({@link TwinSoftmaxQuantizer}):
 * one global split s = 2^-m for all heads, a small range [0, s) with step s / L and a large range
 * with step 1 / L. Integer form (clean mode only): the small range is the fine component, the large
 * one the coarse, and since 1 / L = 2^m · s / L it always has the shift form. The reference code's
 * quirk mode has no integer form.
 */
public record TwinSoftmaxOperand(int bits, float split, TwinSoftmaxQuantizer.Mode mode) implements OperandQuant {
    public static final String KIND = "twin-softmax";

    public TwinSoftmaxOperand {
        QuantChecks.bits(bits, "twin softmax operand");
        TwinSoftmaxQuantizer.splitShift(split);
        if (mode == null) throw new IllegalArgumentException("twin softmax operand: mode missing");
    }

    @Override
    public String quantizerName() { return KIND; }

    public TwinSoftmaxQuantizer quantizer() { return new TwinSoftmaxQuantizer(bits, split, mode); }

    public TwinSoftmaxOperand withBits(int newBits) { return new TwinSoftmaxOperand(newBits, split, mode); }

    @Override
    public String displayName() { return "twin softmax"; }

    @Override
    public String codeFormMissing() {
        return mode == TwinSoftmaxQuantizer.Mode.CLEAN ? null : "twin softmax in quirk mode (the reference code's +s offset)"
                + " has no integer code form; calibrate with --softmax-mode clean";
    }

    @Override
    public String refuses(OperandRole role) {
        return role == OperandRole.PROBABILITIES ? null : "twin-softmax is for matmul2's probabilities, not " + role;
    }

    @Override
    public void fakeQuant(String opId, int scaleIndex, float[] src, int off, float[] dst, int dOff, int n) {
        quantizer().fakeQuant(opId, src, off, dst, dOff, n);
    }

    @Override
    public CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes) {
        if (codeFormMissing() != null) throw new IllegalArgumentException(opId + ": " + codeFormMissing());
        if (pre != 1f) throw new IllegalArgumentException(opId + ": twin softmax takes no pre-scale");
        TwinSoftmaxQuantizer q = quantizer();
        float small = q.smallStep(), levels = q.levels();
        int shift = q.shift();
        return new CodeForm() {
            @Override public int components() { return 2; }

            @Override public float unit(int c) { return c == 0 ? small : 1f / levels; }

            @Override public int shift() { return shift; }

            @Override public long maxAbs(boolean combined) { return combined ? ShiftForm.softmaxOperandBound(q) : q.levels(); }

            @Override public boolean int8() { return bits <= 8; }

            @Override
            public boolean encode(float[] x, int off, int n, int[] c0, int[] c1, int dOff) {
                return ActivationCodes.softmaxSplit(x, off, n, split, small, levels, c0, c1, dOff);
            }

            @Override
            public boolean encode(float[] x, int off, int n, byte[] c0, byte[] c1, int dOff) {
                return ActivationCodes.softmaxSplit(x, off, n, split, small, levels, c0, c1, dOff);
            }

            @Override
            public boolean encodeCombined(float[] x, int off, int n, int[] c, int dOff) {
                return ActivationCodes.softmaxShift(x, off, n, split, small, levels, shift, c, dOff);
            }

            @Override
            public void encodeFloats(String id, float[] x, int off, int n, float[] c0, float[] c1, int dOff) {
                q.codeValues(id, x, off, c0, c1, dOff, n);
            }

            /** c0 is the small range R1's code, c1 the large range R2's (flag set). */
            @Override public int storedCode(int c0, int c1) { return c1 != 0 ? q.rangeFlag() | c1 : c0; }

            @Override public String storedLayout() { return "twin-softmax"; }
        };
    }

    @Override
    public String toOnnx(QdqGraph g, String p, String scope, int axis, int rank) {
        TwinSoftmaxQuantizer q = quantizer();
        long levels = q.levels();
        float small = q.smallStep();
        if (mode == TwinSoftmaxQuantizer.Mode.CLEAN) {
            // small range: selected only for p < s, whose codes are at most rint(s / Δ_R1) = L
            String lo = g.qdq(p, scope + "/twin_small", new float[] {small}, -1, rank, bits, 0, levels, false, false);
            String hi = largeRange(g, p, scope + "/twin_large", levels);
            return g.where(g.less(p, split, scope + "/twin_is_small"), lo, hi, scope + "/twin_softmax");
        }
        String hi = largeRange(g, g.clip(p, split, 1f, scope + "/quirk_large_in"), scope + "/quirk_large", levels);
        String loIn = g.clip(p, 0f, split, scope + "/quirk_small_in");
        String lo = g.qdq(loIn, scope + "/quirk_small", new float[] {small}, -1, rank, bits, 0, levels, false, false);
        return g.add(hi, lo, scope + "/twin_softmax_quirk");
    }

    /**
     * The large range, step 1 / L, as vitq computes it: {@code clamp(rint(p * L), 0, L) / L}, i.e.
     * {@code Mul(L)}, a QDQ with step 1 (the codes are the R2 magnitudes) and {@code Div(L)}. A QDQ
     * with scale fl(1/L) would compute {@code rint(p / fl(1/L)) * fl(1/L)}, one ulp off for about 6 %
     * of the probabilities and a different code for about one in a million.
     */
    private String largeRange(QdqGraph g, String p, String scope, long levels) {
        String scaled = g.mul(p, (float) levels, scope + "/times_levels");
        String codes = g.qdq(scaled, scope, new float[] {1f}, -1, 4, bits, 0, levels, false, true);
        return g.div(codes, (float) levels, scope + "/over_levels");
    }

    @Override
    public String summary() { return KIND + "/" + (mode == TwinSoftmaxQuantizer.Mode.CLEAN ? "clean" : "quirk"); }

    @Override
    public java.util.List<String> inspectCells() {
        TwinSoftmaxQuantizer q = quantizer();
        String m = mode == TwinSoftmaxQuantizer.Mode.CLEAN ? "clean" : "reference-quirk";
        return java.util.List.of(KIND + " (" + m + ")", "per-tensor", "2", "small " + Format.num(q.smallStep()) + ", large "
                + Format.num(q.largeStep()) + " (split " + Format.num(split) + ")");
    }

    @Override
    public void writeJson(JsonGenerator g) throws IOException {
        g.writeNumberField("split", split);
        g.writeStringField("mode", mode == TwinSoftmaxQuantizer.Mode.CLEAN ? "clean" : "reference-quirk");
    }

    static TwinSoftmaxOperand fromJson(PlanFields f) {
        f.only(OperandQuant.fields("split", "mode"));
        int bits = f.integer("bits");
        float split = f.number("split");
        String mode = f.string("mode");
        TwinSoftmaxQuantizer.Mode m = switch (mode) {
            case "clean" -> TwinSoftmaxQuantizer.Mode.CLEAN;
            case "reference-quirk" -> TwinSoftmaxQuantizer.Mode.REFERENCE_QUIRK;
            default -> throw f.error("mode", "expected \"clean\" or \"reference-quirk\", got \"" + mode + "\"");
        };
        return f.build(() -> new TwinSoftmaxOperand(bits, split, m));
    }
}
