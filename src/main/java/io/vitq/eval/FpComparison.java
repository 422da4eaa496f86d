package io.vitq.eval;

import java.io.Serializable;
import java.util.List;

/**
 * How closely a quantized model follows its float model on the same images: top-1 agreement and
 * the mean KL divergence {@code KL(P_float || P_quantized)} of the softmax predictions (nats), the
 * float model's own top-1 on the labelled images, and its top-5 per image (in the order of
 * {@link EvalResult#predictions()}), so that where the two disagree can be looked at image by image.
 *
 * @param referenceTop1Correct labelled images the float model gets right (top-1)
 * @param reference            the float model's top-5 per image; empty when not kept
 * @param imageKl              KL per image, in the same order, whose sum in that order over {@code images} is
 *                             {@code meanKl}: split evaluations merge their shards through it exactly; empty
 *                             when not kept
 */
public record FpComparison(int images, int top1Agree, double meanKl, int referenceTop1Correct, List<TopK> reference,
                           double[] imageKl) implements Serializable {
    public FpComparison {
        reference = List.copyOf(reference);
    }

    public FpComparison(int images, int top1Agree, double meanKl, int referenceTop1Correct, List<TopK> reference) {
        this(images, top1Agree, meanKl, referenceTop1Correct, reference, new double[0]);
    }

    /** Agreement and KL only (no per-image float predictions kept). */
    public FpComparison(int images, int top1Agree, double meanKl) {
        this(images, top1Agree, meanKl, 0, List.of());
    }

    /** The mean KL the way {@link Evaluator} and {@link EvalShards#merge} both compute it: summed in image order. */
    static double meanKl(double[] imageKl) {
        double sum = 0;
        for (double k : imageKl) sum += k;
        return sum / Math.max(1, imageKl.length);
    }

    public double agreementPercent() { return images == 0 ? Double.NaN : 100.0 * top1Agree / images; }

    /** KL(p || q) of two logit rows, computed through log-softmax in double. */
    static double kl(float[] p, int pOff, float[] q, int qOff, int n) {
        double pm = Double.NEGATIVE_INFINITY, qm = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            pm = Math.max(pm, p[pOff + i]);
            qm = Math.max(qm, q[qOff + i]);
        }
        double ps = 0, qs = 0;
        for (int i = 0; i < n; i++) {
            ps += Math.exp(p[pOff + i] - pm);
            qs += Math.exp(q[qOff + i] - qm);
        }
        double lpz = pm + Math.log(ps), lqz = qm + Math.log(qs), kl = 0;
        for (int i = 0; i < n; i++) {
            double lp = p[pOff + i] - lpz, lq = q[qOff + i] - lqz;
            kl += Math.exp(lp) * (lp - lq);
        }
        return Math.max(kl, 0);
    }
}
