package io.vitq.eval;

import io.vitq.io.AtomicFileTest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reports of {@code vitq eval}: the Markdown table, the JSON summary ({@code --json}) and the
 * predictions CSV ({@code --predictions}): fields, number formats independent of the default
 * locale, CSV quoting, atomic writes.
 */
class ReportsTest {
    @TempDir
    Path tmp;

    private Locale saved;

    @BeforeEach
    void germanLocale() {
        // a default locale with decimal commas: the reports must not depend on it
        saved = Locale.getDefault();
        Locale.setDefault(Locale.GERMANY);
    }

    @AfterEach
    void restoreLocale() {
        Locale.setDefault(saved);
    }

    private static Prediction pred(String path, int label, int[] classes, float[] probs) {
        return new Prediction(path, label, new TopK(classes, probs));
    }

    /** 4 images, 3 labelled (top-1 right on 2, top-5 on 3), 2 s forward, 4 s end to end. */
    private static EvalResult result(FpComparison c) {
        List<Prediction> p = new ArrayList<>();
        p.add(pred("a.jpg", 1, new int[] {1, 2, 3, 4, 5}, new float[] {0.5f, 0.25f, 0.125f, 1e-7f, 3.3333333e-2f}));
        p.add(pred("dir,with,commas/b.jpg", 7, new int[] {7, 0, 1, 2, 3}, new float[] {0.9f, 0.05f, 0.02f, 0.02f, 0.01f}));
        p.add(pred("say \"cheese\".png", 3, new int[] {9, 3, 1, 2, 4}, new float[] {0.6f, 0.3f, 0.05f, 0.03f, 0.02f}));
        p.add(pred("line\nbreak.png", -1, new int[] {4, 3, 2, 1, 0}, new float[] {0.2f, 0.2f, 0.2f, 0.2f, 0.2f}));
        return new EvalResult("vit_tiny_patch16_224", "val.txt", 4, 3, 2, 3, 2.0, 4.0, 2, 2, p, c);
    }

    @Test
    void summaryHasEveryFieldAndNullForUnlabelledData() {
        Map<String, Object> m = Reports.summary(result(null));
        assertEquals(List.of("model", "data", "images", "labelled", "top1_correct", "top5_correct", "top1", "top5",
                "top1_interval_95", "forward_images_per_second", "end_to_end_images_per_second", "forward_seconds", "wall_seconds", "batch",
                "threads"), new ArrayList<>(m.keySet()));
        assertEquals(4, m.get("images"));
        assertEquals(3, m.get("labelled"));
        assertEquals(100.0 * 2 / 3, (double) m.get("top1"), 1e-12);
        assertEquals(100.0, (double) m.get("top5"), 1e-12);
        assertEquals(List.of(100 * 0.2076596008020477, 100 * 0.9385080552796037), m.get("top1_interval_95"));
        assertEquals(2.0, m.get("forward_images_per_second"));
        assertEquals(1.0, m.get("end_to_end_images_per_second"));
        Map<String, Object> withC = Reports.summary(result(new FpComparison(4, 3, 0.0125)));
        assertEquals(75.0, withC.get("top1_agreement_with_float"));
        assertEquals(0.0125, withC.get("mean_kl_float_quantized"));
        assertEquals(0.0, withC.get("float_top1"));
        Map<String, Object> run = Reports.summary(result(new FpComparison(4, 2, 0.0125, 1, List.of())), "ptq4vit W8A8, integer");
        assertEquals(List.of("model", "run", "data"), new ArrayList<>(run.keySet()).subList(0, 3));
        assertEquals("ptq4vit W8A8, integer", run.get("run"));
        assertEquals(100.0 / 3, (double) run.get("float_top1"), 1e-12);
        EvalResult unlabelled = new EvalResult("m", "d", 2, 0, 0, 0, 1, 1, 1, 1, List.of(), null);
        Map<String, Object> u = Reports.summary(unlabelled);
        assertTrue(u.containsKey("top1") && u.get("top1") == null && u.get("top5") == null, u.toString());
        assertFalse(u.containsKey("top1_interval_95"), u.toString());
        // with the float model's predictions per image: the images only one of the two gets right
        Map<String, Object> paired = Reports.summary(result(pairedComparison()));
        assertEquals(1, paired.get("top1_correct_float_only"));
        assertEquals(1, paired.get("top1_correct_model_only"));
        assertEquals(1.0, paired.get("mcnemar_p"));
        assertFalse(withC.containsKey("mcnemar_p"), withC.toString());
    }

    /** The float model's top-5 per image: it gets a wrong and b and c right, the evaluated model a and b: one image on each side. */
    private static FpComparison pairedComparison() {
        List<TopK> ref = List.of(new TopK(new int[] {2, 1, 3, 4, 5}, new float[] {0.5f, 0.2f, 0.1f, 0.1f, 0.1f}),
                new TopK(new int[] {7, 0, 1, 2, 3}, new float[] {0.5f, 0.2f, 0.1f, 0.1f, 0.1f}),
                new TopK(new int[] {3, 9, 1, 2, 4}, new float[] {0.5f, 0.2f, 0.1f, 0.1f, 0.1f}),
                new TopK(new int[] {0, 1, 2, 3, 4}, new float[] {0.5f, 0.2f, 0.1f, 0.1f, 0.1f}));
        return new FpComparison(4, 2, 0.0125, 2, ref);
    }

