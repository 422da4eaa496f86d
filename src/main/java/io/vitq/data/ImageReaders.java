package io.vitq.data;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import java.nio.file.Path;
import java.util.Iterator;

/** Picks javax.imageio readers; prefers the JDK's own, whose behaviour this package relies on. */
final class ImageReaders {
    private ImageReaders() {}

    static ImageReader jdkReader(String format, Path name) {
        ImageReader fallback = null;
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(format); it.hasNext(); ) {
            ImageReader r = it.next();
            if (r.getClass().getName().startsWith("com.sun.imageio.plugins.")) return r;
            if (fallback == null) fallback = r;
        }
        if (fallback == null) throw new ImageLoadException(name, "no " + format + " reader in this JVM");
        return fallback;
    }

    /** A one-line reason for a reader failure: the message, or the exception type if there is none. */
    static String describe(Throwable e) {
        if (e instanceof java.nio.file.FileSystemException) return FileErrors.reason(e);
        String msg = e.getMessage();
        Throwable cause = e.getCause();
        if (cause != null && cause.getMessage() != null && (msg == null || !msg.contains(cause.getMessage()))) {
            msg = (msg == null ? "" : msg + ": ") + cause.getMessage();
        }
        return msg == null || msg.isBlank() ? e.getClass().getSimpleName() : msg;
    }
}
