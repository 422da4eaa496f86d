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
 * top, {@code S2 + 2 z s S1 + z^2 s^2 N} for the bottom. Per group and step that is one pass over the
 * weights and two over the 2^k codes, where comparing every clipped weight with every z it reaches
 * cost about |c| steps per weight (11 % of a W6A6 calibration). The sums run in another order than
 * the direct definition, so errors equal to the last few bits may rank the other way;
 * {@code ZeroPointChoiceTest} holds the choice to the direct definition's least error.
 */
final class ZeroPointChoice {
    private final int top, mid;
    /** Per code magnitude 1..top, and top + 1 for every larger one: count, sum of w, sum of w^2 - d0^2; [0] top side, [1] bottom. */
    private final double[][] count, sum, square;

    /** For k-bit codes. One instance per thread: it holds the scratch sums. */
    ZeroPointChoice(int bits) {
        top = (1 << bits) - 1;
        mid = 1 << (bits - 1);
        count = new double[2][top + 2];
        sum = new double[2][top + 2];
        square = new double[2][top + 2];
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
                sum[side][bin] += v;
                square[side][bin] += v * v - d0 * d0;
            }
        // extra[z]: the error clipping adds at zero point z
        double[] extra = new double[top + 1];
        double n = 0, s1 = 0, s2 = 0;
        for (int h = top; h >= 0; h--) {   // the top side: codes above h = top - z
            n += count[0][h + 1];
            s1 += sum[0][h + 1];
            s2 += square[0][h + 1];
            double hs = h * step;
            extra[top - h] += s2 - 2 * hs * s1 + hs * hs * n;
        }
        n = 0;
        s1 = 0;
        s2 = 0;
        for (int z = top; z >= 0; z--) {   // the bottom side: codes below -z
            n += count[1][z + 1];
            s1 += sum[1][z + 1];
            s2 += square[1][z + 1];
            double zs = z * step;
            extra[z] += s2 + 2 * zs * s1 + zs * zs * n;
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
