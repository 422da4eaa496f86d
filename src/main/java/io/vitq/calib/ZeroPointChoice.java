package io.vitq.calib;

/**
 * The zero point of least squared weight error for one scale group and one step s: the z in
 * {@code [0, 2^k - 1]} minimising {@code sum (w - s clamp(rint(w / s), -z, 2^k - 1 - z))^2}, ties to
 * the z nearest {@code 2^(k-1)} (the symmetric grid) [INFERRED].
 *
 * <p>A weight whose code c = rint(w / s) is positive is clipped, to {@code h = 2^k - 1 - z}, only for
 * the h below c; one with c negative, to {@code -z}, only for the z below -c. So with, per code, the
 * count, the sum of w and the sum of {@code w^2 - d0^2} (d0 = w - c s, the unclipped error), suffix
 * sums over the codes give every z's extra error in O(1): {@code S2 - 2 h s S1 + h^2 s^2 N} for the
 * top, {@code S2 + 2 z s S1 + z^2 s^2 N} for the bottom (one loop: the bottom side sums -w). Per group and step that is one pass over the
 * weights and two over the 2^k codes, where comparing every clipped weight with every z it reaches
 * cost about |c| steps per weight (11 % of a W6A6 calibration). The sums run in another order than
 * the direct definition, so errors equal to the last few bits may rank the other way;
 * {@code ZeroPointChoiceTest} holds the choice to the direct definition's least error.
 */
final class ZeroPointChoice {
    private final int top, mid;
    /**
     * Per side of zero ([0] the positive codes, [1] the negative ones) and code magnitude 1..top, and
     * top + 1 for every larger one: the count, the sum of w (of -w on the negative side), and the sum
     * of {@code w^2 - d0^2}. With the negative side's weights negated, clipping to the bound b (the code b
     * on the top side, -b at the bottom) adds {@code S2 - 2 b s S1 + b^2 s^2 N} on both sides.
     */
    private final double[][] count, sum, square;
    /** The error clipping adds at each zero point. */
    private final double[] extra;

    /** For k-bit codes; holds scratch sums, so one instance per thread. */
    ZeroPointChoice(int bits) {
        top = (1 << bits) - 1;
        mid = 1 << (bits - 1);
        count = new double[2][top + 2];
        sum = new double[2][top + 2];
        square = new double[2][top + 2];
        extra = new double[top + 1];
    }

    /** The best zero point for the weights {@code w[r * in .. (r + 1) * in)} of each row r in {@code rows}, at step {@code step}. */
    int best(float[] w, int[] rows, int in, double step) {
        for (int side = 0; side < 2; side++) {
            java.util.Arrays.fill(count[side], 0);
            java.util.Arrays.fill(sum[side], 0);
            java.util.Arrays.fill(square[side], 0);
        }
        double unclipped = 0;
        for (int r : rows)
            for (int k = r * in; k < (r + 1) * in; k++) {
                double v = w[k], c = Math.rint(v / step), d0 = v - c * step;
                unclipped += d0 * d0;
                if (c == 0) continue;
                int side = c > 0 ? 0 : 1;
                int bin = (int) Math.min(Math.abs(c), top + 1);
                count[side][bin]++;
                sum[side][bin] += side == 0 ? v : -v;
                square[side][bin] += v * v - d0 * d0;
            }
        java.util.Arrays.fill(extra, 0);
        for (int side = 0; side < 2; side++) {
            double n = 0, s1 = 0, s2 = 0;
            for (int b = top; b >= 0; b--) {   // the bound b: codes beyond it are clipped to it
                n += count[side][b + 1];
                s1 += sum[side][b + 1];
                s2 += square[side][b + 1];
                double bs = b * step;
                // the top side's bound is top - z, the bottom side's z
                extra[side == 0 ? top - b : b] += s2 - 2 * bs * s1 + bs * bs * n;
            }
        }
        int best = mid;
        double bestErr = unclipped + extra[mid];
        for (int z = 0; z <= top; z++) {
            double e = unclipped + extra[z];
            if (e < bestErr || (e == bestErr && Math.abs(z - mid) < Math.abs(best - mid))) {
                best = z;
                bestErr = e;
            }
        }
        return best;
    }
}
