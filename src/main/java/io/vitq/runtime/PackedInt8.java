package io.vitq.runtime;

import java.util.Arrays;

/**
 * The right-hand operand B[K][N] of an integer GEMM as int8 codes, packed once into the column
 * panels the kernels of {@link IntKernels} read. For a Linear layer B = W^T with the weight codes
 * W in PyTorch's [out, in] = [N, K] layout.
 *
 * <p>Layout: panels {@code [p][K][wp]} bytes. Full panels are {@link #W} = 64 columns wide; a last
 * (tail) panel holds the remaining {@code N % 64} columns, zero-padded to 32 or 64. Panel p starts
 * at {@code p * K * 64}. Instances can be re-packed in place (attention packs k and v per head
 * into a reused buffer).
 *
 * <p>The packing also records the k-step pairs {@code (2j, 2j+1)} where some column holds -128 in
 * both rows: only there can the 16-bit pair sum of the int8 kernel overflow (when the A row holds
 * -128 twice as well), see {@link Int8Gemm}.
 */
public final class PackedInt8 {
    /** Width of a full panel (two 32-lane short vectors). */
    public static final int W = 64;
    /**
     * Largest K for which every int8 x int8 sum fits an int32: {@code K * 128 * 128 <= 2^31 - 1}.
     */
    public static final int MAX_K = Integer.MAX_VALUE / (128 * 128);

    byte[] data = new byte[0];
    int k, n, nFull, tailW;
    /** Pair indices j with B[2j][c] == B[2j+1][c] == -128 for some column c (usually empty). */
    int[] minPairs = new int[0];

    private PackedInt8() {}

    /** {@code B[kk][nn] = src[off + nn*ld + kk]} (a Linear weight [N, K] with ld = K, or k in q . k^T). */
    public static PackedInt8 packTransposed(byte[] src, int off, int ld, int n, int k) {
        PackedInt8 p = new PackedInt8();
        p.repackTransposed(src, off, ld, n, k);
        return p;
    }

    /** {@code B[kk][nn] = src[off + kk*ld + nn]} (row-major B, e.g. v in P . v). */
    public static PackedInt8 pack(byte[] src, int off, int ld, int k, int n) {
        PackedInt8 p = new PackedInt8();
        p.repack(src, off, ld, k, n);
        return p;
    }

    /** An empty buffer for repeated in-place packing. */
    public static PackedInt8 buffer() { return new PackedInt8(); }

    public int k() { return k; }

    public int n() { return n; }

    /** N rounded up to the packed width: the row length of a C tile the kernels write. */
    public int paddedN() { return nFull * W + tailW; }

    /** Bytes held by the packed codes (what the weight costs in memory). */
    public long bytes() { return (long) k * paddedN(); }

    int panels() { return nFull + (tailW > 0 ? 1 : 0); }

    int width(int p) { return p < nFull ? W : tailW; }

    int panelOffset(int p) { return p * k * W; }

    /** True when some k pair holds -128 twice in one column (see the class comment). */
    boolean hasMinPairs() { return minPairs.length > 0; }

    public void repackTransposed(byte[] src, int off, int ld, int n, int k) {
        check(src, off, ld, n, k);
        configure(k, n);
        for (int p = 0; p < panels(); p++) {
            int col0 = p * W, wp = width(p), base = panelOffset(p), valid = Math.min(wp, n - col0);
            for (int j = 0; j < valid; j++) {
                int s = off + (col0 + j) * ld;
                for (int kk = 0; kk < k; kk++) data[base + kk * wp + j] = src[s + kk];
            }
            zeroPadding(base, wp, valid);
        }
        findMinPairs();
    }

    public void repack(byte[] src, int off, int ld, int k, int n) {
        check(src, off, ld, k, n);
        configure(k, n);
        for (int p = 0; p < panels(); p++) {
            int col0 = p * W, wp = width(p), base = panelOffset(p), valid = Math.min(wp, n - col0);
            for (int kk = 0; kk < k; kk++) System.arraycopy(src, off + kk * ld + col0, data, base + kk * wp, valid);
            zeroPadding(base, wp, valid);
        }
        findMinPairs();
    }

    private void zeroPadding(int base, int wp, int valid) {
        if (valid < wp) for (int kk = 0; kk < k; kk++) Arrays.fill(data, base + kk * wp + valid, base + (kk + 1) * wp, (byte) 0);
    }

    private void configure(int k, int n) {
        if (k > MAX_K) throw new IllegalArgumentException("int8 GEMM: K = " + k + " exceeds " + MAX_K
                + " (K * 128 * 128 must fit an int32)");
        this.k = k;
        this.n = n;
        this.nFull = n / W;
        int rem = n - nFull * W;
        this.tailW = rem == 0 ? 0 : rem <= 32 ? 32 : 64;
        long size = (long) k * paddedN();
        if (size > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("B too large: " + k + "x" + n);
        if (data.length < size) data = new byte[(int) size];
    }

    private void findMinPairs() {
        int[] found = null;
        int count = 0;
        for (int j = 0; 2 * j + 1 < k; j++) {
            boolean hit = false;
            for (int p = 0; p < panels() && !hit; p++) {
                int wp = width(p), r0 = panelOffset(p) + 2 * j * wp, r1 = r0 + wp;
                for (int c = 0; c < wp; c++) {
                    if (data[r0 + c] == Byte.MIN_VALUE && data[r1 + c] == Byte.MIN_VALUE) {
                        hit = true;
                        break;
                    }
                }
            }
            if (hit) {
                if (found == null) found = new int[8];
                if (count == found.length) found = Arrays.copyOf(found, 2 * count);
                found[count++] = j;
            }
        }
        minPairs = found == null ? new int[0] : Arrays.copyOf(found, count);
    }

    private static void check(byte[] src, int off, int ld, int rows, int cols) {
        if (rows < 0 || cols < 0 || off < 0 || (rows > 1 && ld < cols))
            throw new IllegalArgumentException("bad B view: off=" + off + " ld=" + ld + " " + rows + "x" + cols);
        if (rows > 0 && cols > 0 && (long) off + (long) (rows - 1) * ld + cols > src.length)
            throw new IndexOutOfBoundsException("B view exceeds the source array: off=" + off + " ld=" + ld
                    + " " + rows + "x" + cols + " length=" + src.length);
    }
}
