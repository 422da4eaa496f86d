package io.vitq.cli;

import io.vitq.io.OutputFiles;
import io.vitq.io.OutputKind;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Options of the table commands ({@code sweep}, {@code ablation}): evaluation data, bits, the results file. */
public final class TableOptions {
    @Option(names = "--bits", split = ",", paramLabel = "wXaY,...", defaultValue = "w8a8,w6a6",
            description = "Bit settings (default ${DEFAULT-VALUE}).")
    List<String> bits;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR|LIST", description = "Evaluation images (labelled).")
    Path data;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate only the first N images.")
    Integer limit;

    @Option(names = {"-b", "--batch"}, paramLabel = "B", defaultValue = "32", description = "Evaluation batch (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--results", paramLabel = "FILE",
            description = "Finished cells, read on start and updated after each cell (default: ${COMMAND-NAME}-results.json).")
    Path results;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the table as JSON.")
    Path json;

    /** The outputs and inputs {@link #openWithPlot} checked. */
    private OutputFiles files;

    /** Checks the options before any work and opens the runner on the results file. */
    TableRunner open(CalibOptions calib, String command, Path... modelFiles) {
        return openWithPlot(calib, command, null, modelFiles);
    }

    /** @param plot the chart's PNG file ({@code --plot}), or null */
    TableRunner openWithPlot(CalibOptions calib, String command, Path plot, Path... modelFiles) {
        if (results == null) results = Path.of(command + "-results.json");
        files = new OutputFiles().output("--results", results, OutputKind.JSON).output("--json", json, OutputKind.JSON)
                .output("--plot", plot, OutputKind.PNG)
                .input("--data", data).input("--calib", calib.calib);
        for (Path m : modelFiles) files.input("--models", m);
        files.check();
        if (limit != null) Inputs.checkPositive("--limit", limit);
        Inputs.checkPositive("--batch", batch);
        // accuracy needs labels: refuse unlabelled images before hours of calibration
        io.vitq.data.Dataset images = Inputs.dataset(data, limit);
        if (!images.hasLabels())
            throw new Main.UserException("--data " + data + ": images without labels; " + command
                    + " measures top-1 and needs labelled images (a list file 'path label' or an ImageNet class folder)");
        // the calibration images too, before the float model's evaluation (and any cell's calibration)
        Inputs.calibration(calib.calibPath(), calib.calibSize);
        return new TableRunner(calib, data, images, coversAll(images, limit) ? null : limit, batch, CellStore.open(results));
    }

    /** The outputs checked by {@link #openWithPlot} again, against the files a model loaded from (a zoo name or folder names them only once loaded). */
    void checkOutputsAgainst(io.vitq.io.ModelLoader.Loaded l) {
        files.model("--model", l).check();
    }

    /**
     * True when a --limit takes every image of the data: the cells are then stored as measured on all
     * of it, as a run without --limit stores them, so neither run measures the other's cells again.
     */
    private boolean coversAll(io.vitq.data.Dataset images, Integer limit) {
        if (limit == null) return false;
        if (images.size() < limit) return true;
        return limit < Integer.MAX_VALUE && io.vitq.eval.Pipeline.dataset(data, limit + 1).size() == limit;
    }

    /** What a table's cells were measured on: "{@code N} images of DATA; calibration: M images of CALIB". */
    String measuredOn(CalibOptions calib, int images) {
        return images + " images of " + data + "; calibration: " + calib.calibSize + " images of " + calib.calibPath();
    }

    /** Where the finished cells are kept, once the table is done. */
    void reportResults() {
        System.err.println("vitq: cells kept in " + results + " (the same command reads them back instead of measuring again)");
    }

    List<BitsOption> bitOptions() {
        List<BitsOption> l = new ArrayList<>();
        for (String b : bits) l.add(BitsOption.parse(b));
        refuseRepeats("--bits", l.stream().map(BitsOption::label).toList(), true);
        return l;
    }

    /** A value given twice would be measured once and printed twice: a slip, said as such ({@code ignoreCase}: as the option's values are read). */
    static void refuseRepeats(String option, List<String> values, boolean ignoreCase) {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String v : values)
            if (!seen.add(ignoreCase ? v.toLowerCase(java.util.Locale.ROOT) : v))
                throw new Main.UserException(option + ": " + v + " is given twice");
    }
}
