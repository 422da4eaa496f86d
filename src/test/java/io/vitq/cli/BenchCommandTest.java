package io.vitq.cli;

import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench} on a tiny budget: every engine gets a row, float engines agree with vitq float. */
class BenchCommandTest {
    /** DeiT-Ti has no checkpoint here: random weights of its shape, which is what the bench does for such names. */
    static final String MODEL = "deit_tiny_patch16_224";

    @Test
    void everyEngineHasARow(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("bench.json");
        CliTest.Run r = run("bench", "--models", MODEL, "--batch", "2", "--seconds", "0.01", "--json", json.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("random weights"), r.err());
        // the engines' table comes first, ended by a blank line (the speed-ups, the GEMM rates and the peaks follow)
        List<String> rows = r.out().lines().takeWhile(l -> !l.isBlank()).filter(l -> l.startsWith("| " + MODEL)).toList();
        List<String> engines = List.of("vitq float", "vitq fake quant", "vitq integer", "ONNX Runtime float",
                "ONNX Runtime QDQ, int8 activations (default export)", "ONNX Runtime QDQ, uint8 activations",
                "ONNX Runtime deployment (export --float-attention --integer-linears)");
        assertEquals(engines.size(), rows.size(), r.out());
        for (int i = 0; i < rows.size(); i++) {
            String[] cells = rows.get(i).split("\\|");
            assertEquals(engines.get(i), cells[2].trim());
            assertTrue(Double.parseDouble(cells[3].trim()) > 0, rows.get(i));
            assertTrue(cells[4].trim().matches("\\d+\\.\\d-\\d+\\.\\d"), rows.get(i)); // slowest-fastest round
            assertTrue(Double.parseDouble(cells[5].trim()) > 0, rows.get(i));
        }
        // float runs give the same top-1 as vitq float on both images; the quantized files are about 1/4 the size
        assertEquals("2/2", rows.get(0).split("\\|")[7].trim());
        assertEquals("2/2", rows.get(3).split("\\|")[7].trim());
        double floatMb = Double.parseDouble(rows.get(0).split("\\|")[6].trim());
        double intMb = Double.parseDouble(rows.get(2).split("\\|")[6].trim());
        assertTrue(intMb < floatMb / 3.5, intMb + " MB vs " + floatMb + " MB");
        // the speed-ups: each quantized engine over its runtime's float engine, the overall ratio that of the rows' images/s
        List<String> ups = r.out().lines().filter(l -> l.startsWith("| " + MODEL + " | ") && l.split("\\|").length == 6
                && l.split("\\|")[4].trim().endsWith("x")).toList();
        assertEquals(List.of("vitq integer", engines.get(4), engines.get(6)), ups.stream().map(l -> l.split("\\|")[2].trim()).toList(), r.out());
        assertEquals(List.of("vitq float", "ONNX Runtime float", "ONNX Runtime float"),
                ups.stream().map(l -> l.split("\\|")[3].trim()).toList());
        int[][] pairs = {{2, 0}, {4, 3}, {6, 3}};   // rows: the quantized engine, its float engine
        for (int i = 0; i < pairs.length; i++) {
            String up = ups.get(i);
            double ratio = Double.parseDouble(up.split("\\|")[4].trim().replace("x", ""));
            double a = Double.parseDouble(rows.get(pairs[i][0]).split("\\|")[3].trim());
            double b = Double.parseDouble(rows.get(pairs[i][1]).split("\\|")[3].trim());
            // images/s printed to 0.05 either way, the ratio to 0.005
            assertEquals(a / b, ratio, 0.006 + a / b * (0.05 / a + 0.05 / b), up);
            assertTrue(up.split("\\|")[5].trim().matches("\\d+\\.\\d\\dx \\(\\d+\\.\\d\\d-\\d+\\.\\d\\dx\\)"), up);
        }
        String j = Files.readString(json);
        assertTrue(j.contains("\"engine\" : \"ONNX Runtime QDQ, uint8 activations\""), j);
        assertTrue(j.contains("\"round_images_per_second\"") && j.contains("\"median_round_ratio\""), j);
        // the fc1 GEMM of DeiT-Ti at batch 2: M = 2 x 197 tokens, K = 192, N = 768; both rates positive; the peaks line
        String gemm = r.out().lines().filter(l -> l.startsWith("| " + MODEL + " | 394 x 192 x 768 |")).findFirst().orElseThrow();
        String[] g = gemm.split("\\|");
        assertTrue(Double.parseDouble(g[3].trim()) > 0 && Double.parseDouble(g[4].trim()) > 0, gemm);
        assertTrue(r.out().contains("Peaks (register-only probes"), r.out());
        // a probe still interpreted (boxed vectors) once reported 4 GFLOP/s against a GEMM of 112: the peak is the larger
        java.util.regex.Matcher peak = java.util.regex.Pattern.compile("float FMA (\\d+) GFLOP/s").matcher(r.out());
        assertTrue(peak.find(), r.out());
        assertTrue(Double.parseDouble(peak.group(1)) > 0.5 * Double.parseDouble(g[3].trim()), gemm + " / " + peak.group());
        assertTrue(j.contains("\"float_fma_gflops\"") && j.contains("\"shape\" : \"394x192x768\""), j);
    }

