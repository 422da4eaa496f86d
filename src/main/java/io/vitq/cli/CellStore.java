package io.vitq.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Finished cells of a long table run (sweep, ablation) kept in a JSON file, so that a rerun
 * resumes where the last one stopped: each cell is saved as soon as it is measured (write to a
 * temporary file, then rename).
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
                double calibSeconds, String note, double sizeMb, String settings) {}

    private final Path file;
    private final Map<String, Cell> cells;

    private CellStore(Path file, Map<String, Cell> cells) {
        this.file = file;
        this.cells = cells;
    }

    static CellStore open(Path file) {
        if (file == null || !Files.exists(file)) return new CellStore(file, new LinkedHashMap<>());
        try {
            Map<String, Cell> m = JSON.readValue(file.toFile(), new TypeReference<LinkedHashMap<String, Cell>>() {});
            return new CellStore(file, m);
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

    void put(Cell c) throws IOException {
        cells.put(key(c.model(), c.setting(), c.bits()), c);
        if (file == null) return;
        Path abs = file.toAbsolutePath();
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), cells);
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
