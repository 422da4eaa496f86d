package io.vitq.io;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Output names: another format's extension is refused, this format's, an unknown one or none is taken. */
class OutputKindTest {
    @Test
    void anotherFormatsExtensionIsRefused() {
        assertEquals("out/x.npy: named as a NumPy .npy file (.npy), but this writes a safetensors file; name it *.safetensors",
                OutputKind.SAFETENSORS.mismatch(Path.of("out/x.npy")));
        assertTrue(OutputKind.NPY.mismatch(Path.of("l.CSV")).contains("a CSV file (.csv)"));
        assertTrue(OutputKind.ONNX.mismatch(Path.of("m.pth")).contains("a PyTorch checkpoint (.pth)"));
        assertTrue(OutputKind.SAFETENSORS.mismatch(Path.of("q.onnx")).endsWith("name it *.safetensors"));
        assertTrue(OutputKind.JSON.mismatch(Path.of("plan.md")).contains("Markdown"));
    }

    @Test
    void itsOwnAnUnknownOrNoExtensionIsTaken() {
        for (OutputKind k : OutputKind.values()) // in a folder named like another format: only the file's name counts
            assertNull(k.mismatch(Path.of("dir.onnx", "f" + k.extension())), k.name());
        assertNull(OutputKind.SAFETENSORS.mismatch(Path.of("q.vitq")));
        assertNull(OutputKind.NPY.mismatch(Path.of("logits")));
        assertNull(OutputKind.JSON.mismatch(Path.of("cells.txt")));
        assertNull(OutputKind.NPY.mismatch(Path.of("x.NPY")));
        assertNull(OutputKind.PNG.mismatch(Path.of("").toAbsolutePath().getRoot()), "a path without a file name");
    }
}
