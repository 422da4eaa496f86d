package io.vitq.runtime;

import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.AsymmetricOperand;
import io.vitq.quant.CodebookOperand;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.QuantPlan;
import io.vitq.testutil.MinMaxPlans;
import io.vitq.testutil.MinMaxPlans.Spec;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The native VNNI kernel ({@link NativeInt8}) against the Java kernels and a long-accumulator
 * reference, bit for bit. Skipped, with a printed reason, where the library was not built or the
 * CPU lacks VNNI (the Java kernels then run everywhere and the other tests cover them).
 */
class NativeInt8GemmTest {
    private static final Int8Gemm.Int8Kernel NATIVE = Int8Gemm.Int8Kernel.NATIVE_VNNI;

    @BeforeEach
    void needsNativeKernel() {
        if (!Int8Gemm.nativeAvailable()) {
            String msg = "SKIPPED: native int8 kernel unavailable: " + NativeInt8.status();
            System.out.println(msg);
            Assumptions.abort(msg);
        }
    }

    /** Every kernel (native, int32, 16-bit pairs) on the same packed B and the reference. */
    private static void assertAllKernelsExact(byte[] a, int m, int k, byte[] bT, int n, String what) {
        long[] ref = Int8GemmTest.reference(a, m, k, bT, n);
        PackedInt8 b = PackedInt8.packTransposed(bT, 0, k, n, k);
        int[] nat = new int[m * n];
        Int8Gemm.multiply(a, 0, k, m, b, nat, 0, n, NATIVE, true);
        Int8GemmTest.assertExact(ref, nat, "native " + what);
        for (Int8Gemm.Int8Kernel kernel : new Int8Gemm.Int8Kernel[]{Int8Gemm.Int8Kernel.INT32, Int8Gemm.Int8Kernel.INT16_PAIRS}) {
            int[] c = new int[m * n];
            Int8Gemm.multiply(a, 0, k, m, b, c, 0, n, kernel, true);
            assertArrayEquals(c, nat, kernel + " vs native " + what);
        }
    }

    /**
     * K not a multiple of 4 (and of 64, the row-sum's vector), M not a multiple of the 6-row tile,
     * N with every tail panel width (16, 32, 48, 64 columns) and wider than one panel.
     */
    @Test
    void edgeShapesMatchJavaKernels() {
        SplittableRandom r = new SplittableRandom(11);
        int[][] shapes = {{1, 1, 1}, {1, 2, 1}, {2, 3, 5}, {5, 7, 3}, {6, 4, 16}, {7, 5, 17}, {6, 64, 64}, {11, 63, 33},
                {13, 65, 49}, {12, 127, 65}, {1, 129, 200}, {17, 128, 100}, {23, 95, 197}, {8, 384, 130}, {31, 1, 31},
                {197, 64, 197}, {197, 197, 64}, {61, 1537, 81}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            assertAllKernelsExact(Int8GemmTest.codes(m * k, r), m, k, Int8GemmTest.codes(n * k, r), n, m + "x" + k + "x" + n);
        }
    }

    /** Random shapes, codes with -128 and 127 over-represented. */
    @Test
    void randomShapesMatchJavaKernels() {
        SplittableRandom r = new SplittableRandom(12);
        for (int trial = 0; trial < 60; trial++) {
            int m = 1 + r.nextInt(40), k = 1 + r.nextInt(300), n = 1 + r.nextInt(260);
            assertAllKernelsExact(Int8GemmTest.codes(m * k, r), m, k, Int8GemmTest.codes(n * k, r), n, "trial " + trial);
        }
    }

    /**
     * The extremes: all -128 (every product +16384), -128 against 127 (-16256), 127 against 127;
     * the unsigned operand B + 128 then reaches 0 and 255 and the row correction its extremes.
     */
    @Test
    void extremeCodesAreExact() {
        int m = 7, k = 301, n = 70;
        byte[][] values = {{-128, -128}, {-128, 127}, {127, -128}, {127, 127}, {0, -128}, {-128, 0}};
        for (byte[] v : values) {
            byte[] a = new byte[m * k], bT = new byte[n * k];
            Arrays.fill(a, v[0]);
            Arrays.fill(bT, v[1]);
            assertAllKernelsExact(a, m, k, bT, n, "a = " + v[0] + ", b = " + v[1]);
        }
    }

