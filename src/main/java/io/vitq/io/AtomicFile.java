package io.vitq.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Every output file vitq writes goes through here: the content is written to a new hidden sibling
 * ({@code .NAME.PID-RANDOM.tmp}), then renamed onto the target, so a failure or an interrupt never
 * leaves a half-written file under the target's name. The temporary name is created fresh
 * ({@code CREATE_NEW}), so it never truncates a file of the user's (a fixed {@code NAME.tmp} did),
 * and two processes writing the same target do not share it. It gets the default permissions,
 * like any other output, not {@link Files#createTempFile}'s owner-only ones.
 */
public final class AtomicFile {
    /** Writes the whole content to {@code tmp}, an empty file that exists. */
    @FunctionalInterface
    public interface Body {
        void writeTo(Path tmp) throws IOException;
    }

    private AtomicFile() {}

    public static void write(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path tmp = createSibling(abs);
        try {
            body.writeTo(tmp);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static Path createSibling(Path abs) throws IOException {
        String prefix = "." + abs.getFileName() + "." + ProcessHandle.current().pid() + "-";
        for (int attempt = 0; ; attempt++) {
            Path tmp = abs.resolveSibling(prefix + Integer.toHexString(ThreadLocalRandom.current().nextInt()) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 100) throw e;
            }
        }
    }
}
