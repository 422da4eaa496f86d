package io.vitq.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A torch storage referenced by a pickle's persistent id: a flat array of {@code numel} elements of
 * {@code dtype}. Its bytes arrive after the pickle has been read (from the zip's {@code data/<key>}
 * record, or in the legacy format from the stream following the pickle), hence the mutable field.
 */
final class PthStorage {
    final DType dtype;
    final String key;
    final long numel;
    private ByteBuffer bytes;
    private PthStorage root; // legacy storage views only: elements [rootOffset, rootOffset + numel) of root
    private long rootOffset;

    PthStorage(DType dtype, String key, long numel) {
        this.dtype = dtype;
        this.key = key;
        this.numel = numel;
    }

    static PthStorage view(PthStorage root, String key, long offset, long numel) {
        PthStorage v = new PthStorage(root.dtype, key, numel);
        v.root = root;
        v.rootOffset = offset;
        return v;
    }

    /** For a view, takes its bytes from the root storage once that has been read. */
    void fillFromRoot(String source) {
        bytes = root.bytes(source).slice((int) (rootOffset * dtype.bytes), (int) nbytes());
    }

    long nbytes() { return numel * dtype.bytes; }

    boolean loaded() { return bytes != null; }

    /** Sets the raw data; big-endian files (torch's `byteorder` record says "big") are swapped here. */
    void setBytes(ByteBuffer data, boolean bigEndian, String source) {
        if (data.remaining() != nbytes()) {
            throw new CheckpointException(source + ": storage '" + key + "' has " + data.remaining()
                    + " bytes, expected " + numel + " x " + dtype + " = " + nbytes());
        }
        bytes = bigEndian ? swapped(data, dtype.bytes) : data.slice();
    }

    ByteBuffer bytes(String source) {
        if (bytes == null) throw new CheckpointException(source + ": data of storage '" + key + "' is missing");
        return bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer swapped(ByteBuffer data, int width) {
        byte[] out = new byte[data.remaining()];
        int base = data.position();
        for (int i = 0; i < out.length; i += width) {
            for (int j = 0; j < width; j++) out[i + j] = data.get(base + i + width - 1 - j);
        }
        return ByteBuffer.wrap(out);
    }
}
