package io.vitq.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = A . B (+ bias) with an optional fused activation, for row-major float32 A and a packed B.
 *
 * <p>Register-tiled Vector API SGEMM (design: ENGINE_NOTES section 1; measurements and tuning on the
 * project machine: docs/BENCHMARKS.md, section "GEMM"). B is pre-packed into column panels of
 * W = 32 floats (see {@link PackedB}). The rows are processed in blocks of {@code MC} rows; within a
 * block, for each K block of {@code kc} steps and each row tile of {@code mr = 14} rows, the generated
 * micro-kernels of {@link GemmKernels} sweep all B panels. A kernel keeps a 14 x 32 block of C in
 * 28 vector registers: it starts from C (or zero, on the first K block of a non-accumulating call)
 * plus the bias (first K block only), runs the K block, and stores it back.
 *
 * <p>A is read in place (broadcast from its rows) unless its row stride makes the 14 rows of a
 * tile collide in the same L1 sets; then each tile is first packed {@code [k][mr]} into a
 * thread-local buffer. The M tail uses kernels with fewer rows; the N tail goes through a small
 * scratch tile (its panel is zero-padded to a multiple of 16). GELU is applied to each row tile
 * right after its last K block, while the rows are still in cache.
 */
public final class Gemm {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    /** Zero source for the initial C (ld 0) and the bias; longer than any panel. */
    private static final float[] ZEROS = new float[64];
    /** Rows per M block (all K blocks of one block of C run back to back, C stays in cache). */
    private static final int MC = Math.max(1, Integer.getInteger("vitq.gemm.mc", 98));
    /** Tuning knob (benchmarks): 1 = always pack A, -1 = never, 0 = only when the rows alias in L1. */
    private static final int PACK_A = Integer.getInteger("vitq.gemm.packA", 0);
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Gemm() {}

    /** Per-thread buffers: packed A tile, N-tail C tile, padded bias. */
    static final class Scratch {
        float[] a = new float[GemmKernels.MR * 384];
        float[] c = new float[GemmKernels.MR * GemmKernels.NV * 16];
        float[] bias = new float[64];
    }

    /**
     * {@code C[i][j] (+)= act(sum_k A[i][k] B[k][j] + bias[j])} for i < m, j < B.n().
     *
     * @param accumulate if true, the result is added to C's existing values (residual add); the
     *                   activation must then be NONE
     * @param bias       length B.n(), or null
     * @param parallel   split rows over the thread pool (false when the caller already runs in parallel)
     */
    public static void gemm(float[] a, int aOff, int lda, int m, PackedB b,
                            float[] c, int cOff, int ldc, float[] bias, Activation act,
                            boolean accumulate, boolean parallel) {
        if (accumulate && act != Activation.NONE) {
            throw new IllegalArgumentException("accumulate with an activation is not supported");
        }
        final int k = b.k, n = b.n;
        if (m < 0 || aOff < 0 || cOff < 0 || (m > 1 && (lda < k || ldc < n))) {
            throw new IllegalArgumentException("bad GEMM view: m=" + m + " k=" + k + " n=" + n
                    + " lda=" + lda + " ldc=" + ldc + " aOff=" + aOff + " cOff=" + cOff);
        }
        if (m == 0 || n == 0) return;
        if (bias != null && bias.length < n) throw new IllegalArgumentException("bias shorter than N");
        if ((long) cOff + (long) (m - 1) * ldc + n > c.length
                || (k > 0 && (long) aOff + (long) (m - 1) * lda + k > a.length)) {
            throw new IndexOutOfBoundsException("A or C view exceeds its array");
        }
        if (k == 0) {
            biasOnly(m, n, c, cOff, ldc, bias, act, accumulate);
            return;
        }
        if (parallel && m > b.mr && Parallel.threads() > 1) {
            Parallel.forRange(m, b.mr, (r0, r1) -> rows(a, aOff, lda, r0, r1, b, c, cOff, ldc, bias, act, accumulate));
        } else {
            rows(a, aOff, lda, 0, m, b, c, cOff, ldc, bias, act, accumulate);
        }
    }

