package io.vitq.calib;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * VT-PTQ's ranking loss on attention scores (Liu et al., eq. 13; ALGORITHMS 9.3): for every row of
 * every head's score map A = q·kᵀ and each pair (i, j) of its entries,
 * {@code Φ((Â_i - Â_j) · sign(A_i - A_j))} with the hinge {@code Φ(p) = max(θ - p, 0)}: pairs whose
 * quantized scores keep the float order with a margin θ cost nothing.
 *
 * <p>The float scores are fixed during a search, so each row's order by A is computed once. In that
 * order, the pair (i &lt; j) with {@code A_i < A_j} costs {@code max(θ - (Â_j - Â_i), 0)}: one
 * vectorised pass over j per i, O(n²/16) per row instead of sorting the candidate's row. Pairs with
 * equal float scores (sign 0) cost exactly θ each, as the formula says.
 */
final class RankingLoss {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;

    private final int rows, n;
    private final float theta;
    /** Per row, the column indices in ascending order of the float score. */
    private final int[] order;
    /** Per row, the float scores in that order (for the ties). */
    private final float[] sorted;

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /** @param a the float score maps, {@code rows} rows of n scores each (all groups and heads) */
    RankingLoss(float[] a, int rows, int n, float theta) {
        this.rows = rows;
        this.n = n;
        this.theta = theta;
        order = new int[rows * n];
        sorted = new float[rows * n];
        long[] keys = new long[n];
        for (int r = 0; r < rows; r++) {
            int off = r * n;
            for (int j = 0; j < n; j++) keys[j] = ((long) sortable(a[off + j]) << 32) | j;
            java.util.Arrays.sort(keys);
            for (int j = 0; j < n; j++) {
                int idx = (int) keys[j];
                order[off + j] = idx;
                sorted[off + j] = a[off + idx];
            }
        }
    }

    /** Pairs per row, {@code n(n-1)/2}. */
    long pairsPerRow() { return (long) n * (n - 1) / 2; }

    /**
     * Sum of the hinge over all pairs of the {@code count} rows starting at row {@code r0} of the
     * maps, for candidate scores {@code q} holding just those rows (from offset 0).
     */
    double sumInto(float[] q, int r0, int count) {
        int L = FS.length(), padded = n + 4 * L;
        float[] b = SCRATCH.get();
        if (b.length < padded) {
            b = new float[padded];
            SCRATCH.set(b);
        }
        // past the row: +inf, whose hinge max(c - inf, 0) is 0, so the vector loop needs no tail
        java.util.Arrays.fill(b, n, padded, Float.POSITIVE_INFINITY);
        double total = 0;
        for (int r = r0; r < r0 + count; r++) {
            int off = r * n, qOff = (r - r0) * n;
            for (int j = 0; j < n; j++) b[j] = q[qOff + order[off + j]];
            // four accumulators: one would chain every add on the previous one's latency
            FloatVector acc0 = FloatVector.zero(FS), acc1 = FloatVector.zero(FS), acc2 = FloatVector.zero(FS),
                    acc3 = FloatVector.zero(FS);
            long ties = 0;
            int tieEnd = 0;
            for (int i = 0; i < n; i++) {
                if (tieEnd <= i) {
                    tieEnd = i + 1;
                    while (tieEnd < n && sorted[off + tieEnd] == sorted[off + i]) tieEnd++;
                }
                ties += tieEnd - i - 1;
                FloatVector cv = FloatVector.broadcast(FS, theta + b[i]);
                for (int j = tieEnd; j < n; j += 4 * L) {
                    acc0 = acc0.add(cv.sub(FloatVector.fromArray(FS, b, j)).max(0f));
                    acc1 = acc1.add(cv.sub(FloatVector.fromArray(FS, b, j + L)).max(0f));
                    acc2 = acc2.add(cv.sub(FloatVector.fromArray(FS, b, j + 2 * L)).max(0f));
                    acc3 = acc3.add(cv.sub(FloatVector.fromArray(FS, b, j + 3 * L)).max(0f));
                }
            }
            total += acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD) + (double) theta * ties;
        }
        return total;
    }

    /** A key whose signed-int order is the float order (for finite values). */
    private static int sortable(float f) {
        int bits = Float.floatToIntBits(f);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }
}
