package io.vitq.cli;

import io.vitq.io.SafeTensors;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line as a user meets it: results on good input, one-line errors on bad input. */
class CliTest {
    record Run(int exit, String out, String err) {}

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static final String MODEL = TestData.VIT_TINY.toString();

    /** A user error: non-zero exit, the message names what is wrong, no stack trace, nothing on stdout. */
    static void assertUserError(Run r, int exit, String... mentions) {
        assertEquals(exit, r.exit(), r.err());
        // one error line, not continued on the next (what follows it: another vitq line, close matches, the help pointer)
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.stream().filter(l -> l.startsWith("vitq: error: ")).count(), "one error line: " + r.err());
        int at = 0;
        while (!lines.get(at).startsWith("vitq: error: ")) at++;
        if (at + 1 < lines.size()) {
            String next = lines.get(at + 1);
            assertTrue(next.startsWith("vitq: ") || next.startsWith("Run 'vitq") || next.startsWith("Possible solutions"),
                    "the error continues on a second line: " + r.err());
        }
        for (String m : mentions) assertTrue(r.err().contains(m), "stderr should mention '" + m + "': " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertFalse(r.err().contains("Exception"), "no exception class names: " + r.err());
    }

    @Test
    void evalWritesTableJsonAndPredictions(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("summary.json"), csv = tmp.resolve("pred.csv");
        Run r = run("eval", "--model", MODEL, "--data", TestData.demo("val/dataset.txt").toString(), "--limit", "8",
                "--batch", "4", "--json", json.toString(), "--predictions", csv.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("| vit_tiny_patch16_224 |"), r.out());
        String js = Files.readString(json);
        assertTrue(js.contains("\"images\" : 8"), js);
        List<String> lines = Files.readAllLines(csv);
        assertEquals(9, lines.size());
        assertTrue(lines.get(0).startsWith("path,label,top1"));
        assertTrue(lines.get(1).contains("ILSVRC2012_val_00000347.JPEG,472,472,"), lines.get(1));
    }

