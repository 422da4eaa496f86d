package io.vitq.cli;

import io.vitq.data.Dataset;
import io.vitq.data.Preprocessing;
import io.vitq.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;

/** Images for the commands: datasets as streamed batches, single files as one batch; option checks. */
final class Inputs {
    private Inputs() {}

    /** See {@link io.vitq.eval.Pipeline#checkLabels}. */
    static Dataset checkLabels(Path data, Dataset ds, int classes) {
        return io.vitq.eval.Pipeline.checkLabels(data, ds, classes);
    }

    /** See {@link io.vitq.eval.Pipeline#dataset}; notes a {@code --limit} beyond the data. */
    static Dataset dataset(Path data, Integer limit) {
        Dataset ds = io.vitq.eval.Pipeline.dataset(data, limit);
        noteShortData(data, limit, ds.size());
        return ds;
    }

    /** A {@code --limit} larger than the data means all of it: say so, as the user asked for more. */
    static void noteShortData(Path data, Integer limit, int images) {
        if (limit != null && images < limit)
            System.err.println("vitq: note: --limit " + limit + ": " + data + " holds " + images + (images == 1 ? " image" : " images")
                    + "; using all of them");
    }

    /** Decodes and preprocesses the given image files into one batch [N, 3, S, S]. */
    static Tensor preprocess(List<Path> images, Preprocessing pre) {
        return io.vitq.eval.Pipeline.preprocess(images, pre);
    }

    static void checkPositive(String option, int value) {
        if (value <= 0) throw new Main.UserException(option + " must be a positive number, got " + value);
    }

    /** Positive and at most {@code max}; {@code why} says what makes larger values unreasonable. */
    static void checkPositive(String option, int value, int max, String why) {
        checkPositive(option, value);
        if (value > max) throw new Main.UserException(option + " " + value + ": at most " + max + " (" + why + ")");
    }
}
