package io.vitq.calib.mp;

import java.util.List;
import java.util.Locale;

/**
 * VT-PTQ's bit allocation (ALGORITHMS.md 9.6) solved exactly as a multiple-choice knapsack: every
 * unit picks one option (bit width, size, cost Omega), minimising the total cost with the total
 * size within the budget. The paper sorts all configurations by Omega and takes the best one that
 * fits; since Omega is a sum over units, dynamic programming over the size finds the same optimum
 * without enumerating 5^24 configurations.
 *
 * <p>Sizes are integers in any unit; vitq passes bits (parameters x bit width, see
 * {@link ModelSize}), which are exact. The DP runs over the size above the all-smallest
 * configuration (the slack) in steps of the greatest common divisor of the options' size
 * increments, so it is <b>exact</b>: for ViT-B / DeiT-B the step is 768 bits and the table
 * ~0.2 M steps x 24 units. Only when units x steps would exceed {@link #MAX_CELLS} (64 Mi, one
 * byte each) is the step widened to a multiple of the gcd with every increment rounded <i>up</i>:
 * the answer still fits the budget and is optimal for the rounded sizes, but a configuration
 * within units x step of the budget may be missed; {@link Result#exact()} says which case ran.
 *
 * <p>Ties, so that the same costs always give the same bits: least cost first; among equal costs
 * the smallest total size; among those, the lexicographically smallest option indices in unit
 * order (the first unit takes its earliest option, i.e. its fewest bits when options are listed
 * ascending, as {@link MixedPrecision} does). Costs are compared exactly, as the DP summed them.
 */
public final class BitAllocation {
    /** Upper bound on units x size steps (bytes of the choice table). */
    public static final long MAX_CELLS = 1L << 26;

    private BitAllocation() {}

    /** One choice for a unit: its bit width, size (bits of the unit's parameters) and cost. */
    public record Option(int bits, long size, double cost) {
        public Option {
            if (size < 0) throw new IllegalArgumentException("negative size " + size);
            if (!(cost >= 0) || Double.isInfinite(cost)) throw new IllegalArgumentException("cost must be finite and >= 0, got " + cost);
        }
    }

    /**
     * The allocation.
     *
     * @param choice     index of the chosen option of each unit
     * @param bits       the chosen bit width of each unit
     * @param size       total size of the chosen options (exact, not rounded)
     * @param cost       total cost
     * @param step       the DP's size step (the gcd of the increments when exact)
     * @param exact      whether the step is the gcd (true optimum) or widened (optimum of rounded-up sizes)
     */
    public record Result(int[] choice, int[] bits, long size, double cost, long step, boolean exact) {
        public Result {
            choice = choice.clone();
            bits = bits.clone();
        }

        @Override public int[] choice() { return choice.clone(); }

        @Override public int[] bits() { return bits.clone(); }
    }

    /** The minimum-cost choice of one option per unit with total size at most {@code budget}. */
    public static Result solve(List<List<Option>> units, long budget) {
        return solve(units, budget, MAX_CELLS);
    }

    static Result solve(List<List<Option>> units, long budget, long maxCells) {
        int U = units.size();
        if (U == 0) throw new IllegalArgumentException("no units to allocate");
        long[][] inc = new long[U][];
        long base = 0, maxSlack = 0, gcd = 0;
        for (int u = 0; u < U; u++) {
            List<Option> opts = units.get(u);
            if (opts.isEmpty() || opts.size() > 127) throw new IllegalArgumentException("unit " + u + " has " + opts.size() + " options (1..127)");
            long min = Long.MAX_VALUE, max = 0;
            for (Option o : opts) { min = Math.min(min, o.size()); max = Math.max(max, o.size()); }
            base = Math.addExact(base, min);
            maxSlack = Math.addExact(maxSlack, max - min);
            inc[u] = new long[opts.size()];
            for (int k = 0; k < opts.size(); k++) {
                inc[u][k] = opts.get(k).size() - min;
                gcd = gcd(gcd, inc[u][k]);
            }
        }
        if (budget < base) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "size budget %s (%d bits) is below the minimum achievable size %s (%d bits, every unit at its smallest option)",
                    ModelSize.format(budget), budget, ModelSize.format(base), base));
        }
        // slack beyond what all-largest uses is never needed
        long slack = Math.min(budget - base, maxSlack);
        long step = Math.max(gcd, 1);
        long steps = slack / step;
        if ((steps + 1) * U > maxCells) {
            long maxSteps = Math.max(1, maxCells / U - 1);
            long k = ceilDiv(ceilDiv(slack, maxSteps), step);     // widen to a multiple of the gcd
            step *= k;
            steps = slack / step;
        }
        boolean exact = step == Math.max(gcd, 1);
        int n = (int) steps + 1;
        int[][] incSteps = new int[U][];
        for (int u = 0; u < U; u++) {
            incSteps[u] = new int[inc[u].length];
            for (int k = 0; k < inc[u].length; k++) {
                long s = ceilDiv(inc[u][k], step);                 // rounded up: feasibility kept
                incSteps[u][k] = (int) Math.min(s, n);             // n = out of the table
            }
        }

        // Backward DP: f[s] = least cost of units u..U-1 whose increments sum to exactly s steps.
        double[] next = new double[n], cur = new double[n];
        java.util.Arrays.fill(next, Double.POSITIVE_INFINITY);
        next[0] = 0;
        byte[][] choice = new byte[U][n];
        for (int u = U - 1; u >= 0; u--) {
            List<Option> opts = units.get(u);
            byte[] ch = choice[u];
            for (int s = 0; s < n; s++) {
                double best = Double.POSITIVE_INFINITY;
                int arg = -1;
                for (int k = 0; k < opts.size(); k++) {
                    int rest = s - incSteps[u][k];
                    if (rest < 0 || next[rest] == Double.POSITIVE_INFINITY) continue;
                    double c = opts.get(k).cost() + next[rest];
                    if (c < best) { best = c; arg = k; }           // strict: earliest option wins ties
                }
                cur[s] = best;
                ch[s] = (byte) arg;
            }
            double[] t = next; next = cur; cur = t;
        }
        int sBest = -1;
        for (int s = 0; s < n; s++) if (next[s] < (sBest < 0 ? Double.POSITIVE_INFINITY : next[sBest])) sBest = s;
        if (sBest < 0) throw new IllegalStateException("no configuration fits although the smallest does");

        int[] pick = new int[U], bits = new int[U];
        long size = 0;
        for (int u = 0, s = sBest; u < U; u++) {
            int k = choice[u][s];
            pick[u] = k;
            bits[u] = units.get(u).get(k).bits();
            size += units.get(u).get(k).size();
            s -= incSteps[u][k];
        }
        if (size > budget) throw new IllegalStateException("allocation of " + size + " exceeds the budget " + budget);
        return new Result(pick, bits, size, next[sBest], step, exact);
    }

    private static long gcd(long a, long b) {
        while (b != 0) { long t = a % b; a = b; b = t; }
        return a;
    }

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }
}
