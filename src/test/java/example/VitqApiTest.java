package example;

import io.vitq.Vitq;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java API as a user's program meets it: only {@link Vitq} (and the JDK) is used, from a
 * package outside {@code io.vitq}, on the repository's embedded model and images. The calibration
 * is short (2 images, BasePTQ) so that the test stays fast; the API passes any size through.
 */
class VitqApiTest {
    static final Path DEMO = Path.of("demo").toAbsolutePath();
    static final Path WEIGHTS = DEMO.resolve("models/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors");
    static final Path CALIB = DEMO.resolve("calib/calib32.txt"), VAL = DEMO.resolve("val/dataset.txt");
    static final Path CANOE = DEMO.resolve("val/data/ILSVRC2012_val_00000347.JPEG"); // label 472, canoe

    @Test
    void loadQuantizeEvaluateSaveExportPredict(@TempDir Path tmp) {
        Vitq fp = Vitq.load(WEIGHTS.toString()); // a checkpoint named after a zoo entry
        assertEquals("vit_tiny_patch16_224", fp.name());
        assertFalse(fp.isQuantized());
        assertEquals("FP32", fp.bits());
        assertEquals(5_717_416, fp.parameterCount());
        assertEquals(1000, fp.numClasses());

        Vitq.Prediction p = fp.predict(CANOE).get(0);
        assertEquals(5, p.top5().size());
        assertEquals(472, p.top5().get(0).index());
        assertTrue(p.top5().get(0).name().contains("canoe"), p.top5().get(0).name());
        assertTrue(p.top5().get(0).probability() > p.top5().get(1).probability());

        Vitq.Evaluation fe = fp.evaluate(VAL, 8);
        assertEquals(8, fe.images());
        assertTrue(Double.isNaN(fe.agreement()), "a float model has no float model to agree with");

        List<String> steps = new ArrayList<>();
        Vitq q = fp.withProgress((step, done, total) -> { if (done == total) steps.add(step); })
                .quantize(Vitq.Method.BASE_PTQ, "w8a8", CALIB, 2);
        assertTrue(q.isQuantized());
        assertFalse(fp.isQuantized(), "quantize returns a new model; the float one is unchanged");
        assertEquals("W8A8", q.bits());
        assertEquals("basePTQ", q.method());
        assertTrue(q.calibrationSeconds() > 0);
        assertEquals(List.of("calibrate basePTQ W8A8"), steps);

        Vitq.Evaluation qe = q.evaluate(VAL, 8);
        assertEquals(8, qe.images());
        assertEquals(fe.top1(), qe.floatTop1(), 0.0, "the float reference is the float model");
        assertTrue(qe.agreement() >= 50 && qe.agreement() <= 100, "W8A8 mostly agrees with float: " + qe.agreement());
        assertTrue(qe.meanKl() >= 0);

        Path file = q.save(tmp.resolve("q.safetensors"));
        Vitq.VitqException asOnnx = assertThrows(Vitq.VitqException.class, () -> q.save(tmp.resolve("q2.onnx")));
        assertTrue(asOnnx.getMessage().contains("named as an ONNX file (.onnx)") && asOnnx.getMessage().endsWith("*.safetensors"),
                asOnnx.getMessage());
        assertFalse(Files.exists(tmp.resolve("q2.onnx")), "a slip of the name writes nothing");
        Path onnx = q.exportOnnx(tmp.resolve("q.onnx"));
        assertTrue(onnxSize(onnx) > 1_000_000);
        Path deploy = q.exportOnnxForOnnxRuntime(tmp.resolve("deploy.onnx"));
        assertTrue(integerProducts(deploy) > 0, "the deployment form's Linears as MatMulInteger");
        Vitq back = Vitq.load(file.toString());
        assertTrue(back.isQuantized());
        assertEquals("W8A8", back.bits());
        assertEquals(qe.top1(), back.evaluate(VAL, 8).top1(), 0.0, "the saved model evaluates as the calibrated one");
        assertEquals(q.predict(CANOE).get(0).top5().get(0).index(), back.predict(CANOE).get(0).top5().get(0).index());
    }

    /** RepQ-ViT's search-free recipe through the API: its folds and log-sqrt2 probabilities reach the quantized model. */
    @Test
    void repqQuantizesThroughTheApi() {
        Vitq q = Vitq.load(WEIGHTS.toString()).quantize(Vitq.Method.REPQ, "w4a4", CALIB, 2);
        assertEquals("repq", q.method());
        assertEquals("W4A4", q.bits());
        Vitq.Evaluation e = q.evaluate(VAL, 8);
        assertEquals(8, e.images());
        assertTrue(e.agreement() >= 0 && e.agreement() <= 100);
    }