    /** Rows {@code [r0, r1)} of the product. */
    private static void rows(float[] a, int aOff, int lda, int r0, int r1, PackedB b,
                             float[] c, int cOff, int ldc, float[] bias, Activation act, boolean accumulate) {
        final Scratch s = SCRATCH.get();
        final int K = b.k, N = b.n, MR = b.mr, NV = b.nv, W = b.w, nFull = b.nFull, tailW = b.tailW;
        // balanced K blocks of at most b.kc steps
        final int nBlocks = (K + b.kc - 1) / b.kc, KC = (K + nBlocks - 1) / nBlocks;
        final float[] bd = b.data;
        final boolean packA = PACK_A > 0 || (PACK_A == 0 && rowsAlias(lda, Math.min(MR, r1 - r0)));
        if (packA && s.a.length < MR * KC) s.a = new float[MR * KC];
        if (s.c.length < MR * W) s.c = new float[MR * W];
        final float[] abuf = s.a, ct = s.c;
        float[] biasPad = ZEROS;
        if (bias != null) {
            int len = b.paddedN();
            if (s.bias.length < len) s.bias = new float[len];
            biasPad = s.bias;
            System.arraycopy(bias, 0, biasPad, 0, N);
            java.util.Arrays.fill(biasPad, N, len, 0f);
        }
        final boolean gelu = act == Activation.GELU;
        final int mcRows = Math.max(1, MC / MR) * MR;
        for (int i0 = r0; i0 < r1; i0 += mcRows) {
            final int i1 = Math.min(r1, i0 + mcRows);
            for (int k0 = 0; k0 < K; k0 += KC) {
                final int kc = Math.min(KC, K - k0);
                final boolean first = k0 == 0, last = k0 + kc == K;
                final boolean loadC = accumulate || !first;
                final float[] bs = first ? biasPad : ZEROS;
                final boolean useBias = first && bias != null;
                for (int i = i0; i < i1; i += MR) {
                    final int mr = Math.min(MR, i1 - i);
                    final int aTile = aOff + i * lda + k0;
                    if (packA) packA(a, aTile, lda, mr, kc, abuf);
                    final int cRow = cOff + i * ldc;
                    for (int p = 0; p < nFull; p++) {
                        final int col0 = p * W, cc = cRow + col0, bOff = p * K * W + k0 * W;
                        final float[] ci = loadC ? c : ZEROS;
                        final int ciOff = loadC ? cc : 0, ldci = loadC ? ldc : 0, biasOff = useBias ? col0 : 0;
                        if (packA) {
                            GemmKernels.packed(mr, NV, abuf, 0, bd, bOff, c, cc, ldc, kc, ci, ciOff, ldci, bs, biasOff);
                        } else {
                            GemmKernels.raw(mr, NV, a, aTile, lda, bd, bOff, c, cc, ldc, kc, ci, ciOff, ldci, bs, biasOff);
                        }
                    }
                    if (tailW > 0) { // N tail through the scratch tile (ld = tailW)
                        final int col0 = nFull * W, valid = N - col0, cc = cRow + col0, bOff = nFull * K * W + k0 * tailW;
                        if (loadC) copyTile(c, cc, ldc, ct, 0, tailW, mr, valid);
                        final float[] ci = loadC ? ct : ZEROS;
                        final int ldci = loadC ? tailW : 0, biasOff = useBias ? col0 : 0;
                        if (packA) {
                            GemmKernels.packed(mr, tailW >> 4, abuf, 0, bd, bOff, ct, 0, tailW, kc, ci, 0, ldci, bs, biasOff);
                        } else {
                            GemmKernels.raw(mr, tailW >> 4, a, aTile, lda, bd, bOff, ct, 0, tailW, kc, ci, 0, ldci, bs, biasOff);
                        }
                        copyTile(ct, 0, tailW, c, cc, ldc, mr, valid);
                    }
                    if (last && gelu) {
                        for (int r = 0; r < mr; r++) VectorMath.geluInPlace(c, cRow + r * ldc, N);
                    }
                }
            }
        }
    }

    /**
     * True if more than 8 of the first {@code rows} rows of A (stride lda floats) start in the same
     * L1 set (64 sets of 64-byte lines, 8+ ways on current x86): the in-place kernels would then
     * thrash L1 (e.g. lda a multiple of 1024), so A is packed instead.
     */
    static boolean rowsAlias(int lda, int rows) {
        for (int r = 0; r < rows; r++) {
            long set = ((long) r * lda * 4 / 64) & 63;
            int same = 0;
            for (int q = 0; q < rows; q++) {
                if ((((long) q * lda * 4 / 64) & 63) == set) same++;
            }
            if (same > 8) return true;
        }
        return false;
    }

    /** {@code buf[k*mr + r] = a[base + r*lda + k]} for r < mr, k < kc. */
    static void packA(float[] a, int base, int lda, int mr, int kc, float[] buf) {
        for (int r = 0; r < mr; r++) {
            final int src = base + r * lda;
            for (int k = 0; k < kc; k++) buf[k * mr + r] = a[src + k];
        }
    }

    /** Copies {@code rows x cols} floats between tiles (masked vector moves; cols <= 32). */
    private static void copyTile(float[] src, int so, int lds, float[] dst, int dOff, int ldd, int rows, int cols) {
        final VectorMask<Float> m0 = FS.indexInRange(0, cols);
        if (cols <= 16) {
            for (int r = 0; r < rows; r++) {
                FloatVector.fromArray(FS, src, so + r * lds, m0).intoArray(dst, dOff + r * ldd, m0);
            }
        } else {
            final VectorMask<Float> m1 = FS.indexInRange(16, cols);
            for (int r = 0; r < rows; r++) {
                FloatVector.fromArray(FS, src, so + r * lds).intoArray(dst, dOff + r * ldd);
                FloatVector.fromArray(FS, src, so + r * lds + 16, m1).intoArray(dst, dOff + r * ldd + 16, m1);
            }
        }
    }

    /** K == 0: C (+)= act(bias). */
    private static void biasOnly(int m, int n, float[] c, int cOff, int ldc, float[] bias, Activation act,
                                 boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int row = cOff + i * ldc;
            for (int j = 0; j < n; j++) {
                float v = bias != null ? bias[j] : 0f;
                if (act == Activation.GELU) v = VectorMath.gelu(v);
                c[row + j] = accumulate ? c[row + j] + v : v;
            }
        }
    }
}
