package io.vitq.eval;

import io.vitq.data.Dataset;
import io.vitq.data.DatasetException;

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

    /**
     * Images {@code from} (inclusive) to {@code to} (exclusive) of the evaluation's list; when cut from
     * a known list ({@link #ranges(Dataset, int, int)}), also that list's size and the shard's first and
     * last image, so that a worker listing other images refuses instead of evaluating them.
     */
    public record Range(int from, int to, int listSize, String first, String last) implements Serializable {
        public Range(int from, int to) {
            this(from, to, -1, null, null);
        }

        public int size() { return to - from; }

        /** This shard of {@code ds}, after checking that {@code ds} is the list it was cut from. */
        public Dataset of(Dataset ds, Object data) {
            if (listSize >= 0 && (ds.size() != listSize || !ds.path(from).toString().equals(first)
                    || !ds.path(to - 1).toString().equals(last))) {
                throw new DatasetException("--data " + data + ": this machine lists " + ds.size() + " images"
                        + (ds.size() > from ? " (image " + from + ": " + ds.path(from) + ")" : "") + " where the driver listed "
                        + listSize + " (image " + from + ": " + first + "); every worker must see the same images at the same paths");
            }
            return ds.slice(from, to);
        }
    }

    /** {@link #ranges(int, int, int)} over {@code ds}, each range knowing the list it was cut from. */
    public static List<Range> ranges(Dataset ds, int batch, int shardImages) {
        List<Range> r = new ArrayList<>();
        for (Range g : ranges(ds.size(), batch, shardImages))
            r.add(new Range(g.from(), g.to(), ds.size(), ds.path(g.from()).toString(), ds.path(g.to() - 1).toString()));
        return r;
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
