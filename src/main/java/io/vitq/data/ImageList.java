package io.vitq.data;

import java.nio.file.Path;
import java.util.List;

/**
 * A {@link Dataset} held in memory: what {@link ListFile} and {@link ImageFolder} produce.
 *
 * @param classNames class names by label index when known (the wnid folders), else empty
 */
public record ImageList(String source, List<Entry> entries, List<String> classNames) implements Dataset {

    /** One image and its label ({@link Dataset#NO_LABEL} if unknown). */
    public record Entry(Path path, int label) {}

    public ImageList {
        entries = List.copyOf(entries);
        classNames = List.copyOf(classNames);
    }

    @Override public int size() { return entries.size(); }

    @Override public Path path(int i) { return entries.get(i).path(); }

    @Override public int label(int i) { return entries.get(i).label(); }

    @Override
    public String describe() {
        return source + " (" + size() + (size() == 1 ? " image, " : " images, ") + (hasLabels() ? "labelled" : "not all labelled") + ")";
    }
}
