package io.vitq.runtime;

import io.vitq.tensor.Parallel;

/**
 * Exact integer GEMM, {@code C_int32[M][N] = A[M][K] . B[K][N]}, with B packed once as int8 codes
 * ({@link PackedInt8}) and the register-tiled Vector API kernels of {@link IntKernels}.
 *
 * <p><b>int8 A</b> ({@link #multiply(byte[], int, int, int, PackedInt8, int[], int, int, boolean)}), two
 * kernels ({@link Int8Kernel}):
 * <ul>
 *   <li>{@link Int8Kernel#INT16_PAIRS}, design "I4" of ENGINE_NOTES section 2 (the best measured on the
 *   Intel machine there). B rows k and k+1 are widened to 32 short lanes, multiplied by the
 *   broadcast A codes in 16 bits and the two products summed in 16 bits before they are widened
 *   into int32 accumulators (6 rows x 64 columns per tile). For int8 codes each product lies in
 *   [-16256, 16384], so the pair sum lies in [-32512, 32768]: it fits a short except for the single
 *   case {@code a[k] = a[k+1] = b[k][j] = b[k+1][j] = -128}. The packing records the k pairs where B
 *   holds -128 twice in some column (normally none); a row tile whose A holds -128 twice in one of
 *   those pairs is computed by the int32 kernel instead, so the result is exact for all int8 codes
 *   including -128.</li>
 *   <li>{@link Int8Kernel#INT32} (the Java default): the row tile of A is widened to int32 and multiplied
 *   by the int32 kernel below (design "I1"). On the project machine (AMD EPYC, Zen 5) it runs
 *   1.25-1.4x faster than the 16-bit pairs (docs/BENCHMARKS.md, IntGemmBench); the system property
 *   {@code vitq.int8.kernel=pairs} makes the pairs kernel the default.</li>
 *   <li>{@link Int8Kernel#NATIVE_VNNI} (the default when available): the optional C kernel with
 *   AVX-512 VNNI ({@link NativeInt8}), A as vpdpbusd's signed operand and B + 128 as its unsigned
 *   one, corrected by {@code -128 * sum_k A[i][k]} per row: exact modulo 2^32, hence exact whenever
 *   the Java kernels are. It runs when its library was built and the CPU has VNNI;
 *   {@code -Dvitq.int8.kernel=java} forces the Java kernel. {@link #kernelReason()} says which runs and why.</li>
 * </ul>
 * Every int32 sum of int8 products is exact for K up to {@link PackedInt8#MAX_K}, with every kernel
 * (bit-identical results).
 *
 * <p><b>uint8 A</b> ({@link #multiplyUnsigned}): unsigned activation codes 0..255 (an asymmetric or
 * codebook input, its zero point corrected by the caller). The native kernel takes them as
 * vpdpbusd's unsigned operand against B packed signed ({@link PackedInt8#vnniSignedPanels}), no
 * correction; the Java kernels widen them to int32 ({@code a & 0xFF}). Exact for K up to
 * {@link PackedInt8#MAX_K_UNSIGNED} ({@code K * 255 * 128 <= 2^31 - 1}); checked.
 *
 * <p><b>int32 A</b> ({@link #multiply(int[], int, int, int, long, PackedInt8, int[], int, int, boolean)}):
 * design "I1", B bytes widened to 16 int lanes and multiplied in 32 bits. Used for twin-uniform
 * codes aligned by shifts, whose values do not fit a byte. Exact when
 * {@link #fitsInt32(long, long, long) K * max|a| * max|b|} fits an int32; checked.
 *
 * <p>Rows are split over the thread pool in tiles of {@link #MR} rows; each tile sweeps all panels
 * of B (row tile outer, B streamed from L2), writing a padded scratch tile that is then copied to C.
 */
public final class Int8Gemm {
    /** Rows per kernel tile. */
    public static final int MR = IntKernels.MR;

    /** The kernel that multiplies int8 A codes (see the class comment). */
    public enum Int8Kernel { INT32, INT16_PAIRS, NATIVE_VNNI }

    /** The system property that chooses the kernel: {@code auto} (default), {@code native}, {@code java}, {@code pairs}. */
    public static final String KERNEL_PROPERTY = "vitq.int8.kernel";

    /**
     * {@link Int8Kernel#NATIVE_VNNI} when available unless {@value #KERNEL_PROPERTY} says {@code java}
     * ({@link Int8Kernel#INT32}) or {@code pairs}; else {@link Int8Kernel#INT32}.
     */
    public static final Int8Kernel DEFAULT_KERNEL;
    private static final String KERNEL_REASON;

