package io.vitq.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.vitq.testutil.TestData.sharedOrSkip;

class PilResizeTest {
    private static final RgbImage SOURCE = ImageDecoder.decode(TestData.resource("resize/source64x48.png"));

    /** Outputs of Pillow 9.4's {@code Image.resize} on the 64x48 source (see make_fixtures.py). */
    @ParameterizedTest
    @CsvSource({"37,29,bicubic", "20,15,bicubic", "100,75,bicubic", "64,30,bicubic", "50,48,bicubic",
            "7,131,bicubic", "23,41,bilinear", "130,20,bilinear", "90,17,nearest", "30,30,nearest"})
    void matchesPillowExactly(int w, int h, String filter) {
        byte[] expected = TestData.bytes(TestData.resource("resize/" + w + "x" + h + "_" + filter + ".rgb"));
        RgbImage out = PilResize.resize(SOURCE, w, h, Interpolation.parse(filter));
        assertEquals(w, out.width());
        assertEquals(h, out.height());
        int[] diff = TestData.compare(expected, out.rgb());
        assertEquals(0, diff[0], diff[0] + " bytes differ from Pillow, max by " + diff[1]);
    }

    @Test
    void agreesWithSlowDoubleImplementationOnFixture() {
        int[][] sizes = {{37, 29}, {20, 15}, {100, 75}, {64, 30}, {50, 48}, {7, 131}, {248, 186}, {13, 5}};
        for (int[] s : sizes) {
            for (boolean bicubic : new boolean[] {true, false}) {
                assertCloseToSlow(SOURCE, s[0], s[1], bicubic);
            }
        }
    }

    /** Downsampling full-size ImageNet photos (CALIB images) to the eval size; needs the shared data. */
    @Test
    void agreesWithSlowDoubleImplementationOnFullSizePhotos() throws IOException {
        Path dir = sharedOrSkip("data/imagenet-calib-125/images");
        List<Path> photos;
        try (Stream<Path> s = Files.list(dir)) {
            photos = s.sorted().limit(3).toList();
        }
        for (Path p : photos) {
            RgbImage image = ImageDecoder.decode(p);
            int w = image.width(), h = image.height();
            int shortSide = 248, longSide = (int) ((double) shortSide * Math.max(w, h) / Math.min(w, h));
            int ow = w <= h ? shortSide : longSide, oh = w <= h ? longSide : shortSide;
            assertCloseToSlow(image, ow, oh, true);
        }
    }

    /**
     * Checks each pass against the double-precision version: a byte may differ only by one level
     * and only where the exact value sits on a rounding tie, i.e. closer to x.5 than the error of
     * 22-bit weights can reach (each weight is off by at most 2^-23, times pixel values <= 255).
     * Pillow's intermediate image is our horizontal-only resize (height unchanged).
     */
    private static void assertCloseToSlow(RgbImage in, int w, int h, boolean bicubic) {
        Interpolation filter = bicubic ? Interpolation.BICUBIC : Interpolation.BILINEAR;
        String what = in.width() + "x" + in.height() + " -> " + w + "x" + h + " " + filter;
        RgbImage afterHorizontal = PilResize.resize(in, w, in.height(), filter);
        int ties = assertOnlyTiesDiffer(SlowPillowResize.horizontal(in, w, bicubic), afterHorizontal.rgb(),
                fixedPointError(in.width(), w, filter), what + ", horizontal pass");
        RgbImage result = PilResize.resize(in, w, h, filter);
        ties += assertOnlyTiesDiffer(SlowPillowResize.vertical(afterHorizontal, h, bicubic), result.rgb(),
                fixedPointError(in.height(), h, filter), what + ", vertical pass");
        assertTrue(ties <= 0.05 * result.rgb().length, what + ": " + ties + " ties");
    }

    private static double fixedPointError(int inSize, int outSize, Interpolation filter) {
        return 255.0 * PilResize.coefficients(inSize, outSize, filter).kernelSize() / (1 << 23) + 1e-9;
    }

    private static int assertOnlyTiesDiffer(double[] exact, byte[] actual, double eps, String what) {
        int differ = 0;
        for (int i = 0; i < exact.length; i++) {
            int expected = SlowPillowResize.round8(exact[i]), got = actual[i] & 0xff;
            if (expected == got) continue;
            differ++;
            assertTrue(Math.abs(expected - got) == 1 && SlowPillowResize.nearTie(exact[i], eps),
                    what + ": byte " + i + " is " + got + ", exact value " + exact[i]);
        }
        return differ;
    }

