package io.vitq.data;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An ordered list of images with optional integer labels (class indices).
 *
 * <p>{@link #open} accepts the layouts this project meets:
 * <ul>
 *   <li>a folder: see {@link ImageFolder} (ImageNet {@code root/<wnid>/*.JPEG}, or a flat folder of
 *       images without labels);</li>
 *   <li>a list file: see {@link ListFile} ({@code path label} per line, also the
 *       {@code ./data/x.JPEG, 472} and tab-separated forms).</li>
 * </ul>
 */
public interface Dataset {
    /** Label of an image whose class is not known (flat folders, list lines without a label). */
    int NO_LABEL = -1;

    int size();

    /** Absolute, normalised path of image {@code i}. */
    Path path(int i);

    /** Class index of image {@code i}, or {@link #NO_LABEL}. */
    int label(int i);

    /** Where the images come from, for logs: e.g. {@code "dataset.txt (1300 images, labelled)"}. */
    String describe();

    /** True if every image has a label, so accuracy can be measured. */
    default boolean hasLabels() {
        for (int i = 0; i < size(); i++) if (label(i) == NO_LABEL) return false;
        return size() > 0;
    }

    /** Images {@code from} (inclusive) to {@code to} (exclusive), in order: one shard of a split evaluation. */
    default Dataset slice(int from, int to) {
        if (from < 0 || to > size() || from >= to)
            throw new IllegalArgumentException("images " + from + ".." + to + " of " + size() + ": not a non-empty range");
        Dataset whole = this;
        return new Dataset() {
            @Override public int size() { return to - from; }
            @Override public Path path(int i) { return whole.path(from + i); }
            @Override public int label(int i) { return whole.label(from + i); }
            @Override public String describe() { return "images " + from + ".." + (to - 1) + " of " + whole.describe(); }
        };
    }

    /** All images of a folder or list file. */
    static Dataset open(Path path) {
        return open(path, Integer.MAX_VALUE);
    }

    /**
     * The first {@code limit} images (the {@code --limit} option) of a folder or list file. Labels
     * are those of the full dataset; only the kept images are checked to exist.
     *
     * @throws DatasetException naming the file (and line) that is wrong
     */
    static Dataset open(Path path, int limit) {
        if (limit <= 0) throw new IllegalArgumentException("limit must be positive, got " + limit);
        if (Files.isDirectory(path)) return ImageFolder.scan(path, limit);
        if (Files.isRegularFile(path)) return ListFile.read(path, limit);
        throw new DatasetException(path + ": no such file or folder");
    }
}
