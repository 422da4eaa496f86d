package io.vitq.cli;

import io.vitq.io.AtomicFile;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Finished cells of a long table run (sweep, ablation) kept in a JSON file, so that a rerun
 * resumes where the last one stopped: each cell is saved as soon as it is measured. Saving holds
 * a lock on a sidecar {@code FILE.lock} and merges the cell into what the file holds at that moment
 * (written to a temporary file, then renamed), so two runs writing the same results file keep each
 * other's cells and a reader never sees half a file.
 */
final class CellStore {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * One measured cell: accuracy of a (model, method, bits) setting, its calibration time and model
     * size (MB). {@code settings} records what else it was measured with (evaluation data,
     * calibration set, every calibration setting), so that a rerun with other options measures
     * again instead of reusing it; null in files written before it was kept.
     */
    record Cell(String model, String setting, String bits, double top1, double top5, int images,
                double calibSeconds, String note, double sizeMb, String settings) implements java.io.Serializable {}

    private final Path file;
    private Map<String, Cell> cells;

    private CellStore(Path file, Map<String, Cell> cells) {
        this.file = file;
        this.cells = cells;
    }

    static CellStore open(Path file) {
        if (file == null || !Files.exists(file)) return new CellStore(file, new LinkedHashMap<>());
        return new CellStore(file, read(file));
    }

    private static Map<String, Cell> read(Path file) {
        try {
            return JSON.readValue(file.toFile(), new TypeReference<LinkedHashMap<String, Cell>>() {});
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + ")";
            throw new Main.UserException("--results " + file + ": not a results file of sweep or ablation" + where
                    + "; give another --results file or move this one away");
        } catch (IOException e) {
            throw new Main.UserException("--results " + file + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")");
        }
    }

    static String key(String model, String setting, String bits) { return model + " | " + setting + " | " + bits; }

    Cell get(String model, String setting, String bits) { return cells.get(key(model, setting, bits)); }

    int size() { return cells.size(); }

    /**
     * Stores {@code c} and saves it to the file together with every cell the file holds now (another
     * run's too). File locks belong to the whole JVM, so threads of one JVM take turns here first.
     */
    void put(Cell c) throws IOException {
        synchronized (CellStore.class) {
            String key = key(c.model(), c.setting(), c.bits());
            if (file == null) {
                cells.put(key, c);
                return;
            }
            Path abs = file.toAbsolutePath();
            try (FileChannel lockFile = FileChannel.open(abs.resolveSibling(abs.getFileName() + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = lockFile.lock()) {
                Map<String, Cell> now = Files.exists(abs) ? read(abs) : new LinkedHashMap<>();
                now.put(key, c);
                AtomicFile.write(abs, tmp -> JSON.writeValue(tmp.toFile(), now));
                cells = now;
            }
        }
    }
}
