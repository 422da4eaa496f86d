package io.vitq.runtime;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The integer GEMM against a plain long-accumulator reference. */
class Int8GemmTest {

    /** Random int8 codes with the extremes (-128, 127) over-represented. */
    static byte[] codes(int n, SplittableRandom r) {
        byte[] x = new byte[n];
        for (int i = 0; i < n; i++) {
            int u = r.nextInt(10);
            x[i] = (byte) (u == 0 ? -128 : u == 1 ? 127 : r.nextInt(256) - 128);
        }
        return x;
    }

    /** Every kernel that can run here (the native one only when its library loaded and the CPU has VNNI). */
    static java.util.List<Int8Gemm.Int8Kernel> kernels() {
        return java.util.Arrays.stream(Int8Gemm.Int8Kernel.values())
                .filter(k -> k != Int8Gemm.Int8Kernel.NATIVE_VNNI || Int8Gemm.nativeAvailable()).toList();
    }

    static long[] reference(byte[] a, int m, int k, byte[] bT, int n) {
        long[] c = new long[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                long s = 0;
                for (int kk = 0; kk < k; kk++) s += (long) a[i * k + kk] * bT[j * k + kk];
                c[i * n + j] = s;
            }
        return c;
    }

    /** uint8 codes (0..255 in the bytes), 0 and 255 over-represented. */
    static byte[] unsignedCodes(int n, SplittableRandom r) {
        byte[] x = new byte[n];
        for (int i = 0; i < n; i++) {
            int u = r.nextInt(10);
            x[i] = (byte) (u == 0 ? 0 : u == 1 ? 255 : r.nextInt(256));
        }
        return x;
    }

    /** {@link #reference} with A read as uint8 codes. */
    static long[] unsignedReference(byte[] a, int m, int k, byte[] bT, int n) {
        long[] c = new long[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                long s = 0;
                for (int kk = 0; kk < k; kk++) s += (long) (a[i * k + kk] & 0xFF) * bT[j * k + kk];
                c[i * n + j] = s;
            }
        return c;
    }

    static void assertExact(long[] ref, int[] got, String what) {
        assertEquals(ref.length, got.length);
        for (int i = 0; i < ref.length; i++)
            if (ref[i] != got[i]) throw new AssertionError(what + ": element " + i + " is " + got[i] + ", expected " + ref[i]);
    }

    /**
     * uint8 A on every kernel that runs here (the Java ones widen to int32), odd shapes and the
     * extremes 255 x -128; K past {@link PackedInt8#MAX_K_UNSIGNED} is refused.
     */
    @Test
    void uint8MatchesLongReference() {
        SplittableRandom r = new SplittableRandom(2);
        for (int[] s : new int[][]{{1, 1, 1}, {5, 7, 3}, {6, 64, 64}, {13, 33, 65}, {23, 95, 197}, {2, 2, 129}}) {
            int m = s[0], k = s[1], n = s[2];
            byte[] a = unsignedCodes(m * k, r), bT = codes(n * k, r);
            long[] ref = unsignedReference(a, m, k, bT, n);
            PackedInt8 b = PackedInt8.packTransposed(bT, 0, k, n, k);
            for (Int8Gemm.Int8Kernel kernel : kernels()) {
                int[] c = new int[m * n];
                Int8Gemm.multiplyUnsigned(a, 0, k, m, b, c, 0, n, kernel, true);
                assertExact(ref, c, kernel + " uint8 " + m + "x" + k + "x" + n);
            }
        }
        int k = 300;
        byte[] a = new byte[7 * k], bT = new byte[5 * k];
        java.util.Arrays.fill(a, (byte) 255);
        java.util.Arrays.fill(bT, (byte) -128);
        int[] c = new int[7 * 5];
        Int8Gemm.multiplyUnsigned(a, 0, k, 7, PackedInt8.packTransposed(bT, 0, k, 5, k), c, 0, 5, Int8Gemm.Int8Kernel.INT32, false);
        for (int v : c) assertEquals(-255L * 128 * k, v);
        int big = PackedInt8.MAX_K_UNSIGNED + 1;
        PackedInt8 tooLong = PackedInt8.packTransposed(new byte[big], 0, big, 1, big);
        var e = assertThrows(IllegalArgumentException.class,
                () -> Int8Gemm.multiplyUnsigned(new byte[big], 0, big, 1, tooLong, new int[1], 0, 1, false));
        assertTrue(e.getMessage().contains("overflow"), e.getMessage());
    }

