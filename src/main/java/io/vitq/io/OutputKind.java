package io.vitq.io;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The formats vitq writes, by the file-name extensions they go by. An output named with another
 * format's extension ({@code dump -o x.npy}, {@code predict --logits l.csv}, {@code save("q.onnx")}) is
 * almost always a slip, so it is refused; a name with no extension, or one vitq does not know
 * ({@code q.vitq}, {@code cells.txt}), is written as asked.
 */
public enum OutputKind {
    SAFETENSORS("a safetensors file", ".safetensors"),
    ONNX("an ONNX file", ".onnx"),
    NPY("a NumPy .npy file", ".npy"),
    JSON("a JSON file", ".json"),
    CSV("a CSV file", ".csv"),
    PNG("a PNG image", ".png"),
    MARKDOWN("a Markdown file", ".md");

    private final String format;
    private final String extension;

    OutputKind(String format, String extension) {
        this.format = format;
        this.extension = extension;
    }

    /** The extension files of this kind go by, e.g. ".npy". */
    public String extension() { return extension; }

    /** Extensions of formats vitq reads or writes but never writes under this kind (PyTorch's among them). */
    private static final List<String> PYTORCH = List.of(".pth", ".pt", ".bin", ".ckpt");

    /** Null when {@code file}'s name suits this kind, else why not: "x.npy: named as a NumPy .npy file (.npy), but this writes ...". */
    public String mismatch(Path file) {
        Path name = file.getFileName();
        if (name == null) return null;
        String n = name.toString().toLowerCase(Locale.ROOT);
        String other = null;
        for (OutputKind k : values()) if (k != this && n.endsWith(k.extension)) other = k.format + " (" + k.extension + ")";
        for (String e : PYTORCH) if (n.endsWith(e)) other = "a PyTorch checkpoint (" + e + ")";
        if (other == null) return null;
        return file + ": named as " + other + ", but this writes " + format + "; name it *" + extension;
    }
}
