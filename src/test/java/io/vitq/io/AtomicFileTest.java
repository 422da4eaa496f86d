package io.vitq.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

public class AtomicFileTest {
    @TempDir
    Path dir;

    /** Fails when {@code dir} holds a temporary file of {@link AtomicFile} (or the old fixed {@code NAME.tmp}). */
    public static void assertNoTemporaryFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> left = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
            assertEquals(List.of(), left, "temporary files left in " + dir);
        }
    }

    @Test
    void writesTheContentUnderTheTargetNameOnly() throws IOException {
        Path f = dir.resolve("out.json");
        AtomicFile.write(f, tmp -> {
            assertEquals(dir, tmp.getParent(), "the temporary file is a sibling (same file system: the rename is atomic)");
            assertTrue(tmp.getFileName().toString().startsWith(".out.json."), tmp.toString());
            assertEquals(0, Files.size(tmp), "created empty");
            Files.writeString(tmp, "new");
        });
        assertEquals("new", Files.readString(f));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(f), s.toList());
        }
    }

    /** A link to the output (a results file kept elsewhere): the file it names is written, the link stays a link. */
    @Test
    void aTargetThatIsALinkIsWrittenThroughIt() throws IOException {
        Path real = Files.writeString(Files.createDirectories(dir.resolve("kept")).resolve("results.json"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("results.json"), Path.of("kept", "results.json"));
        Path second = Files.createSymbolicLink(dir.resolve("again.json"), Path.of("results.json"));   // a link to the link
        AtomicFile.write(second, tmp -> Files.writeString(tmp, "new"));
        assertTrue(Files.isSymbolicLink(link) && Files.isSymbolicLink(second));
        assertEquals("new", Files.readString(real));
        try (var files = Files.list(real.getParent())) {
            assertEquals(List.of(real), files.toList(), "no temporary left beside the real file");
        }
    }

    @Test
    void aUserFileNamedLikeTheOldTemporaryIsLeftAlone() throws IOException {
        Path f = dir.resolve("eval.json");
        Path users = Files.writeString(dir.resolve("eval.json.tmp"), "precious");
        AtomicFile.write(f, tmp -> {
            assertNotEquals(users, tmp);
            Files.writeString(tmp, "report");
        });
        assertEquals("report", Files.readString(f));
        assertEquals("precious", Files.readString(users));
    }

    @Test
    void aFailureKeepsTheOldFileAndRemovesTheTemporary() throws IOException {
        Path f = Files.writeString(dir.resolve("model.safetensors"), "old");
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(f, tmp -> {
            Files.writeString(tmp, "half");
            throw new IOException("disk full");
        }));
        // the output named: a full disk's own message names no file
        assertEquals(f + ": cannot write (disk full)", e.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFile.write(f, tmp -> {
            throw new IllegalStateException("bug");
        }));
        assertEquals("old", Files.readString(f));
        assertNoTemporaryFiles(dir);
    }

    @Test
    void concurrentWritersOfOneTargetUseTheirOwnTemporaries() throws IOException {
        Path f = dir.resolve("cells.json");
        AtomicFile.write(f, outer -> {
            AtomicFile.write(f, inner -> {
                assertNotEquals(outer, inner);
                Files.writeString(inner, "inner");
            });
            Files.writeString(outer, "outer");
        });
        assertEquals("outer", Files.readString(f), "the last rename wins, whole");
        assertNoTemporaryFiles(dir);
    }

    @Test
    void aMissingDirectoryFailsBeforeAnyWriteNamingTheTarget() {
        Path f = dir.resolve("no/such/out.onnx");
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(f, tmp -> Files.writeString(tmp, "x")));
        assertEquals(f.toAbsolutePath() + ": directory " + f.toAbsolutePath().getParent() + " does not exist", e.getMessage());
        assertTrue(Files.notExists(dir.resolve("no")));
    }

    /**
     * A child JVM stopped by SIGTERM in the middle of a write, of a file or of a folder
     * ({@link AtomicFile#writeFolder}): its shutdown hook removes the temporary.
     */
    @ParameterizedTest
    @ValueSource(strings = {"file", "folder"})
    void aStoppedJvmLeavesNoTemporary(String kind) throws Exception {
        Path target = dir.resolve("model.onnx"), started = dir.resolve("started");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), SlowWriter.class.getName(), target.toString(), started.toString(), kind)
                .redirectErrorStream(true).start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (Files.notExists(started) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
            if (Files.notExists(started)) {   // the child's output says why (read only now: it blocks until the child ends)
                p.destroy();
                throw new AssertionError("the child did not start writing: " + new String(p.getInputStream().readAllBytes()));
            }
            try (Stream<Path> s = Files.list(dir)) {
                assertEquals(1, s.filter(q -> q.getFileName().toString().endsWith(".tmp")).count(), "its temporary exists");
            }
            p.destroy();   // SIGTERM
            assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        assertNoTemporaryFiles(dir);
        assertTrue(Files.notExists(target));
    }

    /** Writes half a file (or a folder holding one), says so, and waits to be stopped. */
    public static final class SlowWriter {
        public static void main(String[] args) throws IOException {
            AtomicFile.Body half = tmp -> {
                Files.writeString(args[2].equals("folder") ? tmp.resolve("part.bin") : tmp, "half");
                Files.writeString(Path.of(args[1]), "started");
                try {
                    Thread.sleep(120_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            if (args[2].equals("folder")) AtomicFile.writeFolder(Path.of(args[0]), half);
            else AtomicFile.write(Path.of(args[0]), half);
        }
    }

    @Test
    void aFolderAppearsWholeUnderItsNameOnly() throws IOException {
        Path out = dir.resolve("vitq-demo");
        AtomicFile.writeFolder(out, tmp -> {
            assertEquals(dir, tmp.getParent(), "the hidden folder is a sibling (the rename is atomic)");
            assertTrue(tmp.getFileName().toString().startsWith(".vitq-demo.") && Files.isDirectory(tmp), tmp.toString());
            assertTrue(Files.notExists(out), "nothing under the target's name while it is written");
            Files.writeString(tmp.resolve("model.onnx"), "m");
            Files.writeString(Files.createDirectory(tmp.resolve("sub")).resolve("summary.md"), "s");
        });
        assertEquals("m", Files.readString(out.resolve("model.onnx")));
        assertEquals("s", Files.readString(out.resolve("sub/summary.md")));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(out), s.toList());
        }
    }

    @Test
    void aFailedFolderLeavesNothing() throws IOException {
        Path out = dir.resolve("vitq-demo");
        IOException e = assertThrows(IOException.class, () -> AtomicFile.writeFolder(out, tmp -> {
            Files.writeString(Files.createDirectory(tmp.resolve("sub")).resolve("half.onnx"), "half");
            throw new IOException("disk full");
        }));
        assertEquals(out + ": cannot write (disk full)", e.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFile.writeFolder(out, tmp -> {
            throw new IllegalStateException("bug");
        }));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.toList(), "neither the target nor the hidden folder");
        }
    }

    /** A folder is never written over anything: an existing target is refused before the body, or at the rename when it appeared meanwhile. */
    @Test
    void aFolderIsNotWrittenOverAnExistingTarget() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "mine"), empty = Files.createDirectory(dir.resolve("empty")),
                full = Files.createDirectory(dir.resolve("full"));
        Files.writeString(full.resolve("x"), "mine");
        for (Path target : List.of(file, empty, full)) {
            IOException e = assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> AtomicFile.writeFolder(target, tmp -> {
                throw new AssertionError("the body ran");
            }));
            assertEquals(target + ": exists", e.getMessage());
        }
        // made by someone else while the body runs (an empty folder, which a plain rename would replace)
        Path late = dir.resolve("late");
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> AtomicFile.writeFolder(late, tmp -> {
            Files.writeString(tmp.resolve("model.onnx"), "m");
            Files.createDirectory(late);
        }));
        assertTrue(Files.isDirectory(late));
        try (Stream<Path> s = Files.list(late)) {
            assertEquals(0, s.count(), "the other's folder as it was");
        }
        assertEquals("mine", Files.readString(file));
        assertEquals("mine", Files.readString(full.resolve("x")));
        assertNoTemporaryFiles(dir);
    }

    @Test
    void anErrorInTheFolderBodyLeavesNothing() throws IOException {
        Path out = dir.resolve("vitq-demo");
        assertThrows(OutOfMemoryError.class, () -> AtomicFile.writeFolder(out, tmp -> {
            Files.writeString(tmp.resolve("half.onnx"), "half");
            throw new OutOfMemoryError("test");
        }));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.toList());
        }
    }

    /** The write's own error is reported even when the temporary cannot be deleted after it. */
    @Test
    void aFailedCleanUpDoesNotHideTheWritesError() {
        Path f = dir.resolve("out.safetensors");
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(f, tmp -> {
            Files.delete(tmp);
            Files.createDirectory(tmp);               // a non-empty directory where the temporary was: delete fails
            Files.writeString(tmp.resolve("x"), "x");
            throw new IOException("disk full");
        }));
        assertEquals(f + ": cannot write (disk full)", e.getMessage());
        assertEquals(1, e.getSuppressed().length, "the clean-up's failure rides along");
    }
}
