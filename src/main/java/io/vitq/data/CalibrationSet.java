package io.vitq.data;

import io.vitq.tensor.Parallel;
import io.vitq.tensor.Tensor;

import java.nio.file.Path;

/**
 * The calibration images, decoded and preprocessed once with the model's eval transform (the
 * reference calibrates on the eval transform, without augmentation) and kept as one batch.
 *
 * @param images [N, 3, S, S]
 * @param labels class index per image, or {@link Dataset#NO_LABEL}
 */
public record CalibrationSet(Tensor images, int[] labels, String description) {

    /** The first {@code size} images of a folder or list file. */
    public static CalibrationSet load(Path data, int size, Preprocessing pre) {
        Dataset ds = open(data, size);
        EvalTransform t = new EvalTransform(pre);
        int per = t.imageFloats(), S = pre.inputSize();
        float[] x = new float[size * per];
        int[] labels = new int[size];
        // decoding dominates; one image per task
        Parallel.forEach(size, i -> t.load(ds.path(i), x, i * per));
        for (int i = 0; i < size; i++) labels[i] = ds.label(i);
        return new CalibrationSet(new Tensor(x, size, 3, S, S), labels, data.getFileName().toString());
    }

    /**
     * The first {@code size} calibration images, listed but not decoded: a missing file or too few
     * images fail here, so a command can check them before hours of other work.
     */
    public static Dataset open(Path data, int size) {
        Dataset ds = Dataset.open(data, size);
        if (ds.size() < size) {
            throw new DatasetException(data + ": " + ds.size() + " images, fewer than the " + size + " requested for calibration");
        }
        return ds;
    }

    public int size() { return labels.length; }

    /** The labels, or null when any image is unlabelled. */
    public int[] labelsOrNull() {
        for (int l : labels) if (l == Dataset.NO_LABEL) return null;
        return labels.clone();
    }
}
