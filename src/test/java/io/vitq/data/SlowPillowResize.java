package io.vitq.data;

/**
 * An independent, deliberately plain double-precision rendering of Pillow's resampling, used to
 * check {@link PilResize}: per output pixel the same window and kernel, weights normalised to
 * sum 1, but no 22-bit fixed point. Each pass is exposed separately and unrounded, so a test can
 * tell a real error from a value that lies on a rounding tie (x.5, frequent with bilinear weights),
 * where fixed point and double may legitimately round differently.
 */
final class SlowPillowResize {
    private SlowPillowResize() {}

    /** Horizontal pass to width {@code outW}: unrounded values, interleaved RGB, {@code outW * height * 3}. */
    static double[] horizontal(RgbImage in, int outW, boolean bicubic) {
        double[] out = new double[3 * outW * in.height()];
        for (int y = 0; y < in.height(); y++) {
            for (int x = 0; x < outW; x++) {
                for (int c = 0; c < 3; c++) {
                    int yy = y, cc = c;
                    out[3 * (y * outW + x) + c] = sample(in.width(), outW, x, bicubic, i -> in.get(i, yy, cc));
                }
            }
        }
        return out;
    }

    /** Vertical pass to height {@code outH}: unrounded values, interleaved RGB, {@code width * outH * 3}. */
    static double[] vertical(RgbImage in, int outH, boolean bicubic) {
        double[] out = new double[3 * in.width() * outH];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < in.width(); x++) {
                for (int c = 0; c < 3; c++) {
                    int xx = x, cc = c;
                    out[3 * (y * in.width() + x) + c] = sample(in.height(), outH, y, bicubic, i -> in.get(xx, i, cc));
                }
            }
        }
        return out;
    }

    private interface Line { int at(int i); }

    /** Output sample {@code o} of a line of {@code inSize} pixels resampled to {@code outSize}. */
    private static double sample(int inSize, int outSize, int o, boolean bicubic, Line line) {
        double scale = (double) inSize / outSize;
        double stretch = scale > 1 ? scale : 1;            // antialiasing when downsampling
        double support = (bicubic ? 2.0 : 1.0) * stretch;
        double center = (o + 0.5) * scale;
        int first = (int) (center - support + 0.5);
        if (first < 0) first = 0;
        int end = (int) (center + support + 0.5);
        if (end > inSize) end = inSize;
        double sum = 0, weightSum = 0;
        for (int i = first; i < end; i++) {
            double d = Math.abs((i - center + 0.5) / stretch); // pixel i's centre is at i + 0.5
            double w = bicubic ? keys(d) : Math.max(0, 1 - d);
            sum += w * line.at(i);
            weightSum += w;
        }
        return sum / weightSum;
    }

    /** Keys' cubic kernel, a = -0.5, for d >= 0. */
    private static double keys(double d) {
        if (d < 1) return 1.5 * d * d * d - 2.5 * d * d + 1;
        if (d < 2) return -0.5 * d * d * d + 2.5 * d * d - 4 * d + 2;
        return 0;
    }

    /** Rounds to 8 bits, half up, clamped. */
    static int round8(double v) {
        long r = (long) Math.floor(v + 0.5);
        return (int) Math.max(0, Math.min(255, r));
    }

    /** True if {@code v} is within {@code eps} of a rounding boundary x.5 (inside 0..255). */
    static boolean nearTie(double v, double eps) {
        double frac = v - Math.floor(v);
        return Math.abs(frac - 0.5) < eps;
    }
}
