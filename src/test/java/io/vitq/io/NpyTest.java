package io.vitq.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The .npy bytes as NumPy 1.x/2.x write {@code np.save(f, np.arange(6, dtype='<f4').reshape(2, 3))}. */
class NpyTest {
    @TempDir
    Path tmp;

    @Test
    void headerAsNumpyWritesIt() {
        byte[] h = Npy.header(2, 3);
        assertEquals(128, h.length);   // NumPy pads the header to 64-byte alignment; this dict needs two blocks
        assertArrayEquals(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, java.util.Arrays.copyOf(h, 8));
        int len = (h[8] & 0xff) | (h[9] & 0xff) << 8;
        assertEquals(h.length - 10, len);
        // np.save's header for this array (NumPy 2.4), byte for byte
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + " ".repeat(58) + "\n",
                new String(h, 10, len, StandardCharsets.US_ASCII));
        byte[] h1 = Npy.header(7);
        assertTrue(new String(h1, 10, h1.length - 10, StandardCharsets.US_ASCII).contains("'shape': (7,), }"));
        assertEquals(0, Npy.header(1000, 3, 224, 224).length % 64);
    }

    @Test
    void dataFollowsLittleEndian() throws IOException {
        float[] v = {0f, 1.5f, -2f, Float.MIN_VALUE, 1e30f, 6f};
        Path f = tmp.resolve("a.npy");
        Npy.write(f, v, 2, 3);
        byte[] all = Files.readAllBytes(f);
        assertEquals(128 + 24, all.length);
        ByteBuffer b = ByteBuffer.wrap(all, 128, 24).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) assertEquals(Float.floatToRawIntBits(x), Float.floatToRawIntBits(b.getFloat()));
        assertThrows(IllegalArgumentException.class, () -> Npy.write(tmp.resolve("b.npy"), v, 4, 2));
        assertTrue(Files.notExists(tmp.resolve("b.npy")));
    }
}
