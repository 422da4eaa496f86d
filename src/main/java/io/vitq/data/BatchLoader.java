package io.vitq.data;

import io.vitq.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decodes and preprocesses a dataset in the background while the consumer (the model forward)
 * works, handing out batches [B,3,S,S] in dataset order.
 *
 * <p>A small pool of its own platform threads does the decoding: the forward's
 * {@code io.vitq.tensor.Parallel} pool must stay free for the GEMMs. Memory is bounded: at most
 * {@code batchesAhead} batches are being filled while the consumer holds the current one.
 * A failing image surfaces from {@link #next()} as an {@link ImageLoadException} naming the file,
 * when that image's batch is reached. Use from one consumer thread, in try-with-resources:
 * <pre>{@code
 * try (BatchLoader loader = new BatchLoader(dataset, transform, 64)) {
 *     while (loader.hasNext()) { Batch b = loader.next(); ... model.forward(b.images()) ... }
 * }
 * }</pre>
 */
public final class BatchLoader implements Iterator<Batch>, AutoCloseable {
    public static final int DEFAULT_DECODE_THREADS = 2;
    public static final int DEFAULT_BATCHES_AHEAD = 2;

    private static final AtomicInteger POOL_NUMBER = new AtomicInteger();

    private final Dataset dataset;
    private final EvalTransform transform;
    private final int batchSize, batchesAhead, batchCount;
    private final ExecutorService pool;
    private final ArrayDeque<PendingBatch> pending = new ArrayDeque<>();
    private int nextToSubmit, nextToReturn;
    private boolean closed;

    /** A batch being filled: one future per image, each writing its own slice of {@code data}. */
    private record PendingBatch(int index, int start, float[] data, List<CompletableFuture<Void>> images) {}

    public BatchLoader(Dataset dataset, EvalTransform transform, int batchSize) {
        this(dataset, transform, batchSize, DEFAULT_DECODE_THREADS, DEFAULT_BATCHES_AHEAD);
    }

    public BatchLoader(Dataset dataset, EvalTransform transform, int batchSize, int decodeThreads, int batchesAhead) {
        if (batchSize <= 0 || decodeThreads <= 0 || batchesAhead <= 0) {
            throw new IllegalArgumentException("batchSize, decodeThreads and batchesAhead must be positive, got "
                    + batchSize + ", " + decodeThreads + ", " + batchesAhead);
        }
        long floats = (long) batchSize * transform.imageFloats();
        if (floats > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("batch of " + batchSize + " is too large");
        this.dataset = dataset;
        this.transform = transform;
        this.batchSize = batchSize;
        this.batchesAhead = batchesAhead;
        this.batchCount = (dataset.size() + batchSize - 1) / batchSize;
        this.pool = Executors.newFixedThreadPool(decodeThreads, daemonThreads());
        submitAhead(); // start decoding now, e.g. while the model loads
    }

    /**
     * Preprocesses the whole dataset into one tensor [N,3,S,S] (e.g. the calibration set).
     *
     * @throws ImageLoadException naming the first image that fails
     */
    public static Tensor loadAll(Dataset dataset, EvalTransform transform) {
        try (BatchLoader loader = new BatchLoader(dataset, transform, Math.max(1, dataset.size()))) {
            return loader.next().images();
        }
    }

    public int batchCount() { return batchCount; }

    @Override
    public boolean hasNext() {
        return !closed && nextToReturn < batchCount;
    }

    /**
     * The next batch in dataset order, waiting for it if needed.
     *
     * @throws ImageLoadException naming the image that could not be loaded (the loader is closed then)
     */
    @Override
    public Batch next() {
        if (closed) throw new IllegalStateException("BatchLoader is closed");
        if (nextToReturn >= batchCount) throw new NoSuchElementException();
        submitAhead();
        PendingBatch p = pending.poll();
        try {
            awaitAll(p, dataset);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        nextToReturn++;
        submitAhead(); // keep the pool busy while the consumer works on this batch
        int n = p.images.size();
        int[] labels = new int[n];
        List<Path> paths = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            labels[i] = dataset.label(p.start + i);
            paths.add(dataset.path(p.start + i));
        }
        int s = transform.config().inputSize();
        return new Batch(p.index, p.start, new Tensor(p.data, n, 3, s, s), labels, List.copyOf(paths));
    }

    /** Stops the decode threads; pending work is dropped. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (PendingBatch p : pending) p.images.forEach(f -> f.cancel(false));
        pending.clear();
        pool.shutdownNow();
    }

    private void submitAhead() {
        while (!closed && nextToSubmit < batchCount && pending.size() < batchesAhead) {
            int index = nextToSubmit++;
            int start = index * batchSize, n = Math.min(batchSize, dataset.size() - start);
            int imageFloats = transform.imageFloats();
            float[] data = new float[n * imageFloats];
            List<CompletableFuture<Void>> images = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                Path path = dataset.path(start + i);
                int offset = i * imageFloats;
                images.add(CompletableFuture.runAsync(() -> load(path, data, offset), pool));
            }
            pending.add(new PendingBatch(index, start, data, images));
        }
    }

    private void load(Path path, float[] data, int offset) {
        try {
            transform.load(path, data, offset);
        } catch (ImageLoadException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ImageLoadException(path, "cannot preprocess (" + e + ")", e);
        }
    }

    /** Waits for every image of the batch; the first failure in dataset order is rethrown, with its place in the dataset. */
    private static void awaitAll(PendingBatch p, Dataset dataset) {
        for (int i = 0; i < p.images.size(); i++) {
            try {
                p.images.get(i).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for batch " + p.index, e);
            } catch (CancellationException e) {
                throw new IllegalStateException("batch " + p.index + " was cancelled", e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof ImageLoadException ile)
                    throw new ImageLoadException(ile, "image " + (p.start + i + 1) + " of " + dataset.size() + ", " + dataset.describe());
                if (cause instanceof Error err) throw err;
                throw new IllegalStateException("loading batch " + p.index + " failed: " + cause, cause);
            }
        }
    }

    private static ThreadFactory daemonThreads() {
        int poolNumber = POOL_NUMBER.incrementAndGet();
        AtomicInteger threadNumber = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "vitq-decode-" + poolNumber + "-" + threadNumber.incrementAndGet());
            t.setDaemon(true); // never keeps the JVM alive, even if a caller forgets close()
            return t;
        };
    }
}