    /**
     * The largest K the packing allows ({@link PackedInt8#MAX_K}, {@code K * 128 * 128 <= 2^31 - 1}):
     * all -128 gives the largest sum, -128 against 127 the most negative, and in between the
     * unsigned products sum far past 2^31 (K * 128 * 255), so only the wrapping int32 adds keep
     * it exact.
     */
    @Test
    void largestKIsExact() {
        int k = PackedInt8.MAX_K, m = 7, n = 19;
        byte[] a = new byte[m * k], bT = new byte[n * k];
        Arrays.fill(a, (byte) -128);
        Arrays.fill(bT, (byte) -128);
        PackedInt8 b = PackedInt8.packTransposed(bT, 0, k, n, k);
        int[] c = new int[m * n];
        Int8Gemm.multiply(a, 0, k, m, b, c, 0, n, NATIVE, true);
        for (int v : c) assertEquals((long) k * 16384, v);
        Arrays.fill(bT, (byte) 127);
        b = PackedInt8.packTransposed(bT, 0, k, n, k);
        Int8Gemm.multiply(a, 0, k, m, b, c, 0, n, NATIVE, true);
        for (int v : c) assertEquals(-(long) k * 16256, v);
        // mixed codes at the largest K: native = Java int32 kernel = reference
        SplittableRandom r = new SplittableRandom(13);
        int m2 = 3, n2 = 5;
        assertAllKernelsExact(Int8GemmTest.codes(m2 * k, r), m2, k, Int8GemmTest.codes(n2 * k, r), n2, "K = MAX_K");
    }

    /** Views inside larger arrays (offsets, strides), both source layouts of B, and C's other elements untouched. */
    @Test
    void viewsAndRowMajorPacking() {
        SplittableRandom r = new SplittableRandom(14);
        int m = 9, k = 70, n = 75, lda = k + 5, ldc = n + 3;
        byte[] a = Int8GemmTest.codes(3 + m * lda, r), bT = Int8GemmTest.codes(n * k, r);
        byte[] bRows = new byte[k * n];
        for (int kk = 0; kk < k; kk++) for (int j = 0; j < n; j++) bRows[kk * n + j] = bT[j * k + kk];
        int[] c1 = new int[2 + m * ldc], c2 = new int[2 + m * ldc], c3 = new int[2 + m * ldc];
        Arrays.fill(c1, 77);
        Arrays.fill(c2, 77);
        Arrays.fill(c3, 77);
        Int8Gemm.multiply(a, 3, lda, m, PackedInt8.packTransposed(bT, 0, k, n, k), c1, 2, ldc, NATIVE, false);
        Int8Gemm.multiply(a, 3, lda, m, PackedInt8.pack(bRows, 0, n, k, n), c2, 2, ldc, NATIVE, true);
        Int8Gemm.multiply(a, 3, lda, m, PackedInt8.pack(bRows, 0, n, k, n), c3, 2, ldc, Int8Gemm.Int8Kernel.INT32, true);
        assertArrayEquals(c3, c1);
        assertArrayEquals(c3, c2);
        assertEquals(77, c1[0]);
        assertEquals(77, c1[2 + n]); // the padding between rows is not written
    }

    /**
     * Each layout derived from the other equals the one packed directly (the native packer against
     * the Java code's index formula), for both source layouts of B.
     */
    @Test
    void derivedLayoutsAgree() {
        SplittableRandom r = new SplittableRandom(15);
        for (int[] s : new int[][]{{1, 1}, {5, 17}, {64, 64}, {67, 130}, {197, 64}, {64, 197}}) {
            int k = s[0], n = s[1];
            byte[] bT = Int8GemmTest.codes(n * k, r), bRows = new byte[k * n];
            for (int kk = 0; kk < k; kk++) for (int j = 0; j < n; j++) bRows[kk * n + j] = bT[j * k + kk];
            PackedInt8 javaPacked = PackedInt8.buffer(), nativePacked = PackedInt8.buffer(), nativeRows = PackedInt8.buffer();
            javaPacked.repackTransposed(bT, 0, k, n, k, false);
            nativePacked.repackTransposed(bT, 0, k, n, k, true);
            nativeRows.repack(bRows, 0, n, k, n, true);
            int vnni = (int) PackedInt8.vnniBytes(k, n), java = k * javaPacked.paddedN();
            assertEquals(vnni, NativeInt8.packedBytes(k, n));
            String what = k + "x" + n;
            assertArrayEquals(Arrays.copyOf(nativePacked.vnniPanels(), vnni), Arrays.copyOf(javaPacked.vnniPanels(), vnni), what);
            assertArrayEquals(Arrays.copyOf(nativePacked.vnniPanels(), vnni), Arrays.copyOf(nativeRows.vnniPanels(), vnni), what);
            assertArrayEquals(Arrays.copyOf(javaPacked.javaPanels(), java), Arrays.copyOf(nativePacked.javaPanels(), java), what);
            assertArrayEquals(javaPacked.minPairs(), nativePacked.minPairs(), what);
        }
    }

