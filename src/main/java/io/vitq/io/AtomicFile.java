package io.vitq.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Every output file vitq writes goes through here: the content is written to a new hidden sibling
 * ({@code .NAME.PID-RANDOM.tmp}), then renamed onto the target, so a failure or an interrupt never
 * leaves a half-written file under the target's name. The temporary name is created fresh
 * ({@code CREATE_NEW}), so it never truncates a file of the user's (a fixed {@code NAME.tmp} did),
 * and two processes writing the same target do not share it. It gets the default permissions,
 * like any other output, not {@link Files#createTempFile}'s owner-only ones. A temporary is deleted
 * when its write fails, and by a shutdown hook when the JVM is stopped during it (Ctrl-C, SIGTERM:
 * the writing thread's {@code finally} does not run then). A target that is a symbolic link is
 * written through it: the file it names is replaced, the link stays. A folder of outputs (the
 * demo's) is written the same way, whole, by {@link #writeFolder}.
 */
public final class AtomicFile {
    /** Writes the whole content to {@code tmp}, an empty file that exists ({@link #writeFolder}: an empty folder). */
    @FunctionalInterface
    public interface Body {
        void writeTo(Path tmp) throws IOException;
    }

    private AtomicFile() {}

    /** Temporaries being written (files, and the folders of {@link #writeFolder}), for the shutdown hook. */
    private static final Set<Path> IN_PROGRESS = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : IN_PROGRESS) {
                try {
                    // a folder is first renamed out of the writer's way: a rename onto the target that
                    // runs meanwhile then fails, instead of moving a half-deleted folder there
                    Path gone = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? Files.move(p, p.resolveSibling(siblingName(p))) : p;
                    deleteTree(gone);
                } catch (IOException | RuntimeException ignored) {
                    // the JVM is going down: nothing left to report to
                }
            }
        }, "vitq-temporary-files"));
    }

    public static void write(Path target, Body body) throws IOException {
        Path abs = throughLinks(target.toAbsolutePath());
        fillThenMove(target, createSibling(abs), body,
                tmp -> Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE), Files::deleteIfExists);
    }

    /**
     * {@code e} with the target named when its message does not name it: a full disk says only "No
     * space left on device", and a temporary's error names the hidden temporary, not the output. A
     * target that exists is reported as it is, for a caller that then takes another name.
     */
    private static IOException naming(Path target, IOException e) {
        String m = e.getMessage();
        if (e instanceof FileAlreadyExistsException || m != null && m.contains(String.valueOf(target.getFileName())) && !m.contains(".tmp"))
            return e;
        return new IOException(target + ": cannot write (" + io.vitq.data.FileErrors.reason(e) + ")", e);
    }

    /** A step on a temporary that may fail. */
    @FunctionalInterface
    private interface Step {
        void on(Path tmp) throws IOException;
    }

    /**
     * {@code body} fills {@code tmp} (just created, watched by the shutdown hook meanwhile), {@code move}
     * puts it in place as {@code target}, and {@code remove} deletes whatever is left of it, in every
     * case. The body's or the move's error is the one reported ({@link #naming} the target), a failed
     * removal riding along with it.
     */
    private static void fillThenMove(Path target, Path tmp, Body body, Step move, Step remove) throws IOException {
        IN_PROGRESS.add(tmp);
        Throwable failure = null;
        try {
            body.writeTo(tmp);
            move.on(tmp);
        } catch (IOException e) {
            IOException named = naming(target, e);
            failure = named;
            throw named;
        } catch (RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            try {
                remove.on(tmp);
            } catch (IOException e) {
                if (failure != null) failure.addSuppressed(e);   // the write's own error is the one to report
                else throw e;
            } finally {
                IN_PROGRESS.remove(tmp);
            }
        }
    }

    /**
     * A folder written as a whole: {@code body} fills a new hidden sibling folder
     * ({@code .NAME.PID-RANDOM.tmp}), which is then renamed to {@code target}, so an interrupted or
     * failed run leaves no folder under the target's name and no hidden one either (the shutdown
     * hook removes it as it removes a temporary file).
     *
     * @throws FileAlreadyExistsException when {@code target} exists, before the body runs or (made
     *         meanwhile by another process) at the rename; nothing of it is replaced
     */
    public static void writeFolder(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath();
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) throw new FileAlreadyExistsException(target + ": exists");
        fillThenMove(target, createSibling(abs, true), body, tmp -> {
            // a rename replaces an empty folder on Linux: check once more, just before it
            if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) throw new FileAlreadyExistsException(target + ": exists");
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                throw new FileAlreadyExistsException(target + ": exists");
            }
        }, AtomicFile::deleteTree);
    }

    /** Deletes a file, or a folder and everything in it; nothing when {@code p} does not exist. */
    private static void deleteTree(Path p) throws IOException {
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.walk(p)) {
                for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
            } catch (java.io.UncheckedIOException e) {   // the walk's own failures come unchecked
                throw e.getCause();
            }
        } else {
            Files.deleteIfExists(p);
        }
    }

    /**
     * The file a symbolic link names, through every link in turn: the rename replaces that file, and
     * leaves the link (a results file kept through a link would otherwise become a copy beside it).
     */
    private static Path throughLinks(Path abs) throws IOException {
        Path p = abs;
        for (int hops = 0; Files.isSymbolicLink(p); hops++) {
            if (hops == 40) throw new IOException(abs + ": too many levels of symbolic links");
            p = p.getParent().resolve(Files.readSymbolicLink(p)).normalize();
        }
        return p;
    }

    /**
     * Before any work, what {@link #write} will need of {@code target}: its directory exists, it is
     * not a directory itself (nor a link to one), and the temporary beside it can be created, which
     * is checked by creating and deleting one. A directory can say it is writable and still refuse new
     * files (a pseudo file system such as /proc), and a name can fit where the temporary's longer one
     * does not; either would otherwise be found only when the output is written, after the work.
     *
     * @throws IOException whose message starts with {@code target} and says what is wrong
     */
    public static void checkTarget(Path target) throws IOException {
        Path abs = throughLinks(target.toAbsolutePath());
        Path dir = abs.getParent();
        if (dir != null && !Files.isDirectory(dir))
            throw new IOException(target + ": directory " + dir + (Files.exists(dir) ? " is not a directory" : " does not exist"));
        if (Files.isDirectory(abs)) throw new IOException(target + ": is a directory");
        Path probe = abs.resolveSibling(siblingName(abs));
        try {
            Files.delete(Files.createFile(probe));
        } catch (AccessDeniedException e) {
            throw new IOException(target + ": permission denied (cannot create files in " + dir + ")", e);
        } catch (IOException e) {
            throw new IOException(target + ": cannot create files in " + dir + " (" + io.vitq.data.FileErrors.reason(e) + ")", e);
        }
    }

    /** A fresh hidden name beside {@code abs}: {@code .NAME.PID-RANDOM.tmp}. */
    private static String siblingName(Path abs) {
        return "." + abs.getFileName() + "." + ProcessHandle.current().pid() + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt())
                + ".tmp";
    }

    private static Path createSibling(Path abs) throws IOException { return createSibling(abs, false); }

    /** A new hidden sibling of {@code abs}, an empty file or an empty folder. */
    private static Path createSibling(Path abs, boolean folder) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = abs.resolveSibling(siblingName(abs));
            try {
                return folder ? Files.createDirectory(tmp) : Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 100) throw e;
            } catch (NoSuchFileException e) {   // name the file asked for, not the hidden temporary
                throw new IOException(abs + ": directory " + abs.getParent() + " does not exist", e);
            } catch (AccessDeniedException e) {
                throw new IOException(abs + ": permission denied (cannot create files in " + abs.getParent() + ")", e);
            } catch (IOException e) {   // a read-only or full file system, say: named as a write's error is
                throw naming(abs, e);
            }
        }
    }
}
