package io.vitq.eval;

import java.io.Serializable;
import java.util.List;

/** Accuracy and speed of one evaluation run; {@code comparison} with the float model, or null. */
public record EvalResult(String model, String data, int images, int labelled, int top1Correct, int top5Correct,
                         double forwardSeconds, double wallSeconds, int batch, int threads,
                         List<Prediction> predictions, FpComparison comparison) implements Serializable {

    public double top1() { return labelled == 0 ? Double.NaN : 100.0 * top1Correct / labelled; }

    public double top5() { return labelled == 0 ? Double.NaN : 100.0 * top5Correct / labelled; }

    /** Throughput of the model forward alone. */
    public double forwardImagesPerSecond() { return images / forwardSeconds; }

    /** End-to-end throughput including decoding and preprocessing (overlapped with the forward). */
    public double wallImagesPerSecond() { return images / wallSeconds; }
}
