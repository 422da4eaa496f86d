package io.vitq.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Reads a safetensors file: an 8-byte little-endian header length, a JSON header
 * ({@code name -> {dtype, shape, data_offsets}} plus optional {@code __metadata__}), then the
 * raw data. The data region is memory-mapped; tensors are views into it.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final long MAX_HEADER = 100L << 20;

    private final Path path;
    private final Map<String, RawTensor> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(Path path, Map<String, RawTensor> tensors, Map<String, String> metadata) {
        this.path = path;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafeTensors read(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new CheckpointException(path + ": not a safetensors file (only " + size + " bytes)");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw new CheckpointException(path + ": not a safetensors file (header length " + headerLen + ")");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            ch.read(hb, 8);
            JsonNode header;
            try {
                header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new CheckpointException(path + ": not a safetensors file (header is not JSON)");
            }
            if (header == null || !header.isObject()) {
                throw new CheckpointException(path + ": not a safetensors file (header is not a JSON object)");
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            // one mapping for the whole data section; a buffer holds at most 2 GiB, so a larger section
            // (ViT-H, DeiT-3-H in float32) is mapped tensor by tensor instead
            MappedByteBuffer data = dataLen <= Integer.MAX_VALUE ? ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataLen) : null;
            Map<String, RawTensor> tensors = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            TreeMap<Long, long[]> ranges = new TreeMap<>(); // begin -> {end, the tensor's index}
            List<String> names = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode v = e.getValue();
                if (name.equals("__metadata__")) {
                    v.fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                String where = path + ": tensor '" + name + "'";
                DType dtype = DType.parse(v.path("dtype").asText(), where);
                JsonNode shapeNode = v.path("shape");
                int[] shape = new int[shapeNode.size()];
                for (int i = 0; i < shape.length; i++) {
                    JsonNode d = shapeNode.get(i);
                    if (!d.canConvertToInt() || d.asInt() < 0)
                        throw new CheckpointException(where + ": shape " + shapeNode + " has an invalid dimension " + d);
                    shape[i] = d.asInt();
                }
                JsonNode off = v.path("data_offsets");
                long begin = off.path(0).asLong(-1), end = off.path(1).asLong(-1);
                if (begin < 0 || end < begin || end > dataLen) {
                    throw new CheckpointException(where + ": data offsets [" + begin + ", " + end + ") outside the file"
                            + (begin >= 0 && end >= begin ? " (its data holds " + dataLen + " bytes: cut short, an incomplete "
                            + "download or copy?)" : ""));
                }
                if (end > begin) { // the format forbids overlapping tensors: one tensor's bytes read as another's
                    var below = ranges.floorEntry(begin);
                    var above = ranges.higherEntry(begin);
                    var other = below != null && below.getValue()[0] > begin ? below : above != null && above.getKey() < end ? above : null;
                    if (other != null)
                        throw new CheckpointException(where + ": data offsets [" + begin + ", " + end + ") overlap those of tensor '"
                                + names.get((int) other.getValue()[1]) + "' [" + other.getKey() + ", " + other.getValue()[0]
                                + "): not a valid safetensors file");
                    ranges.put(begin, new long[] {end, names.size()});
                    names.add(name);
                }
                if (end - begin > Integer.MAX_VALUE)
                    throw new CheckpointException(where + ": " + (end - begin) + " bytes, over the 2 GiB a tensor may hold here");
                ByteBuffer slice = data != null ? data.slice((int) begin, (int) (end - begin))
                        : ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, end - begin);
                try {
                    tensors.put(name, new RawTensor(name, dtype, shape, slice));
                } catch (CheckpointException bad) {
                    throw new CheckpointException(path + ": " + bad.getMessage(), bad);
                }
            }
            return new SafeTensors(path, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(meta));
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")", e);
        }
    }

    public Path path() { return path; }

    public Map<String, RawTensor> tensors() { return tensors; }

    public Map<String, String> metadata() { return metadata; }

    public boolean has(String name) { return tensors.containsKey(name); }

    public RawTensor get(String name) {
        RawTensor t = tensors.get(name);
        if (t == null) throw new CheckpointException(path + ": missing tensor '" + name + "'");
        return t;
    }

    /**
     * One tensor to write: its dtype, shape and an encoder that fills a little-endian buffer of
     * exactly {@code numel · dtype.bytes} bytes. The encoder runs while the file is written, so the
     * caller's arrays are not copied up front (a float checkpoint is not held twice in memory).
     */
    public record Entry(DType dtype, int[] shape, Consumer<ByteBuffer> encoder) {
        public Entry {
            shape = shape.clone();
        }

        public long byteSize() { return RawTensor.numel(shape) * dtype.bytes; }

        public static Entry f32(float[] data, int... shape) {
            requireSize(data.length, shape, DType.F32);
            return new Entry(DType.F32, shape, b -> b.asFloatBuffer().put(data));
        }

        public static Entry f32(io.vitq.tensor.Tensor t) { return f32(t.data(), t.shape()); }

        public static Entry i8(byte[] data, int... shape) {
            requireSize(data.length, shape, DType.I8);
            return new Entry(DType.I8, shape, b -> b.put(data));
        }

        public static Entry i16(short[] data, int... shape) {
            requireSize(data.length, shape, DType.I16);
            return new Entry(DType.I16, shape, b -> b.asShortBuffer().put(data));
        }

        /** Unsigned bytes (0..255 read back with {@code & 0xFF}). */
        public static Entry u8(byte[] data, int... shape) {
            requireSize(data.length, shape, DType.U8);
            return new Entry(DType.U8, shape, b -> b.put(data));
        }

        public static Entry i32(int[] data, int... shape) {
            requireSize(data.length, shape, DType.I32);
            return new Entry(DType.I32, shape, b -> b.asIntBuffer().put(data));
        }

        public static Entry i64(long[] data, int... shape) {
            requireSize(data.length, shape, DType.I64);
            return new Entry(DType.I64, shape, b -> b.asLongBuffer().put(data));
        }

        private static void requireSize(int length, int[] shape, DType dtype) {
            if (length != RawTensor.numel(shape))
                throw new IllegalArgumentException(dtype + " tensor of shape " + Arrays.toString(shape) + " needs "
                        + RawTensor.numel(shape) + " values, got " + length);
        }
    }

    /** Writes float32 tensors and string metadata; written to a temporary file, then renamed. */
    public static void writeF32(Path out, Map<String, io.vitq.tensor.Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        tensors.forEach((name, t) -> entries.put(name, Entry.f32(t)));
        write(out, entries, metadata);
    }

    /**
     * Writes tensors (in map order, contiguous, as the format requires) and string metadata. The
     * header is padded with spaces to a multiple of 8 bytes so that the data starts 8-byte aligned.
     * The file is written under a temporary name beside {@code out} and renamed when complete, so a
     * failure never leaves a half-written {@code out}.
     */
    public static void write(Path out, Map<String, Entry> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) header.put("__metadata__", metadata);
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is not a tensor name");
            long len = e.getValue().byteSize();
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", e.getValue().dtype().name());
            info.put("shape", e.getValue().shape());
            info.put("data_offsets", new long[]{offset, offset + len});
            header.put(e.getKey(), info);
            offset += len;
        }
        byte[] hj = JSON.writeValueAsBytes(header);
        int pad = (8 - hj.length % 8) % 8;
        AtomicFile.write(out, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer head = ByteBuffer.allocate(8 + hj.length + pad).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(hj.length + pad).put(hj);
                for (int i = 0; i < pad; i++) head.put((byte) ' ');
                head.flip();
                while (head.hasRemaining()) ch.write(head);
                for (Map.Entry<String, Entry> e : tensors.entrySet()) {
                    Entry t = e.getValue();
                    ByteBuffer b = ByteBuffer.allocate((int) t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                    t.encoder().accept(b);
                    // views (asFloatBuffer) do not move b's position: the whole buffer is the tensor
                    b.clear();
                    while (b.hasRemaining()) ch.write(b);
                }
            }
        });
    }
}
