package io.vitq.data;

/**
 * Pillow's {@code Image.resize} for 8-bit RGB images, reimplemented to give the same bytes
 * (Pillow's {@code libImaging/Resample.c}, unchanged in substance since Pillow 4).
 *
 * <p>BICUBIC and BILINEAR are separable convolutions: per output pixel a window of input pixels
 * and weights is computed in double ({@link #coefficients}), the weights are turned into 22-bit
 * fixed point, and each pass accumulates in 32-bit ints and rounds to 8 bits. The horizontal pass
 * runs first, over just the input rows the vertical pass reads. When downsampling, the kernel is
 * stretched by the scale factor (antialiasing), which is what distinguishes PIL from most other
 * resizers. NEAREST follows Pillow's affine nearest-neighbour path instead.
 */
public final class PilResize {
    /** Fixed-point fraction bits: 32 bits minus 8 for the pixel value minus 2 for the sum's headroom. */
    static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResize() {}

    /** Resizes {@code src} to {@code outWidth x outHeight} as PIL's {@code src.resize((w, h), filter)}. */
    public static RgbImage resize(RgbImage src, int outWidth, int outHeight, Interpolation filter) {
        if (outWidth <= 0 || outHeight <= 0) {
            throw new IllegalArgumentException("output size must be positive, got " + outWidth + "x" + outHeight);
        }
        if (outWidth == src.width() && outHeight == src.height()) {
            return new RgbImage(outWidth, outHeight, src.rgb().clone()); // PIL returns a copy
        }
        if (filter == Interpolation.NEAREST) return nearest(src, outWidth, outHeight);

        Coefficients horizontal = coefficients(src.width(), outWidth, filter);
        Coefficients vertical = coefficients(src.height(), outHeight, filter);
        RgbImage image = src;
        int[] rowStart = vertical.start.clone();
        if (outWidth != src.width()) {
            // Only the rows between the first and the last one the vertical pass uses.
            int firstRow = vertical.start[0];
            int lastRow = vertical.start[outHeight - 1] + vertical.length[outHeight - 1];
            for (int i = 0; i < outHeight; i++) rowStart[i] -= firstRow;
            image = horizontalPass(src, firstRow, lastRow - firstRow, horizontal);
        }
        if (outHeight != src.height()) {
            image = verticalPass(image, new Coefficients(vertical.kernelSize, rowStart, vertical.length, vertical.weights));
        }
        return image;
    }

    /**
     * Per output pixel {@code i}: the first input pixel {@code start[i]}, the window length
     * {@code length[i]} and the normalised weights {@code weights[i * kernelSize + j]}.
     */
    record Coefficients(int kernelSize, int[] start, int[] length, double[] weights) {}

    /** Pillow's {@code precompute_coeffs} for the whole input range [0, inSize). */
    static Coefficients coefficients(int inSize, int outSize, Interpolation filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support * filterScale;
        int kernelSize = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[outSize], length = new int[outSize];
        double[] weights = new double[outSize * kernelSize];
        double invFilterScale = 1.0 / filterScale;
        for (int i = 0; i < outSize; i++) {
            double center = (i + 0.5) * scale;
            // (int) truncates toward zero like C's cast; both ends are then clamped to the image.
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double sum = 0.0;
            int k = i * kernelSize;
            for (int x = 0; x < xmax; x++) {
                double w = filter.filter((x + xmin - center + 0.5) * invFilterScale);
                weights[k + x] = w;
                sum += w;
            }
            if (sum != 0.0) {
                for (int x = 0; x < xmax; x++) weights[k + x] /= sum;
            }
            start[i] = xmin;
            length[i] = xmax;
        }
        return new Coefficients(kernelSize, start, length, weights);
    }

    /** Pillow's {@code normalize_coeffs_8bpc}: weights to fixed point, rounding half away from zero. */
    static int[] fixedPoint(double[] weights) {
        int[] out = new int[weights.length];
        for (int i = 0; i < weights.length; i++) {
            double k = weights[i] * (1 << PRECISION_BITS);
            out[i] = weights[i] < 0 ? (int) (-0.5 + k) : (int) (0.5 + k);
        }
        return out;
    }

    /** Pillow's {@code clip8}: drop the fraction bits and clamp to 0..255. */
    private static int clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static RgbImage horizontalPass(RgbImage in, int firstRow, int rows, Coefficients c) {
        int outW = c.start.length, inW = in.width(), ks = c.kernelSize;
        int[] k = fixedPoint(c.weights);
        byte[] src = in.rgb();
        RgbImage out = RgbImage.blank(outW, rows);
        byte[] dst = out.rgb();
        for (int y = 0; y < rows; y++) {
            int rowBase = 3 * (firstRow + y) * inW;
            for (int x = 0; x < outW; x++) {
                int s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                int p = rowBase + 3 * c.start[x], kb = x * ks;
                for (int j = 0, n = c.length[x]; j < n; j++, p += 3) {
                    int w = k[kb + j];
                    s0 += (src[p] & 0xff) * w;
                    s1 += (src[p + 1] & 0xff) * w;
                    s2 += (src[p + 2] & 0xff) * w;
                }
                int o = 3 * (y * outW + x);
                dst[o] = (byte) clip8(s0);
                dst[o + 1] = (byte) clip8(s1);
                dst[o + 2] = (byte) clip8(s2);
            }
        }
        return out;
    }

    private static RgbImage verticalPass(RgbImage in, Coefficients c) {
        int outH = c.start.length, w = in.width(), ks = c.kernelSize, rowBytes = 3 * w;
        int[] k = fixedPoint(c.weights);
        byte[] src = in.rgb();
        RgbImage out = RgbImage.blank(w, outH);
        byte[] dst = out.rgb();
        int[] acc = new int[rowBytes];
        for (int y = 0; y < outH; y++) {
            // Row by row over the window: same sums as Pillow's per-pixel loop, in a cache-friendly order.
            java.util.Arrays.fill(acc, 1 << (PRECISION_BITS - 1));
            int kb = y * ks;
            for (int j = 0, n = c.length[y]; j < n; j++) {
                int weight = k[kb + j];
                int p = (c.start[y] + j) * rowBytes;
                for (int i = 0; i < rowBytes; i++) acc[i] += (src[p + i] & 0xff) * weight;
            }
            int o = y * rowBytes;
            for (int i = 0; i < rowBytes; i++) dst[o + i] = (byte) clip8(acc[i]);
        }
        return out;
    }

    /**
     * Pillow resizes NEAREST with {@code ImagingScaleAffine}: the source coordinate of output pixel
     * i is {@code (int)(0.5*s + i*s)} with s = in/out, accumulated by repeated addition as there.
     */
    private static RgbImage nearest(RgbImage in, int outW, int outH) {
        double sx = (double) in.width() / outW, sy = (double) in.height() / outH;
        int[] srcX = new int[outW];
        double xo = sx * 0.5;
        for (int x = 0; x < outW; x++, xo += sx) srcX[x] = Math.min((int) xo, in.width() - 1);
        RgbImage out = RgbImage.blank(outW, outH);
        byte[] src = in.rgb(), dst = out.rgb();
        double yo = sy * 0.5;
        for (int y = 0; y < outH; y++, yo += sy) {
            int sy0 = Math.min((int) yo, in.height() - 1);
            for (int x = 0; x < outW; x++) {
                int s = 3 * (sy0 * in.width() + srcX[x]), o = 3 * (y * outW + x);
                dst[o] = src[s];
                dst[o + 1] = src[s + 1];
                dst[o + 2] = src[s + 2];
            }
        }
        return out;
    }
}