    /** Odd and even K, M tails (1..MR-1 extra rows), N tails (32- and 64-wide tail panels), both B layouts. */
    @Test
    void int8MatchesLongReference() {
        SplittableRandom r = new SplittableRandom(1);
        int[][] shapes = {{1, 1, 1}, {5, 7, 3}, {6, 64, 64}, {13, 33, 65}, {17, 128, 100}, {23, 95, 197}, {8, 384, 130},
                {31, 1, 31}, {2, 2, 129}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            byte[] a = codes(m * k, r), bT = codes(n * k, r);
            long[] ref = reference(a, m, k, bT, n);
            int[] c = new int[m * n];
            Int8Gemm.multiply(a, 0, k, m, PackedInt8.packTransposed(bT, 0, k, n, k), c, 0, n, true);
            assertExact(ref, c, "transposed " + m + "x" + k + "x" + n);
            for (Int8Gemm.Int8Kernel kernel : kernels()) {
                int[] ck = new int[m * n];
                Int8Gemm.multiply(a, 0, k, m, PackedInt8.packTransposed(bT, 0, k, n, k), ck, 0, n, kernel, true);
                assertExact(ref, ck, kernel + " " + m + "x" + k + "x" + n);
            }
            // row-major B of the same values
            byte[] b = new byte[k * n];
            for (int kk = 0; kk < k; kk++) for (int j = 0; j < n; j++) b[kk * n + j] = bT[j * k + kk];
            int[] c2 = new int[m * n];
            Int8Gemm.multiply(a, 0, k, m, PackedInt8.pack(b, 0, n, k, n), c2, 0, n, false);
            assertArrayEquals(c, c2, "row-major B " + m + "x" + k + "x" + n);
        }
    }

