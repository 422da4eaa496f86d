package io.vitq.data;

import java.nio.file.Path;

/**
 * An image that cannot be read or decoded. The message starts with the file name, e.g.
 * {@code "x.jpg: not a JPEG or PNG image"}, so it can be shown to the user as is.
 */
public class ImageLoadException extends RuntimeException {
    private final Path path;

    public ImageLoadException(Path path, String problem) {
        super(path + ": " + problem);
        this.path = path;
    }

    public ImageLoadException(Path path, String problem, Throwable cause) {
        super(path + ": " + problem, cause);
        this.path = path;
    }

    /**
     * Re-throws on another thread (the consumer of a {@link BatchLoader}), the message followed by
     * {@code where}: the image's place in its dataset, so that a failure deep into a long evaluation
     * says how far it got.
     */
    public ImageLoadException(ImageLoadException original, String where) {
        super(original.getMessage() + " (" + where + ")", original);
        this.path = original.path;
    }

    /** The image file (may be a pseudo name for in-memory data). */
    public Path path() { return path; }
}