    @Test
    void constantImageStaysConstant() {
        RgbImage flat = RgbImage.blank(41, 29);
        for (int p = 0; p < 41 * 29; p++) {
            flat.rgb()[3 * p] = (byte) 200;
            flat.rgb()[3 * p + 1] = (byte) 7;
            flat.rgb()[3 * p + 2] = (byte) 255;
        }
        for (Interpolation f : Interpolation.values()) {
            for (int[] s : new int[][] {{3, 2}, {20, 15}, {41, 60}, {97, 13}, {248, 175}}) {
                RgbImage out = PilResize.resize(flat, s[0], s[1], f);
                for (int p = 0; p < s[0] * s[1]; p++) {
                    assertEquals(200, out.rgb()[3 * p] & 0xff, f + " " + s[0] + "x" + s[1]);
                    assertEquals(7, out.rgb()[3 * p + 1] & 0xff);
                    assertEquals(255, out.rgb()[3 * p + 2] & 0xff);
                }
            }
        }
    }

    @Test
    void sameSizeIsACopy() {
        RgbImage out = PilResize.resize(SOURCE, 64, 48, Interpolation.BICUBIC);
        assertArrayEquals(SOURCE.rgb(), out.rgb());
        assertTrue(out.rgb() != SOURCE.rgb());
    }

    @Test
    void bicubicKernelIsSymmetricAndKnownAtQuarterOffsets() {
        for (double x = 0; x <= 2.5; x += 0.01) {
            assertEquals(Interpolation.BICUBIC.filter(x), Interpolation.BICUBIC.filter(-x), 0.0);
            assertEquals(Interpolation.BILINEAR.filter(x), Interpolation.BILINEAR.filter(-x), 0.0);
        }
        // Upsampling x2: output pixel 4 (centre 2.25) weighs inputs 0..3 (centres 0.5..3.5) at distances
        // 1.75, 0.75, 0.25, 1.25; these four weights already sum to 1.
        PilResize.Coefficients c = PilResize.coefficients(8, 16, Interpolation.BICUBIC);
        assertEquals(0, c.start()[4]);
        assertEquals(4, c.length()[4]);
        double[] w = java.util.Arrays.copyOfRange(c.weights(), 4 * c.kernelSize(), 4 * c.kernelSize() + 4);
        assertArrayEquals(new double[] {-0.0234375, 0.2265625, 0.8671875, -0.0703125}, w, 1e-15);
    }

    @Test
    void coefficientsAreMirroredAndNormalised() {
        for (Interpolation f : new Interpolation[] {Interpolation.BICUBIC, Interpolation.BILINEAR}) {
            for (int[] s : new int[][] {{64, 37}, {48, 248}, {500, 248}, {227, 248}, {375, 248}}) {
                int in = s[0], out = s[1];
                PilResize.Coefficients c = PilResize.coefficients(in, out, f);
                for (int i = 0; i < out; i++) {
                    double sum = 0;
                    for (int j = 0; j < c.length()[i]; j++) sum += c.weights()[i * c.kernelSize() + j];
                    assertEquals(1.0, sum, 1e-12);
                    // The window of the mirrored output pixel is the mirrored window (up to zero weights at its ends).
                    int m = out - 1 - i;
                    for (int x = 0; x < in; x++) {
                        assertEquals(weight(c, i, x), weight(c, m, in - 1 - x), 1e-9, f + " " + in + "->" + out);
                    }
                }
            }
        }
    }

    private static double weight(PilResize.Coefficients c, int out, int x) {
        int j = x - c.start()[out];
        return j >= 0 && j < c.length()[out] ? c.weights()[out * c.kernelSize() + j] : 0.0;
    }

    @Test
    void mirroredImageGivesMirroredOutputForExactScales() {
        RgbImage flipped = RgbImage.blank(64, 48);
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                System.arraycopy(SOURCE.rgb(), 3 * (y * 64 + x), flipped.rgb(), 3 * (y * 64 + 63 - x), 3);
            }
        }
        for (int[] s : new int[][] {{32, 24}, {16, 12}, {128, 96}, {8, 48}}) {
            RgbImage a = PilResize.resize(SOURCE, s[0], s[1], Interpolation.BICUBIC);
            RgbImage b = PilResize.resize(flipped, s[0], s[1], Interpolation.BICUBIC);
            for (int y = 0; y < s[1]; y++) {
                for (int x = 0; x < s[0]; x++) {
                    for (int ch = 0; ch < 3; ch++) assertEquals(a.get(x, y, ch), b.get(s[0] - 1 - x, y, ch));
                }
            }
        }
    }

    @Test
    void outputHasRequestedSize() {
        for (Interpolation f : Interpolation.values()) {
            RgbImage out = PilResize.resize(SOURCE, 1, 300, f);
            assertEquals(1, out.width());
            assertEquals(300, out.height());
            assertEquals(900, out.rgb().length);
        }
    }
}