    static {
        String asked = System.getProperty(KERNEL_PROPERTY, "auto");
        Int8Kernel k;
        String why;
        switch (asked) {
            case "java", "int32" -> {
                k = Int8Kernel.INT32;
                why = "Java Vector API kernel (int32 lanes), as -D" + KERNEL_PROPERTY + "=" + asked + " asks";
            }
            case "pairs" -> {
                k = Int8Kernel.INT16_PAIRS;
                why = "Java Vector API kernel (16-bit pairs), as -D" + KERNEL_PROPERTY + "=pairs asks";
            }
            case "auto", "native" -> {
                k = NativeInt8.available() ? Int8Kernel.NATIVE_VNNI : Int8Kernel.INT32;
                why = k == Int8Kernel.NATIVE_VNNI
                        ? NativeInt8.status() + ": the library loaded and the CPU has AVX-512 VNNI"
                        : "Java Vector API kernel (int32 lanes): " + NativeInt8.status();
            }
            default -> {
                k = Int8Kernel.INT32;
                why = "Java Vector API kernel (int32 lanes): -D" + KERNEL_PROPERTY + "=" + asked
                        + " is not one of auto, native, java, pairs";
            }
        }
        DEFAULT_KERNEL = k;
        KERNEL_REASON = why;
    }

    /** Which int8 kernel runs and why (one line, for {@code vitq info}). */
    public static String kernelReason() { return KERNEL_REASON; }

    /** Integer operations per round of {@link #nativePeakProbe}: 24 {@code vpdpbusd} of 64 multiply-adds. */
    public static final long NATIVE_PEAK_OPS_PER_ROUND = 24L * 64 * 2;

    /**
     * The VNNI peak probe (docs/BENCHMARKS.md): {@code rounds} x 24 independent register-only
     * {@code vpdpbusd}, i.e. {@code rounds} x {@link #NATIVE_PEAK_OPS_PER_ROUND} integer operations, on the calling thread.
     */
    public static long nativePeakProbe(long rounds) {
        if (!NativeInt8.available()) throw new IllegalStateException("native int8 kernel: " + NativeInt8.status());
        return NativeInt8.peak(rounds);
    }

    /** True when the native VNNI kernel can run here (whatever the default). */
    public static boolean nativeAvailable() { return NativeInt8.available(); }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        int[] tile = new int[0];
        int[] wideA = new int[0];

