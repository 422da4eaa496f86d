package io.vitq.model;

/**
 * A float activation in an eager forward ({@link Eager}, {@link Tape}): {@code rows x cols} values,
 * row-major, for {@code images} images, so {@code rows / images} tokens per image (1 for a pooled
 * tensor). The input images are {@code images x (C * S * S)}.
 */
public final class Act {
    final float[] data;
    final int images, rows, cols;

    Act(float[] data, int images, int rows, int cols) {
        if (images <= 0 || rows % images != 0 || (long) rows * cols > data.length) {
            throw new IllegalArgumentException("activation of " + rows + " x " + cols + " for " + images + " images in "
                    + data.length + " values");
        }
        this.data = data;
        this.images = images;
        this.rows = rows;
        this.cols = cols;
    }

    public float[] data() { return data; }

    public int images() { return images; }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** Tokens per image. */
    public int tokens() { return rows / images; }

    int size() { return rows * cols; }

    /** The shape a probe reports: {@code [B, T, D]}, or {@code [B, D]} when pooled. */
    int[] probeShape() { return rows == images ? new int[] {images, cols} : new int[] {images, tokens(), cols}; }
}
