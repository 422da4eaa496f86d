package io.vitq.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The right-hand operand B[K][N] of a GEMM, packed once into the layout the micro-kernels read.
 * For a Linear layer B = W^T with W in PyTorch's [out, in] = [N, K] layout.
 * Instances can be re-packed in place (attention packs K and V per head into a reused buffer).
 *
 * <p>Layout: column panels {@code [p][K][W]}. Panels {@code 0 .. nFull-1} are {@code W = nv*16}
 * columns wide; a last (tail) panel holds the remaining {@code N % W} columns, zero-padded to a
 * multiple of 16 ({@code tailW}). Panel p starts at {@code p*K*W}; the {@code kc} block starting at
 * row k0 of panel p starts at {@code p*K*W + k0*width(p)}. The kernel tile (mr x nv vectors) and the
 * K block are recorded here, see {@link #configure}.
 */
public final class PackedB {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;

    float[] data;
    int k, n;
    /** Vectors per full panel, full panel width (nv*16), number of full panels, tail panel width (0: none). */
    int nv, w, nFull, tailW;
    /** Row tile and K block of the kernels for this operand. */
    int mr, kc;

    private PackedB() {}

    public int k() { return k; }

    public int n() { return n; }

    /** B[kk][nn] = src[off + nn*ld + kk] (e.g. nn.Linear weight [N,K] with ld = K, or the K matrix in Q.K^T). */
    public static PackedB packTransposed(float[] src, int off, int ld, int n, int k) {
        PackedB p = new PackedB();
        p.repackTransposed(src, off, ld, n, k);
        return p;
    }

    /** B[kk][nn] = src[off + kk*ld + nn] (row-major B, e.g. V in P.V). */
    public static PackedB pack(float[] src, int off, int ld, int k, int n) {
        PackedB p = new PackedB();
        p.repack(src, off, ld, k, n);
        return p;
    }

    /** An empty buffer for repeated in-place packing. */
    public static PackedB buffer() { return new PackedB(); }

    public void repackTransposed(float[] src, int off, int ld, int n, int k) {
        check(src, off, ld, n, k);
        configure(k, n);
        final float[] d = data;
        final int np = panels();
        for (int p = 0; p < np; p++) {
            final int col0 = p * w, wp = width(p), base = p * k * w;
            for (int j = 0; j < wp; j += 16) {
                final int valid = Math.min(16, n - col0 - j);
                final int s0 = off + (col0 + j) * ld;
                if (valid == 16) {
                    transpose16(src, s0, ld, k, d, base + j, wp);
                } else {
                    // tail group: the valid source rows, then zero padding
                    for (int kk = 0; kk < k; kk++) {
                        final int o = base + kk * wp + j;
                        for (int l = 0; l < valid; l++) d[o + l] = src[s0 + l * ld + kk];
                        for (int l = valid; l < 16; l++) d[o + l] = 0f;
                    }
                }
            }
        }
    }

    /**
     * {@code d[o + kk*ldd + l] = src[s + l*ld + kk]} for l < 16, kk < k: 16 source rows read in step,
     * each output row of 16 written contiguously (plain scalar code with hoisted row offsets; about
     * twice as fast here as a 16-lane gather per output row).
     */
    private static void transpose16(float[] src, int s, int ld, int k, float[] d, int o, int ldd) {
        final int s0 = s, s1 = s + ld, s2 = s + 2 * ld, s3 = s + 3 * ld, s4 = s + 4 * ld, s5 = s + 5 * ld,
                s6 = s + 6 * ld, s7 = s + 7 * ld, s8 = s + 8 * ld, s9 = s + 9 * ld, s10 = s + 10 * ld,
                s11 = s + 11 * ld, s12 = s + 12 * ld, s13 = s + 13 * ld, s14 = s + 14 * ld, s15 = s + 15 * ld;
        for (int kk = 0; kk < k; kk++) {
            final int q = o + kk * ldd;
            d[q] = src[s0 + kk];
            d[q + 1] = src[s1 + kk];
            d[q + 2] = src[s2 + kk];
            d[q + 3] = src[s3 + kk];
            d[q + 4] = src[s4 + kk];
            d[q + 5] = src[s5 + kk];
            d[q + 6] = src[s6 + kk];
            d[q + 7] = src[s7 + kk];
            d[q + 8] = src[s8 + kk];
            d[q + 9] = src[s9 + kk];
            d[q + 10] = src[s10 + kk];
            d[q + 11] = src[s11 + kk];
            d[q + 12] = src[s12 + kk];
            d[q + 13] = src[s13 + kk];
            d[q + 14] = src[s14 + kk];
            d[q + 15] = src[s15 + kk];
        }
    }

    public void repack(float[] src, int off, int ld, int k, int n) {
        check(src, off, ld, k, n);
        configure(k, n);
        final float[] d = data;
        final int np = panels();
        for (int p = 0; p < np; p++) {
            final int col0 = p * w, wp = width(p), base = p * k * w;
            for (int j = 0; j < wp; j += 16) {
                final int valid = Math.min(16, n - col0 - j);
                final int s0 = off + col0 + j;
                if (valid == 16) {
                    for (int kk = 0; kk < k; kk++) {
                        FloatVector.fromArray(FS, src, s0 + kk * ld).intoArray(d, base + kk * wp + j);
                    }
                } else {
                    final VectorMask<Float> m = FS.indexInRange(0, valid);
                    for (int kk = 0; kk < k; kk++) {
                        FloatVector.fromArray(FS, src, s0 + kk * ld, m).intoArray(d, base + kk * wp + j);
                    }
                }
            }
        }
    }

    /** Number of panels (full panels plus the tail panel, if any). */
    int panels() { return nFull + (tailW > 0 ? 1 : 0); }

    /** Width of panel p (a multiple of 16). */
    int width(int p) { return p < nFull ? w : tailW; }

    /** N rounded up to the packed width (length a padded bias vector needs). */
    int paddedN() { return nFull * w + tailW; }

    /**
     * Sizes the buffer for (K, N). The tile is fixed to {@link GemmKernels#MR} x {@link GemmKernels#NV}
     * vectors (14 x 2, W = 32: the fastest measured on the project machine, see docs/BENCHMARKS.md);
     * the K block is {@code vitq.gemm.kc} (default 384), balanced by the GEMM driver.
     */
    private void configure(int k, int n) {
        this.k = k;
        this.n = n;
        this.nv = GemmKernels.NV;
        this.w = nv * 16;
        this.mr = GemmKernels.MR;
        this.kc = KC;
        this.nFull = n / w;
        int rem = n - nFull * w;
        this.tailW = (rem + 15) / 16 * 16;
        long size = (long) k * paddedN();
        if (size > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("B too large: " + k + "x" + n);
        if (data == null || data.length < size) data = new float[(int) size];
    }

    /** K block (tuning knob for benchmarks; the default is the measured optimum). */
    private static final int KC = Math.max(16, Integer.getInteger("vitq.gemm.kc", 384));

    private static void check(float[] src, int off, int ld, int rows, int cols) {
        if (rows < 0 || cols < 0 || off < 0 || (rows > 1 && ld < cols)) {
            throw new IllegalArgumentException("bad B view: off=" + off + " ld=" + ld + " " + rows + "x" + cols);
        }
        if (rows > 0 && cols > 0 && (long) off + (long) (rows - 1) * ld + cols > src.length) {
            throw new IndexOutOfBoundsException("B view exceeds the source array: off=" + off + " ld=" + ld
                    + " " + rows + "x" + cols + " length=" + src.length);
        }
    }
}
