package io.vitq.cli;

import io.vitq.data.Batch;
import io.vitq.data.BatchLoader;
import io.vitq.data.Dataset;
import io.vitq.data.EvalTransform;
import io.vitq.data.Preprocessing;
import io.vitq.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

/** Images for the commands: datasets as streamed batches, single files as one batch; option checks. */
final class Inputs {
    private Inputs() {}

    /** A dataset streamed as preprocessed batches (decoding overlaps the forward). */
    static final class Source implements AutoCloseable {
        private final Dataset dataset;
        private final BatchLoader loader;

        Source(Dataset dataset, BatchLoader loader) {
            this.dataset = dataset;
            this.loader = loader;
        }

        int size() { return dataset.size(); }

        Iterator<Batch> iterator() { return loader; }

        @Override
        public void close() { loader.close(); }
    }

    /** @param classes the model's number of classes, which the labels must fit ({@link #checkLabels}) */
    static Source open(Path data, Preprocessing pre, int classes, Integer limit, int batch) {
        Dataset ds = checkLabels(data, dataset(data, limit), classes);
        int b = Math.min(batch, ds.size()); // a batch never needs more room than the images
        if ((long) b * 3 * pre.inputSize() * pre.inputSize() > Integer.MAX_VALUE - 16)
            throw new Main.UserException("--batch " + batch + ": too large for one array of preprocessed images");
        return new Source(ds, new BatchLoader(ds, new EvalTransform(pre), b));
    }

    /**
     * Labels must be class indices of a model with {@code classes} classes; a class-folder dataset
     * must have one folder per class, since its labels are folder indices (torchvision's
     * ImageFolder) and a subset of the classes would shift them all silently.
     */
    static Dataset checkLabels(Path data, Dataset ds, int classes) {
        if (ds instanceof io.vitq.data.ImageList l && !l.classNames().isEmpty() && l.classNames().size() != classes) {
            throw new Main.UserException("--data " + data + ": " + l.classNames().size() + " class folders, but the model has "
                    + classes + " classes; folder labels are the folders' sorted indices, so every class needs a folder "
                    + "(empty ones count). For a subset of the classes use a list file ('path label' per line)");
        }
        for (int i = 0; i < ds.size(); i++) {
            if (ds.label(i) >= classes) {
                throw new Main.UserException("--data " + data + ": " + ds.path(i) + " has label " + ds.label(i)
                        + ", but the model has " + classes + " classes (0.." + (classes - 1) + ")");
            }
        }
        return ds;
    }

    /** The {@code --data} images (the first {@code limit} when given); an empty path or no images is an error. */
    static Dataset dataset(Path data, Integer limit) {
        if (data.toString().isBlank()) throw new Main.UserException("--data: empty path");
        if (!Files.exists(data)) throw new Main.UserException(data + ": no such file or directory (--data)");
        Dataset ds = limit == null ? Dataset.open(data) : Dataset.open(data, limit);
        if (ds.size() == 0) throw new Main.UserException(data + ": no images found");
        return ds;
    }

    /** Decodes and preprocesses the given image files into one batch [N, 3, S, S]. */
    static Tensor preprocess(List<Path> images, Preprocessing pre) {
        EvalTransform t = new EvalTransform(pre);
        int S = pre.inputSize(), per = t.imageFloats();
        float[] x = new float[images.size() * per];
        for (int i = 0; i < images.size(); i++) t.load(images.get(i), x, i * per);
        return new Tensor(x, images.size(), 3, S, S);
    }

    static void checkPositive(String option, int value) {
        if (value <= 0) throw new Main.UserException(option + " must be a positive number, got " + value);
    }
}
