package io.vitq.model;

import io.vitq.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The float32 activation-gradient backward of any model written against {@link Ops}: the gradient
 * of a task loss at every quantizable op's output, for the Hessian-guided metric of PTQ4ViT
 * (ALGORITHMS.md, decision 1 and section 2.1), with each op's float input(s) and output.
 *
 * <p><b>Loss.</b> Cross-entropy of the float model's logits against target classes, averaged over
 * the batch (PyTorch's {@code reduction='mean'}): {@code L = (1/B) sum_b [logsumexp(z_b) - z_b[t_b]]},
 * so {@code dL/dz = (softmax(z) - onehot(t)) / B}. Default targets (null) are the float model's
 * own top-1 predictions (label-free); pass true labels as the option. The 1/B only scales every G
 * by the same positive factor, which does not change any argmax of the Hessian metric.
 *
 * <p><b>Memory.</b> The forward ({@link Eager} with {@link FloatExecutor}: the logits are the
 * model's own, bit for bit) keeps only each segment's input. The backward walks the segments in
 * reverse, re-runs each one from its stored input on a {@link Tape} (bit-identical to the forward)
 * and differentiates it from the gradient at its output, reporting every op to the
 * {@link BackwardSink}; a segment's buffers are freed before the next. So memory stays at a few
 * segment-sized buffers whatever the depth (ViT-B/384 calibrates in 24 GiB).
 */
public final class Backward {
    private Backward() {}

    /** The forward's logits {@code [B, classes]}, the targets used and the loss (batch mean). */
    public record Result(float[] logits, int[] targets, double loss, int batch, int classes) {}

    /** Gradients only, collected as tensors by op id (small models; see {@link BackwardSink#gradients}). */
    public static Result run(Model m, Tensor images, int[] targets, Map<String, Tensor> gradients) {
        return run(m, images, targets, BackwardSink.gradients(gradients));
    }

    /**
     * One float forward and one backward over {@code images [B, C, S, S]}.
     *
     * @param targets target class per image, or null for the model's own top-1 (first maximum)
     */
    public static Result run(Model m, Tensor images, int[] targets, BackwardSink sink) {
        List<Act> inputs = new ArrayList<>();
        Tensor logits = Eager.forwardKeepingInputs(m, images, inputs);
        int B = logits.dim(0), NC = logits.dim(1);
        Loss loss = crossEntropy(logits.data(), targets, B, NC);
        List<Segment> segments = m.segments();
        float[] dy = loss.gradLogits();
        for (int i = segments.size() - 1; i >= 0; i--) {
            Act x = inputs.get(i);
            inputs.set(i, null);
            Tape tape = new Tape(sink);
            Act y = segments.get(i).forward(x, tape);
            dy = tape.backward(y, dy, x);
            if (i > 0 && dy == null) throw new IllegalStateException(segments.get(i).name() + ": no gradient reached its input");
        }
        return new Result(logits.data(), loss.targets(), loss.value(), B, NC);
    }

    /**
     * Cross-entropy of {@code logits} against {@code targets}, averaged over the batch, and its
     * gradient at the logits: {@code L = (1/B) sum_b [logsumexp(z_b) - z_b[t_b]]},
     * {@code dL/dz = (softmax(z) - onehot(t)) / B}.
     */
    record Loss(int[] targets, float[] gradLogits, double value) {}

    /** @param targets target class per image, or null for the logits' own top-1 (first maximum) */
    static Loss crossEntropy(float[] logits, int[] targets, int B, int NC) {
        int[] tg = targets != null ? targets.clone() : topOne(logits, B, NC);
        if (tg.length != B) throw new IllegalArgumentException("targets: " + tg.length + " values for a batch of " + B);
        float[] g = new float[B * NC];
        double loss = 0;
        for (int b = 0; b < B; b++) {
            int t = tg[b];
            if (t < 0 || t >= NC) throw new IllegalArgumentException("target " + t + " of image " + b + " is not in [0, " + NC + ")");
            int o = b * NC;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < NC; c++) max = Math.max(max, logits[o + c]);
            double sum = 0;
            for (int c = 0; c < NC; c++) sum += Math.exp(logits[o + c] - max);
            loss += (Math.log(sum) + max - logits[o + t]) / B;
            for (int c = 0; c < NC; c++) {
                double p = Math.exp(logits[o + c] - max) / sum;
                g[o + c] = (float) ((p - (c == t ? 1 : 0)) / B);
            }
        }
        return new Loss(tg, g, loss);
    }

    /** Index of the first maximum of each row of {@code logits [B, NC]}. */
    public static int[] topOne(float[] logits, int B, int NC) {
        int[] t = new int[B];
        for (int b = 0; b < B; b++) {
            int best = 0;
            for (int c = 1; c < NC; c++) if (logits[b * NC + c] > logits[b * NC + best]) best = c;
            t[b] = best;
        }
        return t;
    }
}
