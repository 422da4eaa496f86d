package io.vitq.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor: a flat {@code float[]} in row-major order plus a shape.
 * Deliberately minimal: kernels work on the raw array with explicit offsets, and this
 * class only carries the data and checks shapes at API boundaries.
 */
public final class Tensor {
    private final float[] data;
    private final int[] shape;

    public Tensor(float[] data, int... shape) {
        long n = numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n
                    + " values, got " + data.length);
        }
        this.data = data;
        this.shape = shape.clone();
    }

    public static Tensor zeros(int... shape) {
        long n = numel(shape);
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("tensor too large: " + Arrays.toString(shape));
        }
        return new Tensor(new float[(int) n], shape);
    }

    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    public float[] data() { return data; }

    public int[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

    public int size() { return data.length; }

    /** Same data, new shape with the same number of elements. */
    public Tensor reshape(int... newShape) {
        return new Tensor(data, newShape);
    }

    public float get(int... idx) {
        return data[offset(idx)];
    }

    public int offset(int... idx) {
        if (idx.length != shape.length) throw new IllegalArgumentException("rank mismatch");
        int off = 0;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) throw new IndexOutOfBoundsException(Arrays.toString(idx));
            off = off * shape[i] + idx[i];
        }
        return off;
    }

    /** Rows {@code [from, to)} along dimension 0 as a new tensor (copy). */
    public Tensor slice0(int from, int to) {
        int inner = data.length / Math.max(1, shape[0]);
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(Arrays.copyOfRange(data, from * inner, to * inner), s);
    }

    public Tensor copy() {
        return new Tensor(data.clone(), shape);
    }

    public boolean hasShape(int... s) {
        return Arrays.equals(shape, s);
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
