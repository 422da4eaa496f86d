package io.vitq.cli;

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
 * image list). Paths are compared after resolving symbolic links.
 */
final class OutputFiles {
    private final Map<String, Path> outputs = new LinkedHashMap<>();
    /** Inputs with their options; an option can name several (a folder's files, the images). */
    private final List<Map.Entry<String, Path>> inputs = new ArrayList<>();

    /** An output file of option {@code option}; null (not asked for) is skipped. */
    OutputFiles output(String option, Path file) {
        if (file != null) outputs.put(option, file);
        return this;
    }

    /** An input of option {@code option}; null or a file that does not exist is skipped. */
    OutputFiles input(String option, Path file) {
        if (file != null && Files.exists(file)) inputs.add(Map.entry(option, file));
        return this;
    }

    /** The model's files as inputs of {@code option}: the checkpoint, or a model folder and every file read from it. */
    OutputFiles model(String option, io.vitq.io.ModelLoader.Loaded l) {
        input(option, l.checkpoint());
        for (Path f : l.files()) input(option, f);
        return this;
    }

    /** @throws Main.UserException naming the option and file at fault */
    void check() {
        Map<Path, String> seen = new LinkedHashMap<>();
        for (var e : inputs) seen.putIfAbsent(canonical(e.getValue()), "input " + e.getKey());
        for (var e : outputs.entrySet()) {
            String option = e.getKey();
            Path file = e.getValue();
            if (file.toString().isEmpty()) throw new Main.UserException(option + ": empty path");
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null && !Files.isDirectory(dir)) {
                throw new Main.UserException(option + " " + file + ": directory " + dir
                        + (Files.exists(dir) ? " is not a directory" : " does not exist"));
            }
            if (Files.isDirectory(file)) throw new Main.UserException(option + " " + file + ": is a directory");
            // every output is written beside the target and renamed onto it (io.AtomicFile): the directory must be writable
            if (dir != null && !Files.isWritable(dir))
                throw new Main.UserException(option + " " + file + ": permission denied (cannot create files in " + dir + ")");
            if (dir != null) probe(option, file, dir);
            if (Files.exists(file) && !Files.isWritable(file)) throw new Main.UserException(option + " " + file + ": permission denied");
            String clash = seen.putIfAbsent(canonical(file), option);
            if (clash != null) {
                throw new Main.UserException(option + " " + file + ": is also the " + clash
                        + (clash.startsWith("input") ? "; refusing to overwrite it" : "; give each output its own file"));
            }
        }
    }

    /**
     * Creates and deletes a file in {@code dir}: a directory that says it is writable can still refuse
     * new files (a pseudo file system such as /proc, some network mounts), which would otherwise be
     * found only when the output is written, after the work.
     */
    private static void probe(String option, Path file, Path dir) {
        try {
            Files.delete(Files.createTempFile(dir, ".vitq-probe-", ".tmp"));
        } catch (IOException | UnsupportedOperationException e) {
            throw new Main.UserException(option + " " + file + ": cannot create files in " + dir + " ("
                    + io.vitq.data.FileErrors.reason(e) + ")");
        }
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