    /**
     * All codes -128: every k pair sums to 2 * 16384 = 32768, one more than a short holds. The
     * packing finds the pairs and the driver switches the tile to 32-bit products: still exact.
     * Also offsets and strides (a view inside larger arrays).
     */
    @Test
    void allMinusOneTwentyEightIsExact() {
        int m = 7, k = 301, n = 70, lda = k + 3, ldc = n + 5;
        byte[] a = new byte[2 + m * lda], bT = new byte[n * k];
        java.util.Arrays.fill(a, (byte) -128);
        java.util.Arrays.fill(bT, (byte) -128);
        PackedInt8 b = PackedInt8.packTransposed(bT, 0, k, n, k);
        assertEquals(k / 2, b.minPairs().length);
        for (Int8Gemm.Int8Kernel kernel : kernels()) {
            int[] c = new int[1 + m * ldc];
            Int8Gemm.multiply(a, 2, lda, m, b, c, 1, ldc, kernel, true);
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) assertEquals(k * 16384, c[1 + i * ldc + j], kernel.toString());
            assertEquals(0, c[0]);
        }
        // the unguarded 16-bit kernel does wrap here: the guard is needed
        int[] t = new int[b.paddedN()];
        IntKernels.bytes(1, 2, a, 2, lda, b.javaPanels(), 0, t, 0, b.paddedN(), k);
        assertNotEquals(k * 16384, t[0]);
    }

    /** A few -128 pairs in both operands at random places (the realistic case of clipped codes). */
    @Test
    void sparseMinusOneTwentyEightPairs() {
        SplittableRandom r = new SplittableRandom(3);
        int m = 40, k = 64, n = 96;
        for (int trial = 0; trial < 20; trial++) {
            byte[] a = new byte[m * k], bT = new byte[n * k];
            for (int i = 0; i < a.length; i++) a[i] = (byte) (r.nextInt(21) - 10);
            for (int i = 0; i < bT.length; i++) bT[i] = (byte) (r.nextInt(21) - 10);
            for (int t = 0; t < 6; t++) {
                int j = r.nextInt(k / 2);
                int row = r.nextInt(m), col = r.nextInt(n);
                a[row * k + 2 * j] = a[row * k + 2 * j + 1] = -128;
                bT[col * k + 2 * j] = bT[col * k + 2 * j + 1] = -128;
            }
            int[] c = new int[m * n];
            Int8Gemm.multiply(a, 0, k, m, PackedInt8.packTransposed(bT, 0, k, n, k), c, 0, n, Int8Gemm.Int8Kernel.INT16_PAIRS, true);
            assertExact(reference(a, m, k, bT, n), c, "trial " + trial);
        }
    }

    @Test
    void int32OperandMatchesLongReference() {
        SplittableRandom r = new SplittableRandom(5);
        int m = 19, k = 77, n = 150;
        int shift = 9;
        long maxA = 127L << shift;
        int[] a = new int[m * k];
        for (int i = 0; i < a.length; i++) a[i] = r.nextBoolean() ? r.nextInt(128) << shift : -r.nextInt(129);
        byte[] bT = codes(n * k, r);
        long[] ref = new long[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int kk = 0; kk < k; kk++) ref[i * n + j] += (long) a[i * k + kk] * bT[j * k + kk];
        int[] c = new int[m * n];
        Int8Gemm.multiply(a, 0, k, m, maxA, PackedInt8.packTransposed(bT, 0, k, n, k), c, 0, n, true);
        assertExact(ref, c, "int32 A");
    }

    /**
     * The shift-form bound {@code K * 127 * 2^m * 128 <= 2^31 - 1}: at the largest K it allows, the
     * worst case (every a = 127 * 2^m, every b = -128) is still exact; one more k step could
     * overflow, and the int32 entry point refuses it.
     */
    @Test
    void int32BoundIsTightAndChecked() {
        int shift = 10;
        long maxA = 127L << shift;
        int kMax = (int) (Integer.MAX_VALUE / (maxA * 128));
        assertTrue(Int8Gemm.fitsInt32(kMax, maxA, 128));
        assertFalse(Int8Gemm.fitsInt32(kMax + 1, maxA, 128));
        int m = 2, n = 33;
        int[] a = new int[m * kMax];
        java.util.Arrays.fill(a, (int) maxA);
        byte[] bT = new byte[n * kMax];
        java.util.Arrays.fill(bT, (byte) -128);
        int[] c = new int[m * n];
        Int8Gemm.multiply(a, 0, kMax, m, maxA, PackedInt8.packTransposed(bT, 0, kMax, n, kMax), c, 0, n, false);
        for (int v : c) assertEquals(-(long) kMax * maxA * 128, v);
        // K + 1: the true sum leaves the int range (so a raw int32 sum would wrap), and the entry point refuses
        int k2 = kMax + 1;
        assertTrue((long) k2 * maxA * 128 > Integer.MAX_VALUE);
        PackedInt8 b2 = PackedInt8.packTransposed(new byte[n * k2], 0, k2, n, k2);
        var e = assertThrows(IllegalArgumentException.class,
                () -> Int8Gemm.multiply(new int[m * k2], 0, k2, m, maxA, b2, new int[m * n], 0, n, false));
        assertTrue(e.getMessage().contains("overflow"), e.getMessage());
        // twin softmax's largest split shift: 19 bits; even 197 tokens overflow the shift form
        assertFalse(Int8Gemm.fitsInt32(197, 127L << 19, 128));
        assertTrue(Int8Gemm.fitsInt32(197, 127L << 9, 128));
        assertFalse(Int8Gemm.fitsInt32(197, 127L << 10, 128));
    }

    @Test
    void badViewsAreRejected() {
        PackedInt8 b = PackedInt8.packTransposed(new byte[4 * 8], 0, 8, 4, 8);
        assertThrows(IndexOutOfBoundsException.class,
                () -> Int8Gemm.multiply(new byte[8], 0, 8, 2, b, new int[8], 0, 4, false));
        assertThrows(IllegalArgumentException.class,
                () -> Int8Gemm.multiply(new byte[16], 0, 4, 2, b, new int[8], 0, 4, false));
        assertThrows(IllegalArgumentException.class,
                () -> PackedInt8.packTransposed(new byte[2], 0, PackedInt8.MAX_K + 1, 0, PackedInt8.MAX_K + 1));
    }
}