    @Test
    void jsonRoundTripsTheSummary() throws IOException {
        Path f = tmp.resolve("eval.json");
        Reports.writeJson(f, Reports.summary(result(new FpComparison(4, 3, 0.0125))));
        JsonNode j = new ObjectMapper().readTree(f.toFile());
        assertEquals("vit_tiny_patch16_224", j.get("model").asText());
        assertEquals(4, j.get("images").asInt());
        assertEquals(100.0 * 2 / 3, j.get("top1").asDouble(), 1e-12);
        assertEquals(75.0, j.get("top1_agreement_with_float").asDouble());
        assertEquals(0.0125, j.get("mean_kl_float_quantized").asDouble());
        AtomicFileTest.assertNoTemporaryFiles(tmp);
    }

    @Test
    void predictionsCsvQuotesPathsAndUsesDecimalPoints() throws IOException {
        Path f = tmp.resolve("p.csv");
        Reports.writePredictions(f, result(null));
        String csv = Files.readString(f);
        String expected = "path,label,top1,top2,top3,top4,top5,p1,p2,p3,p4,p5\n"
                + "a.jpg,1,1,2,3,4,5,0.500000,0.250000,0.125000,1.00000e-07,0.0333333\n"
                + "\"dir,with,commas/b.jpg\",7,7,0,1,2,3,0.900000,0.0500000,0.0200000,0.0200000,0.0100000\n"
                + "\"say \"\"cheese\"\".png\",3,9,3,1,2,4,0.600000,0.300000,0.0500000,0.0300000,0.0200000\n"
                + "\"line\nbreak.png\",-1,4,3,2,1,0,0.200000,0.200000,0.200000,0.200000,0.200000\n";
        assertEquals(expected, csv);
    }

    @Test
    void markdownTable() {
        String md = Reports.markdown(result(new FpComparison(4, 3, 0.0125)));
        String[] lines = md.split("\n");
        assertEquals("| model | data | images | top-1 % | top-5 % | images/s (forward) | images/s (end to end) |", lines[0]);
        assertEquals("| vit_tiny_patch16_224 | val.txt | 4 | 66.67 | 100.00 | 2.0 | 1.0 |", lines[2]);
        assertTrue(md.contains("agreement with the float model (its top-1 0.00 %): top-1 3/4 (75.00 %), mean KL(float || quantized) 0.01250"), md);
        assertTrue(md.contains("\ntop-1 95 % interval 20.77-93.85 % (Wilson score, 3 labelled images)\n"), md);
        assertFalse(md.contains("McNemar"), md);   // no per-image float predictions in this comparison
        String paired = Reports.markdown(result(pairedComparison()));
        assertTrue(paired.contains("\nimages right at top-1 in float only: 1, in this model only: 1 (McNemar's exact test, two-sided p = 1.000)\n"),
                paired);
        assertEquals("0.060", Reports.pValue(0.06016));
        assertEquals("0.001", Reports.pValue(0.0010158));
        assertEquals("3.5e-05", Reports.pValue(3.46e-5));
        assertTrue(paired.contains("top-1 2/4"), paired);
        // what ran, and what the float model is
        String run = Reports.markdown(result(new FpComparison(4, 3, 0.0125, 2, List.of())), "ptq4vit W8A8, integer",
                "the file's decoded weights");
        String[] runLines = run.split("\n");
        assertEquals("| model | run | data | images | top-1 % | top-5 % | images/s (forward) | images/s (end to end) |", runLines[0]);
        assertEquals("|---|---|---|---:|---:|---:|---:|---:|", runLines[1]);
        assertEquals("| vit_tiny_patch16_224 | ptq4vit W8A8, integer | val.txt | 4 | 66.67 | 100.00 | 2.0 | 1.0 |", runLines[2]);
        assertTrue(run.contains("agreement with the float model (the file's decoded weights; its top-1 66.67 %): top-1 3/4"), run);
        String unlabelled = Reports.markdown(new EvalResult("m", "d", 2, 0, 0, 0, 1, 1, 1, 1, List.of(), null));
        assertTrue(unlabelled.contains("| m | d | 2 | n/a | n/a | 2.0 | 2.0 |"), unlabelled);
        assertFalse(unlabelled.contains("agreement"), unlabelled);
        assertFalse(unlabelled.contains("interval"), unlabelled);
    }

    @Test
    void failedWriteLeavesTheOldFileAndNoTemporary() throws IOException {
        Path f = Files.writeString(tmp.resolve("p.csv"), "old report\n");
        IOException e = assertThrows(IOException.class, () -> Reports.writeAtomically(f, w -> {
            w.write("half a report");
            throw new IOException("disk full");
        }));
        assertEquals(f + ": cannot write (disk full)", e.getMessage());   // the report named: a full disk names no file
        assertEquals("old report\n", Files.readString(f));
        AtomicFileTest.assertNoTemporaryFiles(tmp);
        assertThrows(IllegalStateException.class, () -> Reports.writeAtomically(f, w -> {
            throw new IllegalStateException("bug");
        }));
        assertEquals("old report\n", Files.readString(f));
        AtomicFileTest.assertNoTemporaryFiles(tmp);
        // a missing directory is named
        Path missing = tmp.resolve("no/such/dir/p.csv");
        IOException m = assertThrows(IOException.class, () -> Reports.writeJson(missing, Map.of()));
        assertEquals(tmp.resolve("no/such/dir") + ": no such directory", m.getMessage());
    }
}