    // ---- uint8 A: unsigned activation codes against B packed signed ----

    /** uint8 A: the native kernel, the Java kernels (widened to int32) and the reference, on one packed B. */
    private static void assertUnsignedExact(byte[] a, int m, int k, byte[] bT, int n, String what) {
        long[] ref = Int8GemmTest.unsignedReference(a, m, k, bT, n);
        PackedInt8 b = PackedInt8.packTransposed(bT, 0, k, n, k);
        int[] nat = new int[m * n];
        Int8Gemm.multiplyUnsigned(a, 0, k, m, b, nat, 0, n, NATIVE, true);
        Int8GemmTest.assertExact(ref, nat, "native uint8 " + what);
        int[] c = new int[m * n];
        Int8Gemm.multiplyUnsigned(a, 0, k, m, b, c, 0, n, Int8Gemm.Int8Kernel.INT32, true);
        assertArrayEquals(c, nat, "Java vs native uint8 " + what);
    }

    /** The shapes of {@link #edgeShapesMatchJavaKernels}, and random ones, with uint8 A. */
    @Test
    void unsignedShapesMatchJavaKernel() {
        SplittableRandom r = new SplittableRandom(21);
        int[][] shapes = {{1, 1, 1}, {1, 2, 1}, {2, 3, 5}, {5, 7, 3}, {6, 4, 16}, {7, 5, 17}, {6, 64, 64}, {11, 63, 33},
                {13, 65, 49}, {12, 127, 65}, {1, 129, 200}, {17, 128, 100}, {23, 95, 197}, {8, 384, 130}, {31, 1, 31},
                {197, 64, 197}, {197, 197, 64}, {61, 1537, 81}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            assertUnsignedExact(Int8GemmTest.unsignedCodes(m * k, r), m, k, Int8GemmTest.codes(n * k, r), n, m + "x" + k + "x" + n);
        }
        for (int trial = 0; trial < 40; trial++) {
            int m = 1 + r.nextInt(40), k = 1 + r.nextInt(300), n = 1 + r.nextInt(260);
            assertUnsignedExact(Int8GemmTest.unsignedCodes(m * k, r), m, k, Int8GemmTest.codes(n * k, r), n, "trial " + trial);
        }
    }

    /** Codes 0 and 255 against weights -128, 0 and 127 (products 255 x -128 = -32640 and 255 x 127 = 32385). */
    @Test
    void unsignedExtremeCodesAreExact() {
        int m = 7, k = 301, n = 70;
        int[][] values = {{255, -128}, {255, 127}, {0, -128}, {0, 127}, {255, 0}, {128, -128}};
        for (int[] v : values) {
            byte[] a = new byte[m * k], bT = new byte[n * k];
            Arrays.fill(a, (byte) v[0]);
            Arrays.fill(bT, (byte) v[1]);
            assertUnsignedExact(a, m, k, bT, n, "a = " + v[0] + ", b = " + v[1]);
        }
    }

