package io.vitq.quant;

import io.vitq.model.AttentionOp;
import io.vitq.model.Linear;
import io.vitq.tensor.Activation;
import io.vitq.tensor.AttentionKernel;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.SoftmaxKernel;
import io.vitq.tensor.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link FakeQuantExecutor.Products#CODES} arithmetic: every quantized product is summed as a
 * product of codes by the float GEMM, and each sum is dequantized once, {@code y = acc · (Δa Δw) + b},
 * in the integer runtime's order of operations. The quantized function is the fake quant's; only
 * the rounding differs from {@link FakeQuantExecutor.Products#DEQUANTIZED}.
 *
 * <p>Why: with codes of at most 8 bits every product is an integer below 2^14, so the float sums
 * are exact as long as they stay below 2^24 in magnitude ({@code K · 128 · 128 < 2^24}, K ≤ 1023;
 * ViT-Ti/S fit, ViT-B's fc2 does not in the worst case), and the integer runtime's int32 sums,
 * converted to float, give the same numbers. A twin operand takes the form {@link ShiftForm} gives
 * the runtime: in the shift form the two ranges' exact sums are combined as
 * {@code acc_fine + acc_coarse · 2^m}, one rounding, which is the float conversion of the int32
 * sum; in the split form each range is dequantized with its own step.
 *
 * <p>Ops this class does not take (the caller runs them with dequantized products): Linear ops
 * with a float input (the patch embedding), attention whose matmul quantizes only one operand or
 * whose softmax twin runs in the reference's quirk mode (neither has a code form).
 */
final class CodeProducts {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;

    /**
     * One Linear op, prepared: weight codes packed as floats, its input's code form and, per output
     * column, the dequantization factor of each component's accumulation ({@code cs2} null unless
     * the split form). {@code shift >= 0}: the shift form, {@code acc = acc_fine + acc_coarse · 2^shift}
     * in units of the fine step.
     */
    private record LinearCodes(float[] source, PackedB weight, CodeForm form, float[] cs1, float[] cs2, int shift) {}

    private final ConcurrentHashMap<String, LinearCodes> linears = new ConcurrentHashMap<>();
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] a1 = new float[0], a2 = new float[0], acc1 = new float[0], acc2 = new float[0];
        float[] s = new float[0], p1 = new float[0], p2 = new float[0], q = new float[0], k = new float[0], v = new float[0], row = new float[0];
        final PackedB kT = PackedB.buffer(), vp = PackedB.buffer();

        static float[] grow(float[] a, int n) { return a.length >= n ? a : new float[n]; }
    }

    /** True for attention whose two matmuls each quantize both operands or neither, every operand with a code form. */
    static boolean supports(MatmulQuant mm1, MatmulQuant mm2) {
        for (MatmulQuant m : new MatmulQuant[] {mm1, mm2}) {
            if (m == null) continue;
            if ((m.a() == null) != (m.b() == null)) return false;
            for (OperandQuant o : m.operands()) if (o.codeFormMissing() != null) return false;
        }
        return true;
    }

    /**
     * Whether a two-component operand of {@code bitsA} bits enters a product with {@code bitsB}-bit
     * codes over {@code k} terms in the shift form (the integer runtime's rule: codes of at most 8
     * bits, a power-of-two step ratio, the int32 bound).
     */
    static boolean shiftForm(CodeForm f, int bitsA, int k, int bitsB, long maxAbsB) {
        return f.components() == 2 && f.shift() >= 0 && bitsA <= 8 && bitsB <= 8
                && ShiftForm.fitsInt32(k, f.maxAbs(true), maxAbsB);
    }

    // ---- Linear ----

    /** {@code y (+)= act(dequant(codes(x) · codes(W)) + bias)} for an op whose input the plan quantizes. */
    void linear(Linear op, LinearQuant lq, float[] bias, float[] x, int m, float[] y, Activation act, boolean accumulate) {
        if (accumulate && act != Activation.NONE) throw new IllegalArgumentException("accumulate with an activation is not supported");
        LinearCodes lc = prepared(op, lq);
        final String id = op.id();
        final int in = op.in(), out = op.out();
        Scratch s = SCRATCH.get();
        float[] a1 = s.a1 = Scratch.grow(s.a1, m * in), acc1 = s.acc1 = Scratch.grow(s.acc1, m * out);
        float[] a2 = null, acc2 = null;
        CodeForm f = lc.form;
        if (f.components() == 2) {
            a2 = s.a2 = Scratch.grow(s.a2, m * in);
            acc2 = s.acc2 = Scratch.grow(s.acc2, m * out);
        }
        float[] second = a2;
        Parallel.forRange(m, 64, (r0, r1) -> f.encodeFloats(id, x, r0 * in, (r1 - r0) * in, a1, second, r0 * in));
        Gemm.gemm(a1, 0, in, m, lc.weight, acc1, 0, out, null, Activation.NONE, false, true);
        if (a2 != null) Gemm.gemm(a2, 0, in, m, lc.weight, acc2, 0, out, null, Activation.NONE, false, true);
        if (lc.shift >= 0) { // the coarse range's sums in fine units: one rounding, as the int32 sum's conversion
            float mult = Math.scalb(1f, lc.shift);
            float[] fine = acc1, coarse = acc2;
            Parallel.forRange(m, 64, (r0, r1) -> {
                for (int i = r0 * out; i < r1 * out; i++) fine[i] = fine[i] + coarse[i] * mult;
            });
            acc2 = null;
        }
        float[] secondAcc = acc2;
        boolean gelu = act == Activation.GELU;
        Parallel.forRange(m, 16, (r0, r1) ->
                epilogue(acc1, lc.cs1, secondAcc, lc.cs2, out, r0, r1, out, bias, y, accumulate, gelu));
    }

    private LinearCodes prepared(Linear op, LinearQuant lq) {
        LinearCodes lc = linears.computeIfAbsent(op.id(), id -> prepare(op, lq));
        if (lc.source != op.weight())
            throw new IllegalArgumentException(op.id() + ": not the layer this executor's model has under that id");
        return lc;
    }

    private static LinearCodes prepare(Linear op, LinearQuant lq) {
        final int in = op.in(), out = op.out();
        UniformOperand w = lq.weight();
        short[] codes = ScaledRanges.shortCodesRows(w, op.id(), op.weight(), out, in);
        float[] wc = new float[codes.length];
        for (int i = 0; i < codes.length; i++) wc[i] = codes[i];
        float[] rowScale = new float[out];
        for (int r = 0; r < out; r++) rowScale[r] = w.scale(w.granularity().scaleIndexOfRow(r, out, w.scaleCount()));
        CodeForm f = lq.input().codeForm(op.id(), 0, 1f, false);
        boolean shift = shiftForm(f, lq.input().bits(), in, w.bits(), w.maxAbsCode());
        float[] cs1 = new float[out], cs2 = f.components() == 2 && !shift ? new float[out] : null;
        for (int r = 0; r < out; r++) {
            cs1[r] = f.unit(0) * rowScale[r];
            if (cs2 != null) cs2[r] = f.unit(1) * rowScale[r];
        }
        return new LinearCodes(op.weight(), PackedB.packTransposed(wc, 0, in, out, in), f, cs1, cs2, shift ? f.shift() : -1);
    }

    /**
     * Rows {@code [r0, r1)}: {@code y (+)= acc1 · cs1 (+ acc2 · cs2) + bias}, then GELU, with the
     * integer runtime's operations in its order (a multiply, then adds; no fused multiply-add).
     */
    private static void epilogue(float[] acc1, float[] cs1, float[] acc2, float[] cs2, int ldAcc, int r0, int r1, int n,
                                 float[] bias, float[] y, boolean accumulate, boolean gelu) {
        final int upper = FS.loopBound(n);
        for (int r = r0; r < r1; r++) {
            final int a = r * ldAcc, o = r * n;
            int j = 0;
            for (; j < upper; j += FS.length()) {
                FloatVector v = FloatVector.fromArray(FS, cs1, j).mul(FloatVector.fromArray(FS, acc1, a + j));
                if (acc2 != null) v = v.add(FloatVector.fromArray(FS, cs2, j).mul(FloatVector.fromArray(FS, acc2, a + j)));
                if (bias != null) v = v.add(FloatVector.fromArray(FS, bias, j));
                if (accumulate) v = FloatVector.fromArray(FS, y, o + j).add(v);
                v.intoArray(y, o + j);
            }
            for (; j < n; j++) {
                float v = cs1[j] * acc1[a + j];
                if (acc2 != null) v = v + cs2[j] * acc2[a + j];
                if (bias != null) v = v + bias[j];
                y[o + j] = accumulate ? y[o + j] + v : v;
            }
            if (gelu) VectorMath.geluInPlace(y, o, n);
        }
    }

    // ---- attention ----

    /** Attention with code products for each quantized matmul ({@link #supports} must hold). */
    static void attention(AttentionOp op, MatmulQuant mm1, MatmulQuant mm2, float[] qkv, int groups, float[] out) {
        AttentionKernel.Spec s = op.spec();
        final int H = s.heads();
        MatmulQuant m1 = mm1 != null && mm1.a() != null ? mm1 : null, m2 = mm2 != null && mm2.a() != null ? mm2 : null;
        // per head: the code forms of q, k (Swin's pre-scale is applied to q before its codes), the probabilities and v
        CodeForm[] qf = new CodeForm[H], kf = new CodeForm[H], pf = new CodeForm[H], vf = new CodeForm[H];
        for (int h = 0; h < H; h++) {
            if (m1 != null) {
                qf[h] = m1.a().codeForm(op.matmul1Id(), h, 1f, false);
                kf[h] = m1.b().codeForm(op.matmul1Id(), h, 1f, false);
            }
            if (m2 != null) {
                pf[h] = m2.a().codeForm(op.matmul2Id(), h, 1f, false);
                vf[h] = m2.b().codeForm(op.matmul2Id(), h, 1f, false);
            }
        }
        boolean shift = m2 != null && shiftForm(pf[0], m2.a().bits(), s.tokens(), m2.b().bits(), 1L << (m2.b().bits() - 1));
        Parallel.forEach(groups * H, task -> head(op, qf, kf, pf, vf, shift, qkv, task / H, task % H, out));
    }

    /** One (group, head), as the integer runtime computes it with int32 sums. */
    private static void head(AttentionOp op, CodeForm[] qf, CodeForm[] kf, CodeForm[] pf, CodeForm[] vf, boolean shift,
                             float[] qkv, int g, int h, float[] out) {
        AttentionKernel.Spec sp = op.spec();
        final int T = sp.tokens(), d = sp.headDim(), D = sp.dim(), ld = 3 * D, rowBase = g * T * ld;
        final int qCol = rowBase + h * d, kCol = rowBase + D + h * d, vCol = rowBase + 2 * D + h * d;
        Scratch sc = SCRATCH.get();
        float[] S = sc.s = Scratch.grow(sc.s, T * T);
        float softmaxScale = sp.scale();

        // ---- scores S = q . k^T ----
        if (qf[h] == null) {
            sc.kT.repackTransposed(qkv, kCol, ld, T, d);
            Gemm.gemm(qkv, qCol, ld, T, sc.kT, S, 0, T, null, Activation.NONE, false, false);
        } else {
            String id = op.matmul1Id();
            float[] q = sc.q = Scratch.grow(sc.q, T * d), k = sc.k = Scratch.grow(sc.k, T * d);
            float[] row = sc.row = Scratch.grow(sc.row, d);
            float pre = op.qFactor(); // Swin quantizes q * scale (timm's order)
            softmaxScale = op.scoreScale();
            for (int t = 0; t < T; t++) {
                if (pre != 1f) {
                    for (int e = 0; e < d; e++) row[e] = qkv[qCol + t * ld + e] * pre;
                    qf[h].encodeFloats(id, row, 0, d, q, null, t * d);
                } else {
                    qf[h].encodeFloats(id, qkv, qCol + t * ld, d, q, null, t * d);
                }
                kf[h].encodeFloats(id, qkv, kCol + t * ld, d, k, null, t * d);
            }
            sc.kT.repackTransposed(k, 0, d, T, d);
            Gemm.gemm(q, 0, d, T, sc.kT, S, 0, T, null, Activation.NONE, false, false);
            float unit = qf[h].unit(0) * kf[h].unit(0);
            for (int i = 0; i < T * T; i++) S[i] = unit * S[i];
        }
        float[] bias = op.bias();
        int bOff = bias == null ? 0 : ((g % op.biasGroups()) * sp.heads() + h) * T * T;
        for (int i = 0; i < T; i++) SoftmaxKernel.row(S, i * T, T, softmaxScale, bias, bOff + i * T);

        // ---- out = P . v ----
        int oOff = g * T * D + h * d;
        if (pf[h] == null) {
            sc.vp.repack(qkv, vCol, ld, T, d);
            Gemm.gemm(S, 0, T, T, sc.vp, out, oOff, D, null, Activation.NONE, false, false);
            return;
        }
        String id = op.matmul2Id();
        float vStep = vf[h].unit(0);
        float[] v = sc.v = Scratch.grow(sc.v, T * d);
        for (int t = 0; t < T; t++) vf[h].encodeFloats(id, qkv, vCol + t * ld, d, v, null, t * d);
        sc.vp.repack(v, 0, d, T, d);
        float[] acc1 = sc.acc1 = Scratch.grow(sc.acc1, 2 * T * d);   // acc1 [0, T d), acc2 [T d, 2 T d)
        final int a2 = T * d;
        CodeForm p = pf[h];
        float c1 = p.unit(0) * vStep, c2 = 0f;
        boolean split = false;
        float[] p1 = sc.p1 = Scratch.grow(sc.p1, T * T), p2 = null;
        if (p.components() == 2) p2 = sc.p2 = Scratch.grow(sc.p2, T * T);
        p.encodeFloats(id, S, 0, T * T, p1, p2, 0);
        Gemm.gemm(p1, 0, T, T, sc.vp, acc1, 0, d, null, Activation.NONE, false, false);
        if (p2 != null) {
            Gemm.gemm(p2, 0, T, T, sc.vp, acc1, a2, d, null, Activation.NONE, false, false);
            if (shift) { // the coarse range's sums in fine units: one rounding, as the int32 sum's conversion
                float mult = Math.scalb(1f, p.shift());
                for (int i = 0; i < T * d; i++) acc1[i] = acc1[i] + acc1[a2 + i] * mult;
            } else {
                split = true;
                c2 = p.unit(1) * vStep;
            }
        }
        for (int i = 0; i < T; i++) {
            int o = oOff + i * D;
            if (!split) for (int e = 0; e < d; e++) out[o + e] = c1 * acc1[i * d + e];
            else for (int e = 0; e < d; e++) out[o + e] = c1 * acc1[i * d + e] + c2 * acc1[a2 + i * d + e];
        }
    }
}
