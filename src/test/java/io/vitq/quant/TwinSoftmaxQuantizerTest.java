package io.vitq.quant;

import static io.vitq.quant.UniformQuantizerTest.assertBitsEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vitq.quant.TwinSoftmaxQuantizer.Mode;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TwinSoftmaxQuantizerTest {
    private static final String OP = "blocks.0.attn.matmul2";

    /** Probabilities-like values plus the boundaries: the split, ties of both grids, 0, 1, out of range. */
    static float[] probabilities(SplittableRandom r, int n, TwinSoftmaxQuantizer q) {
        float[] x = new float[n];
        float s = q.split(), d1 = q.smallStep();
        int L = q.levels();
        for (int i = 0; i < n; i++) {
            x[i] = switch (r.nextInt(9)) {
                case 0 -> s;
                case 1 -> Math.nextDown(s);
                case 2 -> (r.nextInt(L + 1) + 0.5f) * d1;
                case 3 -> (r.nextInt(L + 1) + 0.5f) / L;
                case 4 -> r.nextBoolean() ? 0f : 1f;
                case 5 -> (float) r.nextDouble(-0.5, 1.5);
                default -> (float) Math.pow(r.nextDouble(), 8);
            };
        }
        return x;
    }

    @Test
    void quirkModeMatchesTheWorkedExample() {
        TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(8, 0x1p-4f, Mode.REFERENCE_QUIRK);
        assertEquals(0.0630f, q.fakeQuant(0f), 5e-5f);
        assertEquals(8f / 127f, q.fakeQuant(0f));                 // hi = rint(127 · s)/127, lo = 0
        assertEquals(0.3617f, q.fakeQuant(0.3f), 5e-5f);
        assertEquals(38f / 127f + 127 * (0.0625f / 127f), q.fakeQuant(0.3f)); // hi + saturated lo = s
        // clean mode for the same inputs: no offsets
        TwinSoftmaxQuantizer c = new TwinSoftmaxQuantizer(8, 0x1p-4f);
        assertEquals(0f, c.fakeQuant(0f));
        assertEquals(38f / 127f, c.fakeQuant(0.3f));
    }

    @Test
    void cleanModeFollowsTheDefinition() {
        SplittableRandom r = new SplittableRandom(1);
        for (int bits : new int[] {4, 6, 8}) {
            for (int m = 0; m < 20; m++) {
                TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(bits, Math.scalb(1f, -m));
                int L = (1 << (bits - 1)) - 1;
                assertEquals(L, q.levels());
                assertEquals(m, q.shift());
                float d1 = Math.scalb(1f, -m) / L;
                assertEquals(d1, q.smallStep());
                for (float x : probabilities(r, 300, q)) {
                    float expected = x < q.split() ? (float) Math.max(0, Math.min(L, Math.rint(x / d1))) * d1
                            : (float) Math.max(0, Math.min(L, Math.rint(x * (float) L))) / L;
                    assertEquals(expected, q.fakeQuant(x), 0f, "x = " + x);
                }
            }
        }
        TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(8, 0x1p-4f);
        assertEquals(0f, q.fakeQuant(-0.2f));
        assertEquals(1f, q.fakeQuant(1.7f));
    }

    @Test
    void vectorAndScalarPathsAreBitIdentical() {
        SplittableRandom r = new SplittableRandom(2);
        for (Mode mode : Mode.values())
            for (int bits : new int[] {2, 3, 6, 8, 12, 16})
                for (int m : new int[] {0, 1, 4, 7, 8, 13, 19}) {
                    TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(bits, Math.scalb(1f, -m), mode);
                    int len = 1 + r.nextInt(300);
                    float[] x = probabilities(r, len, q);
                    float[] vec = new float[len], ref = new float[len];
                    q.fakeQuant(OP, x, 0, vec, 0, len);
                    for (int i = 0; i < len; i++) ref[i] = q.fakeQuant(x[i]);
                    assertBitsEqual(ref, vec, q.toString());
                    q.fakeQuant(OP, x, 0, x, 0, len); // in place
                    assertBitsEqual(ref, x, q + " in place");
                }
    }

    @Test
    void everyCodeDecodesIntoItsRangeAndCanonicalCodesRoundTrip() {
        for (int bits : new int[] {2, 3, 4, 6, 8, 10}) {
            for (int m = 0; m < 20; m++) {
                float s = Math.scalb(1f, -m);
                TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(bits, s);
                int flag = q.rangeFlag(), L = q.levels();
                assertEquals(1 << (bits - 1), flag);
                int canonical = 0;
                for (int c = 0; c < 2 * flag; c++) {
                    float v = q.decode(c);
                    int mag = c & (flag - 1);
                    boolean r2 = (c & flag) != 0;
                    if (r2) {
                        assertEquals(mag / (float) L, v);
                        assertTrue(v >= 0 && v <= 1);
                    } else {
                        assertEquals(mag * q.smallStep(), v);
                        assertTrue(v >= 0 && v <= Math.nextUp(s), "R1 code " + c + " = " + v + " beyond split " + s);
                        if (mag < L) assertTrue(v < s);
                    }
                    boolean isCanonical = r2 ? v >= s : v < s;
                    if (isCanonical) canonical++;
                    assertEquals(isCanonical, q.encode(v) == c, "bits " + bits + " m " + m + " code " + c);
                }
                assertTrue(canonical >= L + 1, "at least R1's 0..L-1 and R2's 1.0 are canonical");
            }
        }
        TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(8, 0x1p-6f);
        assertThrows(IllegalArgumentException.class, () -> q.decode(256));
        assertThrows(IllegalArgumentException.class, () -> q.decode(-1));
    }

    @Test
    void codeLayoutMatchesSection6AndDecodesToTheCleanFakeQuant() {
        SplittableRandom r = new SplittableRandom(3);
        for (int m : new int[] {0, 3, 4, 9, 19}) {
            TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(8, Math.scalb(1f, -m));
            float[] x = probabilities(r, 2000, q);
            byte[] codes = new byte[x.length];
            q.encode(OP, x, 0, codes, 0, x.length);
            float[] dec = new float[x.length];
            q.decode(codes, 0, dec, 0, x.length);
            for (int i = 0; i < x.length; i++) {
                int expected = x[i] >= q.split() ? 0x80 | (int) Math.max(0, Math.min(127, Math.rint(127 * x[i])))
                        : (int) Math.max(0, Math.min(127, Math.rint(x[i] / q.smallStep())));
                assertEquals(expected, codes[i] & 0xFF, "x = " + x[i]);
                assertEquals(Float.floatToRawIntBits(q.fakeQuant(x[i])), Float.floatToRawIntBits(dec[i]), "x = " + x[i]);
            }
        }
    }

    @Test
    void shiftAlignsTheTwoRanges() {
        TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(8, 0x1p-5f);
        // an R2 magnitude shifted left by m is the same value in R1 units: (mag/L) = (mag << m) · s/L
        for (int mag = 0; mag <= 127; mag++)
            assertEquals(q.decode(0x80 | mag), (mag << q.shift()) * q.smallStep(), 1e-7f);
        assertEquals(q.largeStep(), Math.scalb(q.smallStep(), q.shift()), 1e-9f);
    }

    @Test
    void rejectsBadSplitsAndInputs() {
        for (float s : new float[] {0f, 0.3f, 2f, -0.5f, Float.NaN, 0x1p-31f})
            assertThrows(IllegalArgumentException.class, () -> new TwinSoftmaxQuantizer(8, s));
        TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(8, 0x1p-3f);
        float[] x = new float[40];
        x[33] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.fakeQuant(OP, x, 0, new float[40], 0, 40));
        assertTrue(e.getMessage().contains(OP) && e.getMessage().contains("index 33"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> q.encode(OP, x, 0, new byte[40], 0, 40));
        assertThrows(IllegalArgumentException.class, () -> new TwinSoftmaxQuantizer(12, 0.5f).encode(OP, x, 0, new byte[1], 0, 1));
    }

    /** small · Δ_R1 or large / L is the clean fake quant; the factors are encode's magnitudes by range. */
    @Test
    void codeValuesSplitTheFakeQuantByRange() {
        SplittableRandom r = new SplittableRandom(23);
        for (int m : new int[] {0, 4, 19}) {
            TwinSoftmaxQuantizer q = new TwinSoftmaxQuantizer(8, Math.scalb(1f, -m));
            float[] x = probabilities(r, 2051, q), small = new float[x.length], large = new float[x.length];
            q.codeValues("matmul2", x, 0, small, large, 0, x.length);
            for (int i = 0; i < x.length; i++) {
                int code = q.encode(x[i]), mag = code & (q.rangeFlag() - 1);
                boolean r2 = (code & q.rangeFlag()) != 0;
                assertEquals(r2 ? 0 : mag, (int) small[i], "x = " + x[i]);
                assertEquals(r2 ? mag : 0, (int) large[i], "x = " + x[i]);
                assertTrue(Float.floatToRawIntBits(small[i]) != 0x80000000 && Float.floatToRawIntBits(large[i]) != 0x80000000);
                float v = r2 ? large[i] / q.levels() : small[i] * q.smallStep();
                assertTrue(v == q.fakeQuant(x[i]), "x = " + x[i]);
            }
        }
        TwinSoftmaxQuantizer quirk = new TwinSoftmaxQuantizer(8, 0x1p-4f, Mode.REFERENCE_QUIRK);
        assertThrows(IllegalArgumentException.class, () -> quirk.codeValues("m", new float[1], 0, new float[1], new float[1], 0, 1));
    }
}
