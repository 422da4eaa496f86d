package io.vitq.cli;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Metric;
import io.vitq.io.ModelLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "ablation", mixinStandardHelpOptions = true,
        description = "PTQ4ViT's ablation table: Hessian-guided metric (H), softmax twin (S) and GELU twin (G) on and off, "
                + "at each bit setting; 'no H' is the cosine metric, everything else is PTQ4ViT's configuration.")
final class AblationCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Mixin CalibOptions calibOptions;

    @Option(names = "--bits", split = ",", paramLabel = "wXaY,...", defaultValue = "w8a8,w6a6",
            description = "Bit settings (default ${DEFAULT-VALUE}).")
    List<String> bits;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR|LIST", description = "Evaluation images (labelled).")
    Path data;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate only the first N images.")
    Integer limit;

    @Option(names = {"-b", "--batch"}, paramLabel = "B", defaultValue = "32", description = "Evaluation batch (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--results", paramLabel = "FILE", defaultValue = "ablation-results.json",
            description = "Finished cells, read on start and updated after each cell (default ${DEFAULT-VALUE}).")
    Path results;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the table as JSON.")
    Path json;

    /** The paper's rows: Hessian, softmax twin, GELU twin. */
    static final boolean[][] ROWS = {
            {false, false, false}, {true, false, false}, {true, true, false},
            {true, false, true}, {false, true, true}, {true, true, true}};

    @Override
    public Integer call() throws Exception {
        Inputs.checkOutput("--results", results);
        Inputs.checkOutput("--json", json);
        if (limit != null) Inputs.checkPositive("--limit", limit);
        Inputs.checkPositive("--batch", batch);
        List<BitsOption> bitOptions = new ArrayList<>();
        for (String b : bits) bitOptions.add(BitsOption.parse(b));
        ModelLoader.Loaded l = modelOptions.load();
        TableRunner runner = new TableRunner(calibOptions, data, limit, batch, CellStore.open(results));
        CellStore.Cell fp = runner.cell(l, "float", "FP32", null);

        StringBuilder md = new StringBuilder("| H | S | G |");
        StringBuilder sep = new StringBuilder("|:-:|:-:|:-:|");
        for (BitsOption b : bitOptions) {
            md.append(' ').append(b.label()).append(" |");
            sep.append("---:|");
        }
        md.append('\n').append(sep).append('\n');
        List<Map<String, Object>> rows = new ArrayList<>();
        for (boolean[] r : ROWS) {
            String setting = "ptq4vit" + (r[0] ? " H" : " -") + (r[1] ? "S" : "-") + (r[2] ? "G" : "-");
            StringBuilder line = new StringBuilder("| " + mark(r[0]) + " | " + mark(r[1]) + " | " + mark(r[2]) + " |");
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("hessian", r[0]);
            row.put("softmax_twin", r[1]);
            row.put("gelu_twin", r[2]);
            for (BitsOption b : bitOptions) {
                CalibConfig c = calibOptions.config("ptq4vit", b).withTwins(r[1], r[2]);
                if (!r[0]) c = c.withMetric(Metric.COSINE);
                CellStore.Cell cell = runner.cell(l, setting, b.label(), c);
                line.append(' ').append(TableRunner.pct(cell)).append(" |");
                row.put(b.label(), cell.top1());
            }
            md.append(line).append('\n');
            rows.add(row);
        }
        System.out.println("model " + l.model().name() + ", float top-1 " + TableRunner.pct(fp) + " % on " + data);
        System.out.print(md);
        if (json != null) io.vitq.eval.Reports.writeJson(json, Map.of("model", l.model().name(), "float", fp.top1(), "rows", rows));
        return 0;
    }

    private static String mark(boolean on) { return on ? "✓" : "–"; }
}
