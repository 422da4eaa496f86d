package io.vitq.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads PyTorch checkpoints ({@code torch.save} of a state dict) without running any pickled code.
 *
 * <p>Formats: the zip format of torch >= 1.6 ({@code <prefix>/data.pkl} plus one {@code data/<key>}
 * record per storage) and the legacy pre-1.6 stream ({@link PthLegacyReader}). The pickle may hold
 * the state dict itself or a wrapper such as DeiT's {@code {'model': state_dict, ...}}.
 */
public final class PthReader {
    /** Wrapper keys under which training scripts store the weights, in order of preference. */
    private static final List<String> WRAPPER_KEYS = List.of("model", "state_dict", "state_dict_ema", "model_ema");

    private PthReader() {}

    /** Tensors by name in file order; views are materialised contiguous and row-major. */
    public static Map<String, RawTensor> read(Path path) {
        Checkpoints.requireNonEmptyFile(path);
        String source = path.toString();
        byte[] head = Checkpoints.head(path, 2);
        boolean zip = head.length == 2 && head[0] == 'P' && head[1] == 'K';
        try {
            if (zip) return readZip(path, source);
            if ((head[0] & 0xff) == 0x80) return PthLegacyReader.read(path, source); // a pickle's PROTO opcode
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) { // defence in depth: a malformed file must not surface as e.g. an AIOOBE
            throw new CheckpointException(source + ": malformed PyTorch checkpoint (" + e + ")", e);
        }
        throw new CheckpointException(source + ": not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)");
    }

    private static Map<String, RawTensor> readZip(Path path, String source) {
        try (ZipFile zip = new ZipFile(path.toFile())) {
            String prefix = archivePrefix(zip, source);
            boolean bigEndian = false;
            ZipEntry order = zip.getEntry(prefix + "byteorder"); // absent before torch 2.0: little-endian
            if (order != null) {
                String o = new String(readEntry(zip, order, source), StandardCharsets.US_ASCII).trim();
                if (!o.equals("little") && !o.equals("big")) {
                    throw new CheckpointException(source + ": unknown byteorder '" + o + "'");
                }
                bigEndian = o.equals("big");
            }
            Map<String, PthStorage> storages = new LinkedHashMap<>();
            byte[] pickle = readEntry(zip, zip.getEntry(prefix + "data.pkl"), source);
            Object top = new Unpickler(source, ByteBuffer.wrap(pickle), new PthGlobals(source),
                    pid -> zipStorage(pid, storages, source)).load();
            for (PthStorage s : storages.values()) {
                ZipEntry e = zip.getEntry(prefix + "data/" + s.key);
                if (e == null) throw new CheckpointException(source + ": storage record 'data/" + s.key + "' is missing");
                s.setBytes(ByteBuffer.wrap(readEntry(zip, e, source)), bigEndian, source);
            }
            return tensors(top, source);
        } catch (IOException e) {
            throw new CheckpointException(source + ": corrupt or truncated zip archive (" + e.getMessage() + ")", e);
        }
    }

    /** torch puts every record under one top-level folder named after the file it first saved to. */
    private static String archivePrefix(ZipFile zip, String source) {
        for (var it = zip.entries().asIterator(); it.hasNext(); ) {
            String name = it.next().getName();
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) return name.substring(0, slash + 1);
        }
        throw new CheckpointException(source + ": zip archive without <name>/data.pkl: not a PyTorch checkpoint");
    }

    private static byte[] readEntry(ZipFile zip, ZipEntry entry, String source) throws IOException {
        if (entry.getSize() > Integer.MAX_VALUE - 16) {
            throw new CheckpointException(source + ": record '" + entry.getName() + "' is over 2 GiB, not supported");
        }
        try (InputStream in = zip.getInputStream(entry)) {
            byte[] b = in.readAllBytes();
            if (entry.getSize() >= 0 && b.length != entry.getSize()) {
                throw new CheckpointException(source + ": record '" + entry.getName() + "' is truncated");
            }
            return b;
        }
    }

    /** Persistent id of the zip format: ('storage', storage_type, key, location, numel). */
    private static PthStorage zipStorage(Object pid, Map<String, PthStorage> storages, String source) {
        if (!(pid instanceof List<?> t) || t.size() != 5 || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof PthGlobals.StorageType type) || !(t.get(2) instanceof String key)
                || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw new CheckpointException(source + ": unexpected persistent id in the pickle");
        }
        return sharedStorage(storages, type, key, numel, source);
    }

    /** Tensors that share a storage must share one PthStorage, so its bytes are read once. */
    static PthStorage sharedStorage(Map<String, PthStorage> storages, PthGlobals.StorageType type, String key,
                                    long numel, String source) {
        PthStorage s = storages.computeIfAbsent(key, k -> new PthStorage(type.dtype(), k, numel));
        if (s.dtype != type.dtype() || s.numel != numel) {
            throw new CheckpointException(source + ": storage '" + key + "' is used with different types or sizes");
        }
        return s;
    }

    /** Finds the state dict in the unpickled object and materialises its tensors. */
    static Map<String, RawTensor> tensors(Object top, String source) {
        Map<?, ?> stateDict = stateDict(top, source);
        Map<String, RawTensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : stateDict.entrySet()) {
            // Non-tensor entries (e.g. a stray 'epoch') carry no weights; skip them.
            if (e.getKey() instanceof String name && e.getValue() instanceof PthTensor t) {
                out.put(name, t.toRawTensor(name, source));
            }
        }
        if (out.isEmpty()) throw new CheckpointException(source + ": no tensors found in the checkpoint");
        return Collections.unmodifiableMap(out);
    }

    private static Map<?, ?> stateDict(Object top, String source) {
        if (!(top instanceof Map<?, ?> dict)) {
            throw new CheckpointException(source + ": holds a " + Unpickler.typeName(top) + ", not a state dict");
        }
        for (String key : WRAPPER_KEYS) {
            if (dict.get(key) instanceof Map<?, ?> inner) return inner;
        }
        return dict;
    }
}
