package io.vitq.data;

/**
 * Makes the JDK's libjpeg 6b chroma upsampling equal libjpeg-turbo's where they differ.
 *
 * <p>A component sampled at half the vertical and full horizontal resolution ("h1v2", e.g. the
 * 4:4:0 files that lossless rotation of 4:2:2 photos produces) is upsampled by plain row
 * replication in 6b, but by a triangle filter in libjpeg-turbo 2.x (what PIL uses). Because 6b
 * replicated, the original rows are still there (output rows 2k and 2k+1 both hold row k), so we
 * recover them and apply libjpeg-turbo's {@code h1v2_fancy_upsample}:
 * {@code out[2k] = (3*row[k] + row[k-1] + 1) >> 2}, {@code out[2k+1] = (3*row[k] + row[k+1] + 2) >> 2},
 * with the first and last rows standing in for their missing neighbours (libjpeg's context rows).
 * The other layouts (h2v1, h2v2, full resolution) are already identical in both libraries.
 */
final class JpegUpsampling {
    private JpegUpsampling() {}

    /** Fixes, in place, every h1v2 component of {@code raw} (interleaved, {@code bands} per pixel). */
    static void matchLibjpegTurbo(byte[] raw, int width, int height, JpegHeader header) {
        int bands = header.components();
        int hMax = 0, vMax = 0;
        for (int c = 0; c < bands; c++) {
            hMax = Math.max(hMax, header.hSampling()[c]);
            vMax = Math.max(vMax, header.vSampling()[c]);
        }
        for (int c = 0; c < bands; c++) {
            if (header.hSampling()[c] == hMax && 2 * header.vSampling()[c] == vMax) {
                fancyH1V2(raw, width, height, bands, c);
            }
        }
    }

    private static void fancyH1V2(byte[] raw, int width, int height, int bands, int c) {
        int rows = (height + 1) / 2; // the component's own rows
        int[][] row = new int[rows][width];
        for (int k = 0; k < rows; k++) {
            for (int x = 0; x < width; x++) row[k][x] = raw[(2 * k * width + x) * bands + c] & 0xff;
        }
        for (int y = 0; y < height; y++) {
            int k = y / 2;
            boolean upper = (y & 1) == 0;
            int[] near = row[k];
            int[] far = row[upper ? Math.max(k - 1, 0) : Math.min(k + 1, rows - 1)];
            int bias = upper ? 1 : 2;
            for (int x = 0; x < width; x++) {
                raw[(y * width + x) * bands + c] = (byte) ((3 * near[x] + far[x] + bias) >> 2);
            }
        }
    }
}
