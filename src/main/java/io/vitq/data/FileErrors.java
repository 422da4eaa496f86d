package io.vitq.data;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * Why a file operation failed, in words: the JDK's file-system exceptions carry just the path as
 * their message ("x.pth" for a permission problem), which the caller names already.
 */
public final class FileErrors {
    private FileErrors() {}

    /** The reason of {@code e}, or of the I/O error an {@link java.io.UncheckedIOException} wraps. */
    public static String reason(Throwable e) {
        if (e instanceof java.io.UncheckedIOException u && u.getCause() != null) e = u.getCause();
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NoSuchFileException) return "no such file";
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
