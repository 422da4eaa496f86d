package io.vitq.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The files a command will write, checked before any work: each one's directory exists and can be
 * written, none is a directory, no two outputs are the same file, and no output is one of the
 * command's inputs (a quantized model written over its float checkpoint, predictions over the
 * image list), and none is named with another format's extension. Paths are compared after
 * resolving symbolic links. The commands label each file with its option ({@code --plan}); the API
 * with a word ({@code model}), or not at all (an empty label).
 */
public final class OutputFiles {
    private final Map<String, Path> outputs = new LinkedHashMap<>();
    /** Inputs with their options; an option can name several (a folder's files, the images). */
    private final List<Map.Entry<String, Path>> inputs = new ArrayList<>();

    private final Map<String, OutputKind> kinds = new LinkedHashMap<>();

    /** An output file of option {@code option}; null (not asked for) is skipped. */
    public OutputFiles output(String option, Path file) {
        if (file != null) outputs.put(option, file);
        return this;
    }

    /** An output file of format {@code kind}: a name with another format's extension is refused ({@link OutputKind}). */
    public OutputFiles output(String option, Path file, OutputKind kind) {
        if (file != null) kinds.put(option, kind);
        return output(option, file);
    }

    /** An input of option {@code option}; null or a file that does not exist is skipped. */
    public OutputFiles input(String option, Path file) {
        if (file != null && Files.exists(file)) inputs.add(Map.entry(option, file));
        return this;
    }

    /** The model's files as inputs of {@code option}: the checkpoint, or a model folder and every file read from it. */
    public OutputFiles model(String option, ModelLoader.Loaded l) {
        input(option, l.checkpoint());
        for (Path f : l.files()) input(option, f);
        return this;
    }

    /** @throws IllegalArgumentException naming the option and file at fault */
    public void check() {
        Map<Path, String> seen = new LinkedHashMap<>();
        for (var e : inputs) seen.putIfAbsent(canonical(e.getValue()), "input " + e.getKey());
        for (var e : outputs.entrySet()) {
            String named = named(e.getKey()), label = e.getKey().isEmpty() ? "output" : e.getKey();
            Path file = e.getValue();
            if (file.toString().isEmpty()) throw new IllegalArgumentException(label + ": empty path");
            try {
                AtomicFile.checkTarget(file);   // every output is written through it
            } catch (IOException refused) {
                throw new IllegalArgumentException(named + refused.getMessage());
            }
            if (Files.exists(file) && !Files.isWritable(file)) throw new IllegalArgumentException(named + file + ": permission denied");
            String clash = seen.putIfAbsent(canonical(file), label);
            if (clash != null) {
                throw new IllegalArgumentException(named + file + ": is also the " + clash
                        + (clash.startsWith("input") ? "; refusing to overwrite it" : "; give each output its own file"));
            }
        }
        // names last: two outputs on one file, or an output over an input, is the graver mistake to report
        for (var e : outputs.entrySet()) {
            String misnamed = kinds.containsKey(e.getKey()) ? kinds.get(e.getKey()).mismatch(e.getValue()) : null;
            if (misnamed != null) throw new IllegalArgumentException(named(e.getKey()) + misnamed);
        }
    }

    /** The label as a message's prefix: "--plan ", or nothing for an empty label. */
    private static String named(String option) {
        return option.isEmpty() ? "" : option + " ";
    }

    /** The file's real path, or for a file not yet created its directory's real path and its name. */
    private static Path canonical(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        try {
            if (Files.exists(abs)) return abs.toRealPath();
            Path dir = abs.getParent();
            return dir != null && Files.exists(dir) ? dir.toRealPath().resolve(abs.getFileName()) : abs;
        } catch (IOException e) {
            return abs;
        }
    }
}
