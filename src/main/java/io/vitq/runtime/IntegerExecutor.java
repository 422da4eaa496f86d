package io.vitq.runtime;

import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.ActivationCodes;
import io.vitq.quant.CodeForm;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.PlanModelCheck;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.SoftmaxKernel;
import io.vitq.tensor.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Integer execution of a {@link QuantPlan} on the one model definition: every quantized operand
 * becomes integer codes, products are summed exactly in int32 and dequantized once per output
 * element. Its logits equal {@code FakeQuantExecutor}'s up to float rounding (the fake-quant mode
 * sums dequantized values in float).
 *
 * <p><b>Linear ops.</b> The weight codes (the plan's quantizer, {@link ScaledRanges#codesRows}) are
 * packed once ({@link PackedInt8}). The input is quantized to codes one row tile (6 rows) at a
 * time, multiplied by {@link Int8Gemm}'s kernels into int32, and the tile is written as
 * {@code y (+)= acc * (inputStep * weightScale[row group of the output]) + bias}, then GELU if fused.
 * The image entering the patch embedding stays float (ALGORITHMS section 1): that op runs the
 * float GEMM with the dequantized weight ({@code code * scale}, bit-identical to the fake-quant weight).
 *
 * <p><b>Twin GELU input (fc2).</b> Codes are the uint8 layout's range flag and magnitude
 * ({@link ActivationCodes}). With the power-of-two option ({@code Δpos = 2^m Δneg}) the <i>shift
 * form</i> enters one int32 accumulation with the operand {@code flag ? mag << m : -mag} in units of
 * Δneg, when {@code K * 127 * 2^m * 128 <= 2^31 - 1} guarantees no overflow (checked with
 * {@link Int8Gemm#fitsInt32}). Otherwise (bound exceeded, or the plan's linear grid, where no
 * shift aligns the ranges) the <i>split form</i> runs two int8 accumulations, positive-range codes
 * and negative-range codes, over the same packed weight, combined at dequantization
 * {@code acc+ * Δpos * Δw + acc- * Δneg * Δw}. One deviation from the uint8 layout: fake quant
 * clamps the negative side at {@code -2^(k-1)} (x at or below -127.5 Δneg, which GELU's flat
 * minimum reaches), the layout's 7-bit magnitude at -127; the executor uses -128 so that it
 * equals fake quant ({@link Options#layoutGeluCodes} clamps at -127 as the reference export does).
 *
 * <p><b>Attention.</b> Per (group, head): q and k codes (per-head or per-tensor scales; Swin's q
 * is multiplied by the scale before it is quantized, as timm does) give int32 scores dequantized
 * by {@code Δq Δk}; the softmax stays float; the probabilities become codes and multiply v's codes.
 * With at least as many groups as threads, a group's int8 q, k and v codes are encoded in one pass
 * over its rows before its heads run ({@code groupCodes}).
 * Twin softmax probabilities (clean mode): shift form {@code x < s ? r1 : r2 << m} in units of
 * Δ_R1 when {@code T * 127 * 2^m * 128 <= 2^31 - 1} (T = tokens, the GEMM's K; m can be 19, e.g.
 * T = 197 allows m <= 9), else the split form with two int8 accumulations
 * {@code acc_R1 * Δ_R1 * Δv + acc_R2 * (1/L) * Δv}. AdaLog's probabilities enter as their 14-bit
 * grid codes split into two int8 components, the same shift form (m = 7). The reference's quirk
 * mode has no code form and is refused. A matmul is integer when both operands are quantized, float when neither is; a
 * plan that quantizes only one operand of a matmul is refused.
 *
 * <p><b>Codes wider than 8 bits</b> (mixed precision up to 16 bits) run a simple scalar GEMM with
 * long accumulation (twin operands in the split form); exact, but not fast.
 *
 * <p>Ops without a plan entry run in float as {@link FloatExecutor}. Inputs are never modified.
 * An executor is bound to its model (checked); concurrent forwards are safe.
 */
public final class IntegerExecutor implements Executor {
    /** How twin operands enter the product. */
    public enum TwinForm {
        /** The shift form when the plan allows it and the int32 bound holds, else the split form. */
        AUTO,
        /** Always two accumulations (for comparisons). */
        SPLIT
    }

    /**
     * @param layoutGeluCodes clamp twin GELU's negative magnitudes at 2^(k-1) - 1 as the uint8
     *                        layout and the reference export do, instead of 2^(k-1) as fake quant does
     */
    public record Options(TwinForm twinForm, boolean layoutGeluCodes) {
        public static final Options DEFAULT = new Options(TwinForm.AUTO, false);

        public Options {
            if (twinForm == null) throw new IllegalArgumentException("twin form missing");
        }
    }

    /** How one op runs. */
    public enum OpForm {
        /** No plan entry (or both matmul operands float): float execution. */
        FLOAT,
        /** Float input (the patch embedding): float GEMM with the dequantized weight. */
        FLOAT_INPUT,
        /** int8 x int8 codes, int32 accumulation. */
        INT8,
        /** A twin operand aligned by shifts, int32 x int8, one int32 accumulation. */
        SHIFT,
        /** A twin operand as two int8 accumulations, one per range. */
        SPLIT,
        /** Codes wider than 8 bits: scalar GEMM, long accumulation. */
        WIDE
    }

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_512;
    private static final int MR = Int8Gemm.MR;
    private static final boolean INT32_KERNEL = Int8Gemm.DEFAULT_KERNEL == Int8Gemm.Int8Kernel.INT32;
    /**
     * The native kernel takes int8 or uint8 A, not int32: a twin operand's shift form then runs as its
     * two int8 components, combined in int32 as {@code acc0 + (acc1 << m)} (see {@link #addShifted}),
     * and unsigned codes (asymmetric, codebook) as uint8 bytes ({@link Int8Gemm#tileUnsigned}).
     */
    private static final boolean NATIVE_KERNEL = Int8Gemm.DEFAULT_KERNEL == Int8Gemm.Int8Kernel.NATIVE_VNNI;

    private final QuantPlan plan;
    private final Options options;
    private final Map<String, LinearOp> linears = new HashMap<>();
    private final Map<String, AttentionPlan> attentions = new HashMap<>();
    private final Map<String, OpForm> forms = new LinkedHashMap<>();
    private final List<String> notes = new java.util.ArrayList<>();
    /** Receives every quantized op's codes, sums and outputs (vitq dump), or null. */
    private final CodeRecorder recorder;

    public IntegerExecutor(QuantPlan plan, Model model) { this(plan, model, Options.DEFAULT); }

    public IntegerExecutor(QuantPlan plan, Model model, Options options) { this(plan, model, options, null); }

    /**
     * Checks the plan against the model and prepares every quantized op (weights are quantized and
     * packed here, once).
     *
     * @throws IllegalArgumentException naming the op when the plan does not fit the model or has no
     *                                  integer form (twin softmax in quirk mode, a matmul with one
     *                                  float operand, a quantizer on an operand it cannot apply to)
     * @param recorder receives what every quantized op computes (slower: the codes are encoded twice), or null
     */
    public IntegerExecutor(QuantPlan plan, Model model, Options options, CodeRecorder recorder) {
        PlanModelCheck.check(plan, model);
        this.plan = plan;
        this.options = options;
        this.recorder = recorder;
        for (Linear l : model.linears()) {
            if (plan.op(l.id()) instanceof LinearQuant lq) {
                LinearOp op = new LinearOp(l, lq, options, recorder != null);
                linears.put(l.id(), op);
                forms.put(l.id(), op.form);
                if (op.note != null) notes.add(op.note);
            } else {
                forms.put(l.id(), OpForm.FLOAT);
            }
        }
        for (AttentionOp a : model.attentionOps()) {
            AttentionPlan ap = new AttentionPlan(a, plan, options, recorder != null);
            attentions.put(a.prefix(), ap);
            forms.put(a.matmul1Id(), ap.m1 == null ? OpForm.FLOAT : ap.m1.wide() ? OpForm.WIDE : OpForm.INT8);
            forms.put(a.matmul2Id(), ap.m2 == null ? OpForm.FLOAT : ap.m2.form);
            if (ap.note != null) notes.add(ap.note);
        }
    }

    public QuantPlan plan() { return plan; }

    public Options options() { return options; }

    /** How the op with this id runs (every Linear and matmul of the model). */
    public OpForm form(String opId) {
        OpForm f = forms.get(opId);
        if (f == null) throw new IllegalArgumentException(opId + ": no such op in the model");
        return f;
    }

    /** True when this Linear's unsigned input codes run on the native kernel's uint8 GEMM (tests). */
    boolean nativeUnsigned(String linearId) {
        LinearOp op = linears.get(linearId);
        return op != null && op.nativeUnsigned;
    }

    /**
     * One line per twin operand: which form it runs in and why (the plan lacks the power-of-two
     * option, the int32 bound {@code K * L * 2^m * max|b|} and its value, or the options).
     */
    public List<String> notes() { return List.copyOf(notes); }

    /** Op id to form, in forward order (Linear ops first, then the matmuls). */
    public Map<String, OpForm> forms() { return java.util.Collections.unmodifiableMap(forms); }

    /**
     * Bytes of the weights this executor holds for its quantized Linear ops: packed int8 codes
     * (4 bytes per code for the rare codes wider than 8 bits, a float copy for the float-input
     * patch embedding). The model object still holds its float weights.
     */
    public long weightBytes() {
        long n = 0;
        for (LinearOp op : linears.values()) n += op.bytes();
        return n;
    }

    // ---- Linear ----

    @Override
    public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
        LinearOp st = linears.get(op.id());
        if (st == null) {
            FloatExecutor.INSTANCE.linear(op, x, m, y, act, accumulate);
            return;
        }
        if (st.layer != op)
            throw new IllegalArgumentException(op.id() + ": not the layer this executor's model has under that id");
        if (accumulate && act != Activation.NONE)
            throw new IllegalArgumentException("accumulate with an activation is not supported");
        if (st.form == OpForm.FLOAT_INPUT) {
            Gemm.gemm(x, 0, op.in(), m, st.floatWeight, y, 0, op.out(), st.bias, act, accumulate, true);
            return;
        }
        if ((long) m * op.in() > x.length || (long) m * op.out() > y.length)
            throw new IndexOutOfBoundsException(op.id() + ": " + m + " rows do not fit the buffers");
        boolean gelu = act == Activation.GELU;
        CodeRecorder rec = recorder;
        if (rec != null) rec.linearStarts(st.view, m);
        Parallel.forRange(m, MR, (r0, r1) -> {
            Scratch s = SCRATCH.get();
            for (int i = r0; i < r1; i += MR) st.tile(s, rec, x, i, Math.min(MR, r1 - i), y, 0, gelu, accumulate);
        });
    }

    /**
     * One quantized Linear op as this runtime runs it, outside a model forward: the calibration
     * search scores its candidate quantizers on these outputs when they are integer products
     * ({@link #integer()}), the same sums and dequantization as {@code vitq eval --integer}.
     */
    public static final class LinearKernel {
        private final LinearOp op;

        /** Quantizes and packs the weight (once): {@code lq} as the plan entry of {@code layer}. */
        public LinearKernel(Linear layer, LinearQuant lq) { this.op = new LinearOp(layer, lq, Options.DEFAULT, false); }

        /** Output columns per row. */
        public int out() { return op.out; }

        /**
         * True when the op runs on int8 or uint8 codes with int32 sums (not a float input, not
         * codes wider than 8 bits): the products the byte kernels compute.
         */
        public boolean integer() { return op.form == OpForm.INT8 || op.form == OpForm.SHIFT || op.form == OpForm.SPLIT; }

        /**
         * Rows {@code [r0, r0 + m)} of the output from the same rows of {@code x [rows, in]}, into
         * {@code y} from {@code yOff} on ({@code m x out}, row-major), in the calling thread (callers
         * parallelize over row ranges; a small per-thread {@code y} stays in cache).
         */
        public void rows(float[] x, int r0, int m, float[] y, int yOff) {
            if (op.form == OpForm.FLOAT_INPUT) throw new IllegalStateException(op.id + ": a float input has no integer products");
            if ((long) (r0 + m) * op.in > x.length || yOff + (long) m * op.out > y.length)
                throw new IndexOutOfBoundsException(op.id + ": rows " + r0 + ".." + (r0 + m) + " do not fit the buffers");
            Scratch s = SCRATCH.get();
            int yBase = yOff - r0 * op.out;
            for (int i = r0; i < r0 + m; i += MR) op.tile(s, null, x, i, Math.min(MR, r0 + m - i), y, yBase, false, false);
        }
    }

    /** Per-thread buffers (pool threads and the caller). */
    private static final class Scratch {
        byte[] b1 = new byte[0], b2 = new byte[0], b3 = new byte[0];
        int[] i1 = new int[0], i2 = new int[0], acc1 = new int[0], acc2 = new int[0];
        long[] w1 = new long[0], w2 = new long[0];
        byte[] qkvCodes = new byte[0];
        float[] f = new float[0], c0 = new float[0], c1 = new float[0];
        final PackedInt8 kT = PackedInt8.buffer(), v = PackedInt8.buffer();
        final PackedB kTf = PackedB.buffer(), vf = PackedB.buffer();

        byte[] b1(int n) { return b1.length >= n ? b1 : (b1 = new byte[n]); }

        byte[] b2(int n) { return b2.length >= n ? b2 : (b2 = new byte[n]); }

        byte[] b3(int n) { return b3.length >= n ? b3 : (b3 = new byte[n]); }

        int[] i1(int n) { return i1.length >= n ? i1 : (i1 = new int[n]); }

        int[] i2(int n) { return i2.length >= n ? i2 : (i2 = new int[n]); }

        int[] acc1(int n) { return acc1.length >= n ? acc1 : (acc1 = new int[n]); }

        int[] acc2(int n) { return acc2.length >= n ? acc2 : (acc2 = new int[n]); }

        long[] w1(int n) { return w1.length >= n ? w1 : (w1 = new long[n]); }

        long[] w2(int n) { return w2.length >= n ? w2 : (w2 = new long[n]); }

        float[] f(int n) { return f.length >= n ? f : (f = new float[n]); }

        byte[] qkvCodes(int n) { return qkvCodes.length >= n ? qkvCodes : (qkvCodes = new byte[n]); }

        /** Slot {@code slot} (0 or 1) holding n copies of c: the column scales of a scalar dequantization. */
        float[] constants(int slot, float c, int n) {
            float[] a = slot == 0 ? c0 : c1;
            if (a.length < n) a = slot == 0 ? (c0 = new float[n]) : (c1 = new float[n]);
            Arrays.fill(a, 0, n, c);
            return a;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** One quantized Linear op, prepared. */
    private static final class LinearOp {
        final Linear layer;
        /** The layer's bias, or the plan's corrected one (VT-PTQ's bias correction). */
        final float[] bias;
        final String id;
        final int in, out;
        final OpForm form;
        /** The input's integer form (its quantizer kind's); null for a float input. */
        final CodeForm codes;
        final PackedInt8 weight;       // int8 codes (INT8, SHIFT, SPLIT)
        final int[] wideWeight;        // [out][in] codes (WIDE)
        final PackedB floatWeight;     // dequantized (FLOAT_INPUT)
        final float[] cs1, cs2;        // per output column: unit of component 1 (2) x weight scale
        /** zero point x weight column sum, per output column: subtracted from component 1's sums (null: no zero point). */
        final long[] zeroCorrection;
        /** The codes are unsigned bytes (0..255) for the native kernel's uint8 GEMM (else, unsigned: the Java int32 kernel). */
        final boolean nativeUnsigned;
        final String note;             // why a twin operand runs in its form (or null)
        /** What a {@link CodeRecorder} is told of this op (null unless recording). */
        final CodeRecorder.LinearOp view;

        LinearOp(Linear l, LinearQuant lq, Options options, boolean recording) {
            this.layer = l;
            this.bias = lq.effectiveBias(l.bias());
            this.id = l.id();
            this.in = l.in();
            this.out = l.out();
            UniformOperand w = lq.weight();
            float[] rowScale = new float[out];
            int[] rowZero = recording && w.asymmetric() ? new int[out] : null;   // only the recorder reports them
            for (int r = 0; r < out; r++) {
                int s = w.granularity().scaleIndexOfRow(r, out, w.scaleCount());
                rowScale[r] = w.scale(s);
                if (rowZero != null) rowZero[r] = w.zeroPoint(s);
            }
            OperandQuant input = lq.input();
            if (input == null) {
                form = OpForm.FLOAT_INPUT;
                codes = null;
                note = null;
                // codes * scale: the same floats as the fake-quant weight, for the float GEMM
                float[] deq = new float[out * in];
                if (w.bits() <= 8) {
                    byte[] c = ScaledRanges.codesRows(w, id, l.weight(), out, in);
                    for (int r = 0; r < out; r++) for (int k = 0; k < in; k++) deq[r * in + k] = c[r * in + k] * rowScale[r];
                } else {
                    short[] c = ScaledRanges.shortCodesRows(w, id, l.weight(), out, in);
                    for (int r = 0; r < out; r++) for (int k = 0; k < in; k++) deq[r * in + k] = c[r * in + k] * rowScale[r];
                }
                floatWeight = PackedB.packTransposed(deq, 0, in, out, in);
                weight = null;
                wideWeight = null;
                cs1 = cs2 = null;
                zeroCorrection = null;
                nativeUnsigned = false;
                view = null;
                return;
            }
            codes = input.codeForm(id, 0, 1f, options.layoutGeluCodes());
            boolean wide = w.bits() > 8 || input.bits() > 8;
            boolean twoUnits;
            if (codes.components() == 1) { // int32 sums unless the codes could overflow them (K x 255 x 128 for asymmetric codes)
                form = wide || !Int8Gemm.fitsInt32(in, codes.maxAbs(false), w.maxAbsCode()) ? OpForm.WIDE : OpForm.INT8;
                note = null;
                twoUnits = false;
            } else {
                long maxA = codes.maxAbs(true);
                boolean shiftForm = !wide && codes.shift() >= 0 && options.twinForm() == TwinForm.AUTO
                        && Int8Gemm.fitsInt32(in, maxA, w.maxAbsCode());
                note = twinNote(id, input.displayName() + " input", wide, codes.shift() >= 0, codes.shift(), options, in, maxA,
                        w.maxAbsCode(), "the coarse step is not 2^m x the fine step (calibrate with --gelu-grid power-of-two for the one-accumulation shift form)");
                form = shiftForm ? OpForm.SHIFT : wide ? OpForm.WIDE : OpForm.SPLIT;
                twoUnits = !shiftForm;
            }
            floatWeight = null;
            if (form == OpForm.WIDE) {
                short[] c = ScaledRanges.shortCodesRows(w, id, l.weight(), out, in);
                wideWeight = new int[c.length];
                for (int i = 0; i < c.length; i++) wideWeight[i] = c[i];
                weight = null;
            } else {
                byte[] c = ScaledRanges.codesRows(w, id, l.weight(), out, in);
                weight = PackedInt8.packTransposed(c, 0, in, out, in);
                wideWeight = null;
            }
            int padded = weight == null ? out : weight.paddedN();
            cs1 = new float[padded];
            for (int r = 0; r < out; r++) cs1[r] = codes.unit(0) * rowScale[r];
            if (!twoUnits) {
                cs2 = null;
            } else {
                cs2 = new float[padded];
                for (int r = 0; r < out; r++) cs2[r] = codes.unit(1) * rowScale[r];
            }
            zeroCorrection = codes.zeroPoint() == 0 ? null : zeroCorrection(codes.zeroPoint(), w, l, padded);
            nativeUnsigned = form == OpForm.INT8 && NATIVE_KERNEL && unsignedBytes(codes) && in <= PackedInt8.MAX_K_UNSIGNED;
            view = recording ? new CodeRecorder.LinearOp(id, form, in, out, codes, input.bits(),
                    ScaledRanges.shortCodesRows(w, id, l.weight(), out, in), w.bits(), rowScale, rowZero, bias) : null;
        }

        /** One component whose codes, as encoded (before the zero point), are 0..255. */
        private static boolean unsignedBytes(CodeForm codes) {
            return codes.components() == 1 && codes.uint8();
        }

        /** {@code z * sum_k w_jk} per output column j (an asymmetric input's zero point, as a correction of the sums). */
        private long[] zeroCorrection(int z, UniformOperand w, Linear l, int padded) {
            short[] c = ScaledRanges.shortCodesRows(w, id, l.weight(), out, in);
            long[] corr = new long[padded];
            for (int r = 0; r < out; r++) {
                long sum = 0;
                for (int k = 0; k < in; k++) sum += c[r * in + k];
                corr[r] = z * sum;
            }
            return corr;
        }

        long bytes() {
            if (floatWeight != null) return 4L * in * out;
            if (wideWeight != null) return 4L * wideWeight.length;
            return weight.bytes();
        }

        /** Rows {@code [i, i + mr)}: quantize, multiply, dequantize into y (and tell rec, when not null). */
        void tile(Scratch s, CodeRecorder rec, float[] x, int i, int mr, float[] y, int yBase, boolean gelu, boolean accumulate) {
            final int K = in, xo = i * K, n = mr * K;
            boolean ok;
            if (form == OpForm.WIDE) {
                int[] a1 = s.i1(n), a2 = codes.components() == 2 ? s.i2(n) : null;
                ok = codes.encode(x, xo, n, a1, a2, 0);
                if (!ok) throw nonFinite(id, x, xo, n);
                long[] w1 = s.w1(mr * out), w2 = a2 == null ? null : s.w2(mr * out);
                WideGemm.rows(a1, 0, K, mr, wideWeight, out, K, w1, out);
                if (a2 != null) WideGemm.rows(a2, 0, K, mr, wideWeight, out, K, w2, out);
                long[] raw1 = rec == null ? null : Arrays.copyOf(w1, mr * out), raw2 = rec == null || a2 == null ? null : Arrays.copyOf(w2, mr * out);
                if (zeroCorrection != null)
                    for (int r = 0; r < mr; r++) for (int j = 0; j < out; j++) w1[r * out + j] -= zeroCorrection[j];
                finish(rec, x, i, mr, raw1, raw2, y, yBase, accumulate, gelu,
                        (d, o, acc, g) -> wideEpilogue(w1, cs1, w2, cs2, out, mr, out, bias, d, o, out, acc, g));
                return;
            }
            final int ld = weight.paddedN();
            int[] acc1 = s.acc1(mr * ld), acc2 = null;
            switch (form) {
                case INT8, SHIFT -> {
                    if (form == OpForm.SHIFT && NATIVE_KERNEL && codes.int8()) {
                        byte[] p = s.b1(n), q = s.b2(n);
                        ok = codes.encode(x, xo, n, p, q, 0);
                        if (!ok) throw nonFinite(id, x, xo, n);
                        int[] coarse = s.acc2(mr * ld);
                        Int8Gemm.tile(p, 0, K, mr, weight, acc1, 0, ld);
                        Int8Gemm.tile(q, 0, K, mr, weight, coarse, 0, ld);
                        addShifted(acc1, coarse, codes.shift(), ld, mr, out);
                    } else if (form == OpForm.INT8 && !INT32_KERNEL && codes.int8()) {
                        byte[] a = s.b1(n);
                        ok = codes.encode(x, xo, n, a, null, 0);
                        if (!ok) throw nonFinite(id, x, xo, n);
                        Int8Gemm.tile(a, 0, K, mr, weight, acc1, 0, ld);
                    } else if (nativeUnsigned) { // vpdpbusd's unsigned operand as they are; the zero point is corrected below
                        int[] c = s.i1(n);
                        byte[] a = s.b1(n);
                        ok = codes.encode(x, xo, n, c, null, 0);
                        if (!ok) throw nonFinite(id, x, xo, n);
                        for (int e = 0; e < n; e++) a[e] = (byte) c[e];
                        Int8Gemm.tileUnsigned(a, 0, K, mr, weight, acc1, 0, ld);
                    } else { // codes straight to the int32 kernel's operand (no widening copy)
                        int[] a = s.i1(n);
                        ok = codes.encodeCombined(x, xo, n, a, 0);
                        if (!ok) throw nonFinite(id, x, xo, n);
                        Int8Gemm.tile(a, 0, K, mr, weight, acc1, 0, ld);
                    }
                }
                case SPLIT -> {
                    byte[] p = s.b1(n), q = s.b2(n);
                    ok = codes.encode(x, xo, n, p, q, 0);
                    if (!ok) throw nonFinite(id, x, xo, n);
                    acc2 = s.acc2(mr * ld);
                    Int8Gemm.tile(p, 0, K, mr, weight, acc1, 0, ld);
                    Int8Gemm.tile(q, 0, K, mr, weight, acc2, 0, ld);
                }
                default -> throw new IllegalStateException(form.toString());
            }
            long[] raw1 = rec == null ? null : longs(acc1, ld, mr, out), raw2 = rec == null || acc2 == null ? null : longs(acc2, ld, mr, out);
            if (zeroCorrection != null) // within int32: |z sum_k w| is within the codes' bound, checked above
                for (int r = 0; r < mr; r++) for (int j = 0; j < out; j++) acc1[r * ld + j] -= (int) zeroCorrection[j];
            final int[] a1 = acc1, a2 = acc2;
            finish(rec, x, i, mr, raw1, raw2, y, yBase, accumulate, gelu,
                    (d, o, acc, g) -> epilogue(a1, cs1, a2, cs2, ld, mr, out, bias, d, o, out, acc, g));
        }

        /**
         * Dequantizes rows [i, i + mr) into y; when recording, first into a buffer that rec is given
         * with the rows' component codes (encoded again, as ints) and sums, then into y as the fused
         * epilogue would.
         */
        private void finish(CodeRecorder rec, float[] x, int i, int mr, long[] acc1, long[] acc2, float[] y, int yBase, boolean accumulate,
                            boolean gelu, Dequantize dq) {
            if (rec == null) {
                dq.into(y, yBase + i * out, accumulate, gelu);
                return;
            }
            float[] t = new float[mr * out];
            dq.into(t, 0, false, false);
            int n = mr * in;
            int[] c0 = new int[n], c1 = codes.components() == 2 ? new int[n] : null;
            if (!codes.encode(x, i * in, n, c0, c1, 0)) throw nonFinite(id, x, i * in, n);
            rec.linearRows(id, i, mr, c0, c1, acc1, acc2, t);
            applyRows(t, mr, out, y, yBase + i * out, out, accumulate, gelu);
        }
    }

    /** A tile's dequantization (an epilogue) into {@code dst} at {@code off}. */
    private interface Dequantize {
        void into(float[] dst, int off, boolean accumulate, boolean gelu);
    }

    /**
     * {@code acc0 += acc1 << m} for the n columns of mr rows (row stride ld): the shift form's sum
     * {@code sum (c0 + c1 2^m) b} from its components' sums. int32 wraps, so the result equals the
     * combined sum exactly whenever that sum fits an int32, which the shift form's bound guarantees.
     */
    static void addShifted(int[] acc0, int[] acc1, int m, int ld, int mr, int n) {
        for (int r = 0; r < mr; r++) for (int j = r * ld, e = j + n; j < e; j++) acc0[j] += acc1[j] << m;
    }

    /** The sums of a tile ({@code mr x n} of an int32 array with row stride ld) as longs. */
    private static long[] longs(int[] acc, int ld, int mr, int n) {
        long[] a = new long[mr * n];
        for (int r = 0; r < mr; r++) for (int j = 0; j < n; j++) a[r * n + j] = acc[r * ld + j];
        return a;
    }

    /**
     * {@code y (+)= t} row by row, then GELU: what the fused epilogue does after its dequantization
     * (float addition commutes, so the bits are the same).
     */
    private static void applyRows(float[] t, int mr, int n, float[] y, int yOff, int ldy, boolean accumulate, boolean gelu) {
        for (int r = 0; r < mr; r++) {
            int o = yOff + r * ldy;
            for (int j = 0; j < n; j++) y[o + j] = accumulate ? y[o + j] + t[r * n + j] : t[r * n + j];
            if (gelu) VectorMath.geluInPlace(y, o, n);
        }
    }

    /** The line of {@link #notes()} for one two-component operand (a twin, log-sqrt2). */
    static String twinNote(String id, String what, boolean wide, boolean powerOfTwo, int shift, Options options, int k,
                           long maxA, long maxB, String noPowerOfTwo) {
        if (wide) return id + ": " + what + " codes beyond int8 (over 8 bits, or above 127): split form (two long accumulations)";
        if (!powerOfTwo) return id + ": " + what + ": split form (two int8 accumulations): " + noPowerOfTwo;
        if (options.twinForm() == TwinForm.SPLIT) return id + ": " + what + ": split form (two int8 accumulations), as the options ask";
        String bound = "K " + k + " x " + (maxA == Long.MAX_VALUE ? "127 x 2^" + shift : Long.toString(maxA)) + " x " + maxB;
        if (Int8Gemm.fitsInt32(k, maxA, maxB))
            return id + ": " + what + ": shift form (m = " + shift + "), one int32 accumulation: " + bound + " <= 2^31 - 1";
        return id + ": " + what + ": split form (two int8 accumulations): the shift form (m = " + shift + ") could overflow int32, "
                + bound + " > 2^31 - 1";
    }

    static IllegalArgumentException nonFinite(String id, float[] x, int off, int len) {
        return new IllegalArgumentException(id + ": input contains " + ActivationCodes.describeNonFinite(x, off, len)
                + " of the quantized rows (quantizers accept only finite values)");
    }

    /**
     * {@code y[r][j] (+)= acc1[r][j] * cs1[j] (+ acc2[r][j] * cs2[j]) + bias[j]} for r < mr, j < n;
     * then GELU on the rows. {@code cs} arrays are padded to a multiple of 16 past n (or n itself
     * is handled by the scalar tail).
     */
    static void epilogue(int[] acc1, float[] cs1, int[] acc2, float[] cs2, int ldAcc, int mr, int n, float[] bias,
                         float[] y, int yOff, int ldy, boolean accumulate, boolean gelu) {
        final int upper = FS.loopBound(n);
        for (int r = 0; r < mr; r++) {
            final int a = r * ldAcc, o = yOff + r * ldy;
            int j = 0;
            for (; j < upper; j += 16) {
                FloatVector v = FloatVector.fromArray(FS, cs1, j)
                        .mul(IntVector.fromArray(IS, acc1, a + j).convertShape(VectorOperators.I2F, FS, 0));
                if (acc2 != null)
                    v = v.add(FloatVector.fromArray(FS, cs2, j)
                            .mul(IntVector.fromArray(IS, acc2, a + j).convertShape(VectorOperators.I2F, FS, 0)));
                if (bias != null) v = v.add(FloatVector.fromArray(FS, bias, j));
                if (accumulate) v = FloatVector.fromArray(FS, y, o + j).add(v);
                v.intoArray(y, o + j);
            }
            for (; j < n; j++) {
                float v = cs1[j] * (float) acc1[a + j];
                if (acc2 != null) v = v + cs2[j] * (float) acc2[a + j];
                if (bias != null) v = v + bias[j];
                y[o + j] = accumulate ? y[o + j] + v : v;
            }
            if (gelu) VectorMath.geluInPlace(y, o, n);
        }
    }

    /** The same from long sums (codes wider than 8 bits), in double. */
    static void wideEpilogue(long[] acc1, float[] cs1, long[] acc2, float[] cs2, int ldAcc, int mr, int n, float[] bias,
                             float[] y, int yOff, int ldy, boolean accumulate, boolean gelu) {
        for (int r = 0; r < mr; r++) {
            final int a = r * ldAcc, o = yOff + r * ldy;
            for (int j = 0; j < n; j++) {
                double d = (double) cs1[j] * acc1[a + j];
                if (acc2 != null) d += (double) cs2[j] * acc2[a + j];
                float v = (float) d;
                if (bias != null) v = v + bias[j];
                y[o + j] = accumulate ? y[o + j] + v : v;
            }
            if (gelu) VectorMath.geluInPlace(y, o, n);
        }
    }

    // ---- attention ----

    /** matmul1 (q . k^T), quantized: per head, the code forms of q (Swin: of q * scale) and k. */
    private record Matmul1(CodeForm[] q, CodeForm[] k, boolean wide) {}

    /** matmul2 (probabilities . v), quantized: per head, the code forms of the probabilities and of v. */
    private record Matmul2(OpForm form, CodeForm[] p, CodeForm[] v) {
        boolean wide() { return form == OpForm.WIDE; }
    }

    private static final class AttentionPlan {
        final AttentionOp op;
        final Matmul1 m1;
        final Matmul2 m2;
        /** q and k (matmul1), v (matmul2) enter as int8 codes, encoded for a whole group at once (see {@link #groupCodes}). */
        final boolean qkBytes, vBytes;
        String note;
        /** What a {@link CodeRecorder} is told of the two matmuls (null when not recording, or for a float matmul). */
        CodeRecorder.Matmul view1, view2;

        AttentionPlan(AttentionOp a, QuantPlan plan, Options options, boolean recording) {
            this.op = a;
            int H = a.spec().heads(), T = a.spec().tokens();
            MatmulQuant q1 = plan.op(a.matmul1Id()) instanceof MatmulQuant m ? m : null;
            MatmulQuant q2 = plan.op(a.matmul2Id()) instanceof MatmulQuant m ? m : null;
            if (q1 != null && bothOrNeither(a.matmul1Id(), q1)) {
                // Swin multiplies q by the scale before q . k^T: that product is what gets quantized
                float pre = a.qFactor();
                m1 = new Matmul1(forms(a.matmul1Id(), q1.a(), H, pre), forms(a.matmul1Id(), q1.b(), H, 1f),
                        q1.a().bits() > 8 || q1.b().bits() > 8);
            } else {
                m1 = null;
            }
            if (q2 != null && bothOrNeither(a.matmul2Id(), q2)) {
                OperandQuant p = q2.a(), v = q2.b();
                CodeForm[] pf = forms(a.matmul2Id(), p, H, 1f), vf = forms(a.matmul2Id(), v, H, 1f);
                // codes beyond int8 (over 8 bits; log-sqrt2 at 4 bits, whose top code is 128) take the long sums
                boolean wide = v.bits() > 8 || p.bits() > 8 || !pf[0].int8();
                OpForm form;
                if (pf[0].components() == 1) {
                    form = wide ? OpForm.WIDE : OpForm.INT8;
                } else {
                    long maxA = pf[0].maxAbs(true);
                    boolean shiftForm = !wide && pf[0].shift() >= 0 && options.twinForm() == TwinForm.AUTO
                            && Int8Gemm.fitsInt32(T, maxA, 1L << (v.bits() - 1));
                    note = twinNote(a.matmul2Id(), p.displayName() + " probabilities", wide, pf[0].shift() >= 0,
                            pf[0].shift(), options, T, maxA, 1L << (v.bits() - 1), "the two ranges' steps are not a power of two apart");
                    form = shiftForm ? OpForm.SHIFT : wide ? OpForm.WIDE : OpForm.SPLIT;
                }
                m2 = new Matmul2(form, pf, vf);
            } else {
                m2 = null;
            }
            qkBytes = m1 != null && !m1.wide;
            vBytes = m2 != null && !m2.wide();
            if (recording) {
                int d = a.spec().headDim();
                if (m1 != null)
                    view1 = new CodeRecorder.Matmul(a.matmul1Id(), m1.wide ? OpForm.WIDE : OpForm.INT8, H, T, d, m1.q, q1.a().bits(),
                            m1.k, q1.b().bits());
                if (m2 != null)
                    view2 = new CodeRecorder.Matmul(a.matmul2Id(), m2.form, H, T, d, m2.p, q2.a().bits(), m2.v, q2.b().bits());
            }
        }

        /** The operand's code form for each head (no zero point: q, k, v and the probabilities are symmetric). */
        private static CodeForm[] forms(String id, OperandQuant o, int H, float pre) {
            CodeForm[] f = new CodeForm[H];
            for (int h = 0; h < H; h++) {
                f[h] = o.codeForm(id, h, pre, false);
                if (f[h].zeroPoint() != 0) throw new IllegalArgumentException(id + ": a matmul operand with a zero point");
            }
            return f;
        }

        /** True when both operands are quantized, false when neither is; refuses one of each. */
        private static boolean bothOrNeither(String id, MatmulQuant m) {
            if ((m.a() == null) != (m.b() == null))
                throw new IllegalArgumentException(id + ": integer execution needs both operands quantized or both float; "
                        + "the plan quantizes only operand " + (m.a() == null ? "b" : "a"));
            return m.a() != null;
        }
    }

    @Override
    public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
        AttentionPlan ap = attentions.get(op.prefix());
        if (ap == null || (ap.m1 == null && ap.m2 == null)) {
            FloatExecutor.INSTANCE.attention(op, qkv, groups, out);
            return;
        }
        if (ap.op != op) throw new IllegalArgumentException(op.prefix() + ": not the attention this executor's model has");
        AttentionKernel.Spec s = op.spec();
        final int T = s.tokens(), H = s.heads();
        if ((long) groups * T * 3 * s.dim() > qkv.length || (long) groups * T * s.dim() > out.length)
            throw new IndexOutOfBoundsException(op.prefix() + ": " + groups + " groups do not fit the buffers");
        CodeRecorder rec = recorder;
        if (rec != null) rec.attentionStarts(ap.view1, ap.view2, groups);
        if (groups >= Parallel.threads() && (ap.qkBytes || ap.vBytes)) {
            // one task per group: its q, k and v codes in one pass over its rows (see groupCodes)
            Parallel.forEach(groups, g -> {
                byte[] codes = groupCodes(ap, qkv, g);
                for (int h = 0; h < H; h++) head(ap, rec, qkv, codes, g, h, out);
            });
        } else {
            Parallel.forEach(groups * H, task -> head(ap, rec, qkv, null, task / H, task % H, out));
        }
    }

    /**
     * The int8 codes of group g's q and k (when matmul1 takes bytes) and v (when matmul2 does), in
     * qkv's layout ({@code T x 3D}, unused parts left as they are), encoded row after row. A head's q,
     * k or v is a column block of 32 or 64 floats in rows of 3D: encoding it head by head walked the
     * float rows with a stride and ran at a third to a fifth of the speed of the sequential pass
     * (Swin-T's stage 1 and ViT-S, data beyond the caches), slower than the float path's repacking.
     */
    private static byte[] groupCodes(AttentionPlan ap, float[] qkv, int g) {
        AttentionOp op = ap.op;
        AttentionKernel.Spec s = op.spec();
        final int T = s.tokens(), d = s.headDim(), D = s.dim(), H = s.heads(), ld = 3 * D;
        byte[] codes = SCRATCH.get().qkvCodes(T * ld);
        for (int t = 0; t < T; t++) {
            int row = g * T * ld + t * ld, c = t * ld;
            for (int part = ap.qkBytes ? 0 : 2; part < (ap.vBytes ? 3 : 2); part++) {
                CodeForm[] forms = part == 0 ? ap.m1.q : part == 1 ? ap.m1.k : ap.m2.v;
                for (int h = 0; h < H; h++) {
                    int at = part * D + h * d;
                    if (!forms[h].encode(qkv, row + at, d, codes, null, c + at))
                        throw nonFinite(part < 2 ? op.matmul1Id() : op.matmul2Id(), qkv, row + at, d);
                }
            }
        }
        return codes;
    }

    /** The codes of T rows of d values at {@code off + t * ld} (recording: encoded again, as ints). */
    private static int[] rowCodes(CodeForm f, String id, float[] x, int off, int ld, int T, int d) {
        int[] c = new int[T * d];
        for (int t = 0; t < T; t++) if (!f.encode(x, off + t * ld, d, c, null, t * d)) throw nonFinite(id, x, off + t * ld, d);
        return c;
    }

    /**
     * One (group, head): scores, softmax, probabilities times v (told to rec when not null). The int8
     * codes of q, k and v come from the group's codes when given ({@link #groupCodes}), else this head's
     * are encoded here.
     */
    private static void head(AttentionPlan ap, CodeRecorder rec, float[] qkv, byte[] groupCodes, int g, int h, float[] out) {
        AttentionOp op = ap.op;
        AttentionKernel.Spec s = op.spec();
        final int T = s.tokens(), d = s.headDim(), D = s.dim(), ld = 3 * D, rowBase = g * T * ld;
        final int qCol = rowBase + h * d, kCol = rowBase + D + h * d, vCol = rowBase + 2 * D + h * d;
        Scratch sc = SCRATCH.get();
        float[] S = sc.f(T * T);
        String id1 = op.matmul1Id(), id2 = op.matmul2Id();
        float softmaxScale = s.scale();

        // ---- scores S = q . k^T ----
        Matmul1 m1 = ap.m1;
        if (m1 == null) {
            sc.kTf.repackTransposed(qkv, kCol, ld, T, d);
            Gemm.gemm(qkv, qCol, ld, T, sc.kTf, S, 0, T, null, Activation.NONE, false, false);
        } else {
            softmaxScale = op.scoreScale(); // 1 when q carries the scale (its code form's pre-scale)
            CodeForm qf = m1.q[h], kf = m1.k[h];
            float unit = qf.unit(0) * kf.unit(0);
            if (!m1.wide) {
                byte[] q, k;
                int qOff = 0, kOff = 0, ldc = d;
                if (groupCodes != null) {
                    q = k = groupCodes;
                    qOff = h * d;
                    kOff = D + h * d;
                    ldc = ld;
                } else {
                    q = sc.b1(T * d);
                    k = sc.b2(T * d);
                    for (int t = 0; t < T; t++) {
                        if (!qf.encode(qkv, qCol + t * ld, d, q, null, t * d)) throw nonFinite(id1, qkv, qCol + t * ld, d);
                        if (!kf.encode(qkv, kCol + t * ld, d, k, null, t * d)) throw nonFinite(id1, qkv, kCol + t * ld, d);
                    }
                }
                sc.kT.repackTransposed(k, kOff, ldc, T, d);
                int ldS = sc.kT.paddedN();
                int[] acc = sc.acc1(T * ldS);
                Int8Gemm.rows(q, qOff, ldc, T, sc.kT, acc, 0, ldS);
                epilogue(acc, sc.constants(0, unit, T), null, null, ldS, T, T, null, S, 0, T, false, false); // S = unit * acc
                if (rec != null)
                    rec.matmul1(id1, g, h, rowCodes(qf, id1, qkv, qCol, ld, T, d), rowCodes(kf, id1, qkv, kCol, ld, T, d),
                            longs(acc, ldS, T, T), Arrays.copyOf(S, T * T));
            } else {
                int[] q = sc.i1(T * d), k = sc.i2(T * d);
                for (int t = 0; t < T; t++) {
                    if (!qf.encode(qkv, qCol + t * ld, d, q, null, t * d)) throw nonFinite(id1, qkv, qCol + t * ld, d);
                    if (!kf.encode(qkv, kCol + t * ld, d, k, null, t * d)) throw nonFinite(id1, qkv, kCol + t * ld, d);
                }
                long[] acc = sc.w1(T * T);
                WideGemm.rows(q, 0, d, T, k, T, d, acc, T);
                for (int i = 0; i < T * T; i++) S[i] = (float) ((double) unit * acc[i]);
                if (rec != null)
                    rec.matmul1(id1, g, h, Arrays.copyOf(q, T * d), Arrays.copyOf(k, T * d), Arrays.copyOf(acc, T * T), Arrays.copyOf(S, T * T));
            }
        }
        float[] bias = op.bias();
        int bOff = bias == null ? 0 : ((g % op.biasGroups()) * s.heads() + h) * T * T;
        for (int i = 0; i < T; i++) SoftmaxKernel.row(S, i * T, T, softmaxScale, bias, bOff + i * T);

        // ---- out = P . v ----
        Matmul2 m2 = ap.m2;
        int oOff = g * T * D + h * d;
        if (m2 == null) {
            sc.vf.repack(qkv, vCol, ld, T, d);
            Gemm.gemm(S, 0, T, T, sc.vf, out, oOff, D, null, Activation.NONE, false, false);
            return;
        }
        CodeForm pf = m2.p[h], vf = m2.v[h];
        float vStep = vf.unit(0);
        if (m2.wide()) {
            int[] v = sc.i1(T * d), vT = sc.i2(T * d);
            for (int t = 0; t < T; t++)
                if (!vf.encode(qkv, vCol + t * ld, d, v, null, t * d)) throw nonFinite(id2, qkv, vCol + t * ld, d);
            for (int t = 0; t < T; t++) for (int e = 0; e < d; e++) vT[e * T + t] = v[t * d + e];
            int[] p1 = new int[T * T], p2 = pf.components() == 2 ? new int[T * T] : null;
            if (!pf.encode(S, 0, T * T, p1, p2, 0)) throw nonFinite(id2, S, 0, T * T);
            float u1 = pf.unit(0), u2 = p2 == null ? Float.NaN : pf.unit(1);
            long[] a1 = sc.w1(T * d), a2 = p2 == null ? null : sc.w2(T * d);
            WideGemm.rows(p1, 0, T, T, vT, d, T, a1, d);
            if (p2 != null) WideGemm.rows(p2, 0, T, T, vT, d, T, a2, d);
            for (int i = 0; i < T; i++)
                for (int e = 0; e < d; e++) {
                    double r = (double) u1 * vStep * a1[i * d + e];
                    if (a2 != null) r += (double) u2 * vStep * a2[i * d + e];
                    out[oOff + i * D + e] = (float) r;
                }
            if (rec != null)
                rec.matmul2(id2, g, h, p1, p2, Arrays.copyOf(v, T * d), Arrays.copyOf(a1, T * d),
                        a2 == null ? null : Arrays.copyOf(a2, T * d), headOut(out, oOff, D, T, d));
            return;
        }
        PackedInt8 vp = sc.v;
        if (groupCodes != null) {
            vp.repack(groupCodes, 2 * D + h * d, ld, T, d);
        } else {
            byte[] v = sc.b1(T * d);
            for (int t = 0; t < T; t++)
                if (!vf.encode(qkv, vCol + t * ld, d, v, null, t * d)) throw nonFinite(id2, qkv, vCol + t * ld, d);
            vp.repack(v, 0, d, T, d);
        }
        final int ldO = vp.paddedN();
        int[] acc1 = sc.acc1(T * ldO), acc2 = null;
        float c1 = pf.unit(0) * vStep, c2 = 0f;
        switch (m2.form) {
            case INT8 -> {
                byte[] p = sc.b2(T * T);
                if (!pf.encode(S, 0, T * T, p, null, 0)) throw nonFinite(id2, S, 0, T * T);
                Int8Gemm.rows(p, 0, T, T, vp, acc1, 0, ldO);
            }
            case SHIFT -> {
                if (NATIVE_KERNEL && pf.int8()) { // the two components through the int8 kernel, combined exactly
                    byte[] p1 = sc.b2(T * T), p2 = sc.b3(T * T);
                    if (!pf.encode(S, 0, T * T, p1, p2, 0)) throw nonFinite(id2, S, 0, T * T);
                    int[] coarse = sc.acc2(T * ldO);
                    Int8Gemm.rows(p1, 0, T, T, vp, acc1, 0, ldO);
                    Int8Gemm.rows(p2, 0, T, T, vp, coarse, 0, ldO);
                    addShifted(acc1, coarse, pf.shift(), ldO, T, d);
                } else {
                    int[] p = sc.i1(T * T);
                    if (!pf.encodeCombined(S, 0, T * T, p, 0)) throw nonFinite(id2, S, 0, T * T);
                    for (int i = 0; i < T; i += MR) Int8Gemm.tile(p, i * T, T, Math.min(MR, T - i), vp, acc1, i * ldO, ldO);
                }
            }
            case SPLIT -> {
                byte[] p1 = sc.b2(T * T);
                byte[] p2 = sc.b3(T * T);
                if (!pf.encode(S, 0, T * T, p1, p2, 0)) throw nonFinite(id2, S, 0, T * T);
                acc2 = sc.acc2(T * ldO);
                Int8Gemm.rows(p1, 0, T, T, vp, acc1, 0, ldO);
                Int8Gemm.rows(p2, 0, T, T, vp, acc2, 0, ldO);
                c2 = pf.unit(1) * vStep;
            }
            default -> throw new IllegalStateException(m2.form.toString());
        }
        // out = c1 * acc1 (+ c2 * acc2), vectorised by the Linear epilogue with constant column scales
        epilogue(acc1, sc.constants(0, c1, d), acc2, acc2 == null ? null : sc.constants(1, c2, d), ldO, T, d, null, out, oOff, D, false, false);
        if (rec != null) {
            int[] p0 = new int[T * T], p1 = pf.components() == 2 ? new int[T * T] : null;
            if (!pf.encode(S, 0, T * T, p0, p1, 0)) throw nonFinite(id2, S, 0, T * T);
            rec.matmul2(id2, g, h, p0, p1, rowCodes(vf, id2, qkv, vCol, ld, T, d), longs(acc1, ldO, T, d),
                    acc2 == null ? null : longs(acc2, ldO, T, d), headOut(out, oOff, D, T, d));
        }
    }

    /** One head's output ({@code T x d}, row stride D in out), copied. */
    private static float[] headOut(float[] out, int off, int D, int T, int d) {
        float[] o = new float[T * d];
        for (int t = 0; t < T; t++) System.arraycopy(out, off + t * D, o, t * d, d);
        return o;
    }
}
