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
 *
 * <p><b>Two layouts.</b> The Java kernels read the panels above; the native VNNI kernel
 * ({@link NativeInt8}) reads its own: panels of 64 columns (the last one rounded up to a multiple
 * of 16), each {@code [ceil(K/4)][wp][4]} bytes holding {@code B + 128} (B xor 0x80; padding 0x80,
 * i.e. B = 0), four consecutive k of one column per int32 lane (src/main/c/vitq_int8.c). Packing
 * writes the layout of {@link Int8Gemm#DEFAULT_KERNEL} (with the native kernel, by native code);
 * the other one is derived on first use and kept until the next repack (tests and forced kernels).
 *
 * <p>A third, for uint8 A (unsigned activation codes, {@link Int8Gemm#multiplyUnsigned}): the native
 * layout holding B itself, signed (its bytes xor 0x80, padding 0), since vpdpbusd then takes A as
 * its unsigned operand. Derived from the native layout on first use, so only weights that meet
 * unsigned activations hold it (as much memory again).
 */
public final class PackedInt8 {
    /** Width of a full panel (two 32-lane short vectors). */
    public static final int W = 64;
    /**
     * Largest K for which every int8 x int8 sum fits an int32: {@code K * 128 * 128 <= 2^31 - 1}.
     */
    public static final int MAX_K = Integer.MAX_VALUE / (128 * 128);
    /**
     * Largest K for uint8 A ({@link Int8Gemm#multiplyUnsigned}): {@code K * 255 * 128 <= 2^31 - 1}.
     */
    public static final int MAX_K_UNSIGNED = Integer.MAX_VALUE / (255 * 128);

    /** The Java kernels' panels (valid when {@link #javaValid}). */
    private byte[] data = new byte[0];
    /** The native kernel's layout (valid when {@link #vnniValid}). */
    private byte[] vnni = new byte[0];
    /** The native layout with B signed, for uint8 A (valid when {@link #signedValid}). */
    private byte[] vnniSigned = new byte[0];
    private volatile boolean javaValid, vnniValid, signedValid;
    int k, n, nFull, tailW;
    /** Pair indices j with B[2j][c] == B[2j+1][c] == -128 for some column c (usually empty). */
    private int[] minPairs = new int[0];

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

    /** Bytes held by the packed codes (what the weight costs in memory, in the layout of the default kernel). */
    public long bytes() { return nativeLayout() ? vnniBytes(k, n) : (long) k * paddedN(); }

    /** The Java kernels' panels, derived from the native layout when packing wrote that one. */
    byte[] javaPanels() {
        if (!javaValid) deriveJava();
        return data;
    }

    /** The native kernel's layout, derived from the Java panels when packing wrote those. */
    byte[] vnniPanels() {
        if (!vnniValid) deriveVnni();
        return vnni;
    }

    /** The native layout with B signed (the uint8-A kernel's), derived on first use. */
    byte[] vnniSignedPanels() {
        if (!signedValid) deriveSigned();
        return vnniSigned;
    }

    /** True when packing writes the native layout (the native kernel is the default). */
    private static boolean nativeLayout() { return Int8Gemm.DEFAULT_KERNEL == Int8Gemm.Int8Kernel.NATIVE_VNNI; }

    /** Size of the native layout: ceil(K/4) x 4 bytes per column, N rounded up to 16 columns. */
    static long vnniBytes(int k, int n) { return (long) ((k + 3) / 4) * 4 * ((n + 15) / 16 * 16); }

    /** Index of B[kk][nn] in the native layout. */
    private int vnniIndex(int kk, int nn) {
        int p = nn / W, col0 = p * W, wp = Math.min(W, (n - col0 + 15) / 16 * 16);
        return col0 * ((k + 3) / 4) * 4 + ((kk >> 2) * wp + (nn - col0)) * 4 + (kk & 3);
    }

    private synchronized void deriveJava() {
        if (javaValid) return;
        allocateJava();
        for (int p = 0; p < panels(); p++) {
            int col0 = p * W, wp = width(p), base = panelOffset(p), valid = Math.min(wp, n - col0);
            for (int kk = 0; kk < k; kk++)
                for (int j = 0; j < valid; j++) data[base + kk * wp + j] = (byte) (vnni[vnniIndex(kk, col0 + j)] ^ 0x80);
            zeroPadding(base, wp, valid);
        }
        findMinPairs();
        javaValid = true;
    }

    private synchronized void deriveVnni() {
        if (vnniValid) return;
        allocateVnni();
        Arrays.fill(vnni, 0, (int) vnniBytes(k, n), (byte) 0x80);
        for (int p = 0; p < panels(); p++) {
            int col0 = p * W, wp = width(p), base = panelOffset(p), valid = Math.min(wp, n - col0);
            for (int kk = 0; kk < k; kk++)
                for (int j = 0; j < valid; j++) vnni[vnniIndex(kk, col0 + j)] = (byte) (data[base + kk * wp + j] ^ 0x80);
        }
        vnniValid = true;
    }

    private synchronized void deriveSigned() {
        if (signedValid) return;
        byte[] u = vnniPanels();
        int size = (int) vnniBytes(k, n);
        if (vnniSigned.length < size) vnniSigned = new byte[size];
        for (int i = 0; i < size; i++) vnniSigned[i] = (byte) (u[i] ^ 0x80); // B + 128 back to B; padding 0x80 to 0
        signedValid = true;
    }

    /** Packs {@code B[kk][nn] = src[off + kk * rowStride + nn * colStride]} in the native layout, by native code. */
    private void packVnni(byte[] src, long off, long rowStride, long colStride) {
        allocateVnni();
        NativeInt8.pack(src, off, rowStride, colStride, k, n, vnni);
        minPairs = new int[0]; // found with the Java layout, when it is derived
        vnniValid = true;
    }

    int panels() { return nFull + (tailW > 0 ? 1 : 0); }

    int width(int p) { return p < nFull ? W : tailW; }

    int panelOffset(int p) { return p * k * W; }

    /** True when some k pair holds -128 twice in one column (see the class comment). */
    boolean hasMinPairs() { return minPairs().length > 0; }

    /** The pair indices of the class comment (found with the Java layout, derived first if needed). */
    int[] minPairs() {
        javaPanels();
        return minPairs;
    }

    public void repackTransposed(byte[] src, int off, int ld, int n, int k) { repackTransposed(src, off, ld, n, k, nativeLayout()); }

    /** The same, writing the native layout or the Java one (tests of the derivations). */
    void repackTransposed(byte[] src, int off, int ld, int n, int k, boolean nativeLayout) {
        check(src, off, ld, n, k);
        configure(k, n);
        if (nativeLayout) {
            packVnni(src, off, 1, ld);
            return;
        }
        allocateJava();
        for (int p = 0; p < panels(); p++) {
            int col0 = p * W, wp = width(p), base = panelOffset(p), valid = Math.min(wp, n - col0);
            for (int j = 0; j < valid; j++) {
                int s = off + (col0 + j) * ld;
                for (int kk = 0; kk < k; kk++) data[base + kk * wp + j] = src[s + kk];
            }
            zeroPadding(base, wp, valid);
        }
        findMinPairs();
        javaValid = true;
    }

    public void repack(byte[] src, int off, int ld, int k, int n) { repack(src, off, ld, k, n, nativeLayout()); }

    /** The same, writing the native layout or the Java one (tests of the derivations). */
    void repack(byte[] src, int off, int ld, int k, int n, boolean nativeLayout) {
        check(src, off, ld, k, n);
        configure(k, n);
        if (nativeLayout) {
            packVnni(src, off, ld, 1);
            return;
        }
        allocateJava();
        for (int p = 0; p < panels(); p++) {
            int col0 = p * W, wp = width(p), base = panelOffset(p), valid = Math.min(wp, n - col0);
            for (int kk = 0; kk < k; kk++) System.arraycopy(src, off + kk * ld + col0, data, base + kk * wp, valid);
            zeroPadding(base, wp, valid);
        }
        findMinPairs();
        javaValid = true;
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
        long size = Math.max((long) k * paddedN(), vnniBytes(k, n));
        if (size > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("B too large: " + k + "x" + n);
        javaValid = vnniValid = signedValid = false;
    }

    private void allocateJava() {
        int size = k * paddedN();
        if (data.length < size) data = new byte[size];
    }

    private void allocateVnni() {
        int size = (int) vnniBytes(k, n);
        if (vnni.length < size) vnni = new byte[size];
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
