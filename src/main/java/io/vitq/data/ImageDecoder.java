package io.vitq.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads JPEG and PNG files into 8-bit RGB, reproducing what timm's loader gets from
 * {@code PIL.Image.open(f).convert("RGB")}. The format is decided by the file's magic bytes,
 * never by its extension. Thread-safe; every call uses its own reader.
 */
public final class ImageDecoder {
    private ImageDecoder() {}

    /**
     * Reads and decodes one image.
     *
     * @throws ImageLoadException whose message starts with the path and says what went wrong
     *         ("x.jpg: cannot read (No such file)", "x.jpg: not a JPEG or PNG image", ...)
     */
    public static RgbImage decode(Path path) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new ImageLoadException(path, "cannot read (No such file)", e);
        } catch (IOException e) {
            throw new ImageLoadException(path, "cannot read (" + ImageReaders.describe(e) + ")", e);
        }
        return decode(bytes, path);
    }

    /** Decodes image bytes; {@code name} is only used in error messages. */
    public static RgbImage decode(byte[] bytes, Path name) {
        if (isJpeg(bytes)) return JpegDecoder.decode(bytes, name);
        if (isPng(bytes)) return PngDecoder.decode(bytes, name);
        throw new ImageLoadException(name, "not a JPEG or PNG image");
    }

    /**
     * What is wrong with a file as an image, judged by its first bytes only (null when it starts as a
     * JPEG or a PNG does): the check a dataset's images get when it is opened, so that a stray file
     * is refused before an evaluation rather than at its end.
     */
    public static String formatProblem(Path path) {
        byte[] head = new byte[8];
        int n;
        try (java.io.InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            return "cannot read (" + ImageReaders.describe(e) + ")";
        }
        byte[] b = java.util.Arrays.copyOf(head, n);
        return isJpeg(b) || isPng(b) ? null : "not a JPEG or PNG image";
    }

    static boolean isJpeg(byte[] b) {
        return b.length >= 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF;
    }

    static boolean isPng(byte[] b) {
        byte[] sig = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        if (b.length < sig.length) return false;
        for (int i = 0; i < sig.length; i++) if (b[i] != sig[i]) return false;
        return true;
    }
}
