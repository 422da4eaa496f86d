package io.vitq.eval;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * One evaluation split into shards of the image list and merged back exactly, so that a cluster
 * reports what one process would: every shard starts at a multiple of the batch size, so each batch
 * holds the same images as in the unsplit run (and the model computes the same logits), and the
 * merge adds integer counts and concatenates per-image results in image order.
 */
public final class EvalShards {
    private EvalShards() {}

    /** Images {@code from} (inclusive) to {@code to} (exclusive) of the evaluation's list. */
    public record Range(int from, int to) implements Serializable {
        public int size() { return to - from; }
    }

    /**
     * Consecutive ranges covering {@code images} images, each a whole number of batches of about
     * {@code shardImages} images (at least one batch), the last one taking the remainder.
     */
    public static List<Range> ranges(int images, int batch, int shardImages) {
        if (images <= 0 || batch <= 0 || shardImages <= 0)
            throw new IllegalArgumentException("images " + images + ", batch " + batch + ", shard " + shardImages + ": must be positive");
        int per = Math.max(1, shardImages / batch) * batch;
        List<Range> r = new ArrayList<>();
        for (int from = 0; from < images; from += per) r.add(new Range(from, Math.min(images, from + per)));
        return r;
    }

    /**
     * The evaluation of all shards, in the order given (the order of their ranges): counts added,
     * predictions and per-image comparisons concatenated, the mean KL summed in image order as
     * {@link Evaluator} sums it. {@code dataName} names the images as the unsplit run would;
     * {@code wallSeconds} is the split run's own wall time; forward seconds are the shards' sum (busy
     * time, not elapsed).
     */
    public static EvalResult merge(List<EvalResult> parts, String dataName, double wallSeconds) {
        if (parts.isEmpty()) throw new IllegalArgumentException("no shards to merge");
        EvalResult first = parts.get(0);
        int images = 0, labelled = 0, c1 = 0, c5 = 0, agree = 0, refCorrect = 0;
        double forward = 0;
        List<Prediction> preds = new ArrayList<>();
        List<TopK> refTop = new ArrayList<>();
        List<double[]> kls = new ArrayList<>();
        boolean compared = first.comparison() != null;
        for (EvalResult p : parts) {
            if ((p.comparison() != null) != compared) throw new IllegalArgumentException("shards with and without the float comparison");
            images += p.images();
            labelled += p.labelled();
            c1 += p.top1Correct();
            c5 += p.top5Correct();
            forward += p.forwardSeconds();
            preds.addAll(p.predictions());
            if (compared) {
                FpComparison c = p.comparison();
                agree += c.top1Agree();
                refCorrect += c.referenceTop1Correct();
                refTop.addAll(c.reference());
                kls.add(c.imageKl());
            }
        }
        FpComparison comparison = null;
        if (compared) {
            double[] kl = new double[kls.stream().mapToInt(k -> k.length).sum()];
            int at = 0;
            for (double[] k : kls) {
                System.arraycopy(k, 0, kl, at, k.length);
                at += k.length;
            }
            if (kl.length != images) throw new IllegalArgumentException("shards without their per-image KL cannot be merged exactly");
            comparison = new FpComparison(images, agree, FpComparison.meanKl(kl), refCorrect, refTop, kl);
        }
        return new EvalResult(first.model(), dataName, images, labelled, c1, c5, forward, wallSeconds, first.batch(),
                first.threads(), preds, comparison);
    }
}
