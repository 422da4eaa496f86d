package io.vitq.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The results file shared by runs at the same time: threads of one JVM and separate processes keep every cell. */
class CellStoreTest {
    static CellStore.Cell cell(String model, int i) {
        return new CellStore.Cell(model, "basePTQ", "W" + i + "A8", i, i, 6, 0.5, "note", 1.0, "settings");
    }

    /** Opens {@code args[0]} and stores cells {@code args[1]} x 0..args[2]-1 one by one (for the process test). */
    public static void main(String[] args) throws Exception {
        CellStore s = CellStore.open(Path.of(args[0]));
        for (int i = 0; i < Integer.parseInt(args[2]); i++) s.put(cell(args[1], i));
    }

    @Test
    void twoStoresOpenedTogetherKeepEachOthersCells(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("cells.json");
        CellStore a = CellStore.open(f), b = CellStore.open(f);
        Thread ta = new Thread(() -> putAll(a, "a")), tb = new Thread(() -> putAll(b, "b"));
        ta.start();
        tb.start();
        ta.join();
        tb.join();
        CellStore read = CellStore.open(f);
        assertEquals(40, read.size());
        for (int i = 0; i < 20; i++) {
            assertNotNull(read.get("a", "basePTQ", "W" + i + "A8"));
            assertNotNull(read.get("b", "basePTQ", "W" + i + "A8"));
        }
    }

    private static void putAll(CellStore s, String model) {
        try {
            for (int i = 0; i < 20; i++) s.put(cell(model, i));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void threeProcessesWritingOneFileLoseNothing(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("cells.json");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> ps = new ArrayList<>();
        for (String who : new String[] {"p", "q", "r"}) {
            ps.add(new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), CellStoreTest.class.getName(),
                    f.toString(), who, "25").redirectErrorStream(true).redirectOutput(tmp.resolve(who + ".log").toFile()).start());
        }
        for (Process p : ps) {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "writer finished");
            assertEquals(0, p.exitValue(), java.nio.file.Files.readString(tmp.resolve("p.log")));
        }
        CellStore read = CellStore.open(f);
        assertEquals(75, read.size(), "every process's every cell");
    }
}
