package io.vitq.cli;

import io.vitq.io.ModelLoader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * On a Spark worker: the model a task loaded must be the checkpoint the driver loaded, byte for byte
 * (a zoo name resolves on each machine's own search path; a stale copy would give a wrong result
 * stored as right). The SHA-256 is computed once per file version in each worker JVM.
 */
final class CheckpointIdentity {
    private CheckpointIdentity() {}

    /** SHA-256 by the files' paths, sizes and modification times. */
    private static final Map<String, String> KNOWN = new ConcurrentHashMap<>();

    /** {@code l} when its files hash to {@code expected}, else a user error naming {@code option}. */
    static ModelLoader.Loaded check(ModelLoader.Loaded l, String expected, String option) {
        String id = KNOWN.computeIfAbsent(version(l), k -> l.identity());
        if (!id.equals(expected)) {
            throw new Main.UserException(option + ": a Spark worker loaded " + l.files() + " (sha256 " + id.substring(0, 16)
                    + "...), not the checkpoint the driver loaded (sha256 " + expected.substring(0, 16) + "...); every worker must "
                    + "see the same checkpoint: give its path on a file system all of them share");
        }
        return l;
    }

    private static String version(ModelLoader.Loaded l) {
        StringBuilder s = new StringBuilder();
        for (Path f : l.files()) {
            s.append(f.toAbsolutePath()).append('|');
            try {
                s.append(Files.size(f)).append('|').append(Files.getLastModifiedTime(f).toMillis()).append(';');
            } catch (IOException e) {
                s.append("?;"); // unreadable: hashing it reports the problem
            }
        }
        return s.toString();
    }
}
