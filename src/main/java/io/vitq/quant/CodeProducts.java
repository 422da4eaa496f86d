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
     * One Linear op, prepared: weight codes packed as floats and, per output column, the
     * dequantization factor of each accumulation ({@code cs2} null unless the split form).
     * {@code shift >= 0}: twin GELU shift form, {@code acc = acc_neg + acc_pos · 2^shift} in units of Δneg.
     */
    private record LinearCodes(float[] source, PackedB weight, float[] cs1, float[] cs2, int shift) {}

    private final ConcurrentHashMap<String, LinearCodes> linears = new ConcurrentHashMap<>();
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] a1 = new float[0], a2 = new float[0], acc1 = new float[0], acc2 = new float[0];
        float[] s = new float[0], p1 = new float[0], p2 = new float[0], q = new float[0], k = new float[0], v = new float[0], row = new float[0];
        final PackedB kT = PackedB.buffer(), vp = PackedB.buffer();

        static float[] grow(float[] a, int n) { return a.length >= n ? a : new float[n]; }
    }

    /** True for attention whose two matmuls each quantize both operands or neither, softmax twin clean. */
    static boolean supports(MatmulQuant mm1, MatmulQuant mm2) {
        for (MatmulQuant m : new MatmulQuant[] {mm1, mm2})
            if (m != null && (m.a() == null) != (m.b() == null)) return false;
        return !(mm2 != null && mm2.a() instanceof TwinSoftmaxOperand t && t.mode() != TwinSoftmaxQuantizer.Mode.CLEAN);
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
        switch (lq.input()) {
            case UniformOperand u -> {
                UniformQuantizer q = u.quantizer();
                float step = u.scale(0);
                Parallel.forRange(m, 64, (r0, r1) -> q.codeValues(id, step, x, r0 * in, a1, r0 * in, (r1 - r0) * in));
            }
            case TwinGeluOperand g -> {
                TwinGeluQuantizer q = g.quantizer();
                float[] neg = a2 = s.a2 = Scratch.grow(s.a2, m * in);
                acc2 = s.acc2 = Scratch.grow(s.acc2, m * out);
                Parallel.forRange(m, 64, (r0, r1) -> q.codeValues(id, x, r0 * in, a1, neg, r0 * in, (r1 - r0) * in));
            }
            case TwinSoftmaxOperand t -> throw new IllegalArgumentException(id + ": twin softmax is not a Linear input quantizer");
            case null -> throw new IllegalArgumentException(id + ": float input has no code products");
        }
        Gemm.gemm(a1, 0, in, m, lc.weight, acc1, 0, out, null, Activation.NONE, false, true);
        if (a2 != null) Gemm.gemm(a2, 0, in, m, lc.weight, acc2, 0, out, null, Activation.NONE, false, true);
        if (lc.shift >= 0) { // acc1 holds the positive range, acc2 the negative one: combine in Δneg units
            float mult = Math.scalb(1f, lc.shift);
            float[] pos = acc1, neg = acc2;
            Parallel.forRange(m, 64, (r0, r1) -> {
                for (int i = r0 * out; i < r1 * out; i++) pos[i] = neg[i] + pos[i] * mult;
            });
            acc2 = null;
        }
        float[] second = acc2;
        boolean gelu = act == Activation.GELU;
        Parallel.forRange(m, 16, (r0, r1) ->
                epilogue(acc1, lc.cs1, second, lc.cs2, out, r0, r1, out, bias, y, accumulate, gelu));
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
        short[] codes = ScaledRanges.shortCodesRows(w.quantizer(), op.id(), w.granularity(), w.scales(), op.weight(), out, in);
        float[] wc = new float[codes.length];
        for (int i = 0; i < codes.length; i++) wc[i] = codes[i];
        float[] rowScale = new float[out];
        for (int r = 0; r < out; r++) rowScale[r] = w.scale(w.granularity().scaleIndexOfRow(r, out, w.scaleCount()));
        float u1, u2 = Float.NaN;
        int shift = -1;
        switch (lq.input()) {
            case UniformOperand u -> u1 = u.scale(0);
            case TwinGeluOperand g -> {
                TwinGeluQuantizer q = g.quantizer();
                if (ShiftForm.applies(q, in, w.bits())) {
                    shift = q.shift();
                    u1 = q.negativeStep();
                } else {
                    u1 = q.positiveStep();
                    u2 = q.negativeStep();
                }
            }
            default -> throw new IllegalArgumentException(op.id() + ": no code products for input " + lq.input());
        }
        float[] cs1 = new float[out], cs2 = Float.isNaN(u2) ? null : new float[out];
        for (int r = 0; r < out; r++) {
            cs1[r] = u1 * rowScale[r];
            if (cs2 != null) cs2[r] = u2 * rowScale[r];
        }
        return new LinearCodes(op.weight(), PackedB.packTransposed(wc, 0, in, out, in), cs1, cs2, shift);
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
        float[] qSteps = m1 == null ? null : ((UniformOperand) m1.a()).headScales(H);
        float[] kSteps = m1 == null ? null : ((UniformOperand) m1.b()).headScales(H);
        float[] vSteps = m2 == null ? null : ((UniformOperand) m2.b()).headScales(H);
        float[] pSteps = m2 != null && m2.a() instanceof UniformOperand p ? p.headScales(H) : null;
        Parallel.forEach(groups * H, task ->
                head(op, m1, m2, qSteps, kSteps, pSteps, vSteps, qkv, task / H, task % H, out));
    }

    /** One (group, head), as the integer runtime computes it with int32 sums. */
    private static void head(AttentionOp op, MatmulQuant m1, MatmulQuant m2, float[] qSteps, float[] kSteps,
                             float[] pSteps, float[] vSteps, float[] qkv, int g, int h, float[] out) {
        AttentionKernel.Spec sp = op.spec();
        final int T = sp.tokens(), d = sp.headDim(), D = sp.dim(), ld = 3 * D, rowBase = g * T * ld;
        final int qCol = rowBase + h * d, kCol = rowBase + D + h * d, vCol = rowBase + 2 * D + h * d;
        Scratch sc = SCRATCH.get();
        float[] S = sc.s = Scratch.grow(sc.s, T * T);
        float softmaxScale = sp.scale();

        // ---- scores S = q . k^T ----
        if (m1 == null) {
            sc.kT.repackTransposed(qkv, kCol, ld, T, d);
            Gemm.gemm(qkv, qCol, ld, T, sc.kT, S, 0, T, null, Activation.NONE, false, false);
        } else {
            String id = op.matmul1Id();
            UniformQuantizer qq = ((UniformOperand) m1.a()).quantizer(), kq = ((UniformOperand) m1.b()).quantizer();
            float[] q = sc.q = Scratch.grow(sc.q, T * d), k = sc.k = Scratch.grow(sc.k, T * d);
            float[] row = sc.row = Scratch.grow(sc.row, d);
            float pre = op.qPrescaled() ? sp.scale() : 1f; // Swin quantizes q * scale (timm's order)
            if (op.qPrescaled()) softmaxScale = 1f;
            for (int t = 0; t < T; t++) {
                if (pre != 1f) {
                    for (int e = 0; e < d; e++) row[e] = qkv[qCol + t * ld + e] * pre;
                    qq.codeValues(id, qSteps[h], row, 0, q, t * d, d);
                } else {
                    qq.codeValues(id, qSteps[h], qkv, qCol + t * ld, q, t * d, d);
                }
                kq.codeValues(id, kSteps[h], qkv, kCol + t * ld, k, t * d, d);
            }
            sc.kT.repackTransposed(k, 0, d, T, d);
            Gemm.gemm(q, 0, d, T, sc.kT, S, 0, T, null, Activation.NONE, false, false);
            float unit = qSteps[h] * kSteps[h];
            for (int i = 0; i < T * T; i++) S[i] = unit * S[i];
        }
        float[] bias = op.bias();
        int bOff = bias == null ? 0 : ((g % op.biasGroups()) * sp.heads() + h) * T * T;
        for (int i = 0; i < T; i++) SoftmaxKernel.row(S, i * T, T, softmaxScale, bias, bOff + i * T);

        // ---- out = P . v ----
        int oOff = g * T * D + h * d;
        if (m2 == null) {
            sc.vp.repack(qkv, vCol, ld, T, d);
            Gemm.gemm(S, 0, T, T, sc.vp, out, oOff, D, null, Activation.NONE, false, false);
            return;
        }
        String id = op.matmul2Id();
        float vStep = vSteps[h];
        UniformQuantizer vq = ((UniformOperand) m2.b()).quantizer();
        float[] v = sc.v = Scratch.grow(sc.v, T * d);
        for (int t = 0; t < T; t++) vq.codeValues(id, vStep, qkv, vCol + t * ld, v, t * d, d);
        sc.vp.repack(v, 0, d, T, d);
        float[] acc1 = sc.acc1 = Scratch.grow(sc.acc1, 2 * T * d);   // acc1 [0, T d), acc2 [T d, 2 T d)
        final int a2 = T * d;
        float c1, c2 = 0f;
        boolean split = false;
        float[] p1 = sc.p1 = Scratch.grow(sc.p1, T * T);
        if (m2.a() instanceof TwinSoftmaxOperand tw) {
            TwinSoftmaxQuantizer tq = tw.quantizer();
            float[] p2 = sc.p2 = Scratch.grow(sc.p2, T * T);
            tq.codeValues(id, S, 0, p1, p2, 0, T * T);
            Gemm.gemm(p1, 0, T, T, sc.vp, acc1, 0, d, null, Activation.NONE, false, false);
            Gemm.gemm(p2, 0, T, T, sc.vp, acc1, a2, d, null, Activation.NONE, false, false);
            c1 = tq.smallStep() * vStep;
            if (ShiftForm.applies(tq, T, vq.bits())) { // R2 sums in R1 units: one rounding, as the int32 sum's conversion
                float mult = Math.scalb(1f, tq.shift());
                for (int i = 0; i < T * d; i++) acc1[i] = acc1[i] + acc1[a2 + i] * mult;
            } else {
                split = true;
                c2 = (1f / tq.levels()) * vStep;
            }
        } else {
            ((UniformOperand) m2.a()).quantizer().codeValues(id, pSteps[h], S, 0, p1, 0, T * T);
            Gemm.gemm(p1, 0, T, T, sc.vp, acc1, 0, d, null, Activation.NONE, false, false);
            c1 = pSteps[h] * vStep;
        }
        for (int i = 0; i < T; i++) {
            int o = oOff + i * D;
            if (!split) for (int e = 0; e < d; e++) out[o + e] = c1 * acc1[i * d + e];
            else for (int e = 0; e < d; e++) out[o + e] = c1 * acc1[i * d + e] + c2 * acc1[a2 + i * d + e];
        }
    }
}