        int[] tile(int n) {
            if (tile.length < n) tile = new int[n];
            return tile;
        }
    }

    private Int8Gemm() {}

    /**
     * True when a sum of {@code k} products of values bounded by {@code maxAbsA} and
     * {@code maxAbsB} in magnitude cannot leave the int32 range: {@code k * maxAbsA * maxAbsB <= 2^31 - 1}
     * (computed without overflow).
     */
    public static boolean fitsInt32(long k, long maxAbsA, long maxAbsB) {
        return io.vitq.quant.ShiftForm.fitsInt32(k, maxAbsA, maxAbsB);
    }

    /**
     * {@code C[i][j] = sum_k A[i][k] B[k][j]} exactly, for int8 codes A (any values, -128 included).
     *
     * @param parallel split the rows over the thread pool
     */
    public static void multiply(byte[] a, int aOff, int lda, int m, PackedInt8 b, int[] c, int cOff, int ldc,
                                boolean parallel) {
        multiply(a, aOff, lda, m, b, c, cOff, ldc, DEFAULT_KERNEL, parallel);
    }

    /** The same with a chosen kernel. */
    public static void multiply(byte[] a, int aOff, int lda, int m, PackedInt8 b, int[] c, int cOff, int ldc,
                                Int8Kernel kernel, boolean parallel) {
        checkViews(a.length, aOff, lda, m, b, c, cOff, ldc);
        if (m == 0 || b.n == 0) return;
        if (kernel == Int8Kernel.NATIVE_VNNI) {
            byte[] packed = vnniPanels(b);
            run(m, parallel, (r0, r1) -> NativeInt8.gemm(a, aOff + r0 * lda, lda, r1 - r0, packed, b.k, b.n, c, cOff + r0 * ldc, ldc));
            return;
        }
        tiled(m, parallel, b, c, cOff, ldc, (i, mr, t, ld) -> tile(a, aOff + i * lda, lda, mr, b, t, 0, ld, kernel));
    }

    /**
     * {@code C[i][j] = sum_k A[i][k] B[k][j]} exactly for uint8 codes A ({@code a & 0xFF}, 0..255).
     *
     * @throws IllegalArgumentException when K exceeds {@link PackedInt8#MAX_K_UNSIGNED}
     */
    public static void multiplyUnsigned(byte[] a, int aOff, int lda, int m, PackedInt8 b, int[] c, int cOff, int ldc,
                                        boolean parallel) {
        multiplyUnsigned(a, aOff, lda, m, b, c, cOff, ldc, DEFAULT_KERNEL, parallel);
    }

    /** The same with a chosen kernel (any Java one runs the int32 kernel: 16-bit pairs of uint8 x int8 could wrap). */
    public static void multiplyUnsigned(byte[] a, int aOff, int lda, int m, PackedInt8 b, int[] c, int cOff, int ldc,
                                        Int8Kernel kernel, boolean parallel) {
        requireFits(b.k, 255);
        checkViews(a.length, aOff, lda, m, b, c, cOff, ldc);
        if (m == 0 || b.n == 0) return;
        tiled(m, parallel, b, c, cOff, ldc, (i, mr, t, ld) -> tileUnsigned(a, aOff + i * lda, lda, mr, b, t, 0, ld, kernel));
    }

    /**
     * {@code C[i][j] = sum_k A[i][k] B[k][j]} for int32 A whose magnitudes are at most {@code maxAbsA}.
     *
     * @throws IllegalArgumentException when {@code K * maxAbsA * 128} may not fit an int32 (the sum
     *                                  could overflow; the caller must split the operand instead)
     */
    public static void multiply(int[] a, int aOff, int lda, int m, long maxAbsA, PackedInt8 b, int[] c, int cOff,
                                int ldc, boolean parallel) {
        requireFits(b.k, maxAbsA);
        checkViews(a.length, aOff, lda, m, b, c, cOff, ldc);
        if (m == 0 || b.n == 0) return;
        tiled(m, parallel, b, c, cOff, ldc, (i, mr, t, ld) -> tile(a, aOff + i * lda, lda, mr, b, t, 0, ld));
    }

    static void requireFits(int k, long maxAbsA) {
        if (!fitsInt32(k, maxAbsA, 128))
            throw new IllegalArgumentException("int32 accumulation could overflow: K " + k + " x max|a| " + maxAbsA
                    + " x max|b| 128 > 2^31 - 1");
    }

    /** One row tile: rows {@code [i, i + mr)} of A into the padded scratch tile t (row length ld). */
    private interface TileBody {
        void run(int i, int mr, int[] t, int ld);
    }

    /** Rows of A in tiles of {@link #MR} (split over the pool when {@code parallel}), each through a padded scratch tile into C. */
    private static void tiled(int m, boolean parallel, PackedInt8 b, int[] c, int cOff, int ldc, TileBody body) {
        run(m, parallel, (r0, r1) -> {
            int ld = b.paddedN();
            int[] t = SCRATCH.get().tile(MR * ld);
            for (int i = r0; i < r1; i += MR) {
                int mr = Math.min(MR, r1 - i);
                body.run(i, mr, t, ld);
                copyOut(t, ld, mr, b.n, c, cOff + i * ldc, ldc);
            }
        });
    }

    private static void run(int m, boolean parallel, Parallel.RangeBody body) {
        if (parallel && m > MR && Parallel.threads() > 1) Parallel.forRange(m, MR, body);
        else body.run(0, m);
    }

    /**
     * Rows {@code [0, mr)} (mr <= {@link #MR}) of int8 A at {@code aOff} times B into a tile of C
     * with row length {@code ldc >= b.paddedN()}: columns {@code [0, n)} hold the sums (the Java
     * kernels also write the padding columns, the native one does not).
     */
    static void tile(byte[] a, int aOff, int lda, int mr, PackedInt8 b, int[] c, int cOff, int ldc) {
        tile(a, aOff, lda, mr, b, c, cOff, ldc, DEFAULT_KERNEL);
    }

    /**
     * Rows {@code [0, m)} of int8 A times B into C (row length {@code ldc >= b.paddedN()}), on the
     * calling thread: one native call for all rows, or the Java kernels tile by tile.
     */
    static void rows(byte[] a, int aOff, int lda, int m, PackedInt8 b, int[] c, int cOff, int ldc) {
        if (DEFAULT_KERNEL == Int8Kernel.NATIVE_VNNI) {
            NativeInt8.gemm(a, aOff, lda, m, b.vnniPanels(), b.k, b.n, c, cOff, ldc);
            return;
        }
        for (int i = 0; i < m; i += MR) tile(a, aOff + i * lda, lda, Math.min(MR, m - i), b, c, cOff + i * ldc, ldc);
    }

    static void tile(byte[] a, int aOff, int lda, int mr, PackedInt8 b, int[] c, int cOff, int ldc, Int8Kernel kernel) {
        if (kernel == Int8Kernel.NATIVE_VNNI) {
            NativeInt8.gemm(a, aOff, lda, mr, vnniPanels(b), b.k, b.n, c, cOff, ldc);
            return;
        }
        byte[] panels = b.javaPanels();
        if (kernel == Int8Kernel.INT32 || (b.hasMinPairs() && minPairConflict(a, aOff, lda, mr, b.minPairs()))) {
            // widen this tile's A to ints and use the 32-bit kernel (for the pairs kernel: the 16-bit pair sum could wrap)
            tile(widened(a, aOff, lda, mr, b.k, false), 0, b.k, mr, b, c, cOff, ldc);
            return;
        }
        final int K = b.k;
        for (int p = 0, np = b.panels(); p < np; p++) {
            IntKernels.bytes(mr, b.width(p) >> 5, a, aOff, lda, panels, b.panelOffset(p), c, cOff + p * PackedInt8.W, ldc, K);
        }
    }

    /**
     * Rows {@code [0, mr)} of uint8 A ({@code a & 0xFF}) times B into a tile of C as
     * {@link #tile(byte[], int, int, int, PackedInt8, int[], int, int)} does; the caller has checked
     * {@code K <= }{@link PackedInt8#MAX_K_UNSIGNED}.
     */
    static void tileUnsigned(byte[] a, int aOff, int lda, int mr, PackedInt8 b, int[] c, int cOff, int ldc) {
        tileUnsigned(a, aOff, lda, mr, b, c, cOff, ldc, DEFAULT_KERNEL);
    }

    static void tileUnsigned(byte[] a, int aOff, int lda, int mr, PackedInt8 b, int[] c, int cOff, int ldc, Int8Kernel kernel) {
        if (kernel == Int8Kernel.NATIVE_VNNI) {
            requireNative();
            NativeInt8.gemmUnsigned(a, aOff, lda, mr, b.vnniSignedPanels(), b.k, b.n, c, cOff, ldc);
            return;
        }
        tile(widened(a, aOff, lda, mr, b.k, true), 0, b.k, mr, b, c, cOff, ldc);
    }

    /** Rows {@code [0, mr)} of byte A as ints in this thread's scratch (row length k), signed or as uint8. */
    private static int[] widened(byte[] a, int aOff, int lda, int mr, int k, boolean unsigned) {
        Scratch s = SCRATCH.get();
        if (s.wideA.length < mr * k) s.wideA = new int[mr * k];
        int[] w = s.wideA;
        int mask = unsigned ? 0xFF : -1;
        for (int r = 0; r < mr; r++)
            for (int kk = 0; kk < k; kk++) w[r * k + kk] = a[aOff + r * lda + kk] & mask;
        return w;
    }

    /** Same as the byte form for int32 A (the caller has checked the bound). */
    static void tile(int[] a, int aOff, int lda, int mr, PackedInt8 b, int[] c, int cOff, int ldc) {
        final int K = b.k;
        byte[] panels = b.javaPanels();
        for (int p = 0, np = b.panels(); p < np; p++) {
            IntKernels.ints(mr, b.width(p) >> 5, a, aOff, lda, panels, b.panelOffset(p), c, cOff + p * PackedInt8.W, ldc, K);
        }
    }

    private static byte[] vnniPanels(PackedInt8 b) {
        requireNative();
        return b.vnniPanels();
    }

    private static void requireNative() {
        if (!NativeInt8.available()) throw new IllegalStateException("native int8 kernel: " + NativeInt8.status());
    }

    /** True if some row holds -128 at both k steps of a pair where B does too. */
    static boolean minPairConflict(byte[] a, int aOff, int lda, int mr, int[] pairs) {
        for (int r = 0; r < mr; r++) {
            int row = aOff + r * lda;
            for (int j : pairs)
                if (a[row + 2 * j] == Byte.MIN_VALUE && a[row + 2 * j + 1] == Byte.MIN_VALUE) return true;
        }
        return false;
    }

    private static void copyOut(int[] t, int ldt, int mr, int n, int[] c, int cOff, int ldc) {
        for (int r = 0; r < mr; r++) System.arraycopy(t, r * ldt, c, cOff + r * ldc, n);
    }

    private static void checkViews(int aLength, int aOff, int lda, int m, PackedInt8 b, int[] c, int cOff, int ldc) {
        int k = b.k, n = b.n;
        if (m < 0 || aOff < 0 || cOff < 0 || (m > 1 && (lda < k || ldc < n)))
            throw new IllegalArgumentException("bad integer GEMM view: m=" + m + " k=" + k + " n=" + n
                    + " lda=" + lda + " ldc=" + ldc + " aOff=" + aOff + " cOff=" + cOff);
        if (m == 0) return;
        if ((long) cOff + (long) (m - 1) * ldc + n > c.length || (long) aOff + (long) (m - 1) * lda + k > aLength)
            throw new IndexOutOfBoundsException("A or C view exceeds its array");
    }
}
