package io.vitq.eval;

import io.vitq.io.AtomicFile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Markdown, JSON and CSV renderings of an evaluation; files are written atomically. */
public final class Reports {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Reports() {}

    public static String markdown(EvalResult r) {
        return markdown(r, null, null);
    }

    /**
     * The table with a column saying what ran ({@code run}, e.g. "ptq4vit W8A8, integer"; null: no
     * column), and for a comparison the float model's own top-1, with {@code floatNote} saying what
     * the float model is (e.g. "the file's decoded weights"; null: nothing).
     */
    public static String markdown(EvalResult r, String run, String floatNote) {
        StringBuilder sb = new StringBuilder();
        String runHead = run == null ? "" : " run |", runRule = run == null ? "" : "---|", runCell = run == null ? "" : " " + run + " |";
        sb.append("| model |" + runHead + " data | images | top-1 % | top-5 % | images/s (forward) | images/s (end to end) |\n");
        sb.append("|---|" + runRule + "---|---:|---:|---:|---:|---:|\n");
        sb.append(String.format(Locale.ROOT, "| %s |%s %s | %d | %s | %s | %.1f | %.1f |%n", r.model(), runCell, r.data(), r.images(),
                pct(r.top1()), pct(r.top5()), r.forwardImagesPerSecond(), r.wallImagesPerSecond()));
        if (r.labelled() > 0) {
            double[] ci = TopOneUncertainty.wilsonPercent(r.top1Correct(), r.labelled());
            sb.append(String.format(Locale.ROOT, "%ntop-1 95 %% interval %.2f-%.2f %% (Wilson score, %d labelled images)%n",
                    ci[0], ci[1], r.labelled()));
        }
        FpComparison c = r.comparison();
        if (c != null) {
            List<String> about = new ArrayList<>();
            if (floatNote != null) about.add(floatNote);
            if (r.labelled() > 0) about.add(String.format(Locale.ROOT, "its top-1 %.2f %%", 100.0 * c.referenceTop1Correct() / r.labelled()));
            sb.append(String.format(Locale.ROOT, "%nagreement with the float model%s: top-1 %d/%d (%.2f %%), mean KL(float || quantized) %.5f%n",
                    about.isEmpty() ? "" : " (" + String.join("; ", about) + ")", c.top1Agree(), c.images(), c.agreementPercent(), c.meanKl()));
            int[] d = discordant(r);
            if (d != null)
                sb.append(String.format(Locale.ROOT, "images right at top-1 in float only: %d, in this model only: %d (McNemar's exact "
                        + "test, two-sided p = %s)%n", d[0], d[1], pValue(TopOneUncertainty.mcnemarExact(d[0], d[1]))));
        }
        return sb.toString();
    }

    /** The discordant counts against the float model, or null without labels or its per-image predictions. */
    private static int[] discordant(EvalResult r) {
        FpComparison c = r.comparison();
        if (c == null || r.labelled() == 0 || c.reference().isEmpty() || c.reference().size() != r.predictions().size()) return null;
        return TopOneUncertainty.discordant(r.predictions(), c.reference());
    }

    /** Three decimals, or two significant digits in scientific notation below 0.001. */
    public static String pValue(double p) {
        return String.format(Locale.ROOT, p >= 0.001 ? "%.3f" : "%.1e", p);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }

    public static Map<String, Object> summary(EvalResult r) {
        return summary(r, null);
    }

    /** {@link #summary} with what ran after the model (the table's run column, e.g. "ptq4vit W8A8, integer"; null: none). */
    public static Map<String, Object> summary(EvalResult r, String run) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", r.model());
        if (run != null) m.put("run", run);
        m.put("data", r.data());
        m.put("images", r.images());
        m.put("labelled", r.labelled());
        m.put("top1_correct", r.top1Correct());
        m.put("top5_correct", r.top5Correct());
        m.put("top1", Double.isNaN(r.top1()) ? null : r.top1());
        m.put("top5", Double.isNaN(r.top5()) ? null : r.top5());
        if (r.labelled() > 0) {
            double[] ci = TopOneUncertainty.wilsonPercent(r.top1Correct(), r.labelled());
            m.put("top1_interval_95", List.of(ci[0], ci[1]));
        }
        m.put("forward_images_per_second", r.forwardImagesPerSecond());
        m.put("end_to_end_images_per_second", r.wallImagesPerSecond());
        m.put("forward_seconds", r.forwardSeconds());
        m.put("wall_seconds", r.wallSeconds());
        m.put("batch", r.batch());
        m.put("threads", r.threads());
        if (r.comparison() != null) {
            m.put("top1_agreement_with_float", r.comparison().agreementPercent());
            m.put("mean_kl_float_quantized", r.comparison().meanKl());
            m.put("float_top1", r.labelled() == 0 ? null : 100.0 * r.comparison().referenceTop1Correct() / r.labelled());
            int[] d = discordant(r);
            if (d != null) {
                m.put("top1_correct_float_only", d[0]);
                m.put("top1_correct_model_only", d[1]);
                m.put("mcnemar_p", TopOneUncertainty.mcnemarExact(d[0], d[1]));
            }
        }
        return m;
    }

    public static void writeJson(Path file, Map<String, Object> summary) throws IOException {
        writeAtomically(file, w -> w.write(JSON.writeValueAsString(summary) + "\n")); // a text file ends its last line
    }

    /** CSV: path, label, top-5 classes and their probabilities, one image per row. */
    public static void writePredictions(Path file, EvalResult r) throws IOException {
        writeAtomically(file, w -> {
            w.write(PredictionsCsv.HEADER + "\n");
            for (Prediction p : r.predictions()) {
                StringBuilder sb = new StringBuilder(csv(p.path())).append(',').append(p.label());
                for (int c : p.top().classes()) sb.append(',').append(c);
                for (float pr : p.top().probs()) sb.append(',').append(String.format(Locale.ROOT, "%.6g", pr));
                w.write(sb.append('\n').toString());
            }
        });
    }

    private static String csv(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0) return s;
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    @FunctionalInterface
    interface WriterBody {
        void write(Writer w) throws IOException;
    }

    /** Writes to a temporary sibling, then renames: no half-written report on failure. */
    static void writeAtomically(Path file, WriterBody body) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null && !Files.isDirectory(dir)) throw new IOException(dir + ": no such directory");
        AtomicFile.write(abs, tmp -> {
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                body.write(w);
            }
        });
    }
}
