package io.vitq.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Parallel}: every index runs exactly once, in at most {@link Parallel#threads()}
 * contiguous chunks whose boundaries are multiples of the grain (except the end), nested calls run
 * inline, failures reach the caller. (Its arithmetic contract: a parallel kernel gives the same
 * bits as a serial one, checked in GemmTest, LayerNormKernelTest and BackwardKernelsTest.)
 */
@Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a broken pool would hang, not fail
class ParallelTest {
    private record Chunk(int start, int end, String thread) {}

    private static List<Chunk> forRange(int n, int grain) {
        List<Chunk> chunks = new CopyOnWriteArrayList<>();
        AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 0) + 1);
        Parallel.forRange(n, grain, (s, e) -> {
            chunks.add(new Chunk(s, e, Thread.currentThread().getName()));
            for (int i = s; i < e; i++) hits.incrementAndGet(i);
        });
        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "index " + i + " of " + n + " (grain " + grain + ")");
        return chunks;
    }

    @Test
    void forRangeCoversEveryIndexOnceInGrainAlignedChunks() {
        int threads = Parallel.threads();
        for (int n : new int[] {1, 2, 3, 7, 13, 14, 15, 16, 17, 64, 97, 197, 1000, 1576}) {
            for (int grain : new int[] {1, 2, 8, 14, 16, 100}) {
                List<Chunk> chunks = new ArrayList<>(forRange(n, grain));
                chunks.sort((a, b) -> Integer.compare(a.start, b.start));
                int units = (n + grain - 1) / grain;
                assertEquals(Math.min(threads, units), chunks.size(), "chunks for n=" + n + ", grain=" + grain);
                int next = 0;
                for (Chunk c : chunks) {
                    assertEquals(next, c.start, "contiguous");
                    assertTrue(c.end > c.start, "non-empty chunk " + c);
                    if (c.end != n) assertEquals(0, c.end % grain, "chunk end on the grain: " + c);
                    next = c.end;
                }
                assertEquals(n, next, "ends at n");
                // the caller runs the first chunk itself
                assertEquals(Thread.currentThread().getName(), chunks.get(0).thread, "first chunk on the calling thread");
            }
        }
    }

    @Test
    void emptyAndNegativeRangesRunNothing() {
        Parallel.forRange(0, (s, e) -> { throw new AssertionError("called for n = 0"); });
        Parallel.forRange(-3, 4, (s, e) -> { throw new AssertionError("called for n < 0"); });
        Parallel.forEach(0, i -> { throw new AssertionError("called for n = 0"); });
    }

    @Test
    void forEachRunsEveryTaskOnce() {
        for (int n : new int[] {1, 2, 3, 5, 48, 97, 1000}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            Parallel.forEach(n, i -> hits.incrementAndGet(i));
            for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "task " + i + " of " + n);
        }
    }

    @Test
    void nestedCallsRunInlineOnTheWorker() {
        // a kernel called from inside a parallel task (e.g. the GEMMs inside attention heads) must not fan out again
        List<String> outer = new CopyOnWriteArrayList<>();
        AtomicIntegerArray hits = new AtomicIntegerArray(8 * 100);
        Parallel.forEach(8, task -> {
            String me = Thread.currentThread().getName();
            outer.add(me);
            Parallel.forRange(100, 7, (s, e) -> {
                assertEquals(me, Thread.currentThread().getName(), "nested chunk ran on another thread");
                for (int i = s; i < e; i++) hits.incrementAndGet(task * 100 + i);
            });
        });
        assertEquals(8, outer.size());
        for (int i = 0; i < 800; i++) assertEquals(1, hits.get(i), "nested index " + i);
    }

    @Test
    void failuresReachTheCaller() {
        int n = 1000;
        IllegalStateException boom = new IllegalStateException("boom");
        // thrown in the last chunk (a worker's when there are 2+ threads) and in the first (the caller's)
        assertSame(boom, assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(n, (s, e) -> { if (e == n) throw boom; })));
        assertSame(boom, assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(n, (s, e) -> { if (s == 0) throw boom; })));
        OutOfMemoryError err = new OutOfMemoryError("test");
        assertSame(err, assertThrows(OutOfMemoryError.class, () -> Parallel.forEach(n, i -> { if (i == n - 1) throw err; })));
        // the pool still works afterwards
        AtomicIntegerArray hits = new AtomicIntegerArray(n);
        Parallel.forRange(n, (s, e) -> { for (int i = s; i < e; i++) hits.incrementAndGet(i); });
        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i));
    }
}