    /**
     * vitq's recipe through the API at 4-bit weights: GPTQ-rounded, asymmetric weights, which only the
     * saved file holds (a plan has the scales alone); the file predicts as the calibrated model, to the
     * last bit of the probabilities.
     */
    @Test
    void vitqRecipeSavesItsRoundedWeights(@TempDir Path tmp) {
        Vitq q = Vitq.load(WEIGHTS.toString()).quantize(Vitq.Method.VITQ, "w4a8", CALIB, 2);
        assertEquals("vitq", q.method());
        assertEquals("W4A8", q.bits());
        Path file = q.save(tmp.resolve("q.safetensors"));
        String rounding = io.vitq.io.QuantizedModelFile.readHeader(file).plan().info().options()
                .get(io.vitq.calib.CalibConfig.WEIGHT_ROUNDING);
        assertTrue(rounding.startsWith("gptq"), "some Linears rounded by GPTQ: " + rounding);
        Vitq back = Vitq.load(file.toString());
        assertEquals("vitq", back.method());
        assertEquals(q.predict(CANOE).get(0).top5(), back.predict(CANOE).get(0).top5());
        assertEquals(q.evaluate(VAL, 8).top1(), back.evaluate(VAL, 8).top1(), 0.0);
    }

    /** Every API method names a calibration method the command line knows (AdaLog's runs in QuantizeCommandTest). */
    @Test
    void everyApiMethodIsACalibrationMethod() {
        for (Vitq.Method m : Vitq.Method.values())
            assertEquals(m.cliName().toLowerCase(java.util.Locale.ROOT),
                    io.vitq.calib.CalibConfig.forMethod(m.cliName(), 4, 4).method().toLowerCase(java.util.Locale.ROOT), m.name());
        assertTrue(io.vitq.calib.CalibConfig.forMethod(Vitq.Method.ADALOG.cliName(), 4, 4).adaLog());
    }

