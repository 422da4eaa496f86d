package io.vitq.eval;

import java.util.ArrayList;
import java.util.List;

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

    /**
     * {@code runs} timed runs of {@code imagesPerRun} images in {@code seconds}; {@code rounds}: the
     * images/s of each round of an interleaved measurement (one value otherwise).
     */
    public record Result(int runs, int imagesPerRun, double seconds, List<Double> rounds) {
        public Result {
            rounds = List.copyOf(rounds);
        }

        public double imagesPerSecond() { return runs * (double) imagesPerRun / seconds; }

        public double msPerRun() { return 1e3 * seconds / runs; }

        public double slowestRound() { return lowest(rounds); }

        public double fastestRound() { return highest(rounds); }
    }

    /** The smallest of per-round values (NaN for none). */
    public static double lowest(List<Double> perRound) { return perRound.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN); }

    /** The largest of per-round values (NaN for none). */
    public static double highest(List<Double> perRound) { return perRound.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN); }

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
        double t = seconds(t0);
        return new Result(runs, imagesPerRun, t, List.of(runs * (double) imagesPerRun / t));
    }

    /**
     * Jobs timed side by side, for ratios between them on a machine whose speed drifts (a shared
     * VM: 10-30 % between minutes): each job is warmed up, then in each of {@code rounds} rounds
     * every job runs in turn for its slice ({@code seconds / rounds}, at least one run), so a slow
     * or fast period falls on all of them alike instead of on whichever ran then. The turns come in
     * the given order in the first round and in a new order each round after ({@link #roundOrder}):
     * what runs just before a job can move its speed (ONNX Runtime's ViT-Ti float-attention export
     * measured 1.23x of its float export right after it and 1.38-1.44x after vitq's engines,
     * docs/BENCHMARKS.md), so no job should always follow the same one.
     *
     * @return one result per job, in order: all its timed runs, and its images/s in each round
     */
    public static List<Result> interleaved(List<Job> jobs, int imagesPerRun, double warmupSeconds, double seconds, int rounds)
            throws Exception {
        if (rounds < 1) throw new IllegalArgumentException("rounds must be at least 1, got " + rounds);
        for (Job job : jobs) {
            long start = System.nanoTime();
            for (int w = 0; w < 2 || seconds(start) < warmupSeconds; w++) job.run();
        }
        int n = jobs.size();
        int[] runs = new int[n];
        double[] time = new double[n];
        List<List<Double>> perRound = new ArrayList<>();
        for (int j = 0; j < n; j++) perRound.add(new ArrayList<>());
        double slice = seconds / rounds;
        for (int r = 0; r < rounds; r++) {
            for (int j : roundOrder(n, r)) {
                int k = 0;
                long t0 = System.nanoTime();
                do {
                    jobs.get(j).run();
                    k++;
                } while (seconds(t0) < slice);
                double t = seconds(t0);
                runs[j] += k;
                time[j] += t;
                perRound.get(j).add(k * (double) imagesPerRun / t);
            }
        }
        List<Result> out = new ArrayList<>();
        for (int j = 0; j < n; j++) out.add(new Result(runs[j], imagesPerRun, time[j], perRound.get(j)));
        return out;
    }

    /**
     * The order of the {@code n} jobs' turns in round {@code round}: 0, 1, ..., n-1 in round 0, then a
     * permutation shuffled with the round as the seed (the same schedule on every run).
     */
    static int[] roundOrder(int n, int round) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (round == 0) return order;
        java.util.Random random = new java.util.Random(round);
        for (int i = n - 1; i > 0; i--) {
            int k = random.nextInt(i + 1), t = order[i];
            order[i] = order[k];
            order[k] = t;
        }
        return order;
    }

    private static double seconds(long since) { return (System.nanoTime() - since) / 1e9; }
}