    /** Random weights stand in only for a missing checkpoint: a found but unreadable one is an error. */
    @Test
    void unreadableCheckpointIsAnErrorNotRandomWeights(@TempDir Path tmp) throws Exception {
        Path bad = Files.createDirectories(tmp.resolve("models")).resolve(MODEL + ".safetensors");
        // a readable safetensors file that is not this model (a ModelException, not a CheckpointException)
        io.vitq.io.SafeTensors.writeF32(bad, java.util.Map.of("patch_embed.proj.weight",
                new io.vitq.tensor.Tensor(new float[6], 1, 6)), java.util.Map.of());
        String home = System.getProperty("vitq.home");
        // the bench's calibration images come from the home's demo folder
        Files.createSymbolicLink(tmp.resolve("demo"), TestData.demo(".").toAbsolutePath().normalize());
        System.setProperty("vitq.home", tmp.toString());
        try {
            CliTest.Run r = run("bench", "--models", MODEL, "--batch", "2", "--seconds", "0.01", "--no-onnxruntime");
            assertUserError(r, 1, bad.getFileName().toString());
            assertFalse(r.err().contains("random weights"), r.err());
        } finally {
            if (home == null) System.clearProperty("vitq.home");
            else System.setProperty("vitq.home", home);
        }
    }

