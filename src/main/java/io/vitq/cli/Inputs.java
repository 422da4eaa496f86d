package io.vitq.cli;

import io.vitq.data.Dataset;
import io.vitq.data.DatasetException;
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

    /** See {@link io.vitq.eval.Pipeline#dataset}; notes a {@code --limit} beyond the data; errors name {@code --data}. */
    static Dataset dataset(Path data, Integer limit) {
        Dataset ds = listData(data, limit);
        noteShortData(data, limit, ds.size());
        return ds;
    }

    /** The images of {@code --data}, listed but not decoded (a command checks them before loading its model). */
    static Dataset listData(Path data, Integer limit) {
        try {
            return io.vitq.eval.Pipeline.dataset(data, limit);
        } catch (DatasetException e) {
            throw named("--data", e);
        }
    }

    /**
     * The first {@code size} calibration images, listed but not decoded, so that a missing file or too
     * few images fail before the model loads; errors name {@code --calib}.
     */
    static Dataset calibration(Path calib, int size) {
        checkPositive("--calib-size", size);
        try {
            return io.vitq.data.CalibrationSet.open(calib, size);
        } catch (DatasetException e) {
            throw named("--calib", e);
        }
    }

    /** The option the data came from, before the library's message (which names the file and line). */
    private static DatasetException named(String option, DatasetException e) {
        return new DatasetException(option + ": " + e.getMessage(), e);
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

    /**
     * {@code file} is a regular file, else "{@code what file}: is a directory" ({@code directoryHint}
     * after it, e.g. where a folder goes instead) or "no such file".
     */
    static void requireFile(String what, Path file, String directoryHint) {
        if (!java.nio.file.Files.isRegularFile(file))
            throw new Main.UserException(what + " " + file + ": "
                    + (java.nio.file.Files.isDirectory(file) ? "is a directory" + directoryHint : "no such file"));
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