    /**
     * K = {@link PackedInt8#MAX_K_UNSIGNED} ({@code K * 255 * 128 <= 2^31 - 1}): 255 x -128 gives the
     * most negative sum, 255 x 127 the largest; mixed codes equal the Java kernel and the reference.
     */
    @Test
    void unsignedLargestKIsExact() {
        int k = PackedInt8.MAX_K_UNSIGNED, m = 7, n = 19;
        byte[] a = new byte[m * k], bT = new byte[n * k];
        Arrays.fill(a, (byte) 255);
        Arrays.fill(bT, (byte) -128);
        int[] c = new int[m * n];
        Int8Gemm.multiplyUnsigned(a, 0, k, m, PackedInt8.packTransposed(bT, 0, k, n, k), c, 0, n, NATIVE, true);
        for (int v : c) assertEquals(-(long) k * 32640, v);
        Arrays.fill(bT, (byte) 127);
        Int8Gemm.multiplyUnsigned(a, 0, k, m, PackedInt8.packTransposed(bT, 0, k, n, k), c, 0, n, NATIVE, true);
        for (int v : c) assertEquals((long) k * 32385, v);
        SplittableRandom r = new SplittableRandom(22);
        assertUnsignedExact(Int8GemmTest.unsignedCodes(3 * k, r), 3, k, Int8GemmTest.codes(5 * k, r), 5, "K = MAX_K_UNSIGNED");
    }

    /**
     * The signed layout is derived from whichever layout packing wrote, and a repack (another B,
     * another shape) replaces it; signed and int8 A alternate on one packed B.
     */
    @Test
    void signedLayoutFollowsRepacks() {
        SplittableRandom r = new SplittableRandom(23);
        PackedInt8 b = PackedInt8.buffer();
        for (int[] s : new int[][]{{67, 130}, {5, 17}, {197, 64}, {64, 197}}) {
            int m = 9, k = s[0], n = s[1];
            byte[] bT = Int8GemmTest.codes(n * k, r), ua = Int8GemmTest.unsignedCodes(m * k, r), sa = Int8GemmTest.codes(m * k, r);
            for (boolean nativeLayout : new boolean[]{true, false}) {
                b.repackTransposed(bT, 0, k, n, k, nativeLayout);
                int[] cu = new int[m * n], cs = new int[m * n];
                Int8Gemm.multiplyUnsigned(ua, 0, k, m, b, cu, 0, n, NATIVE, false);
                Int8Gemm.multiply(sa, 0, k, m, b, cs, 0, n, NATIVE, false);
                String what = k + "x" + n + (nativeLayout ? " native-packed" : " Java-packed");
                Int8GemmTest.assertExact(Int8GemmTest.unsignedReference(ua, m, k, bT, n), cu, what);
                Int8GemmTest.assertExact(Int8GemmTest.reference(sa, m, k, bT, n), cs, what);
            }
        }
    }

    /**
     * Asymmetric and codebook Linear inputs (unsigned codes with a zero point) run on the native
     * uint8 GEMM, and the integer executor still equals the code-product fake quant bit for bit:
     * op by op on random rows, and through the whole network (ViT and Swin).
     */
    @Test
    void unsignedLinearInputsRunNativeAndEqualCodeProducts() {
        for (Model model : List.of(TinyModels.VIT, TinyModels.SWIN)) {
            QuantPlan asym = IntegerExecutorTest.asymmetricPlan(model, Spec.ptq4vit(true), 0.9f);
            QuantPlan asym6 = IntegerExecutorTest.asymmetricPlan(model, Spec.ptq4vit(true).withBits(6), 0.9f);
            QuantPlan codebook = MinMaxPlans.withCodebookInputs(IntegerExecutorTest.plan(model, Spec.ptq4vit(true)));
            for (QuantPlan plan : List.of(asym, asym6, codebook)) {
                String label = (plan == codebook ? "codebook" : "asymmetric") + " inputs";
                IntegerExecutor ie = new IntegerExecutor(plan, model);
                FakeQuantExecutor cp = new FakeQuantExecutor(plan, model, FakeQuantExecutor.Products.CODES);
                int unsigned = 0;
                SplittableRandom r = new SplittableRandom(24);
                for (Linear l : model.linears()) {
                    if (!(plan.op(l.id()) instanceof LinearQuant lq
                            && (lq.input() instanceof AsymmetricOperand || lq.input() instanceof CodebookOperand))) continue;
                    assertTrue(ie.nativeUnsigned(l.id()), l.id() + ": unsigned codes on the native kernel");
                    unsigned++;
                    IntegerExecutorTest.assertLinearEqualsCodeProducts(ie, cp, l, r, model.name() + " " + label + " " + l.id());
                }
                assertTrue(unsigned >= 3, model.name() + " " + label + ": " + unsigned + " unsigned inputs");
                IntegerExecutorTest.compare(model, plan, IntegerExecutor.Options.DEFAULT, label + " (native uint8)");
            }
        }
    }
}
