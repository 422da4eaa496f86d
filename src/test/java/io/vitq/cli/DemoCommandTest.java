package io.vitq.cli;

import io.vitq.Vitq;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code vitq demo}, the main job {@code ./vitq} runs, on a short budget (BasePTQ on 2 calibration
 * images, 8 evaluation images; the full job's output is measured in the README): the folder it
 * creates, the table it prints, and that nothing of the user's is overwritten.
 */
class DemoCommandTest {
    @Test
    void writesTheQuantizedModelAndItsOnnxToANewFolder(@TempDir Path tmp) throws Exception {
        String home = System.getProperty("vitq.home");
        System.setProperty("vitq.home", TestData.repo().toString());
        try {
            Path out = tmp.resolve("job");
            CliTest.Run r = run("demo", "--method", "basePTQ", "--calib-size", "2", "--limit", "8", "-o", out.toString());
            assertEquals(0, r.exit(), r.err());
            String stem = "vit_tiny_patch16_224_baseptq_w8a8";
            assertTrue(r.out().contains("|  | float | BasePTQ W8A8 |"), r.out());
            assertTrue(r.out().contains("| top-1 (8 images) | "), r.out());
            assertTrue(r.out().contains("| top-1 agreement with float | | "), r.out());
            assertTrue(r.out().contains("| its 95 % interval (Wilson score) | "), r.out());
            assertTrue(r.out().contains("| file size | 22.9 MB (safetensors) | 6.0 MB (vitq), "), r.out());
            assertTrue(r.out().contains("| calibration time | | "), r.out());
            assertTrue(r.out().contains("./vitq inspect " + out.resolve(stem + ".safetensors") + " --plot plan.png"), r.out());
            assertTrue(r.err().contains("calibrate basePTQ W8A8"), "progress bar: " + r.err());
            try (Stream<Path> s = Files.list(out)) {
                assertEquals(List.of("summary.md", stem + ".onnx", stem + ".safetensors"),
                        s.map(p -> p.getFileName().toString()).sorted().toList());
            }
            try (Stream<Path> s = Files.list(tmp)) {
                assertEquals(List.of("job"), s.map(p -> p.getFileName().toString()).toList(), "no temporary folder left");
            }
            // the file is what stdout printed, without the empty line that ends a progress bar on the terminal
            assertEquals("\n" + Files.readString(out.resolve("summary.md")), r.out());
            assertFalse(Files.readString(out.resolve("summary.md")).startsWith("\n"));
            Vitq q = Vitq.load(out.resolve(stem + ".safetensors").toString());
            assertEquals("W8A8", q.bits());

            // the folder exists now: refused before any work, its files untouched
            long before = Files.getLastModifiedTime(out.resolve(stem + ".onnx")).toMillis();
            assertUserError(run("demo", "-o", out.toString()), 1, "--output", "exists");
            assertEquals(before, Files.getLastModifiedTime(out.resolve(stem + ".onnx")).toMillis());
            assertUserError(run("demo", "-o", out.resolve("summary.md").resolve("sub").toString()), 1, "summary.md is not a directory");
            assertUserError(run("demo", "--calib-size", "33", "-o", tmp.resolve("x").toString()), 1, "--calib-size", "32");
            assertUserError(run("demo", "--method", "ptq4vit", "--bits", "mp8", "-o", tmp.resolve("x").toString()), 1, "vtptq");
            assertUserError(run("demo", "--limit", "201", "-o", tmp.resolve("x").toString()), 1, "--limit 201", "200 images");
            assertUserError(run("demo", "--method", "foo", "-o", tmp.resolve("x").toString()), 1, "--method: unknown method 'foo'", "vitq, repq or adalog");
            assertTrue(!Files.exists(tmp.resolve("x")));
        } finally {
            if (home == null) System.clearProperty("vitq.home");
            else System.setProperty("vitq.home", home);
        }
    }

    @Test
    void theDefaultFolderIsNeverOneThatExists(@TempDir Path tmp) throws Exception {
        Path base = tmp.resolve("vitq-demo");
        assertEquals(base, DemoCommand.freshFolder(base));
        Files.createDirectory(base);
        assertEquals(tmp.resolve("vitq-demo-2"), DemoCommand.freshFolder(base));
        Files.writeString(tmp.resolve("vitq-demo-2"), "a user's file");
        assertEquals(tmp.resolve("vitq-demo-3"), DemoCommand.freshFolder(base));
    }

    /** Two demos in one folder: the one that finds its name taken when it renames goes to the next free name. */
    @Test
    void aNameTakenWhileTheDemoRunsMovesItToTheNextFreeOne(@TempDir Path tmp) throws Exception {
        Path base = tmp.resolve("vitq-demo");
        List<Path> names = new java.util.ArrayList<>();
        Path written = DemoCommand.writeNewFolder(null, base, (dir, name) -> {
            names.add(name);
            Files.writeString(dir.resolve("summary.md"), "written as " + name.getFileName());
            if (names.size() == 1) Files.createDirectory(name);   // another run takes the name meanwhile
        });
        assertEquals(List.of(base, tmp.resolve("vitq-demo-2")), names);
        assertEquals(tmp.resolve("vitq-demo-2"), written);
        assertEquals("written as vitq-demo-2", Files.readString(written.resolve("summary.md")));
        try (var s = Files.list(base)) {
            assertEquals(0, s.count(), "the other run's folder untouched");
        }
        // a name given with --output is the user's choice: refused, not replaced by another
        Path given = tmp.resolve("mine");
        assertThrows(java.nio.file.FileAlreadyExistsException.class,
                () -> DemoCommand.writeNewFolder(given, base, (dir, name) -> Files.createDirectory(name)));
    }
}