    @Test
    void limitBeyondTheDataSaysSo(@TempDir Path tmp) throws Exception {
        Path list = tmp.resolve("three.txt");
        Path val = TestData.demo("val/dataset.txt");
        Files.write(list, Files.readAllLines(val).stream().filter(l -> !l.isBlank()).limit(3)
                .map(l -> l.replaceFirst("^\\./", val.getParent() + "/")).toList());
        Run r = run("eval", "--model", MODEL, "--data", list.toString(), "--limit", "10");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("--limit 10: " + list + " holds 3 images; using all of them"), r.err());
        Run within = run("eval", "--model", MODEL, "--data", list.toString(), "--limit", "3");
        assertEquals(0, within.exit(), within.err());
        assertFalse(within.err().contains("holds"), within.err());
    }

    @Test
    void integerNotesSharedByOpsArePrintedOnce() {
        assertEquals(List.of("blocks.0.mlp.fc2, ..., blocks.11.mlp.fc2 (4 ops): fc2 input: split form",
                        "blocks.0.attn.matmul2: probabilities: shift form (m = 4)",
                        "a note without an op",
                        "blocks.1.attn.matmul2, blocks.2.attn.matmul2: probabilities: split form"),
                EvalCommand.condensed(List.of("blocks.0.mlp.fc2: fc2 input: split form",
                        "blocks.0.attn.matmul2: probabilities: shift form (m = 4)", "blocks.5.mlp.fc2: fc2 input: split form",
                        "a note without an op", "blocks.1.attn.matmul2: probabilities: split form",
                        "blocks.6.mlp.fc2: fc2 input: split form", "blocks.2.attn.matmul2: probabilities: split form",
                        "blocks.11.mlp.fc2: fc2 input: split form")));
        // each op's own int32 bound: one line, the first op's numbers
        assertEquals(List.of("blocks.0.mlp.fc2, ..., blocks.2.mlp.fc2 (4 ops): AdaLog input: shift form (m = 7), one int32 accumulation: "
                        + "K 768 x 16204 x 63 <= 2^31 - 1 (blocks.0.mlp.fc2; the others alike)",
                        "blocks.0.attn.matmul2, blocks.1.attn.matmul2: AdaLog probabilities: shift form (m = 7), one int32 accumulation: "
                        + "K 197 x 16383 x 32 <= 2^31 - 1"),
                EvalCommand.condensed(List.of(
                        "blocks.0.mlp.fc2: AdaLog input: shift form (m = 7), one int32 accumulation: K 768 x 16204 x 63 <= 2^31 - 1",
                        "blocks.0.attn.matmul2: AdaLog probabilities: shift form (m = 7), one int32 accumulation: K 197 x 16383 x 32 <= 2^31 - 1",
                        "blocks.1.mlp.fc2: AdaLog input: shift form (m = 7), one int32 accumulation: K 768 x 16007 x 63 <= 2^31 - 1",
                        "blocks.1.attn.matmul2: AdaLog probabilities: shift form (m = 7), one int32 accumulation: K 197 x 16383 x 32 <= 2^31 - 1",
                        "blocks.5.mlp.fc2: AdaLog input: shift form (m = 7), one int32 accumulation: K 768 x 15879 x 63 <= 2^31 - 1",
                        "blocks.2.mlp.fc2: AdaLog input: shift form (m = 7), one int32 accumulation: K 768 x 15803 x 63 <= 2^31 - 1")));
    }

    /** A plain note that an op's note repeats gives way to it, as before the notes were grouped. */
    @Test
    void aPlainNoteThatAnOpRepeatsGivesWay() {
        assertEquals(List.of("blocks.0.mlp.fc2: split form", "other"),
                EvalCommand.condensed(List.of("split form", "other", "blocks.0.mlp.fc2: split form")));
    }

    @Test
    void predictPrintsClassNames() {
        Run r = run("predict", "--model", MODEL, TestData.demo("val/data/ILSVRC2012_val_00000347.JPEG").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("472") && r.out().contains("canoe"), r.out());
    }

    @Test
    void infoDescribesTheModel() {
        Run r = run("info", "--model", MODEL, "--ops");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("5,717,416"), r.out());
        assertTrue(r.out().contains("blocks.11.attn.matmul2"), r.out());
        assertTrue(r.out().contains("resize shorter side to 248 (bicubic, PIL) -> centre crop 224"), r.out());
        assertTrue(r.out().contains("class names:   none in the model; its 1000 classes are named as ImageNet-1k's (timm's order)"), r.out());
    }

    @Test
    void missingCheckpoint() {
        assertUserError(run("info", "--model", "vit_tiny_patch16_224", "--checkpoint", "/nonexistent/w.safetensors"),
                1, "/nonexistent/w.safetensors");
    }

    @Test
    void modelAndCheckpointMistakes(@TempDir Path tmp) {
        assertUserError(run("info", "--model", ""), 1, "--model", "empty");
        assertUserError(run("info", "--model", MODEL, "--checkpoint", MODEL), 1, "--checkpoint", "zoo name", "one or the other");
        assertUserError(run("eval", "--model", MODEL, "--data", TestData.demo("val/dataset.txt").toString(), "--plan",
                tmp.toString()), 1, "--plan", "is a directory");
    }

    /** A plan without ops would evaluate the float model under the plan's method and bits: refused. */
    @Test
    void aPlanThatQuantizesNothing(@TempDir Path tmp) throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var plan = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(
                Path.of("src/test/resources/quant/ptq4vit_w8a8_vit_tiny.json").toFile());
        plan.putObject("ops");
        Path empty = tmp.resolve("empty.json");
        json.writeValue(empty.toFile(), plan);
        assertUserError(run("eval", "--model", MODEL, "--data", TestData.demo("val/dataset.txt").toString(), "--plan",
                empty.toString()), 1, "--plan", "empty.json", "quantizes no op");
    }

    @Test
    void unknownModelName() {
        assertUserError(run("info", "--model", "resnet50"), 1, "unknown model 'resnet50'");
    }

    @Test
    void outOfMemoryNamesOnlyTheFailingCommandsOptions() {
        java.util.function.Function<String, String> message = name ->
                Main.outOfMemory(new picocli.CommandLine(new Main()).getSubcommands().get(name).getCommandSpec());
        String quantize = message.apply("quantize"), eval = message.apply("eval"), export = message.apply("export");
        assertTrue(quantize.contains("--calib-size") && !quantize.contains("--batch"), quantize);
        assertTrue(eval.contains("--batch") && !eval.contains("--calib-size"), eval);
        assertEquals("out of memory: raise the heap (VITQ_HEAP=-Xmx20g ./vitq ...)", export);
        String unknown = Main.userMessage(new OutOfMemoryError("Java heap space"));
        assertTrue(unknown.contains("--batch") && unknown.contains("--calib-size") && unknown.contains("VITQ_HEAP"), unknown);
    }

    /** Spark's classes missing (java -jar without the launcher's --spark class path): said as such, not as an internal error. */
    @Test
    void sparkMissingFromTheClassPathIsNamed() {
        String m = Main.userMessage(new NoClassDefFoundError("org/apache/spark/scheduler/SparkListenerInterface"));
        assertTrue(m.startsWith("--spark: Spark's jars are not on the class path") && !m.contains("internal error"), m);
        assertTrue(Main.userMessage(new NoClassDefFoundError("com/example/Other")).contains("internal error"));
    }

    @Test
    void demoAndQuantizeWordAnUnknownMethodAlike(@TempDir Path tmp) {
        String expected = "--method: unknown method 'nope' (expected basePTQ, ptq4vit, vtptq, vitq, repq or adalog)";
        assertUserError(run("demo", "--method", "nope", "-o", tmp.resolve("d").toString()), 1, expected);
        assertUserError(run("quantize", "--method", "nope", "--plan", tmp.resolve("p.json").toString()), 1, expected);
        assertFalse(Files.exists(tmp.resolve("d")) || Files.exists(tmp.resolve("p.json")));
    }

    /** vitq in a child JVM with this heap and these environment variables: its exit code and its output. */
    private static Run child(String heap, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                heap, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out, out);
    }

    /** --integer-search on the Java int8 kernel (no native kernel) says that float products are faster there. */
    @Test
    void integerSearchOnTheJavaKernelSaysSo(@TempDir Path tmp) throws Exception {
        Run r = child("-Dvitq.int8.kernel=java", Map.of(), "quantize", "--model", ModelFolderCliTest.folder("timm_vit_hd32"),
                "--calib-size", "2", "--candidates", "4", "--rounds", "1", "--integer-search", "--plan", tmp.resolve("p.json").toString());
        assertEquals(0, r.exit(), r.out());
        assertEquals(1, r.out().lines().filter(l -> l.startsWith("vitq: note: --integer-search on the Java Vector API kernel")
                && l.contains("slower than the search on float products")).count(), r.out());
    }

    /** Running out of heap is an Error, which picocli's exception handler never sees: one line, exit 1, no stack trace. */
    @Test
    void outOfMemoryIsOneLineNotAStackTrace() throws Exception {
        Run r = child("-Xmx32m", Map.of(), "eval", "--data", "demo/val/dataset.txt", "--limit", "2");
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains("vitq: error: out of memory: use a smaller --batch, or raise the heap"), r.out());
        assertFalse(r.out().contains("Exception in thread") || r.out().contains("\tat "), r.out());
        // one line: the error line holds the whole message, and no other line comes from vitq or the JVM's handler
        assertEquals(1, r.out().lines().filter(l -> l.contains("out of memory") || l.contains("OutOfMemory")).count(), r.out());
        assertTrue(r.out().lines().filter(l -> l.startsWith("vitq: error: out of memory")).allMatch(l -> l.endsWith("./vitq ...)")), r.out());
    }

    /** $VITQ_MODELS naming a file or nothing: the no-weights error says so. */
    @Test
    void aWrongModelsVariableIsNamed(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("weights.safetensors"), "x"), gone = tmp.resolve("gone");
        Run r = child("-Xmx256m", Map.of("VITQ_MODELS", file + java.io.File.pathSeparator + gone), "info", "--model", "deit_small_patch16_224");
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains("$VITQ_MODELS names the file " + file + ", but takes folders"), r.out());
        assertTrue(r.out().contains("$VITQ_MODELS names " + gone + ", which does not exist"), r.out());
    }

    /** Image sets that cannot be read: the error names the option, then the library's reason with the file. */
    @Test
    void dataProblemsNameTheirOption(@TempDir Path tmp) throws Exception {
        Path empty = Files.createDirectory(tmp.resolve("empty")), gone = tmp.resolve("gone.txt");
        assertUserError(run("eval", "--model", MODEL, "--data", empty.toString()), 1, "--data: " + empty + ": no .jpg");
        assertUserError(run("eval", "--model", MODEL, "--data", gone.toString()), 1, "--data: " + gone + ": no such file or folder");
        // the calibration images are listed before the model loads: nothing else is printed
        Run calib = run("quantize", "--model", MODEL, "--calib", gone.toString(), "--plan", tmp.resolve("p.json").toString());
        assertUserError(calib, 1, "--calib: " + gone + ": no such file or folder");
        assertEquals(1, calib.err().strip().lines().count(), calib.err());
        assertUserError(run("quantize", "--model", MODEL, "--calib", TestData.demo("val/dataset.txt").toString(), "--calib-size", "1000",
                "--plan", tmp.resolve("p.json").toString()), 1, "--calib: ", "fewer than the 1000 requested");
        assertFalse(Files.exists(tmp.resolve("p.json")));
    }

    @Test
    void aMissingModelPathIsNamedAsAPath(@TempDir Path tmp) {
        // a mistyped path, including one shaped like a Hub name ORG/NAME, is reported as a missing file
        for (String arg : List.of(tmp.resolve("absent.vitq").toString(), "models/absent.safetensors", "absent.pth",
                "./absent", tmp.resolve("absent-folder") + "/", "../absent", "~/absent", "absent.pt", "absent.bin",
                "absent.json")) {
            Run r = run("info", "--model", arg);
            assertUserError(r, 1, arg + ": no such file or folder");
            assertFalse(r.err().contains("Hugging Face cache"), r.err());
        }
        // the same where the model is a positional argument or another option's
        String absent = tmp.resolve("absent.vitq").toString();
        assertUserError(run("export", absent, "-o", tmp.resolve("x.onnx").toString()), 1, absent + ": no such file or folder");
        assertFalse(Files.exists(tmp.resolve("x.onnx")));
    }

    @Test
    void notACheckpoint(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("notes.safetensors");
        Files.writeString(f, "hello, not weights");
        assertUserError(run("info", "--model", f.toString()), 1, f.toString());
    }

    @Test
    void misshapenTensorIsNamed(@TempDir Path tmp) throws Exception {
        SafeTensors st = SafeTensors.read(TestData.VIT_TINY);
        Map<String, Tensor> m = new LinkedHashMap<>();
        st.tensors().forEach((k, v) -> m.put(k, new Tensor(v.toFloats(), v.shape())));
        m.put("blocks.3.mlp.fc2.weight", new Tensor(new float[192 * 700], 192, 700));
        Path f = tmp.resolve("vit_tiny_patch16_224.broken.safetensors");
        SafeTensors.writeF32(f, m, Map.of());
        assertUserError(run("info", "--model", f.toString()), 1, "blocks.3.mlp.fc2.weight", "[192, 700]", "[192, 768]");
    }

    @Test
    void missingTensorIsNamed(@TempDir Path tmp) throws Exception {
        SafeTensors st = SafeTensors.read(TestData.VIT_TINY);
        Map<String, Tensor> m = new LinkedHashMap<>();
        st.tensors().forEach((k, v) -> { if (!k.equals("norm.bias")) m.put(k, new Tensor(v.toFloats(), v.shape())); });
        Path f = tmp.resolve("vit_tiny_patch16_224.nonorm.safetensors");
        SafeTensors.writeF32(f, m, Map.of());
        assertUserError(run("info", "--model", f.toString()), 1, "missing tensor 'norm.bias'");
    }

    @Test
    void nonFiniteWeightIsNamed(@TempDir Path tmp) throws Exception {
        SafeTensors st = SafeTensors.read(TestData.VIT_TINY);
        Map<String, Tensor> m = new LinkedHashMap<>();
        st.tensors().forEach((k, v) -> m.put(k, new Tensor(v.toFloats(), v.shape())));
        m.get("head.weight").data()[5] = Float.NaN;
        Path f = tmp.resolve("vit_tiny_patch16_224.nan.safetensors");
        SafeTensors.writeF32(f, m, Map.of());
        assertUserError(run("info", "--model", f.toString()), 1, f.getFileName().toString(), "'head.weight'", "NaN at index 5");
    }

    @Test
    void notAnImage(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("cat.jpg");
        Files.writeString(f, "this is text");
        Run one = run("predict", "--model", MODEL, f.toString());
        assertUserError(one, 1, "IMAGE " + f + ": not a JPEG or PNG image");
        assertTrue(one.err().lines().anyMatch(l -> l.equals("vitq: error: IMAGE " + f + ": not a JPEG or PNG image")), one.err());
        // among several images its number, not the loader's name for the list
        Path jpeg = Path.of("demo/val/data/ILSVRC2012_val_00000347.JPEG").toAbsolutePath();
        Run two = run("predict", "--model", MODEL, jpeg.toString(), f.toString());
        assertUserError(two, 1, "IMAGE " + f + ": not a JPEG or PNG image (image 2 of 2)");
        assertFalse(two.err().contains("the images given"), two.err());
    }

    @Test
    void missingImage() {
        assertUserError(run("predict", "--model", MODEL, "/nonexistent/cat.jpg"), 1, "IMAGE /nonexistent/cat.jpg: no such file");
    }

    /**
     * Every command's --help as picocli renders it: a '%' in a description is a format conversion to
     * picocli, so an unescaped one prints a WARN and the raw text ("%n" and all) instead of the help;
     * and -V, which every help lists, prints the version.
     */
    @Test
    void everyCommandRendersItsHelpAndVersion() {
        List<List<String>> commands = new java.util.ArrayList<>(List.of(List.of()));
        for (int i = 0; i < commands.size(); i++) {
            picocli.CommandLine cmd = new picocli.CommandLine(new Main());
            for (String name : commands.get(i)) cmd = cmd.getSubcommands().get(name);
            for (String sub : cmd.getSubcommands().keySet()) {
                List<String> path = new java.util.ArrayList<>(commands.get(i));
                path.add(sub);
                commands.add(path);
            }
        }
        assertTrue(commands.size() > 10, "the commands found: " + commands);
        for (List<String> path : commands) {
            List<String> args = new java.util.ArrayList<>(path);
            args.add("--help");
            Run r = run(args.toArray(String[]::new));
            assertEquals(0, r.exit(), path + ": " + r.err());
            assertEquals("", r.err(), path + " --help writes to stderr");
            assertFalse(r.out().contains("%n") || r.out().contains("WARN"), path + " --help: " + r.out());
            assertTrue(r.out().contains("Usage: vitq " + String.join(" ", path)), path + " --help: " + r.out());
            args.set(args.size() - 1, "-V");
            Run v = run(args.toArray(String[]::new));
            if (!path.equals(List.of("help"))) assertEquals("vitq 0.1.0", v.out().strip(), path + " -V: " + v.out() + v.err());
        }
    }

    /** A flat folder of images is unlabelled: evaluated, with a note that says why there is no top-1. */
    @Test
    void flatImageFolderIsEvaluatedUnlabelledWithANote(@TempDir Path tmp) throws Exception {
        for (String name : List.of("ILSVRC2012_val_00000347.JPEG", "ILSVRC2012_val_00000355.JPEG"))
            Files.copy(TestData.demo("val/data/" + name), tmp.resolve(name));
        Run r = run("eval", "--model", MODEL, "--data", tmp.toString(), "--batch", "2");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("no labels") && r.err().contains(tmp.toString()), r.err());
        Run labelled = run("eval", "--model", MODEL, "--data", TestData.demo("val/dataset.txt").toString(), "--limit", "2");
        assertFalse(labelled.err().contains("no labels"), labelled.err());
    }

    /** {@code vitq models} says which zoo name finds each file: not the bare name's for {@code <name>_*}, which the loader skips. */
    @Test
    void modelsSaysWhichFilesABareNameFinds(@TempDir Path tmp) throws Exception {
        Path models = Files.createDirectories(tmp.resolve("models"));
        Path own = Files.writeString(models.resolve("vit_small_patch16_224.augreg_in1k.safetensors"), "");
        Path output = Files.writeString(models.resolve("vit_small_patch16_224_ptq4vit_w8a8.safetensors"), "");
        String home = System.getProperty("vitq.home");
        System.setProperty("vitq.home", tmp.toString());
        try {
            Run r = run("models");
            assertEquals(0, r.exit(), r.err());
            String ownLine = r.out().lines().filter(l -> l.strip().startsWith(own.toString())).findFirst().orElseThrow();
            String outputLine = r.out().lines().filter(l -> l.strip().startsWith(output.toString())).findFirst().orElseThrow();
            assertTrue(ownLine.strip().endsWith(" vit_small_patch16_224"), ownLine);
            assertTrue(outputLine.contains("not the bare name's"), outputLine);
        } finally {
            if (home == null) System.clearProperty("vitq.home");
            else System.setProperty("vitq.home", home);
        }
    }

    /** {@code vitq models PATTERN} lists only the zoo names that match, and a pattern that matches none is an error. */
    @Test
    void modelsTakesANamePattern() {
        Run clip = run("models", "*clip_224*");
        assertEquals(0, clip.exit(), clip.err());
        List<String> names = clip.out().lines().takeWhile(l -> !l.isBlank()).skip(1)
                .filter(l -> !l.startsWith(" ")).map(l -> l.split(" ")[0]).toList();
        assertEquals(List.of("vit_base_patch16_clip_224", "vit_base_patch16_clip_224.laion2b_ft_in12k_in1k",
                "vit_base_patch16_clip_224.openai_ft_in12k_in1k", "vit_base_patch16_clip_224.laion2b_ft_in1k",
                "vit_base_patch16_clip_224.openai_ft_in1k", "vit_base_patch32_clip_224",
                "vit_base_patch32_clip_224.laion2b_ft_in12k_in1k", "vit_base_patch32_clip_224.openai_ft_in12k_in1k",
                "vit_base_patch32_clip_224.laion2b_ft_in1k", "vit_base_patch32_clip_224.openai_ft_in1k",
                "vit_large_patch14_clip_224", "vit_large_patch14_clip_224.laion2b_ft_in12k_in1k",
                "vit_large_patch14_clip_224.openai_ft_in12k_in1k", "vit_large_patch14_clip_224.laion2b_ft_in1k",
                "vit_large_patch14_clip_224.openai_ft_in1k", "vit_huge_patch14_clip_224",
                "vit_huge_patch14_clip_224.laion2b_ft_in12k_in1k", "vit_huge_patch14_clip_224.laion2b_ft_in1k"), names);
        assertTrue(clip.out().contains("preprocessing: resize shorter side to 248"), clip.out()); // openai_ft_in1k: crop 0.9
        assertUserError(run("models", "resnet*"), 1, "models resnet*: matches no zoo name");
    }

    @Test
    void missingDataFolder() {
        assertUserError(run("eval", "--model", MODEL, "--data", "/nonexistent/val"), 1, "/nonexistent/val");
    }

    @Test
    void badOptionValues(@TempDir Path tmp) {
        assertUserError(run("eval", "--model", MODEL, "--data", TestData.demo("val/dataset.txt").toString(), "--batch", "0"),
                1, "--batch");
        Run r = run("eval", "--model", MODEL, "--data", "x", "--batch", "abc");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--batch"), r.err());
        Run bogus = run("eval", "--bogus");
        assertEquals(2, bogus.exit());
        // the error, the unknown option and where the options are: not the whole usage
        assertTrue(bogus.err().contains("--bogus") && bogus.err().contains("vitq eval --help"), bogus.err());
        assertTrue(bogus.err().lines().count() <= 4, bogus.err());
        // a misspelt option: close matches offered
        Run typo = run("eval", "--dat", "x");
        assertEquals(2, typo.exit());
        assertTrue(typo.err().contains("Possible solutions: --data"), typo.err());
        // -Dvitq.debug=true shows the stack trace that a user error otherwise hides
        Run quiet = run("info", "--model", tmp.resolve("absent.vitq").toString());
        assertUserError(quiet, 1, "no such file or folder");
        System.setProperty("vitq.debug", "true");
        try {
            Run debug = run("info", "--model", tmp.resolve("absent.vitq").toString());
            assertEquals(1, debug.exit());
            assertTrue(debug.err().contains("\tat "), "a stack trace: " + debug.err());
        } finally {
            System.clearProperty("vitq.debug");
        }
        // an empty item in a comma-separated list: refused as typed, before any work (picocli would drop a trailing one)
        for (String models : List.of("vit_tiny_patch16_224,", "vit_tiny_patch16_224,,deit_tiny_patch16_224", ",vit_tiny_patch16_224", "",
                "vit_tiny_patch16_224, "))
            assertUserError(run("bench", "--models", models, "--seconds", "1"), 2,
                    "--models '" + models + "': an empty item in the comma-separated list", "vitq bench --help");
        assertUserError(run("dump", "--model", MODEL, "--images", "x.JPEG", "--ops", "blocks.0.*,", "-o", tmp.resolve("d.safetensors").toString()),
                2, "--ops 'blocks.0.*,': an empty item");
        assertFalse(Files.exists(tmp.resolve("d.safetensors")));
        Run unknownCommand = run("table", "--help");   // not the top-level help for the --help, exit 0
        assertEquals(2, unknownCommand.exit());
        assertTrue(unknownCommand.err().contains("'table'") && unknownCommand.out().isEmpty(), unknownCommand.err());
        Run export = run("export", "--model", MODEL, "-o", "x.onnx");
        assertEquals(2, export.exit());
        assertTrue(export.err().contains("takes the model as its first argument, without --model"), export.err());
        Path out = tmp.resolve("no/such/dir/out.json");
        assertUserError(run("eval", "--model", MODEL, "--data", TestData.demo("val/dataset.txt").toString(),
                "--json", out.toString()), 1, "does not exist");
        assertFalse(Files.exists(out));
        assertUserError(run("eval", "--model", MODEL, "--data", TestData.demo("val/dataset.txt").toString(), "--json", ""), 1,
                "--json: empty path");
        // a name that fits where the temporary written beside it (".NAME.PID-RANDOM.tmp") does not: refused before the evaluation
        Path longName = tmp.resolve("x".repeat(250) + ".json");
        Run tooLong = run("eval", "--model", MODEL, "--data", TestData.demo("val/dataset.txt").toString(), "--json", longName.toString());
        assertUserError(tooLong, 1, "--json " + longName, "cannot create files in " + tmp);
        assertEquals("", tooLong.out(), "no evaluation ran");
    }

    @Test
    void badListFileLine(@TempDir Path tmp) throws Exception {
        Path list = tmp.resolve("list.txt");
        Files.writeString(list, "a.jpg 1\nb.jpg one\n");
        Run r = run("eval", "--model", MODEL, "--data", list.toString());
        assertUserError(r, 1, "list.txt");
    }

    /** Labels must be the model's class indices; class folders must be one per class. */
    @Test
    void labelsThatDoNotFitTheModel(@TempDir Path tmp) throws Exception {
        Path image = TestData.demo("val/data/ILSVRC2012_val_00000347.JPEG");
        Path list = tmp.resolve("big.txt");
        Files.writeString(list, image + " 5000\n");
        assertUserError(run("eval", "--model", MODEL, "--data", list.toString()), 1, "big.txt", "label 5000", "1000 classes");
        for (String wnid : new String[] {"n01440764", "n01443537"}) {
            Path dir = Files.createDirectories(tmp.resolve("subset").resolve(wnid));
            Files.copy(image, dir.resolve("a.JPEG"));
        }
        assertUserError(run("eval", "--model", MODEL, "--data", tmp.resolve("subset").toString()), 1,
                "subset", "2 class folders", "list file");
        assertUserError(run("eval", "--model", MODEL, "--data", ""), 1, "--data", "empty");
    }

    /** No output may overwrite an input or another output: refused before any work, files untouched. */
    @Test
    void outputsNeverOverwriteInputs(@TempDir Path tmp) throws Exception {
        Path list = tmp.resolve("list.txt");
        Files.copy(TestData.demo("val/dataset.txt"), list);
        Files.createSymbolicLink(tmp.resolve("data"), TestData.demo("val/data").toAbsolutePath());
        String listText = Files.readString(list);
        assertUserError(run("eval", "--model", MODEL, "--data", list.toString(), "--predictions", list.toString()), 1,
                "--predictions", "input --data", "overwrite");
        Path link = tmp.resolve("link.txt");
        Files.createSymbolicLink(link, list);
        assertUserError(run("eval", "--model", MODEL, "--data", list.toString(), "--json", link.toString()), 1,
                "--json", "input --data");
        assertEquals(listText, Files.readString(list));
        Path out = tmp.resolve("out.txt");
        assertUserError(run("eval", "--model", MODEL, "--data", list.toString(), "--json", out.toString(),
                "--predictions", tmp.resolve(".").resolve("out.txt").toString()), 1, "--predictions", "--json", "its own file");
        assertFalse(Files.exists(out));

        Path model = tmp.resolve("vit_tiny_patch16_224.copy.safetensors"); // a zoo name: no options needed
        Files.copy(Path.of(MODEL), model);
        long size = Files.size(model);
        assertUserError(run("quantize", "--model", model.toString(), "--calib-size", "2", "-o", model.toString()), 1,
                "--output", "input --model");
        assertUserError(run("quantize", "--model", model.toString(), "--calib-size", "2", "-o", out.toString(),
                "--plan", out.toString()), 1, "--plan", "--output");
        assertUserError(run("export", model.toString(), "-o", model.toString()), 1, "--output", "input MODEL");
        assertEquals(size, Files.size(model));
        assertFalse(Files.exists(out));
    }

    /** A very thin image cannot be resized to 248 on its short side in memory: a message naming it, not a crash. */
    @Test
    void extremeAspectRatioIsNamed(@TempDir Path tmp) throws Exception {
        Path thin = tmp.resolve("thin.png");
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(20000, 1, java.awt.image.BufferedImage.TYPE_INT_RGB),
                "png", thin.toFile());
        assertUserError(run("predict", "--model", MODEL, thin.toString()), 1, "thin.png", "20000 x 1", "aspect ratio");
        Path list = tmp.resolve("list.txt");
        Files.writeString(list, thin + " 3\n");
        assertUserError(run("eval", "--model", MODEL, "--data", list.toString()), 1, "thin.png", "aspect ratio");
    }
}
