package io.vitq.cli;

import io.vitq.eval.Throughput;
import io.vitq.runtime.Int8Gemm;
import io.vitq.runtime.PackedInt8;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.PeakProbe;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongUnaryOperator;

/**
 * The bench's GEMM rates: one Linear shape timed as the float GEMM (GFLOP/s) and as the int8 GEMM
 * (GOPS, the runtime's default kernel), both on the thread pool as a forward runs them, beside the
 * machine's peaks measured by register-only probes on every pool thread (float FMA; VNNI when the
 * native kernel is there).
 */
final class GemmRates {
    /** One shape's rates. */
    record Shape(String name, int m, int k, int n, double floatGflops, double int8Gops, String int8Kernel) {}

    /** The probes' rates over all threads; vnniGops NaN without the native kernel. */
    record Peaks(int threads, double floatGflops, double vnniGops) {}

    private GemmRates() {}

    /** {@code C = A B} for A m x k and B k x n (random values; the rate does not depend on them), each for about {@code seconds}. */
    static Shape measure(String name, int m, int k, int n, double seconds) throws Exception {
        SplittableRandom r = new SplittableRandom(7);
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
        PackedB pb = PackedB.pack(b, 0, n, k, n);
        double ops = 2.0 * m * k * n;
        double floatRate = ops / secondsPerCall(() -> Gemm.gemm(a, 0, k, m, pb, c, 0, n, null, Activation.NONE, false, true), seconds) / 1e9;

        byte[] qa = new byte[m * k], qb = new byte[k * n];
        for (int i = 0; i < qa.length; i++) qa[i] = (byte) (r.nextInt(256) - 128);
        for (int i = 0; i < qb.length; i++) qb[i] = (byte) (r.nextInt(256) - 128);
        PackedInt8 ib = PackedInt8.pack(qb, 0, n, k, n);
        int[] acc = new int[m * n];
        double intRate = ops / secondsPerCall(() -> Int8Gemm.multiply(qa, 0, k, m, ib, acc, 0, n, true), seconds) / 1e9;
        return new Shape(name, m, k, n, floatRate, intRate, Int8Gemm.DEFAULT_KERNEL.name());
    }

    /** Both probes on every pool thread at once, each for about {@code seconds}. */
    static Peaks peaks(double seconds) {
        int threads = Parallel.threads();
        double flops = onAllThreads(threads, rounds -> (long) PeakProbe.fma(rounds), PeakProbe.FLOPS_PER_ROUND, seconds);
        double ops = Int8Gemm.nativeAvailable()
                ? onAllThreads(threads, Int8Gemm::nativePeakProbe, Int8Gemm.NATIVE_PEAK_OPS_PER_ROUND, seconds) : Double.NaN;
        return new Peaks(threads, flops / 1e9, ops / 1e9);
    }

    /** Seconds per call of {@code job}: warmed up, then repeated for at least {@code seconds} and 3 calls. */
    private static double secondsPerCall(Throughput.Job job, double seconds) throws Exception {
        return Throughput.measure(job, 1, 0.3 * seconds, seconds, 3).msPerRun() / 1e3;
    }

    /** Concurrent trials of the probe: the peak is the fastest (a short trial can share its core with the JIT's threads). */
    static final int PEAK_TRIALS = 5;

    /**
     * Operations per second of {@code probe} (rounds to a result, {@code opsPerRound} each) run on
     * {@code threads} threads at once: the round count is first sized on one thread to a trial's
     * share of {@code seconds} (at least 20 ms), then every thread runs it and the slowest thread's
     * time counts; the best of {@link #PEAK_TRIALS} such trials is the rate.
     */
    private static double onAllThreads(int threads, LongUnaryOperator probe, long opsPerRound, double seconds) {
        long rounds = 1 << 16;
        // many short calls first: C2 compiles the probe (interpreted, its vectors are boxed objects: 100x slower)
        long w0 = System.nanoTime();
        for (int i = 0; i < 200 || System.nanoTime() - w0 < 0.5e9; i++) probe.applyAsLong(1 << 10);
        probe.applyAsLong(rounds);
        long t0 = System.nanoTime();
        probe.applyAsLong(rounds);
        double once = Math.max((System.nanoTime() - t0) / 1e9, 1e-6);
        double trialSeconds = Math.max(seconds / PEAK_TRIALS, 0.02);
        long sized = Math.max(rounds, (long) (rounds * trialSeconds / once));
        double best = 0;
        for (int trial = 0; trial < PEAK_TRIALS; trial++) {
            double elapsed = concurrentSeconds(threads, probe, sized);
            best = Math.max(best, threads * (double) sized * opsPerRound / elapsed);
        }
        return best;
    }

    /** Wall seconds for {@code threads} threads each running {@code rounds} of the probe at once. */
    private static double concurrentSeconds(int threads, LongUnaryOperator probe, long rounds) {
        List<Thread> ts = new ArrayList<>();
        long[] sink = new long[threads];
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> sink[id] = probe.applyAsLong(rounds), "vitq-peak-" + t);
            th.start();
            ts.add(th);
        }
        for (Thread th : ts) {
            try {
                th.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }
}
