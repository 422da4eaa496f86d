package io.vitq.data;

/**
 * Colour conversions that turn raw decoded JPEG components into the RGB bytes PIL produces for
 * {@code Image.open(f).convert("RGB")}. The YCbCr arithmetic is libjpeg's integer tables
 * ({@code jdcolor.c}, identical in libjpeg 6b and libjpeg-turbo), so results are bit-exact.
 */
final class JpegColor {
    private static final int SCALEBITS = 16;
    private static final int ONE_HALF = 1 << (SCALEBITS - 1);
    private static final int[] CR_R = new int[256], CB_B = new int[256], CR_G = new int[256], CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALEBITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALEBITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private JpegColor() {}

    private static int fix(double x) { return (int) (x * (1L << SCALEBITS) + 0.5); }

    private static int clamp(int v) { return v < 0 ? 0 : Math.min(v, 255); }

    static int yccRed(int y, int cr) { return clamp(y + CR_R[cr]); }

    static int yccGreen(int y, int cb, int cr) { return clamp(y + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS)); }

    static int yccBlue(int y, int cb) { return clamp(y + CB_B[cb]); }

    /** libjpeg {@code ycc_rgb_convert}: 3 raw components per pixel to RGB. */
    static void yccToRgb(byte[] ycc, byte[] rgb, int pixels) {
        for (int i = 0; i < 3 * pixels; i += 3) {
            int y = ycc[i] & 0xff, cb = ycc[i + 1] & 0xff, cr = ycc[i + 2] & 0xff;
            rgb[i] = (byte) yccRed(y, cr);
            rgb[i + 1] = (byte) yccGreen(y, cb, cr);
            rgb[i + 2] = (byte) yccBlue(y, cb);
        }
    }

    /**
     * A 4-component JPEG to RGB the way PIL does it. libjpeg outputs CMYK (YCCK files are first
     * converted by {@code ycck_cmyk_convert}: C,M,Y = 255 - the YCC-to-RGB result, K unchanged).
     * PIL assumes the Adobe convention that these bytes are inverted (raw mode "CMYK;I") and then
     * {@code convert("RGB")} applies Pillow's {@code cmyk2rgb}:
     * {@code R = nk - C*nk/255} with {@code nk = 255 - K}, using its rounded MULDIV255.
     */
    static void fourComponentToRgb(byte[] raw, byte[] rgb, int pixels, boolean ycck) {
        for (int p = 0; p < pixels; p++) {
            int a = raw[4 * p] & 0xff, b = raw[4 * p + 1] & 0xff, c = raw[4 * p + 2] & 0xff, k = raw[4 * p + 3] & 0xff;
            int c0, c1, c2;
            if (ycck) { // libjpeg's CMYK output for a YCCK file
                c0 = 255 - yccRed(a, c);
                c1 = 255 - yccGreen(a, b, c);
                c2 = 255 - yccBlue(a, b);
            } else {
                c0 = a; c1 = b; c2 = c;
            }
            // "CMYK;I": PIL's CMYK values are the inverted file bytes.
            int cyan = 255 - c0, magenta = 255 - c1, yellow = 255 - c2, black = 255 - k;
            int nk = 255 - black;
            rgb[3 * p] = (byte) clamp(nk - mulDiv255(cyan, nk));
            rgb[3 * p + 1] = (byte) clamp(nk - mulDiv255(magenta, nk));
            rgb[3 * p + 2] = (byte) clamp(nk - mulDiv255(yellow, nk));
        }
    }

    /** Pillow's {@code MULDIV255(a, b)}: a*b/255 rounded, in integers. */
    private static int mulDiv255(int a, int b) {
        int tmp = a * b + 128;
        return ((tmp >> 8) + tmp) >> 8;
    }
}
