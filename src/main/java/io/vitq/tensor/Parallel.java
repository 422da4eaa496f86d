package io.vitq.tensor;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fixed pool of platform threads for the hot loops (GEMM row ranges, attention heads).
 * Work is split into one contiguous chunk per thread; the calling thread runs the first chunk.
 * A call made from inside a worker runs inline (no nested fan-out, no deadlock).
 * No parallel streams in hot paths: their fork-join splitting costs show up at these sizes.
 */
public final class Parallel {
    /** Body of a range loop: processes indices {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    private static final int THREADS = Integer.getInteger("vitq.threads",
            Runtime.getRuntime().availableProcessors());
    private static final ThreadLocal<Boolean> IN_WORKER = ThreadLocal.withInitial(() -> false);
    private static final LinkedBlockingQueue<Runnable> QUEUE = new LinkedBlockingQueue<>();

    static {
        for (int i = 1; i < THREADS; i++) {
            Thread t = new Thread(Parallel::workerLoop, "vitq-worker-" + i);
            t.setDaemon(true);
            t.start();
        }
    }

    private Parallel() {}

    public static int threads() { return THREADS; }

    private static void workerLoop() {
        IN_WORKER.set(true);
        while (true) {
            try {
                QUEUE.take().run();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Runs {@code body} over {@code [0, n)} split into at most {@link #threads()} contiguous chunks. */
    public static void forRange(int n, RangeBody body) {
        forRange(n, 1, body);
    }

    /**
     * Like {@link #forRange(int, RangeBody)} but chunk boundaries are multiples of {@code grain}
     * (e.g. the GEMM row tile), except the last.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int units = (n + grain - 1) / grain;
        int chunks = Math.min(THREADS, units);
        if (chunks <= 1 || IN_WORKER.get()) {
            body.run(0, n);
            return;
        }
        CountDownLatch done = new CountDownLatch(chunks - 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int c = 1; c < chunks; c++) {
            int start = Math.min(n, (int) ((long) units * c / chunks) * grain);
            int end = Math.min(n, (int) ((long) units * (c + 1) / chunks) * grain);
            QUEUE.add(() -> {
                try {
                    body.run(start, end);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            });
        }
        boolean wasWorker = IN_WORKER.get();
        IN_WORKER.set(true);
        try {
            body.run(0, Math.min(n, (int) ((long) units / chunks) * grain));
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            IN_WORKER.set(wasWorker);
        }
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for workers", e);
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error err) throw err;
        if (t != null) throw new IllegalStateException(t);
    }

    /**
     * Dynamic scheduling for many independent, equally sized tasks (e.g. batch x heads):
     * each thread takes the next index from a shared counter.
     */
    public static void forEach(int n, java.util.function.IntConsumer body) {
        if (n <= 0) return;
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        forRange(Math.min(n, THREADS), (s, e) -> {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) body.accept(i);
        });
    }
}
