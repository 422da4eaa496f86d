package io.vitq.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Access to the fixtures in src/test/resources/data/. The optional shared data is found by
 * {@link io.vitq.testutil.TestData#sharedOrSkip}, the one helper every test uses for it.
 */
final class TestData {
    private TestData() {}

    static Path resource(String relative) {
        URL url = TestData.class.getResource("/data/" + relative);
        if (url == null) throw new IllegalStateException("missing test resource data/" + relative);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] littleEndianFloats(Path p) {
        byte[] b = bytes(p);
        float[] out = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** Number of bytes that differ, and the largest difference, as {count, max}. */
    static int[] compare(byte[] expected, byte[] actual) {
        int count = 0, max = 0;
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs((expected[i] & 0xff) - (actual[i] & 0xff));
            if (d != 0) count++;
            max = Math.max(max, d);
        }
        return new int[] {count, max};
    }
}