    /**
     * A quantized file runs with its own plan (here AdaLog's W4A4, which the bench's own PTQ4ViT plan
     * never has): its rows are labelled with the file, the integer row runs from the file itself, and
     * the bench refuses a float checkpoint file and a calibration of a quantized one.
     */
    @Test
    void aQuantizedFileRunsWithItsOwnPlan(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q.safetensors");
        CliTest.Run qr = run("quantize", "--model", CliTest.MODEL, "--calib", QuantizeCommandTest.CALIB, "--calib-size", "2",
                "--method", "adalog", "--candidates", "4", "--rounds", "1", "--bits", "w4a4", "-o", q.toString());
        assertEquals(0, qr.exit(), qr.err());
        CliTest.Run r = run("bench", "--models", q.toString(), "--batch", "2", "--seconds", "0.01", "--rounds", "1", "--no-onnxruntime");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("the file's own plan (adalog W4A4)"), r.err());
        String label = "| vit_tiny_patch16_224 (q.safetensors) | ";
        List<String> rows = r.out().lines().takeWhile(l -> !l.isBlank()).filter(l -> l.startsWith(label)).toList();
        assertEquals(List.of("vitq float", "vitq fake quant", "vitq integer"), rows.stream().map(l -> l.split("\\|")[2].trim()).toList(), r.out());
        assertEquals(Files.size(q) / 1e6, Double.parseDouble(rows.get(2).split("\\|")[6].trim()), 0.051, rows.get(2));
        // without ONNX Runtime the one speed-up is vitq integer over vitq float
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith(label + "vitq integer | vitq float | ")), r.out());
        assertUserError(run("bench", "--models", CliTest.MODEL, "--no-onnxruntime"), 1, "not a quantized model file");
        assertUserError(run("bench", "--models", q.toString(), "--calibration", "--no-onnxruntime"), 1, "--calibration", "quantized already");
    }

    /**
     * The speed-ups from rows: the overall ratio is that of the whole run's images/s (here not the
     * means of the rounds, whose slices differ in length), not a mean of the rounds' ratios; the
     * rounds pair by index; a model without one of the engines has no row; rounds that do not pair
     * are refused.
     */
    @Test
    void speedupsPairTheRounds() {
        List<BenchCommand.Row> rows = List.of(
                row("m", BenchCommand.VITQ_FLOAT, 21, List.of(10.0, 30.0, 20.0)),
                row("m", BenchCommand.VITQ_INTEGER, 33, List.of(20.0, 30.0, 40.0)),
                row("m", BenchCommand.ORT_FLOAT, 10, List.of(10.0, 10.0, 10.0)),
                row("m", BenchCommand.DEPLOYMENT_ENGINE, 24, List.of(20.0, 30.0, 25.0)),
                row("n", BenchCommand.VITQ_FLOAT, 10, List.of(10.0)),
                row("n", BenchCommand.VITQ_INTEGER, 15, List.of(15.0)));
        List<BenchCommand.Speedup> ups = BenchCommand.speedups(rows);
        assertEquals(3, ups.size(), ups.toString());
        BenchCommand.Speedup integer = ups.get(0), deployment = ups.get(1), other = ups.get(2);
        assertEquals(BenchCommand.VITQ_INTEGER, integer.engine());
        assertEquals(33.0 / 21, integer.ratio(), 1e-12);
        assertEquals(List.of(2.0, 1.0, 2.0), integer.roundRatios());
        assertEquals(2.0, integer.median(), 1e-12);
        assertEquals(1.0, integer.lowest(), 1e-12);
        assertEquals(BenchCommand.DEPLOYMENT_ENGINE, deployment.engine());
        assertEquals(BenchCommand.ORT_FLOAT, deployment.over());
        assertEquals(2.4, deployment.ratio(), 1e-12);
        assertEquals(2.5, deployment.median(), 1e-12);
        assertEquals(3.0, deployment.highest(), 1e-12);
        assertEquals("n", other.model());
        assertEquals(1.5, other.median(), 1e-12);
        assertEquals(new BenchCommand.Speedup("m", "a", "b", 1, List.of(1.0, 4.0)).median(), 2.5, 1e-12); // even count: the middle pair's mean
        String md = BenchCommand.speedupMarkdown(ups);
        assertTrue(md.contains("| m | vitq integer | vitq float | 1.57x | 2.00x (1.00-2.00x) |"), md);
        List<BenchCommand.Row> unpaired = List.of(row("m", BenchCommand.VITQ_FLOAT, 20, List.of(10.0, 30.0)),
                row("m", BenchCommand.VITQ_INTEGER, 30, List.of(30.0)));
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> BenchCommand.speedups(unpaired));
        assertTrue(e.getMessage().contains("1 rounds against 2"), e.getMessage());
    }

    private static BenchCommand.Row row(String model, String engine, double imagesPerSecond, List<Double> rounds) {
        return new BenchCommand.Row(model, engine, imagesPerSecond, 1000 * 32 / imagesPerSecond, 1, 32, 32, rounds);
    }

    /**
     * A Swin runs through every engine, the ONNX Runtime exports included: here a micro Swin in
     * transformers' layout, quantized with PTQ4ViT W8A8, with its own plan. Its fc1 GEMM row is that of
     * the stage with the most blocks (ties: the later stage): 2 images x 16 tokens, 32 -> 128.
     */
    @Test
    void aSwinRunsThroughEveryEngine(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("swin.safetensors");
        CliTest.Run qr = run("quantize", "--model", ModelFolderCliTest.folder("hf_swin"), "--calib", QuantizeCommandTest.CALIB,
                "--calib-size", "2", "--method", "ptq4vit", "--bits", "w8a8", "--candidates", "4", "--rounds", "1", "-o", q.toString());
        assertEquals(0, qr.exit(), qr.err());
        CliTest.Run r = run("bench", "--models", q.toString(), "--batch", "2", "--seconds", "0.01", "--rounds", "1");
        assertEquals(0, r.exit(), r.err());
        String label = "| hf_swin (swin.safetensors) | ";
        List<String> rows = r.out().lines().takeWhile(l -> !l.isBlank()).filter(l -> l.startsWith(label)).toList();
        assertEquals(7, rows.size(), r.out());
        assertEquals("ONNX Runtime deployment (export --float-attention --integer-linears)", rows.get(6).split("\\|")[2].trim());
        for (String row : rows) assertTrue(Double.parseDouble(row.split("\\|")[3].trim()) > 0, row);
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith(label + "32 x 32 x 128 |")), r.out());
    }

    /** The fc1 GEMM the bench times: every block's in a ViT, the deepest stage's in a Swin. */
    @Test
    void fc1GemmShapes() {
        assertArrayEquals(new int[] {32 * 197, 192, 768},
                BenchCommand.fc1Gemm(io.vitq.model.ModelZoo.get("vit_tiny_patch16_224").architecture(), 32));
        // Swin-T: depths 2, 2, 6, 2; the third stage has 14 x 14 tokens of width 4 x 96
        assertArrayEquals(new int[] {32 * 196, 384, 1536},
                BenchCommand.fc1Gemm(io.vitq.model.ModelZoo.get("swin_tiny_patch4_window7_224").architecture(), 32));
    }

    @Test
    void benchErrors() {
        assertUserError(run("bench", "--models", "swin_tinny_patch4_window7_224"), 1, "--models", "swin_tinny_patch4_window7_224", "zoo names");
        assertUserError(run("bench", "--seconds", "0"), 1, "--seconds");
        assertUserError(run("bench", "--batch", "0"), 1, "--batch");
        assertUserError(run("bench", "--rounds", "0"), 1, "--rounds");
        assertUserError(run("bench", "--integer-search"), 1, "--integer-search", "--calibration");
    }
}
