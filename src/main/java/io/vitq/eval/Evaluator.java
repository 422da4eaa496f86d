package io.vitq.eval;

import io.vitq.data.Batch;
import io.vitq.model.Executor;
import io.vitq.model.Model;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.Tensor;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntConsumer;

/** Runs a model over batches and measures top-1/top-5 and throughput. */
public final class Evaluator {
    private Evaluator() {}

    /** The model an evaluation compares with (its logits for a batch of images), e.g. the float model. */
    @FunctionalInterface
    public interface Reference {
        Tensor logits(Tensor images);

        /** {@code model} run by {@code ex}; null when {@code ex} is null. */
        static Reference of(Model model, Executor ex) {
            return ex == null ? null : images -> model.forward(images, ex);
        }
    }

    /**
     * @param progress called with the number of images done after each batch (may be null)
     */
    public static EvalResult run(Model model, Executor ex, String dataName, Iterator<Batch> batches, int batchSize,
                                 IntConsumer progress) {
        return run(model, ex, (Reference) null, dataName, batches, batchSize, progress);
    }

    /**
     * @param reference when non-null (e.g. float execution of a quantized model), each batch also
     *                  runs through it (not timed) and the result carries the {@link FpComparison}
     * @param progress  called with the number of images done after each batch (may be null)
     */
    public static EvalResult run(Model model, Executor ex, Executor reference, String dataName, Iterator<Batch> batches,
                                 int batchSize, IntConsumer progress) {
        return run(model, ex, Reference.of(model, reference), dataName, batches, batchSize, progress);
    }

    /** As above, compared with any model's logits (another checkpoint: the original float model of a quantized file). */
    public static EvalResult run(Model model, Executor ex, Reference reference, String dataName, Iterator<Batch> batches,
                                 int batchSize, IntConsumer progress) {
        int agree = 0, refCorrect = 0;
        java.util.List<Double> kls = new ArrayList<>();
        List<TopK> refTop = new ArrayList<>();
        List<Prediction> preds = new ArrayList<>();
        int labelled = 0, c1 = 0, c5 = 0;
        long forwardNanos = 0, start = System.nanoTime();
        while (batches.hasNext()) {
            Batch b = batches.next();
            long t0 = System.nanoTime();
            Tensor logits = model.forward(b.images(), ex);
            forwardNanos += System.nanoTime() - t0;
            int nc = logits.dim(1);
            if (reference != null) {
                float[] ref = reference.logits(b.images()).data();
                for (int i = 0; i < b.labels().length; i++) {
                    TopK r = TopK.of(ref, i * nc, nc, 5);
                    refTop.add(r);
                    if (r.top1() == TopK.of(logits.data(), i * nc, nc, 1).top1()) agree++;
                    if (b.labels()[i] >= 0 && r.top1() == b.labels()[i]) refCorrect++;
                    kls.add(FpComparison.kl(ref, i * nc, logits.data(), i * nc, nc));
                }
            }
            for (int i = 0; i < b.labels().length; i++) {
                TopK top = TopK.of(logits.data(), i * nc, nc, 5);
                int label = b.labels()[i];
                preds.add(new Prediction(b.paths().get(i).toString(), label, top));
                if (label >= 0) {
                    labelled++;
                    if (top.top1() == label) c1++;
                    if (top.contains(label)) c5++;
                }
            }
            if (progress != null) progress.accept(preds.size());
        }
        double wall = (System.nanoTime() - start) / 1e9;
        double[] imageKl = kls.stream().mapToDouble(Double::doubleValue).toArray();
        return new EvalResult(model.name(), dataName, preds.size(), labelled, c1, c5, forwardNanos / 1e9, wall,
                batchSize, Parallel.threads(), preds,
                reference == null ? null : new FpComparison(preds.size(), agree, FpComparison.meanKl(imageKl),
                        refCorrect, refTop, imageKl));
    }
}
