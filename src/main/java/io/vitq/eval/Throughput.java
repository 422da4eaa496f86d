package io.vitq.eval;

/**
 * Images per second of a repeated batch job: warm-up runs until the JIT has settled, then timed
 * runs until both a minimum count and a minimum time are reached (wall clock, the whole batch).
 */
public final class Throughput {
    private Throughput() {}

    /** One run of the job: a forward of the whole batch. */
    @FunctionalInterface
    public interface Job {
        void run() throws Exception;
    }

    /** {@code runs} timed runs of {@code imagesPerRun} images in {@code seconds}. */
    public record Result(int runs, int imagesPerRun, double seconds) {
        public double imagesPerSecond() { return runs * (double) imagesPerRun / seconds; }

        public double msPerRun() { return 1e3 * seconds / runs; }
    }

    /**
     * @param warmupSeconds at least two warm-up runs, and at least this long
     * @param minSeconds    timed runs: at least {@code minRuns}, and at least this long
     */
    public static Result measure(Job job, int imagesPerRun, double warmupSeconds, double minSeconds, int minRuns)
            throws Exception {
        long start = System.nanoTime();
        for (int w = 0; w < 2 || seconds(start) < warmupSeconds; w++) job.run();
        int runs = 0;
        long t0 = System.nanoTime();
        do {
            job.run();
            runs++;
        } while (runs < minRuns || seconds(t0) < minSeconds);
        return new Result(runs, imagesPerRun, seconds(t0));
    }

    private static double seconds(long since) { return (System.nanoTime() - since) / 1e9; }
}
