package io.vitq.eval;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One model's predictions against a reference's (the float model's, or another recipe's) on the same
 * images, matched by path: the model's top-1, how often its top-1 is the reference's, the mean
 * {@code -log p} it gives the reference's top-1 class, and the labelled images only one of the two gets
 * right (for {@link TopOneUncertainty#mcnemarExact}). The prediction files hold top-5 probabilities only,
 * so a reference class outside the model's top-5 counts as probability {@value #FLOOR}.
 */
public record PredictionComparison(int images, int labelled, int top1Correct, int agreement, double meanNegLogP,
                                   int referenceOnly, int modelOnly) {
    /** The probability a reference top-1 outside the model's top-5 counts as. */
    public static final double FLOOR = 1e-4;

    /**
     * @throws IllegalArgumentException when the two do not hold the same images (by path) with the same
     *                                  labels, or one holds an image twice; the message names the image
     */
    public static PredictionComparison of(List<Prediction> reference, List<Prediction> model) {
        Map<String, Prediction> ref = new HashMap<>();
        for (Prediction p : reference)
            if (ref.put(p.path(), p) != null) throw new IllegalArgumentException("the reference holds " + p.path() + " twice");
        if (model.size() != reference.size())
            throw new IllegalArgumentException("it holds " + model.size() + (model.size() == 1 ? " image" : " images") + ", the reference "
                    + reference.size());
        int labelled = 0, correct = 0, agree = 0;
        double nll = 0;
        java.util.Set<String> seen = new java.util.HashSet<>();
        List<TopK> aligned = new java.util.ArrayList<>(model.size());   // the reference's top-5 in the model's order
        for (Prediction p : model) {
            Prediction r = ref.get(p.path());
            if (r == null) throw new IllegalArgumentException(p.path() + " is not among the reference's images");
            if (!seen.add(p.path())) throw new IllegalArgumentException("it holds " + p.path() + " twice");
            if (r.label() != p.label())
                throw new IllegalArgumentException(p.path() + ": label " + p.label() + " against the reference's " + r.label());
            aligned.add(r.top());
            int want = r.top().top1();
            if (p.top().top1() == want) agree++;
            double prob = FLOOR;
            int[] c = p.top().classes();
            for (int i = 0; i < c.length; i++) if (c[i] == want) prob = Math.max(p.top().probs()[i], FLOOR);
            nll -= Math.log(prob);
            if (p.label() >= 0) {
                labelled++;
                if (p.top().top1() == p.label()) correct++;
            }
        }
        int[] d = TopOneUncertainty.discordant(model, aligned);
        return new PredictionComparison(model.size(), labelled, correct, agree, model.isEmpty() ? Double.NaN : nll / model.size(),
                d[0], d[1]);
    }

    /** Top-1 in percent of the labelled images (NaN without labels). */
    public double top1() { return labelled == 0 ? Double.NaN : 100.0 * top1Correct / labelled; }

    /** The 95 % Wilson interval of the top-1, in percent (null without labels). */
    public double[] interval() {
        return labelled == 0 ? null : TopOneUncertainty.wilsonPercent(top1Correct, labelled);
    }

    /** McNemar's exact two-sided p of {@link #referenceOnly} against {@link #modelOnly}. */
    public double mcnemarP() { return TopOneUncertainty.mcnemarExact(referenceOnly, modelOnly); }
}
