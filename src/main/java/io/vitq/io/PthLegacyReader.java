package io.vitq.io;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PyTorch's legacy (pre-1.6) {@code torch.save} stream: five pickles back to back (magic number,
 * protocol version, sys info, the object, the list of storage keys), then for each listed key its
 * storage as an int64 element count followed by the raw elements.
 */
final class PthLegacyReader {
    private static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final long PROTOCOL_VERSION = 1001;

    private PthLegacyReader() {}

    static Map<String, RawTensor> read(Path path, String source) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (ch.size() > Integer.MAX_VALUE) {
                throw new CheckpointException(source + ": legacy checkpoint over 2 GiB is not supported");
            }
            // Mapped, so storages become zero-copy slices of the file.
            ByteBuffer in = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            return read(in, source);
        } catch (IOException e) {
            throw new CheckpointException(source + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")", e);
        }
    }

    private static Map<String, RawTensor> read(ByteBuffer in, String source) {
        PthGlobals globals = new PthGlobals(source);
        if (!MAGIC.equals(toBig(new Unpickler(source, in, globals, null).load()))) {
            throw new CheckpointException(source + ": a pickle, but not a torch.save checkpoint (no magic number)");
        }
        Object version = new Unpickler(source, in, globals, null).load();
        if (!Long.valueOf(PROTOCOL_VERSION).equals(version)) {
            throw new CheckpointException(source + ": unsupported legacy torch.save protocol " + version);
        }
        boolean bigEndian = new Unpickler(source, in, globals, null).load() instanceof Map<?, ?> sysInfo
                && Boolean.FALSE.equals(sysInfo.get("little_endian"));

        Map<String, PthStorage> storages = new LinkedHashMap<>();
        Map<String, PthStorage> views = new LinkedHashMap<>();
        Object top = new Unpickler(source, in, globals, pid -> storage(pid, storages, views, source)).load();
        if (!(new Unpickler(source, in, globals, null).load() instanceof List<?> keys)) {
            throw new CheckpointException(source + ": malformed legacy checkpoint (no storage key list)");
        }

        ByteOrder order = bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        int pos = in.position();
        for (Object k : keys) {
            PthStorage s = storages.get(k);
            if (s == null) throw new CheckpointException(source + ": storage key list names unknown storage " + k);
            if (in.limit() - pos < 8) throw truncated(source, s);
            long numel = in.duplicate().order(order).getLong(pos);
            if (numel != s.numel) {
                throw new CheckpointException(source + ": storage '" + s.key + "' has " + numel
                        + " elements, the pickle says " + s.numel);
            }
            pos += 8;
            if (in.limit() - pos < s.nbytes()) throw truncated(source, s);
            s.setBytes(in.slice(pos, (int) s.nbytes()), bigEndian, source);
            pos += (int) s.nbytes();
        }
        for (PthStorage v : views.values()) v.fillFromRoot(source);
        return PthReader.tensors(top, source);
    }

    /**
     * Persistent id: ('storage', storage_type, root_key, location, root_numel, view_metadata), where
     * view_metadata = (view_key, offset, numel) in elements when the tensor used a slice of the storage
     * (only written by very old torch versions), else None.
     */
    private static PthStorage storage(Object pid, Map<String, PthStorage> storages, Map<String, PthStorage> views,
                                      String source) {
        if (!(pid instanceof List<?> t) || t.size() != 6 || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof PthGlobals.StorageType type) || !(t.get(2) instanceof String key)
                || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw new CheckpointException(source + ": unexpected persistent id in the pickle");
        }
        PthStorage root = PthReader.sharedStorage(storages, type, key, numel, source);
        if (t.get(5) == null) return root;
        if (!(t.get(5) instanceof List<?> v) || v.size() != 3 || !(v.get(0) instanceof String viewKey)
                || !(v.get(1) instanceof Long offset) || !(v.get(2) instanceof Long size)
                || offset < 0 || size < 0 || offset + size > numel) {
            throw new CheckpointException(source + ": malformed storage view in the pickle");
        }
        return views.computeIfAbsent(viewKey, k -> PthStorage.view(root, k, offset, size));
    }

    private static BigInteger toBig(Object o) {
        return o instanceof Long l ? BigInteger.valueOf(l) : o instanceof BigInteger b ? b : null;
    }

    private static CheckpointException truncated(String source, PthStorage s) {
        return new CheckpointException(source + ": truncated legacy checkpoint (data of storage '" + s.key + "')");
    }
}
