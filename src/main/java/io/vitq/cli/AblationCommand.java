package io.vitq.cli;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Metric;
import io.vitq.io.ModelLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "ablation", mixinStandardHelpOptions = true,
        description = "Ablation tables. ptq4vit (default): Hessian-guided metric (H), softmax twin (S) and GELU twin (G) on "
                + "and off, at each bit setting; 'no H' is the cosine metric, everything else is PTQ4ViT's configuration. "
                + "vtptq: the paper's Table 3, similarity alone and with ranking (R), bias correction (B) and mixed "
                + "precision (M: mp8 for w8a8, mp6 for w6a6).")
final class AblationCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Mixin CalibOptions calibOptions;

    @Option(names = "--method", paramLabel = "ptq4vit|vtptq", defaultValue = "ptq4vit",
            description = "Whose ablation (default ${DEFAULT-VALUE}).")
    String method;

    @Mixin TableOptions table;

    /** Options the table's columns set: refused when given (call() says why), so left out of the help. */
    static final List<String> COLUMN_OPTIONS = List.of("--metric", "--no-ranking", "--no-bias-correction");

    /** Options of methods the ablation does not run (vitq, adalog): refused when given, so left out of the help. */
    static final List<String> OTHER_METHODS_OPTIONS = List.of("--symmetric-weights", "--no-rotate-inputs", "--no-gptq");

    /**
     * Hides {@link #COLUMN_OPTIONS} and {@link #OTHER_METHODS_OPTIONS} from {@code spec}'s help; they still parse, so
     * the refusal can explain itself.
     */
    static void hideRefusedOptions(CommandSpec spec) {
        for (String name : java.util.stream.Stream.concat(COLUMN_OPTIONS.stream(), OTHER_METHODS_OPTIONS.stream()).toList()) {
            OptionSpec o = spec.findOption(name);
            spec.remove(o);
            spec.addOption(OptionSpec.builder(o).hidden(true).build());
        }
    }

    /** The paper's rows: Hessian, softmax twin, GELU twin. */
    static final boolean[][] ROWS = {
            {false, false, false}, {true, false, false}, {true, true, false},
            {true, false, true}, {false, true, true}, {true, true, true}};

    @Override
    public Integer call() throws Exception {
        List<BitsOption> bitOptions = table.bitOptions();
        boolean vt = switch (method.toLowerCase(java.util.Locale.ROOT)) {
            case "ptq4vit" -> false;
            case "vtptq" -> true;
            default -> throw new Main.UserException("--method " + method + ": expected ptq4vit or vtptq");
        };
        if (!vt) calibOptions.checkMsaNorm(List.of()); // only VT-PTQ's table has mixed-precision rows
        for (BitsOption b : bitOptions) {
            if (b.mixed() != null) throw new Main.UserException("--bits " + b.label() + ": give fixed bits; the M rows use mp6/mp8");
            if (vt && !(b.weight() == b.activation() && (b.weight() == 8 || b.weight() == 6)))
                throw new Main.UserException("--bits " + b.label() + ": VT-PTQ's table pairs each setting with a mixed-precision "
                        + "row (M), mp8 beside w8a8 and mp6 beside w6a6; give w8a8, w6a6 or both");
        }
        // the switches the rows turn on and off: an option setting one would be overridden row by row
        if (!vt && calibOptions.metric != null)
            throw new Main.UserException("--metric " + calibOptions.metric + ": the H column sets the metric (hessian, else cosine); drop it");
        if (vt && (calibOptions.noRanking || calibOptions.noBiasCorrection))
            throw new Main.UserException((calibOptions.noRanking ? "--no-ranking" : "--no-bias-correction") + ": the R and B columns "
                    + "turn ranking and bias correction on and off; drop it");
        // every other option is checked before any work (the float model's evaluation included)
        for (BitsOption b : bitOptions) calibOptions.config(vt ? "vtptq" : "ptq4vit", b);
        // the outputs, images and labels before the model loads; then the outputs against the files it loaded from
        TableRunner runner = table.open(calibOptions, "ablation", modelOptions.givenPaths());
        calibOptions.noteIntegerSearchKernel();
        ModelLoader.Loaded l = modelOptions.loadFloat();
        table.checkOutputsAgainst(l);
        CellStore.Cell fp = runner.cell(l, "float", "FP32", null);

        if (vt) return vtTable(l, runner, fp, bitOptions);
        StringBuilder md = header("H", "S", "G", bitOptions);
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
                CellStore.Cell cell = runner.cell(l, setting, calibOptions.bitsLabel(b), c);
                line.append(' ').append(TableRunner.pct(cell)).append(" |");
                row.put(calibOptions.bitsLabel(b), cell.top1());
            }
            md.append(line).append('\n');
            rows.add(row);
        }
        return print(l, fp, md, rows);
    }

    /** VT-PTQ rows (Table 3): ranking, bias correction, mixed precision. */
    static final boolean[][] VT_ROWS = {
            {false, false, false}, {true, false, false}, {false, true, false}, {true, true, false},
            {false, false, true}, {false, true, true}, {true, false, true}, {true, true, true}};

    private int vtTable(ModelLoader.Loaded l, TableRunner runner, CellStore.Cell fp, List<BitsOption> bitOptions)
            throws java.io.IOException {
        StringBuilder md = header("ranking", "bias correction", "mixed precision", bitOptions);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (boolean[] r : VT_ROWS) {
            String setting = "vtptq" + (r[0] ? " R" : " -") + (r[1] ? "B" : "-") + (r[2] ? "M" : "-");
            StringBuilder line = new StringBuilder("| " + mark(r[0]) + " | " + mark(r[1]) + " | " + mark(r[2]) + " |");
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("ranking", r[0]);
            row.put("bias_correction", r[1]);
            row.put("mixed_precision", r[2]);
            for (BitsOption b : bitOptions) {
                CalibConfig c = calibOptions.config("vtptq", b);
                CalibConfig.VtOptions v = c.vt();
                c = c.withVt(new CalibConfig.VtOptions(r[0], v.gamma(), v.theta(), v.normalizeRanking(), r[1], v.qkvPerMatrix()));
                io.vitq.calib.mp.MpTarget mp = !r[2] ? null
                        : b.weight() == 8 ? io.vitq.calib.mp.MpTarget.MP8 : io.vitq.calib.mp.MpTarget.MP6;
                String label = calibOptions.bitsLabel(mp == null ? b : new BitsOption(b.weight(), b.activation(), mp));
                CellStore.Cell cell = runner.cell(l, setting, label, c, mp);
                line.append(' ').append(TableRunner.pct(cell)).append(' ').append(TableRunner.mb(cell)).append(" |");
                row.put(b.label(), cell.top1());
                row.put(b.label() + " MB", cell.sizeMb());
            }
            md.append(line).append('\n');
            rows.add(row);
        }
        return print(l, fp, md, rows);
    }

    /** The Markdown header: three on/off switch columns, then one column per bit setting. */
    private StringBuilder header(String a, String b, String c, List<BitsOption> bitOptions) {
        StringBuilder md = new StringBuilder("| " + a + " | " + b + " | " + c + " |");
        StringBuilder sep = new StringBuilder("|:-:|:-:|:-:|");
        for (BitsOption o : bitOptions) {
            md.append(' ').append(calibOptions.bitsLabel(o)).append(" |");
            sep.append("---:|");
        }
        return md.append('\n').append(sep).append('\n');
    }

    /** Prints the table (and writes it as JSON when asked). */
    private int print(ModelLoader.Loaded l, CellStore.Cell fp, StringBuilder md, List<Map<String, Object>> rows)
            throws java.io.IOException {
        System.out.println("model " + l.model().name() + ", float top-1 " + TableRunner.pct(fp) + " % on "
                + table.measuredOn(calibOptions, fp.images()));
        System.out.print(md);
        table.reportResults();
        if (table.json != null) io.vitq.eval.Reports.writeJson(table.json, Map.of("model", l.model().name(), "float", fp.top1(), "rows", rows));
        return 0;
    }

    private static String mark(boolean on) { return on ? "✓" : "–"; }
}
