package io.vitq.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.vitq.cli.CliTest.MODEL;
import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static io.vitq.cli.QuantizeCommandTest.VAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sweep} and {@code ablation} on a tiny budget: the table, the results file, resuming. */
class TableCommandsTest {
    static final String[] SMALL = {"--calib-size", "2", "--candidates", "4", "--rounds", "1", "--limit", "6", "--batch", "6"};

    static String[] args(String[] head, String... tail) {
        return concat(head, SMALL, tail);
    }

    static String[] concat(String[] a, String[] b, String... c) {
        String[] r = new String[a.length + b.length + c.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        System.arraycopy(c, 0, r, a.length + b.length, c.length);
        return r;
    }

    @Test
    void sweepPrintsTheTableAndResumes(@TempDir Path tmp) throws Exception {
        Path results = tmp.resolve("cells.json"), json = tmp.resolve("table.json");
        String[] cmd = args(new String[] {"sweep", "--models", MODEL, "--methods", "basePTQ", "--bits", "w8a8",
                "--data", VAL}, "--results", results.toString(), "--json", json.toString());
        CliTest.Run first = run(cmd);
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("| model | float | basePTQ W8A8 |"), first.out());
        // stdout is the table; each cell's calibration report goes to stderr, naming the cell
        assertFalse(first.out().contains(" s (images "), first.out());
        assertTrue(first.out().startsWith("top-1 % on 6 images of " + VAL + "; calibration: 2 images of "), first.out());
        assertTrue(first.err().contains("vitq: vit_tiny_patch16_224, basePTQ W8A8: calibration: "), first.err());
        assertTrue(first.err().contains("vitq: cells kept in " + results), first.err());
        assertTrue(Files.readString(results).contains("\"setting\" : \"basePTQ\""));
        assertTrue(Files.readString(json).contains("basePTQ W8A8"));
        CliTest.Run again = run(cmd);
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.err().contains("(from the results file)"), again.err());
        assertEquals(table(first.out()), table(again.out()), "the resumed run prints the same table");
    }

    @Test
    void sweepKeepsTheOutputNormApart(@TempDir Path tmp) throws Exception {
        Path results = tmp.resolve("cells.json");
        CliTest.Run r = run(args(new String[] {"sweep", "--models", MODEL, "--methods", "vtptq", "--bits", "mp8",
                "--data", VAL}, "--mp-msa-norm", "output", "--results", results.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("| vtptq MP8 (output norm) |"), r.out());
        assertTrue(Files.readString(results).contains("\"bits\" : \"MP8 (output norm)\""), Files.readString(results));
    }

    @Test
    void cellsWrittenWithoutASizeGetOne(@TempDir Path tmp) throws Exception {
        Path results = tmp.resolve("old.json");
        String cell = "{ \"model\" : \"vit_tiny_patch16_224\", \"setting\" : \"%s\", \"bits\" : \"%s\", \"top1\" : 50.0, "
                + "\"top5\" : 60.0, \"images\" : 6, \"calibSeconds\" : 1.0, \"note\" : \"old\" }";
        Files.writeString(results, "{ \"vit_tiny_patch16_224 | float | FP32\" : " + String.format(cell, "float", "FP32")
                + ", \"vit_tiny_patch16_224 | basePTQ | W6A6\" : " + String.format(cell, "basePTQ", "W6A6") + " }");
        CliTest.Run r = run(args(new String[] {"sweep", "--models", MODEL, "--methods", "basePTQ", "--bits", "w6a6",
                "--data", VAL}, "--results", results.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("| 50.00 (22.9 MB) |"), r.out()); // float: 5.72 M parameters x 4 bytes
        assertTrue(r.err().contains("(from the results file; written before settings were kept"), r.err());
    }

    /** A stored cell is reused only for the same data, calibration images and calibration settings. */
    @Test
    void sweepMeasuresAgainWhenTheSettingsChange(@TempDir Path tmp) throws Exception {
        String results = tmp.resolve("cells.json").toString();
        CliTest.Run first = run(sweepWith("4", "6", results));
        assertEquals(0, first.exit(), first.err());
        CliTest.Run more = run(sweepWith("8", "6", results));
        assertEquals(0, more.exit(), more.err());
        assertEquals(1, count(more.err(), "measured with other settings"), more.err()); // the basePTQ cell only
        assertTrue(more.err().contains("float FP32: ") && more.err().contains("(from the results file)"), more.err());
        assertTrue(Files.readString(Path.of(results)).contains("candidates=8"), Files.readString(Path.of(results)));
        CliTest.Run fewer = run(sweepWith("8", "3", results));
        assertEquals(0, fewer.exit(), fewer.err());
        assertEquals(2, count(fewer.err(), "measured with other settings"), fewer.err()); // the float cell too
        CliTest.Run same = run(sweepWith("8", "3", results));
        assertEquals(0, count(same.err(), "measured with other settings"), same.err());
        assertEquals(table(fewer.out()), table(same.out()));
    }

    /** A --limit that takes every image is the whole data: runs with it, with a larger one and without one share their cells. */
    @Test
    void aLimitCoveringTheDataIsNoLimit(@TempDir Path tmp) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(VAL)).subList(0, 3);
        Path data = Path.of(VAL).toAbsolutePath().getParent();
        Path list = Files.write(tmp.resolve("three.txt"), lines.stream().map(l -> data.resolve(l.split(",")[0].strip()).normalize()
                + " " + l.split(",")[1].strip()).toList());
        String results = tmp.resolve("cells.json").toString();
        for (String[] limit : new String[][] {{"--limit", "3"}, {"--limit", "50"}, {}}) {
            CliTest.Run r = run(concat(new String[] {"sweep", "--models", MODEL, "--methods", "basePTQ", "--bits", "w8a8", "--data",
                    list.toString(), "--calib-size", "2", "--candidates", "4", "--rounds", "1", "--batch", "3", "--results", results}, limit));
            assertEquals(0, r.exit(), r.err());
            assertEquals(0, count(r.err(), "measured with other settings"), String.join(" ", limit) + ": " + r.err());
        }
    }

    /** Another checkpoint under the same model name (and path) is measured again: its content is part of the key. */
    @Test
    void sweepMeasuresAgainForAnotherCheckpoint(@TempDir Path tmp) throws Exception {
        Path ck = tmp.resolve("vit_tiny_patch16_224.mine.safetensors");
        Files.copy(Path.of(MODEL), ck);
        String results = tmp.resolve("cells.json").toString();
        String[] cmd = args(new String[] {"sweep", "--models", ck.toString(), "--methods", "basePTQ", "--bits", "w8a8",
                "--data", VAL}, "--results", results);
        assertEquals(0, run(cmd).exit());
        CliTest.Run same = run(cmd);
        assertEquals(0, count(same.err(), "measured with other settings"), same.err());
        var w = new java.util.LinkedHashMap<>(io.vitq.io.ModelLoader.readWeights(ck).asMap());
        w.get("head.bias").data()[0] += 1f;   // a fine-tuned copy, same name, same size
        io.vitq.io.SafeTensors.writeF32(ck, w, java.util.Map.of());
        CliTest.Run other = run(cmd);
        assertEquals(0, other.exit(), other.err());
        assertEquals(2, count(other.err(), "measured with other settings"), other.err()); // float and basePTQ
        assertTrue(other.err().contains("checkpoint sha256 "), other.err());
    }

    /**
     * Every --models entry is loaded and checked before the first cell: a quantized file (whose evaluation
     * was once stored as the float cell), two entries under one model name (whose cells would overwrite
     * each other's), an unknown name at the end of the list. Nothing is measured, no results file written.
     */
    @Test
    void sweepChecksEveryModelBeforeTheFirstCell(@TempDir Path tmp) throws Exception {
        Path res = tmp.resolve("r.json");
        Path q = ExportCommandTest.quantizedFile(tmp);
        Path copy = Files.copy(Path.of(MODEL), tmp.resolve("vit_tiny_patch16_224.mine.safetensors"));
        String[][] cases = {
                {MODEL + "," + q, "--models " + q + ": already quantized"},
                {MODEL + "," + copy, "--models " + MODEL + " and " + copy + " both load as vit_tiny_patch16_224", "its own --results"},
                {MODEL + ",vit_nosuch_patch16_224", "vit_nosuch_patch16_224"},
                // ImageNet labels against a 10-class model, last in the list
                {MODEL + "," + ModelFolderCliTest.folder("timm_vit_hd32"), "--data", "10 classes"}};
        for (String[] c : cases) {
            CliTest.Run r = run(args(new String[] {"sweep", "--models", c[0], "--methods", "basePTQ", "--bits", "w8a8",
                    "--data", VAL}, "--results", res.toString()));
            assertUserError(r, 1, java.util.Arrays.copyOfRange(c, 1, c.length));
            assertFalse(r.err().contains("float FP32") || r.err().contains("calibration"), "before any cell: " + r.err());
            assertFalse(Files.exists(res), c[0] + ": no results file");
        }
    }

    private static String[] sweepWith(String candidates, String limit, String results) {
        return new String[] {"sweep", "--models", MODEL, "--methods", "basePTQ", "--bits", "w8a8", "--data", VAL,
                "--calib-size", "2", "--candidates", candidates, "--rounds", "1", "--limit", limit, "--batch", "6",
                "--results", results};
    }

    private static int count(String text, String what) { return text.split(java.util.regex.Pattern.quote(what), -1).length - 1; }

    static String table(String out) {
        return out.lines().filter(l -> l.startsWith("|")).reduce("", (a, b) -> a + b + "\n");
    }

    @Test
    void tableCommandErrors(@TempDir Path tmp) throws Exception {
        String res = tmp.resolve("r.json").toString();
        assertUserError(run("sweep", "--models", MODEL, "--methods", "ptq4vit", "--bits", "mp8", "--data", VAL,
                "--results", res), 1, "mp6/mp8", "vtptq");
        assertUserError(run("ablation", "--model", MODEL, "--method", "magic", "--data", VAL, "--results", res), 1, "--method");
        // a switch the rows set, or an option of another method: refused before the float model is evaluated
        CliTest.Run metric = run("ablation", "--model", MODEL, "--data", VAL, "--metric", "mse", "--results", res);
        assertUserError(metric, 1, "--metric mse", "H column");
        assertUserError(run("ablation", "--model", MODEL, "--method", "vtptq", "--no-ranking", "--data", VAL, "--results", res), 1,
                "--no-ranking", "R and B columns");
        String help = run("ablation", "--help").out(); // so they are not in its help, which would offer them
        for (String o : AblationCommand.COLUMN_OPTIONS) assertFalse(help.contains(o), o + " in: " + help);
        for (String o : AblationCommand.OTHER_METHODS_OPTIONS) {
            assertFalse(help.contains(o), o + " in: " + help);
            assertUserError(run("ablation", "--model", MODEL, "--data", VAL, o, "--results", res), 1, o);
        }
        // VT-PTQ's mixed-precision rows run at mp8 beside w8a8 and mp6 beside w6a6: other bits would mislabel them
        assertUserError(run("ablation", "--model", MODEL, "--method", "vtptq", "--bits", "w8a8,w4a4", "--data", VAL,
                "--results", res), 1, "--bits W4A4", "mp8 beside w8a8");
        assertTrue(help.contains("--softmax-mode") && run("quantize", "--help").out().contains("--no-ranking"), help);
        CliTest.Run badMode = run("ablation", "--model", MODEL, "--data", VAL, "--limit", "4", "--softmax-mode", "magic", "--results", res);
        assertUserError(badMode, 1, "--softmax-mode magic");
        assertFalse(badMode.out().contains("float") || badMode.err().contains("float FP32"), "refused before any evaluation: " + badMode.err());
        assertFalse(Files.exists(Path.of(res)), "no results file written");
        // outputs before the model loads (no loader note ahead of the refusal), then against the files it loaded from
        CliTest.Run noDir = run("ablation", "--model", ModelFolderCliTest.folder("timm_vit_hd32"), "--data", VAL, "--results",
                tmp.resolve("no/r.json").toString());
        assertUserError(noDir, 1, "--results", "does not exist");
        assertFalse(noDir.err().contains("note:"), noDir.err());
        // a file the model loads from, known once it has loaded: its folder's config.json
        String folder = ModelFolderCliTest.folder("timm_vit_hd32");
        assertUserError(run("ablation", "--model", folder, "--data", VAL, "--results", res, "--json",
                Path.of(folder, "config.json").toString()), 1, "--json", "refusing to overwrite");
        assertUserError(run("sweep", "--models", MODEL, "--bits", "w8", "--data", VAL, "--results", res), 1, "--bits");
        assertUserError(run("sweep", "--models", MODEL + "," + MODEL, "--data", VAL, "--results", res), 1, "--models", "given twice");
        Path bare = Files.copy(Path.of(MODEL), tmp.resolve("mine.safetensors"));
        CliTest.Run bareRun = run("sweep", "--models", bare.toString(), "--data", VAL, "--results", res);
        assertUserError(bareRun, 1, "--models " + bare, "its head count", "sweep takes no per-model options", "Hugging Face model folder");
        assertFalse(bareRun.err().contains("--heads"), "no option sweep lacks: " + bareRun.err());
        assertUserError(run("sweep", "--models", MODEL, "--methods", "basePTQ,baseptq", "--data", VAL, "--results", res), 1,
                "--methods: baseptq is given twice");
        assertUserError(run("sweep", "--models", MODEL, "--bits", "w8a8,W8A8", "--data", VAL, "--results", res), 1,
                "--bits: W8A8 is given twice");
        assertUserError(run("quantize", "--model", MODEL, "--bits", "mp8", "--plan", res), 1, "vtptq");
        assertUserError(run("quantize", "--model", MODEL, "--size-mb", "3", "--plan", res), 1, "--size-mb");
        // unlabelled images: refused before any calibration, nothing written
        String flat = io.vitq.testutil.TestData.demo("val/data").toString();
        assertUserError(run("sweep", "--models", MODEL, "--data", flat, "--results", res), 1, "--data", "labels");
        assertUserError(run("ablation", "--model", MODEL, "--data", flat, "--results", res), 1, "--data", "labels");
        assertFalse(Files.exists(Path.of(res)));
        // calibration images missing or too few: refused before the float model's evaluation, which would record a cell
        String calib = io.vitq.testutil.TestData.demo("calib/calib32.txt").toString();
        assertUserError(run("sweep", "--models", MODEL, "--data", VAL, "--calib", tmp.resolve("nosuch.txt").toString(),
                "--results", res), 1, "nosuch.txt");
        assertUserError(run("sweep", "--models", MODEL, "--data", VAL, "--calib", calib, "--calib-size", "33",
                "--results", res), 1, "calib32.txt", "fewer than the 33");
        assertUserError(run("ablation", "--model", MODEL, "--data", VAL, "--calib-size", "0", "--results", res), 1,
                "--calib-size", "positive");
        assertFalse(Files.exists(Path.of(res)));
        // a results file of something else: named, in the user's words, and left as it was
        Files.writeString(Path.of(res), "[]");
        assertUserError(run("sweep", "--models", MODEL, "--data", VAL, "--results", res), 1, "--results", "not a results file");
        assertFalse(run("sweep", "--models", MODEL, "--data", VAL, "--results", res).err().contains("io.vitq"));
        assertEquals("[]", Files.readString(Path.of(res)));
    }
}
