package io.vitq.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchLoaderTest {
    private static final List<String> IMAGES = List.of("golden/ILSVRC2012_val_00000347.JPEG", "decode/ycc420.jpg",
            "decode/gray.jpg", "decode/rgba8.png", "decode/adobe_cmyk.jpg", "golden/ILSVRC2012_val_00000355.JPEG",
            "decode/palette4.png");
    private final EvalTransform transform = new EvalTransform(Preprocessing.vitAugReg(24));

    /** A dataset over the fixtures that records the highest index the loader has asked for. */
    private static final class Recording implements Dataset {
        final List<Path> paths;
        final AtomicInteger maxRequested = new AtomicInteger(-1);

        Recording(List<Path> paths) { this.paths = paths; }

        @Override public int size() { return paths.size(); }

        @Override public Path path(int i) {
            maxRequested.accumulateAndGet(i, Math::max);
            return paths.get(i);
        }

        @Override public int label(int i) { return 100 + i; }

        @Override public String describe() { return "fixtures"; }
    }

    private static List<Path> fixtures() {
        return IMAGES.stream().map(TestData::resource).toList();
    }

    @Test
    void yieldsBatchesInOrderMatchingDirectTransform() {
        Recording data = new Recording(fixtures());
        List<Batch> batches = new ArrayList<>();
        try (BatchLoader loader = new BatchLoader(data, transform, 3)) {
            assertEquals(3, loader.batchCount());
            while (loader.hasNext()) batches.add(loader.next());
        }
        assertEquals(List.of(3, 3, 1), batches.stream().map(Batch::size).toList());
        int n = transform.imageFloats();
        for (Batch b : batches) {
            assertArrayEquals(new int[] {b.size(), 3, 24, 24}, b.images().shape());
            for (int i = 0; i < b.size(); i++) {
                int item = b.start() + i;
                assertEquals(100 + item, b.labels()[i]);
                assertEquals(data.paths.get(item), b.paths().get(i));
                float[] expected = transform.apply(ImageDecoder.decode(data.paths.get(item)));
                assertArrayEquals(expected, Arrays.copyOfRange(b.images().data(), i * n, (i + 1) * n), 0f);
            }
        }
        assertEquals(List.of(0, 1, 2), batches.stream().map(Batch::index).toList());
    }

    @Test
    void readsAheadAtMostTheConfiguredNumberOfBatches() {
        Recording data = new Recording(fixtures());
        try (BatchLoader loader = new BatchLoader(data, transform, 2, 2, 2)) {
            assertEquals(3, data.maxRequested.get(), "only batches 0 and 1 queued before the first next()");
            loader.next();
            assertEquals(5, data.maxRequested.get(), "batch 2 queued once batch 0 is handed out");
        }
    }

    @Test
    void failingImageSurfacesWithItsNameWhenItsBatchIsReached(@TempDir Path dir) throws IOException {
        Path broken = dir.resolve("broken.jpg");
        Files.write(broken, "not an image".getBytes());
        List<Path> paths = new ArrayList<>(fixtures());
        paths.set(4, broken);
        Recording data = new Recording(paths);
        try (BatchLoader loader = new BatchLoader(data, transform, 3)) {
            assertEquals(3, loader.next().size()); // images 0..2 are fine
            ImageLoadException e = assertThrows(ImageLoadException.class, loader::next);
            // how far the run got: the image's place in the dataset
            assertEquals(broken + ": not a JPEG or PNG image (image 5 of " + paths.size() + ", " + data.describe() + ")", e.getMessage());
            assertEquals(broken, e.path());
            assertFalse(loader.hasNext(), "the loader closes after a failure");
        }
    }

    @Test
    void loadAllStacksTheDataset() {
        Recording data = new Recording(fixtures().subList(0, 2));
        var all = BatchLoader.loadAll(data, transform);
        assertArrayEquals(new int[] {2, 3, 24, 24}, all.shape());
        assertArrayEquals(transform.apply(ImageDecoder.decode(data.paths.get(1))),
                Arrays.copyOfRange(all.data(), transform.imageFloats(), 2 * transform.imageFloats()), 0f);
    }

    @Test
    void decodesOnItsOwnThreads() throws InterruptedException {
        Recording data = new Recording(fixtures());
        try (BatchLoader loader = new BatchLoader(data, transform, 7)) {
            loader.next();
            assertTrue(Thread.getAllStackTraces().keySet().stream()
                    .anyMatch(t -> t.getName().startsWith("vitq-decode-") && t.isDaemon()));
        }
    }
}
