package io.vitq.io;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * What {@code torch._utils._rebuild_tensor_v2} describes: a strided view into a storage. Turned into a
 * contiguous row-major {@link RawTensor} once the storage bytes are known.
 */
record PthTensor(PthStorage storage, long offset, int[] shape, long[] stride) {

    /** Copies the view out row-major; a view that already is contiguous is sliced without copying. */
    RawTensor toRawTensor(String name, String source) {
        String where = source + ": tensor '" + name + "'";
        DType dtype = storage.dtype;
        int es = dtype.bytes;
        long n = 1;
        for (int d : shape) n *= d;
        if (n * es > Integer.MAX_VALUE) throw new CheckpointException(where + " is over 2 GiB, not supported");
        if (n == 0) return new RawTensor(name, dtype, shape, ByteBuffer.allocate(0));

        // The view must stay inside its storage; otherwise a corrupt file could read someone else's bytes.
        long last = offset;
        for (int i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
        if (offset < 0 || last >= storage.numel) {
            throw new CheckpointException(where + ": view (offset " + offset + ", shape " + Arrays.toString(shape)
                    + ", stride " + Arrays.toString(stride) + ") exceeds its storage of " + storage.numel + " elements");
        }
        ByteBuffer data = storage.bytes(source);
        if (isContiguous()) return new RawTensor(name, dtype, shape, data.slice((int) (offset * es), (int) (n * es)));

        byte[] out = new byte[(int) (n * es)];
        int rank = shape.length;
        int inner = shape[rank - 1];
        long innerStep = stride[rank - 1] * es;
        int[] index = new int[rank]; // odometer over all dimensions but the last
        long rowStart = offset;
        for (int o = 0; o < out.length; ) {
            long src = rowStart * es;
            for (int j = 0; j < inner; j++, src += innerStep, o += es) data.get((int) src, out, o, es);
            for (int d = rank - 2; d >= 0; d--) { // advance to the next row
                rowStart += stride[d];
                if (++index[d] < shape[d]) break;
                rowStart -= (long) shape[d] * stride[d];
                index[d] = 0;
            }
        }
        return new RawTensor(name, dtype, shape, ByteBuffer.wrap(out));
    }

    /** Row-major strides; dimensions of size 1 may carry any stride. */
    private boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }
}
