package io.vitq.calib;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Exact branch and bound for the interval search's argmax when a candidate's score in each group
 * (a weight's scale group, a head) is a sum over samples of non-positive terms: the squared-error
 * metrics' {@code -mean((G (Ô - O))²)}. A partial sum over some of the samples is then an upper
 * bound of the complete one, so a candidate whose partial sum is already below a group's best
 * complete score cannot win that group, and its remaining samples need not be scored.
 *
 * <p>The bound is tight when the samples scored first carry most of the error, and a few images
 * usually do (those with large output gradients or outsized activations). So one pilot candidate
 * is scored on every sample first, the samples are visited in decreasing order of its error, every
 * other candidate is scored on the first chunk of them, and candidates are then completed in the
 * order of that partial score (best first, so a tight bound is found early), chunk by chunk until
 * no group is left that they can still win.
 *
 * <p>Exactness: a completed candidate's score is the sum of its per-sample scores in sample order,
 * the very sum an exhaustive search forms. A partial sum formed in another order can exceed the
 * mathematical one by rounding, so a candidate is dropped only when its partial sum is below the
 * best by a relative margin ({@link #MARGIN}) far above the rounding error of such sums; ties are
 * never dropped and resolve to the smaller index at completion. Dropped candidates return their
 * partial sums, which lie below the group's winner, so the callers' first-maximum argmax picks
 * exactly what an exhaustive search picks. With {@link #keeping(int) keeping(k)} the same holds
 * for the best k of each group, in order (AdaLog's stages keep their best few).
 */
final class CandidateRace {
    /** Scores one candidate on the given samples: {@code out[j][group]} for {@code samples[j]}; groups not alive may be skipped. */
    @FunctionalInterface
    interface Scorer {
        void score(int[] samples, boolean[] alive, double[][] out);
    }

    /**
     * Relative margin below the best score before a partial sum is trusted to lose: sums of at most
     * a few thousand same-signed doubles differ from their exact value by far less (n · 2^-53).
     */
    static final double MARGIN = 1e-9;

    private final int count, groups, samples, chunk;
    /** Candidates kept per group: 1 for an argmax; more for a search that keeps its best few (AdaLog's stages). */
    private int keep = 1;
    /** One objective, the sum of the groups' scores (in group order), instead of one argmax per group. */
    private boolean summed;
    private long scored;

    /**
     * @param chunk samples per bound check; {@code chunk >= samples} scores every candidate on every
     *              sample (no pruning: for metrics whose terms can be positive)
     */
    CandidateRace(int count, int groups, int samples, int chunk) {
        if (count < 1 || groups < 1 || samples < 1 || chunk < 1)
            throw new IllegalArgumentException("race of " + count + " candidates, " + groups + " groups, " + samples
                    + " samples, chunk " + chunk);
        this.count = count;
        this.groups = groups;
        this.samples = samples;
        this.chunk = Math.min(chunk, samples);
    }

    /**
     * Keep the best {@code k} candidates of each group exact instead of the best one: a candidate is
     * dropped only once k complete scores are above its partial sum, so the k best (in order, ties
     * included) are the exhaustive search's.
     */
    CandidateRace keeping(int k) {
        if (k < 1) throw new IllegalArgumentException("keep " + k + " candidates");
        keep = k;
        return this;
    }

    /**
     * Race on one objective, the sum over the groups of their scores (e.g. a softmax quantizer shared
     * by all heads, scored head by head): the bound is the sum of the groups' partial sums, and the
     * best complete objective is the groups' exact sums added in group order.
     */
    CandidateRace summed() {
        summed = true;
        return this;
    }

    /** Samples per bound check for a metric: pruning needs non-positive per-sample scores. */
    static int chunkFor(Metric metric, int samples, int threads) {
        return metric == Metric.HESSIAN || metric == Metric.MSE ? Math.max(1, 2 * threads) : samples;
    }

    /** (candidate, sample) pairs scored by {@link #run} so far; an exhaustive search scores count x samples. */
    long scored() { return scored; }

    /** Scores {@code [candidate][group]}; {@code candidate.apply(i)} may be called more than once per candidate. */
    double[][] run(IntFunction<Scorer> candidate) {
        double[][] total = new double[count][];
        boolean[] all = new boolean[groups];
        Arrays.fill(all, true);
        int[] natural = new int[samples];
        for (int s = 0; s < samples; s++) natural[s] = s;
        if (chunk == samples) {
            for (int i = 0; i < count; i++) total[i] = inOrder(score(candidate.apply(i), natural, all));
            return total;
        }

        // the pilot: every sample, to order the samples by the error they carry
        int pilot = count - 1 - count / 4;
        double[][] pilotScores = score(candidate.apply(pilot), natural, all);
        total[pilot] = inOrder(pilotScores);
        Integer[] bySize = new Integer[samples];
        double[] weight = new double[samples];
        for (int s = 0; s < samples; s++) {
            bySize[s] = s;
            for (double v : pilotScores[s]) weight[s] += v;
        }
        Arrays.sort(bySize, (x, y) -> Double.compare(weight[x], weight[y])); // most negative (largest error) first
        int[] order = new int[samples];
        for (int s = 0; s < samples; s++) order[s] = bySize[s];

        double[][] best = new double[groups][0];   // per group: the best `keep` complete scores, descending
        offer(total[pilot], all, best);

        // every other candidate on the first chunk, then completed best first
        int[] first = Arrays.copyOf(order, chunk);
        double[][] partial = new double[count][];
        double[][][] perSample = new double[count][][];
        double[] firstSum = new double[count];
        for (int i = 0; i < count; i++) {
            if (i == pilot) continue;
            perSample[i] = new double[samples][];
            double[][] sc = score(candidate.apply(i), first, all);
            partial[i] = new double[groups];
            for (int j = 0; j < chunk; j++) {
                perSample[i][first[j]] = sc[j];
                for (int gr = 0; gr < groups; gr++) partial[i][gr] += sc[j][gr];
            }
            for (double v : partial[i]) firstSum[i] += v;
        }
        Integer[] visit = new Integer[count];
        for (int i = 0; i < count; i++) visit[i] = i;
        Arrays.sort(visit, (x, y) -> Double.compare(firstSum[y], firstSum[x])); // stable: ties in index order
        boolean[] alive = new boolean[groups];
        for (int i : visit) {
            if (i == pilot) continue;
            Scorer sc = null;
            int done = chunk;
            while (done < samples && alive(partial[i], best, alive)) {
                if (sc == null) sc = candidate.apply(i);
                int[] next = Arrays.copyOfRange(order, done, Math.min(samples, done + chunk));
                double[][] s = score(sc, next, alive);
                for (int j = 0; j < next.length; j++) {
                    perSample[i][next[j]] = s[j];
                    for (int gr = 0; gr < groups; gr++) if (alive[gr]) partial[i][gr] += s[j][gr];
                }
                done += next.length;
            }
            if (done < samples || !alive(partial[i], best, alive)) {
                total[i] = partial[i];   // lost every group: its partial sums, all below the winners
            } else {
                total[i] = inOrder(perSample[i]);
                offer(total[i], alive, best);
                // a group that died early keeps its partial sum, a bound below that group's winner
                for (int gr = 0; gr < groups; gr++) if (!alive[gr]) total[i][gr] = partial[i][gr];
            }
            perSample[i] = null;
        }
        return total;
    }

    private double[][] score(Scorer s, int[] which, boolean[] alive) {
        double[][] out = new double[which.length][groups];
        s.score(which, alive, out);
        scored += which.length;
        return out;
    }

    /** The groups' sum in group order: the objective of one quantizer scored group by group. */
    static double objective(double[] perGroup) {
        double s = 0;
        for (double v : perGroup) s += v;
        return s;
    }

    /** Per-group sums of per-sample scores in sample order, as an exhaustive search adds them. */
    private double[] inOrder(double[][] perSample) {
        double[] sum = new double[groups];
        for (double[] r : perSample) for (int gr = 0; gr < groups; gr++) sum[gr] += r[gr];
        return sum;
    }

    /** A candidate's complete scores in the groups {@code complete} marks, into each group's best {@code keep}. */
    private void offer(double[] sum, boolean[] complete, double[][] best) {
        if (summed) {
            if (complete[0]) insert(best, 0, objective(sum));   // summed: all groups complete or none
            return;
        }
        for (int gr = 0; gr < sum.length; gr++) if (complete[gr]) insert(best, gr, sum[gr]);
    }

    /** Inserts v into group gr's descending list of the best {@code keep}; NaN bounds nothing and is left out. */
    private void insert(double[][] best, int gr, double v) {
        if (Double.isNaN(v)) return;
        double[] b = best[gr];
        int at = 0;
        while (at < b.length && b[at] >= v) at++;
        if (at >= keep) return;
        double[] next = Arrays.copyOf(b, Math.min(keep, b.length + 1));
        System.arraycopy(b, at, next, at + 1, next.length - at - 1);
        next[at] = v;
        best[gr] = next;
    }

    /**
     * Marks the groups a candidate with partial sums {@code sum} may still reach the best {@code
     * keep} of (fewer complete yet, or its sum not below the keep-th best by the margin); false
     * when there is none. A NaN sum compares false and so is never dropped.
     */
    private boolean alive(double[] sum, double[][] best, boolean[] alive) {
        if (summed) {
            double[] b = best[0];
            double bound = b.length < keep ? Double.NEGATIVE_INFINITY : b[keep - 1], s = objective(sum);
            boolean on = !(s < bound - MARGIN * Math.abs(bound));
            Arrays.fill(alive, on);
            return on;
        }
        boolean any = false;
        for (int gr = 0; gr < groups; gr++) {
            double[] b = best[gr];
            double bound = b.length < keep ? Double.NEGATIVE_INFINITY : b[keep - 1];
            alive[gr] = !(sum[gr] < bound - MARGIN * Math.abs(bound));
            any |= alive[gr];
        }
        return any;
    }
}