    @Test
    void mistakesAreOneLineExceptionsNamingTheValue(@TempDir Path tmp) {
        Vitq.VitqException unknown = assertThrows(Vitq.VitqException.class, () -> Vitq.load("no_such_model"));
        assertTrue(unknown.getMessage().contains("no_such_model"), unknown.getMessage());
        Vitq fp = Vitq.load("vit_tiny_patch16_224", WEIGHTS);
        Vitq.VitqException bits = assertThrows(Vitq.VitqException.class,
                () -> fp.quantize(Vitq.Method.PTQ4VIT, "w1a1", CALIB, 2));
        assertTrue(bits.getMessage().contains("w1a1") && bits.getMessage().contains("2..16"), bits.getMessage());
        Vitq.VitqException save = assertThrows(Vitq.VitqException.class, () -> fp.save(tmp.resolve("x.safetensors")));
        assertTrue(save.getMessage().contains("float model"), save.getMessage());
        assertFalse(Files.exists(tmp.resolve("x.safetensors")));
        Vitq.VitqException data = assertThrows(Vitq.VitqException.class, () -> fp.evaluate(tmp.resolve("none.txt")));
        assertTrue(data.getMessage().contains("none.txt"), data.getMessage());
        Vitq.VitqException over = assertThrows(Vitq.VitqException.class, () -> fp.exportOnnx(WEIGHTS));
        assertEquals(WEIGHTS + ": is also the input model; refusing to overwrite it", over.getMessage());
        Vitq.VitqException deploy = assertThrows(Vitq.VitqException.class, () -> fp.exportOnnxForOnnxRuntime(tmp.resolve("d.onnx")));
        assertTrue(deploy.getMessage().contains("float model"), deploy.getMessage());
        assertFalse(Files.exists(tmp.resolve("d.onnx")));
        // an output that is a directory, or a link to one (the rename onto it would replace the link by the file)
        Path dir = tmp.resolve("out"), link = tmp.resolve("link");
        try {
            Files.createDirectory(dir);
            Files.createSymbolicLink(link, dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Vitq.VitqException toDir = assertThrows(Vitq.VitqException.class, () -> fp.exportOnnx(dir));
        Vitq.VitqException toLink = assertThrows(Vitq.VitqException.class, () -> fp.exportOnnx(link));
        assertTrue(toDir.getMessage().contains("is a directory") && toLink.getMessage().contains("is a directory"), toLink.getMessage());
        assertTrue(Files.isSymbolicLink(link), "the link is left as it was");
        // a name with another format's extension is a slip: refused, nothing written
        Vitq.VitqException misnamed = assertThrows(Vitq.VitqException.class, () -> fp.exportOnnx(tmp.resolve("m.safetensors")));
        assertTrue(misnamed.getMessage().contains("named as a safetensors file") && misnamed.getMessage().contains("*.onnx"),
                misnamed.getMessage());
        assertFalse(Files.exists(tmp.resolve("m.safetensors")));
        for (Vitq.VitqException e : List.of(unknown, bits, save, data, over, deploy, toDir, toLink, misnamed))
            assertEquals(1, e.getMessage().lines().count());
        // a null argument names its parameter
        NullPointerException nullBits = assertThrows(NullPointerException.class, () -> fp.quantize(Vitq.Method.PTQ4VIT, null, CALIB, 2));
        assertEquals("bits", nullBits.getMessage());
        assertEquals("zooName", assertThrows(NullPointerException.class, () -> Vitq.load((String) null, WEIGHTS)).getMessage());
        assertEquals("images", assertThrows(NullPointerException.class, () -> fp.predict((Path[]) null)).getMessage());
        assertEquals("images[0]", assertThrows(NullPointerException.class, () -> fp.predict((Path) null)).getMessage());
    }

    /** A checkpoint under a name of its own says neither its head count nor its transform: LoadOptions give them. */
    @Test
    void loadOptionsGiveWhatACheckpointDoesNotSay(@TempDir Path tmp) throws java.io.IOException {
        Path bare = Files.copy(WEIGHTS, tmp.resolve("my_vit.safetensors"));
        Vitq.VitqException missing = assertThrows(Vitq.VitqException.class, () -> Vitq.load(bare.toString()));
        assertTrue(missing.getMessage().contains("--heads") && missing.getMessage().contains("--mean"), missing.getMessage());
        Vitq.LoadOptions transform = Vitq.LoadOptions.none().std(0.5f, 0.5f, 0.5f).cropPct(0.9).interpolation("bicubic");
        Vitq.VitqException noMean = assertThrows(Vitq.VitqException.class,
                () -> Vitq.load(bare.toString(), transform.heads(3)));
        assertTrue(noMean.getMessage().contains("--mean") && !noMean.getMessage().contains("--heads"), noMean.getMessage());

        Vitq mine = Vitq.load(bare.toString(), transform.heads(3).mean(0.5f, 0.5f, 0.5f));
        Vitq zoo = Vitq.load("vit_tiny_patch16_224", WEIGHTS);   // the zoo's transform: 248 -> 224 bicubic, mean/std 0.5
        Vitq.ClassScore a = mine.predict(CANOE).get(0).top5().get(0), b = zoo.predict(CANOE).get(0).top5().get(0);
        assertEquals(b.index(), a.index());
        assertEquals(b.probability(), a.probability(), 0.0);

        Vitq.VitqException filter = assertThrows(Vitq.VitqException.class,
                () -> Vitq.load(bare.toString(), transform.heads(3).mean(0.5f, 0.5f, 0.5f).interpolation("lanczos")));
        assertTrue(filter.getMessage().contains("--interpolation lanczos"), filter.getMessage());
        Vitq.VitqException two = assertThrows(Vitq.VitqException.class, () -> Vitq.LoadOptions.none().mean(0.5f, 0.5f));
        assertTrue(two.getMessage().startsWith("--mean: "), two.getMessage());
        // values no model could take are named by their options, as the class's javadoc says (and as the command line does)
        Vitq.LoadOptions all = transform.heads(3).mean(0.5f, 0.5f, 0.5f);
        Vitq.VitqException crop = assertThrows(Vitq.VitqException.class, () -> Vitq.load(bare.toString(), all.cropPct(-1)));
        Vitq.VitqException std = assertThrows(Vitq.VitqException.class, () -> Vitq.load(bare.toString(), all.std(0f, 0f, 0f)));
        Vitq.VitqException heads = assertThrows(Vitq.VitqException.class, () -> Vitq.load(bare.toString(), all.heads(0)));
        assertTrue(crop.getMessage().startsWith("--crop-pct must be in (0, 4]"), crop.getMessage());
        assertTrue(std.getMessage().startsWith("--std 0.0,0.0,0.0: must be positive"), std.getMessage());
        assertEquals("--heads must be a positive number, got 0", heads.getMessage());
        for (Vitq.VitqException e : List.of(missing, noMean, filter, two, crop, std, heads)) assertEquals(1, e.getMessage().lines().count());
    }

    /** The MatMulInteger nodes of an ONNX file. */
    private static long integerProducts(Path p) {
        try {
            return io.vitq.export.OnnxExporter.integerProducts(io.vitq.export.proto.Onnx.ModelProto.parseFrom(Files.readAllBytes(p)));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static long onnxSize(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
