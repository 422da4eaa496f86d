package io.vitq.eval;

import java.util.List;

/**
 * How far a top-1 accuracy measured on a finite image set can be read. At 4 weight bits a model's
 * top-1 on 1300 images moves by more than a point between calibrations that agree with the float model
 * equally well (docs/LOWBIT.md 2.2, the draws of the rotation's signs), so {@code vitq eval} states the
 * uncertainty beside the number:
 * <ul>
 *   <li>the 95 % Wilson score interval of the top-1 (the images a sample of their population), and</li>
 *   <li>with {@code --compare-fp}, the paired comparison with the float model on the same images: the
 *       images only one of the two gets right, and McNemar's exact two-sided test of whether those
 *       counts differ by more than chance (a binomial test with p = 1/2 on the discordant images).</li>
 * </ul>
 */
public final class TopOneUncertainty {
    /** The two-sided 95 % quantile of the standard normal distribution. */
    static final double Z95 = 1.959963984540054;

    private TopOneUncertainty() {}

    /** The 95 % Wilson score interval of {@code correct} of {@code n}, as fractions {@code {lo, hi}}. */
    public static double[] wilson(int correct, int n) {
        if (n <= 0 || correct < 0 || correct > n) throw new IllegalArgumentException(correct + " of " + n);
        double p = (double) correct / n, z2 = Z95 * Z95;
        double centre = (p + z2 / (2.0 * n)) / (1 + z2 / n);
        double half = Z95 * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
        // the ends are exact at 0 and 1 (the formula leaves a rounding error there)
        return new double[] {correct == 0 ? 0 : Math.max(0, centre - half), correct == n ? 1 : Math.min(1, centre + half)};
    }

    /** {@link #wilson} in percent: {@code {lo, hi}}. */
    public static double[] wilsonPercent(int correct, int n) {
        double[] ci = wilson(correct, n);
        return new double[] {100 * ci[0], 100 * ci[1]};
    }

    /**
     * McNemar's exact test: the two-sided p-value of {@code b} images right only in one model against
     * {@code c} right only in the other, {@code min(1, 2 P(X <= min(b, c)))} for X ~ Binomial(b + c, 1/2);
     * 1 when there are none. Summed in logarithms, so that 0.5^n does not underflow for n above 1074.
     */
    public static double mcnemarExact(int b, int c) {
        if (b < 0 || c < 0) throw new IllegalArgumentException("discordant counts " + b + ", " + c);
        int n = b + c, k = Math.min(b, c);
        if (n == 0) return 1;
        double logPmf = -n * Math.log(2), max = logPmf, sum = 0;
        double[] terms = new double[k + 1];
        for (int i = 0; i <= k; i++) {
            terms[i] = logPmf;
            max = Math.max(max, logPmf);
            logPmf += Math.log((double) (n - i) / (i + 1));
        }
        for (double t : terms) sum += Math.exp(t - max);
        return Math.min(1, 2 * Math.exp(max + Math.log(sum)));
    }

    /**
     * The labelled images that only the float model ({@code [0]}) or only the evaluated model
     * ({@code [1]}) gets right at top-1; {@code reference} holds the float model's top-5 in the order
     * of {@code predictions}.
     */
    public static int[] discordant(List<Prediction> predictions, List<TopK> reference) {
        if (predictions.size() != reference.size())
            throw new IllegalArgumentException(predictions.size() + " predictions against " + reference.size() + " float ones");
        int floatOnly = 0, modelOnly = 0;
        for (int i = 0; i < predictions.size(); i++) {
            Prediction p = predictions.get(i);
            if (p.label() < 0) continue;
            boolean f = reference.get(i).top1() == p.label(), m = p.top().top1() == p.label();
            if (f && !m) floatOnly++;
            if (m && !f) modelOnly++;
        }
        return new int[] {floatOnly, modelOnly};
    }
}
