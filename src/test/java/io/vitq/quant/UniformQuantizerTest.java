package io.vitq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class UniformQuantizerTest {
    private static final String OP = "blocks.3.attn.qkv";

    /** Random values mixed with the awkward ones: ties, zeros of both signs, huge, tiny, subnormal. */
    static float[] awkward(SplittableRandom r, int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (r.nextInt(10)) {
                case 0 -> (r.nextInt(600) - 300 + 0.5f) * scale;       // exact ties in code units
                case 1 -> r.nextBoolean() ? 0f : -0f;
                case 2 -> (float) (r.nextDouble(-1, 1) * scale * 0.6);  // rounds to ±0
                case 3 -> (float) (r.nextDouble(-1, 1) * 3e38);          // overflows x / scale
                case 4 -> (r.nextBoolean() ? 1 : -1) * Float.MIN_VALUE * r.nextInt(1000);
                default -> (float) (r.nextGaussian() * 200 * scale);
            };
        }
        return x;
    }

    static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++)
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i]))
                throw new AssertionError(what + " differs at " + i + ": " + expected[i] + " vs " + actual[i]);
    }

    @Test
    void roundsHalfToEven() {
        UniformQuantizer q = new UniformQuantizer(8);
        assertEquals(0f, q.fakeQuant(0.5f, 1f));
        assertEquals(2f, q.fakeQuant(1.5f, 1f));
        assertEquals(2f, q.fakeQuant(2.5f, 1f));
        assertEquals(-2f, q.fakeQuant(-2.5f, 1f));
        assertEquals(-0f, q.fakeQuant(-0.5f, 1f)); // PyTorch keeps the sign: round(-0.5) = -0.
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(q.fakeQuant(-0.3f, 1f)));
        assertEquals(4, q.code(3.5f, 1f));
        assertEquals(0.25f, q.fakeQuant(0.3f, 0.25f));
        // the array (vector) path gives the same ties
        float[] x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f, 126.5f, -127.5f, 0.4999999f};
        float[] y = new float[x.length];
        q.fakeQuant(OP, 1f, x, 0, y, 0, x.length);
        assertArrayEquals(new float[] {0, 2, 2, -0f, -2, -2, 4, 126, -128, 0}, y);
    }

    @Test
    void clampsAtBothEnds() {
        for (int bits = 2; bits <= 16; bits++) {
            UniformQuantizer q = new UniformQuantizer(bits);
            int hi = (1 << (bits - 1)) - 1, lo = -(1 << (bits - 1));
            assertEquals(hi, q.maxCode());
            assertEquals(lo, q.minCode());
            assertEquals(hi, q.code(1e30f, 1f));
            assertEquals(lo, q.code(-1e30f, 1f));
            assertEquals(hi, q.code(hi + 0.49f, 1f));
            assertEquals(hi, q.code(hi + 0.5f, 1f)); // rounds to 2^(k-1), then clamps
            assertEquals(lo, q.code(lo - 0.5f, 1f));
            assertEquals(hi * 0.5f, q.fakeQuant(1e9f, 0.5f));
            assertEquals(lo * 0.5f, q.fakeQuant(-1e9f, 0.5f));
        }
        assertEquals(127, new UniformQuantizer(8).code(Float.MAX_VALUE, 1e-3f)); // x / scale = Inf
    }

    @Test
    void usesDivisionNotReciprocalMultiplication() {
        // find a value where x / s and x * (1 / s) round to different codes, and check we follow division
        UniformQuantizer q = new UniformQuantizer(8);
        SplittableRandom r = new SplittableRandom(7);
        int found = 0;
        for (int t = 0; t < 200_000 && found < 5; t++) {
            float s = (float) r.nextDouble(1e-3, 1);
            float x = ((float) r.nextInt(-120, 120) + 0.5f) * s;
            if (Math.rint(x / s) != Math.rint(x * (1f / s))) {
                found++;
                float[] y = new float[1];
                q.fakeQuant(OP, s, new float[] {x}, 0, y, 0, 1);
                assertEquals((float) Math.rint(x / s) * s, y[0]);
            }
        }
        assertTrue(found > 0, "no distinguishing value found");
    }

    @Test
    void vectorAndScalarPathsAreBitIdentical() {
        SplittableRandom r = new SplittableRandom(42);
        for (int bits = 2; bits <= 16; bits++) {
            UniformQuantizer q = new UniformQuantizer(bits);
            for (int len : new int[] {0, 1, 7, 8, 15, 16, 17, 33, 100, 1031}) {
                float scale = (float) Math.exp(r.nextDouble(-12, 3));
                int off = r.nextInt(5);
                float[] x = awkward(r, len + off + 3, scale);
                float[] vec = new float[len + 9], ref = new float[len + 9];
                q.fakeQuant(OP, scale, x, off, vec, 4, len);
                q.fakeQuantScalar(OP, scale, x, off, ref, 4, len);
                assertBitsEqual(ref, vec, bits + " bits, len " + len);
                // in place
                float[] inPlace = x.clone();
                q.fakeQuantInPlace(OP, scale, inPlace, off, len);
                for (int i = 0; i < len; i++)
                    assertEquals(Float.floatToRawIntBits(ref[4 + i]), Float.floatToRawIntBits(inPlace[off + i]));
            }
        }
    }

    @Test
    void scalarMatchesTheDefinition() {
        SplittableRandom r = new SplittableRandom(3);
        UniformQuantizer q = new UniformQuantizer(6);
        for (int i = 0; i < 10_000; i++) {
            float s = (float) r.nextDouble(1e-4, 2), x = (float) (r.nextGaussian() * 40 * s);
            double c = Math.max(-32, Math.min(31, Math.rint(x / s)));
            assertEquals((float) c * s, q.fakeQuant(x, s));
            assertEquals((int) c, q.code(x, s));
        }
    }

    @Test
    void rejectsBadScalesNamingTheOp() {
        UniformQuantizer q = new UniformQuantizer(8);
        float[] x = {1f, 2f};
        for (float s : new float[] {0f, -0f, -1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> q.fakeQuant(OP, s, x, 0, x.clone(), 0, 2));
            assertTrue(e.getMessage().contains(OP), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> q.codes(OP, s, x, 0, new byte[2], 0, 2));
        }
        assertThrows(IllegalArgumentException.class, () -> new UniformQuantizer(1));
        assertThrows(IllegalArgumentException.class, () -> new UniformQuantizer(17));
    }

    @Test
    void rejectsNonFiniteInputsNamingTheOpAndIndex() {
        UniformQuantizer q = new UniformQuantizer(8);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            for (int pos : new int[] {0, 5, 37, 63}) { // vector body and tail
                float[] x = new float[64];
                x[pos] = bad;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> q.fakeQuant(OP, 0.1f, x, 0, new float[64], 0, 64));
                assertTrue(e.getMessage().contains(OP) && e.getMessage().contains("index " + pos), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> q.fakeQuantScalar(OP, 0.1f, x, 0, new float[64], 0, 64));
                assertThrows(IllegalArgumentException.class, () -> q.codes(OP, 0.1f, x, 0, new byte[64], 0, 64));
            }
        }
    }

    @Test
    void codesAndDecode() {
        SplittableRandom r = new SplittableRandom(5);
        UniformQuantizer q8 = new UniformQuantizer(8);
        float[] x = awkward(r, 500, 0.02f);
        byte[] b = new byte[500];
        short[] s = new short[500];
        q8.codes(OP, 0.02f, x, 0, b, 0, 500);
        q8.codes(OP, 0.02f, x, 0, s, 0, 500);
        float[] fq = new float[500], dec = new float[500];
        q8.fakeQuant(OP, 0.02f, x, 0, fq, 0, 500);
        q8.decode(OP, 0.02f, b, 0, dec, 0, 500);
        for (int i = 0; i < 500; i++) {
            assertEquals(q8.code(x[i], 0.02f), b[i]);
            assertEquals(b[i], s[i]);
            assertEquals(fq[i], dec[i], 0f); // equal up to the sign of zero
        }
        UniformQuantizer q12 = new UniformQuantizer(12);
        assertThrows(IllegalArgumentException.class, () -> q12.codes(OP, 1f, x, 0, new byte[1], 0, 1));
        short[] s12 = new short[1];
        q12.codes(OP, 1f, new float[] {5000f}, 0, s12, 0, 1);
        assertEquals(2047, s12[0]);
    }

    @Test
    void checksRanges() {
        UniformQuantizer q = new UniformQuantizer(8);
        assertThrows(IndexOutOfBoundsException.class, () -> q.fakeQuant(OP, 1f, new float[4], 2, new float[4], 0, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> q.fakeQuant(OP, 1f, new float[4], 0, new float[2], 0, 3));
    }

    /** Code values are the fake quant's integer factor (+0 for zero), vector body and scalar tail alike. */
    @Test
    void codeValuesAreTheFakeQuantFactor() {
        SplittableRandom r = new SplittableRandom(21);
        for (int bits : new int[] {2, 6, 8, 16}) {
            UniformQuantizer q = new UniformQuantizer(bits);
            float s = 0.0371f;
            float[] x = awkward(r, 4103, s), c = new float[x.length + 3];
            q.codeValues(OP, s, x, 0, c, 3, x.length);
            for (int i = 0; i < x.length; i++) {
                float v = c[3 + i];
                assertTrue(v == Math.rint(v) && Float.floatToRawIntBits(v) != 0x80000000, "integer, not -0: " + v);
                assertEquals(q.code(x[i], s), (int) v, "code of " + x[i]);
                assertTrue(v * s == q.fakeQuant(x[i], s), x[i] + ": " + v + " x scale vs fake quant");
            }
        }
        float[] bad = {1f, Float.NaN};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new UniformQuantizer(8).codeValues(OP, 1f, bad, 0, new float[2], 0, 2));
        assertTrue(e.getMessage().contains(OP), e.getMessage());
    }
}
