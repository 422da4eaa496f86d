package io.vitq.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor as stored in a file: dtype, shape and little-endian bytes (possibly a view of a
 * memory-mapped region). Converts to float32 or int64 on request.
 */
public record RawTensor(String name, DType dtype, int[] shape, ByteBuffer bytes) {

    public RawTensor {
        bytes = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
        long n = numel(shape);
        if (n * dtype.bytes != bytes.remaining()) {
            throw new CheckpointException("tensor '" + name + "': shape " + Arrays.toString(shape) + " of " + dtype
                    + " needs " + n * dtype.bytes + " bytes, found " + bytes.remaining());
        }
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    public int numel() { return (int) numel(shape); }

    /** Values converted to float32 (exact for F32/F16/BF16; rounded for F64 and large integers). */
    public float[] toFloats() {
        int n = numel();
        float[] out = new float[n];
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(b.getShort(2 * i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16); }
            case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(8 * i); }
            case I64 -> { for (int i = 0; i < n; i++) out[i] = b.getLong(8 * i); }
            case I32 -> { for (int i = 0; i < n; i++) out[i] = b.getInt(4 * i); }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = b.getShort(2 * i); }
            case I8 -> { for (int i = 0; i < n; i++) out[i] = b.get(i); }
            case U8, BOOL -> { for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xff; }
        }
        return out;
    }

    /** Values as float64 (exact for every dtype except I64 beyond 2^53). */
    public double[] toDoubles() {
        int n = numel();
        double[] out = new double[n];
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (dtype == DType.F64) {
            for (int i = 0; i < n; i++) out[i] = b.getDouble(8 * i);
        } else if (dtype == DType.I64) {
            for (int i = 0; i < n; i++) out[i] = b.getLong(8 * i);
        } else {
            float[] f = toFloats();
            for (int i = 0; i < n; i++) out[i] = f[i];
        }
        return out;
    }

    public long[] toLongs() {
        int n = numel();
        long[] out = new long[n];
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case I64 -> { for (int i = 0; i < n; i++) out[i] = b.getLong(8 * i); }
            case I32 -> { for (int i = 0; i < n; i++) out[i] = b.getInt(4 * i); }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = b.getShort(2 * i); }
            case I8 -> { for (int i = 0; i < n; i++) out[i] = b.get(i); }
            case U8, BOOL -> { for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xff; }
            default -> throw new CheckpointException("tensor '" + name + "' is " + dtype + ", not an integer type");
        }
        return out;
    }

    public String shapeString() { return Arrays.toString(shape); }
}
