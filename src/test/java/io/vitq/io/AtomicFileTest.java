package io.vitq.io;

import org.junit.jupiter.api.Test;
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
        assertEquals("disk full", e.getMessage());
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
    void aMissingDirectoryFailsBeforeAnyWrite() {
        Path f = dir.resolve("no/such/out.onnx");
        assertThrows(IOException.class, () -> AtomicFile.write(f, tmp -> Files.writeString(tmp, "x")));
        assertTrue(Files.notExists(dir.resolve("no")));
    }
}
