package io.vitq.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SafeTensorsWriteTest {
    @TempDir
    Path tmp;

    @Test
    void mixedDtypesRoundTripWithAnAlignedDataStart() throws IOException {
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>();
        t.put("codes", SafeTensors.Entry.i8(new byte[] {-128, -1, 0, 1, 127}, 5));   // odd length: later tensors start unaligned
        t.put("wide", SafeTensors.Entry.i16(new short[] {-512, 511, 0, -1, 300, 7}, 2, 3));
        t.put("f", SafeTensors.Entry.f32(new float[] {1.5f, -0f, Float.MIN_VALUE}, 3));
        Path f = tmp.resolve("mixed.safetensors");
        SafeTensors.write(f, t, Map.of("k", "v"));

        byte[] bytes = Files.readAllBytes(f);
        long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + headerLen) % 8, "data starts 8-byte aligned");
        assertEquals(8 + headerLen + 5 + 12 + 12, bytes.length, "tensors are contiguous");

        SafeTensors st = SafeTensors.read(f);
        assertEquals("v", st.metadata().get("k"));
        assertEquals(DType.I8, st.get("codes").dtype());
        assertArrayEquals(new long[] {-128, -1, 0, 1, 127}, st.get("codes").toLongs());
        assertEquals(DType.I16, st.get("wide").dtype());
        assertArrayEquals(new int[] {2, 3}, st.get("wide").shape());
        assertArrayEquals(new long[] {-512, 511, 0, -1, 300, 7}, st.get("wide").toLongs());
        assertArrayEquals(new float[] {1.5f, -0f, Float.MIN_VALUE}, st.get("f").toFloats());
        AtomicFileTest.assertNoTemporaryFiles(tmp);
    }

    /**
     * A data section over 2 GiB (ViT-H and DeiT-3-H in float32) is read tensor by tensor: here a
     * sparse file whose second tensor starts past 2 GiB, so the test writes a few bytes, not gigabytes.
     */
    @Test
    void aDataSectionOverTwoGibibytesIsRead() throws IOException {
        long far = (1L << 31) + 12;                     // past the reach of one int-indexed buffer
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + far + "," + (far + 12) + "]}}";
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long dataStart = 8 + h.length;
        Path f = tmp.resolve("big.safetensors");
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length), 0);
            ch.write(ByteBuffer.wrap(h), 8);
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 1.5f).putFloat(4, -2f), dataStart);
            ch.write(ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 3f).putFloat(4, 0.25f).putFloat(8, -7f),
                    dataStart + far);
        }
        assertEquals(dataStart + far + 12, Files.size(f));
        SafeTensors st = SafeTensors.read(f);
        assertArrayEquals(new float[] {1.5f, -2f}, st.get("a").toFloats());
        assertArrayEquals(new float[] {3f, 0.25f, -7f}, st.get("b").toFloats());
    }

    @Test
    void sizeMismatchIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.Entry.i8(new byte[3], 2, 2));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.Entry.f32(new float[5], 2, 2));
    }
}
