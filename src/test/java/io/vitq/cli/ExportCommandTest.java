package io.vitq.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vitq.data.CalibrationSet;
import io.vitq.export.HandPlans;
import io.vitq.io.ModelLoader;
import io.vitq.io.QuantizedModelFile;
import io.vitq.io.SafeTensors;
import io.vitq.model.Model;
import io.vitq.model.SwinCheckpoint;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.vitq.cli.CliTest.MODEL;
import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vitq export}: the files it writes run in ONNX Runtime; one-line errors; nothing half-written. */
class ExportCommandTest {
    static final Path VAL = TestData.demo("val/dataset.txt"), CALIB = TestData.demo("calib/calib32.txt");

    static float[] ortLogits(Path onnx, Tensor x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(2);
            try (OrtSession s = env.createSession(onnx.toString(), o);
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), new long[] {x.dim(0), x.dim(1), x.dim(2), x.dim(3)});
                 OrtSession.Result r = s.run(Map.of("images", in))) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                float[] out = new float[fb.remaining()];
                fb.get(out);
                return out;
            }
        }
    }

    static int[] top1(float[] logits, int classes) {
        int[] t = new int[logits.length / classes];
        for (int b = 0; b < t.length; b++) {
            int k = 0;
            for (int i = 1; i < classes; i++) if (logits[b * classes + i] > logits[b * classes + k]) k = i;
            t[b] = k;
        }
        return t;
    }

    /** A quantized model file of the shipped ViT-Ti with a min-max W8A8 plan (no calibration search: fast). */
    static Path quantizedFile(Path dir) throws Exception {
        Model m = ModelLoader.load(MODEL, null).model();
        Tensor calib = CalibrationSet.load(CALIB, 4, m.preprocessing()).images();
        QuantPlan plan = HandPlans.ptq4vit(m, HandPlans.maxima(m, calib), 8, 1f, TwinSoftmaxQuantizer.Mode.CLEAN);
        Path q = dir.resolve("q.safetensors");
        QuantizedModelFile.write(q, m.spec(), ModelLoader.readWeights(TestData.VIT_TINY), plan);
        return q;
    }

    @Test
    void exportsAQuantizedFileThatOnnxRuntimeRuns(@TempDir Path tmp) throws Exception {
        Path q = quantizedFile(tmp), onnx = tmp.resolve("q.onnx");
        CliTest.Run r = run("export", q.toString(), "-o", onnx.toString(), "--opset", "13");
        assertEquals(0, r.exit(), r.err());
        assertTrue(!r.err().contains("float products"), "every Linear input a QDQ value: " + r.err());
        assertTrue(r.out().contains("ONNX model written to " + onnx) && r.out().contains("opset 13")
                && r.out().contains("quantized (by hand, W8A8) as a QDQ graph"), r.out());
        ModelLoader.Loaded l = ModelLoader.load(q.toString(), null);
        Tensor x = CalibrationSet.load(VAL, 6, l.model().preprocessing()).images();
        int[] vitq = top1(l.model().forward(x, l.executor()).data(), 1000), ort = top1(ortLogits(onnx, x), 1000);
        int agree = 0;
        for (int i = 0; i < vitq.length; i++) if (vitq[i] == ort[i]) agree++;
        assertTrue(agree >= 5, agree + "/6 images agree");
        // the loaded file's decoded weights give the same graph as the float weights with the plan, byte for byte
        Path fromPlan = tmp.resolve("p.onnx"), plan = tmp.resolve("plan.json");
        QuantPlanJson.write(l.plan(), plan);
        assertEquals(0, run("export", MODEL, "--plan", plan.toString(), "-o", fromPlan.toString(), "--opset", "13").exit());
        assertArrayEquals(Files.readAllBytes(onnx), Files.readAllBytes(fromPlan));
        // and the ONNX weight codes are the quantized file's codes, transposed
        var st = SafeTensors.read(q);
        var codes = io.vitq.export.proto.Onnx.ModelProto.parseFrom(Files.readAllBytes(onnx)).getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals("blocks.5.attn.qkv.weight_codes")).findFirst().orElseThrow().getRawData().toByteArray();
        float[] fileCodes = st.tensors().get("blocks.5.attn.qkv.weight").toFloats();
        for (int r2 = 0; r2 < 576; r2++)
            for (int c = 0; c < 192; c++) assertEquals((int) fileCodes[r2 * 192 + c], codes[c * 576 + r2]);
    }

    /**
     * A file whose fc2 inputs are AdaLog's (lookup-coded: float values, no QDQ form) says which Linears
     * run as float products; the note groups them over the blocks. With --integer-linears AdaLog's
     * inputs take their integer form (two integer products each), and the note goes.
     */
    @Test
    void floatProductLinearsAreNamed(@TempDir Path tmp) throws Exception {
        Model m = ModelLoader.load(MODEL, null).model();
        Tensor calib = CalibrationSet.load(CALIB, 4, m.preprocessing()).images();
        QuantPlan plan = HandPlans.ptq4vit(m, HandPlans.maxima(m, calib), 8, 1f, TwinSoftmaxQuantizer.Mode.CLEAN);
        Path q = tmp.resolve("adalog.safetensors"), onnx = tmp.resolve("a.onnx");
        QuantizedModelFile.write(q, m.spec(), ModelLoader.readWeights(TestData.VIT_TINY),
                HandPlans.withFc2Inputs(plan, new io.vitq.quant.AdaLogOperand(4, 30, 6f, io.vitq.quant.AdaLogOperand.GELU_SHIFT)));
        CliTest.Run r = run("export", q.toString(), "-o", onnx.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("vitq: note: 12 quantized Linears take inputs that are not QDQ values (blocks.*.mlp.fc2 x12:"), r.err());
        CliTest.Run integer = run("export", q.toString(), "-o", tmp.resolve("i.onnx").toString(), "--integer-linears");
        assertEquals(0, integer.exit(), integer.err());
        assertFalse(integer.err().contains("not QDQ values"), integer.err());
        assertTrue((integer.out() + integer.err()).contains("61 Linear products as MatMulInteger"), integer.out() + integer.err()); // 36 + fc2 x 2 x 12 + the head
        // opset 21 by default with --integer-linears: fc2's codes looked up from fc1's output, no GELU left; --opset 17 keeps the GELU
        var looked = io.vitq.export.proto.Onnx.ModelProto.parseFrom(Files.readAllBytes(tmp.resolve("i.onnx")));
        assertEquals(21, looked.getOpsetImport(0).getVersion());
        assertTrue(integer.out().contains("opset 21"), integer.out());
        assertTrue(integer.err().contains("vitq: note: 12 Linear inputs (blocks.*.mlp.fc2 x12) take their AdaLog codes from one lookup"),
                integer.err());
        assertEquals(0, looked.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Erf")).count(), "a GELU left");
        CliTest.Run exact = run("export", q.toString(), "-o", tmp.resolve("e.onnx").toString(), "--integer-linears", "--opset", "17");
        assertEquals(0, exact.exit(), exact.err());
        var computed = io.vitq.export.proto.Onnx.ModelProto.parseFrom(Files.readAllBytes(tmp.resolve("e.onnx")));
        assertEquals(17, computed.getOpsetImport(0).getVersion());
        assertEquals(12, computed.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Erf")).count(), "the GELUs at opset 17");
        assertTrue(exact.out().contains("opset 17") && r.out().contains("opset 17"), exact.out() + r.out());
        assertFalse(exact.err().contains("lookup"), exact.err());
        // a plan without AdaLog's inputs stays at opset 17 with --integer-linears
        CliTest.Run twins = run("export", quantizedFile(tmp).toString(), "-o", tmp.resolve("t.onnx").toString(), "--integer-linears");
        assertTrue(twins.out().contains("opset 17"), twins.out());
        assertEquals("1 quantized Linear takes inputs that are not QDQ values (head: unquantized, or a lookup-coded quantizer such as"
                + " AdaLog's outside --integer-linears): they run as float products on weights dequantized once at load, not as integer"
                + " kernels (docs/LOWBIT.md 3.3)",
                ExportCommand.floatProducts(List.of("head")));
        assertTrue(ExportCommand.floatProducts(List.of("layers.0.blocks.1.mlp.fc2", "layers.2.blocks.0.mlp.fc2", "head"))
                .contains("(layers.*.blocks.*.mlp.fc2 x2, head:"));
        assertEquals(null, ExportCommand.floatProducts(List.of()));
    }

    /** The export's one-line summary says how codes above 8 bits are stored, not "int8" for all. */
    @Test
    void theSummaryNamesTheFormOfWideActivationCodes() {
        var g = io.vitq.quant.Granularity.PER_TENSOR;
        java.util.function.IntFunction<io.vitq.quant.QuantPlan> plan = bits -> new io.vitq.quant.QuantPlan(
                new io.vitq.quant.PlanInfo("m", "ptq4vit", 8, bits), java.util.Map.of("blocks.0.mlp.fc1", new io.vitq.quant.LinearQuant(
                new io.vitq.quant.UniformOperand(8, g, new float[] {0.1f}, null),
                new io.vitq.quant.UniformOperand(bits, g, new float[] {0.1f}, null))));
        var int8 = io.vitq.export.OnnxExporter.ActivationCodes.INT8;
        assertEquals("int8 activation codes", ExportCommand.activationCodes(plan.apply(8), int8, 17));
        assertEquals("int8 activation codes up to 8 bits, wider ones as int16", ExportCommand.activationCodes(plan.apply(10), int8, 21));
        assertTrue(ExportCommand.activationCodes(plan.apply(16), int8, 17).contains("as float steps"));
    }

    /**
     * Activation codes: int8 by default, per-tensor ones uint8 with zero point 128 on request
     * (per-head ones int8 either way); weights int8 either way; both files give ONNX Runtime the same
     * logits on the shipped images (the same codes).
     */
    @Test
    void activationCodesInt8ByDefaultUint8OnRequest(@TempDir Path tmp) throws Exception {
        Path q = quantizedFile(tmp), u = tmp.resolve("u.onnx"), s = tmp.resolve("s.onnx");
        CliTest.Run r = run("export", q.toString(), "-o", u.toString(), "--activation-codes", "uint8");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("uint8 activation codes"), r.out());
        r = run("export", q.toString(), "-o", s.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("int8 activation codes"), r.out());
        var uint8 = io.vitq.export.proto.Onnx.TensorProto.DataType.UINT8;
        var int8 = io.vitq.export.proto.Onnx.TensorProto.DataType.INT8;
        java.util.function.Predicate<String> any = name -> true, twinGelu = name -> name.contains("mlp.fc2/input/twin_");
        assertEquals(java.util.Set.of(uint8), activationZeroPointTypes(u, false, any));
        assertEquals(java.util.Set.of(int8), activationZeroPointTypes(u, true, any));
        // the twin GELU input's ranges, each clamped on one side only, are uint8 codes shifted to saturate at zero in either form
        assertEquals(java.util.Set.of(int8), activationZeroPointTypes(s, false, twinGelu.negate()));
        assertEquals(java.util.Set.of(uint8), activationZeroPointTypes(s, false, twinGelu));
        assertEquals(java.util.Set.of(int8), activationZeroPointTypes(s, true, any));
        Tensor x = CalibrationSet.load(VAL, 2, ModelLoader.load(q.toString(), null).model().preprocessing()).images();
        assertArrayEquals(ortLogits(s, x), ortLogits(u, x), 1e-4f, "the same codes give the same logits");
        assertUserError(run("export", q.toString(), "-o", tmp.resolve("x.onnx").toString(), "--activation-codes", "int4"), 1,
                "--activation-codes int4", "uint8 or int8");
        assertFalse(Files.exists(tmp.resolve("x.onnx")));
    }

    /**
     * {@code --float-attention}: a quantized file exports with fewer QuantizeLinear nodes (none on
     * the attention operands) and says so, naming the eval that runs the same model in vitq; a float
     * model without a plan is refused, nothing written.
     */
    @Test
    void floatAttentionExport(@TempDir Path tmp) throws Exception {
        Path q = quantizedFile(tmp), full = tmp.resolve("full.onnx"), deploy = tmp.resolve("deploy.onnx");
        assertEquals(0, run("export", q.toString(), "-o", full.toString()).exit());
        CliTest.Run r = run("export", q.toString(), "-o", deploy.toString(), "--float-attention");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("attention products float"), r.out());
        assertTrue(r.err().contains("'vitq eval --float-attention --products codes' (or --integer) evaluates in vitq"), r.err());
        long fullQ = quantizeNodes(full), deployQ = quantizeNodes(deploy);
        assertTrue(deployQ < fullQ, deployQ + " vs " + fullQ);
        assertUserError(run("export", MODEL, "-o", tmp.resolve("f.onnx").toString(), "--float-attention"), 1,
                "--float-attention", "float model");
        assertFalse(Files.exists(tmp.resolve("f.onnx")));
    }

    /**
     * {@code --integer-linears}: the Linears as MatMulInteger (no MatMul of two DequantizeLinear
     * outputs left), uint8 activation codes, and the message says so; int8 codes (ONNX Runtime's slow
     * int8 x int8 kernel) and a float model without a plan are refused, nothing written.
     */
    @Test
    void integerLinearsExport(@TempDir Path tmp) throws Exception {
        Path q = quantizedFile(tmp), out = tmp.resolve("integer.onnx"), signed = tmp.resolve("signed.onnx");
        CliTest.Run r = run("export", q.toString(), "-o", out.toString(), "--integer-linears", "--float-attention");
        assertEquals(0, r.exit(), r.err());
        var written = io.vitq.export.proto.Onnx.ModelProto.parseFrom(Files.readAllBytes(out));
        long products = io.vitq.export.OnnxExporter.integerProducts(written);
        assertTrue(products > 0);
        assertTrue(r.out().contains(products + " Linear products as MatMulInteger") && r.out().contains("uint8 activation codes"), r.out());
        assertEquals(0, io.vitq.testutil.OnnxNodes.qdqProducts(written), "a MatMul of two DequantizeLinear outputs left");
        assertUserError(run("export", q.toString(), "-o", signed.toString(), "--integer-linears", "--activation-codes", "int8"), 1,
                "--integer-linears", "uint8", "--activation-codes int8");
        assertFalse(Files.exists(signed));
        assertUserError(run("export", MODEL, "-o", tmp.resolve("f.onnx").toString(), "--integer-linears"), 1,
                "--integer-linears", "float model");
        assertFalse(Files.exists(tmp.resolve("f.onnx")));
        assertUserError(run("export", MODEL, "-o", tmp.resolve("f.onnx").toString(), "--activation-codes", "uint8"), 1,
                "--activation-codes", "float model");
        assertFalse(Files.exists(tmp.resolve("f.onnx")));
    }

    private static long quantizeNodes(Path onnx) throws Exception {
        return io.vitq.export.proto.Onnx.ModelProto.parseFrom(Files.readAllBytes(onnx)).getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("QuantizeLinear")).count();
    }

    /**
     * The zero-point types of the graph's per-tensor (or, {@code perAxis}, per-axis) QuantizeLinear
     * nodes whose name {@code named} accepts: the activations (weights are initializers, not
     * quantized in the graph).
     */
    private static java.util.Set<io.vitq.export.proto.Onnx.TensorProto.DataType> activationZeroPointTypes(
            Path onnx, boolean perAxis, java.util.function.Predicate<String> named) throws Exception {
        var g = io.vitq.export.proto.Onnx.ModelProto.parseFrom(Files.readAllBytes(onnx)).getGraph();
        java.util.Map<String, io.vitq.export.proto.Onnx.TensorProto> inits = new java.util.HashMap<>();
        for (var t : g.getInitializerList()) inits.put(t.getName(), t);
        java.util.Set<io.vitq.export.proto.Onnx.TensorProto.DataType> found = new java.util.HashSet<>();
        for (var n : g.getNodeList())
            if (n.getOpType().equals("QuantizeLinear") && (inits.get(n.getInput(1)).getDimsCount() > 0) == perAxis
                    && named.test(n.getName()))
                found.add(io.vitq.export.proto.Onnx.TensorProto.DataType.forNumber(inits.get(n.getInput(2)).getDataType()));
        return found;
    }

    @Test
    void exportsTheFloatModel(@TempDir Path tmp) throws Exception {
        Path onnx = tmp.resolve("f.onnx");
        CliTest.Run r = run("export", MODEL, "-o", onnx.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("opset 17") && r.out().contains(": float"), r.out());
        Model m = ModelLoader.load(MODEL, null).model();
        Tensor x = CalibrationSet.load(VAL, 2, m.preprocessing()).images();
        float[] ref = m.forward(x).data(), got = ortLogits(onnx, x);
        for (int i = 0; i < ref.length; i++) assertEquals(ref[i], got[i], 1e-3);
    }

    @Test
    void exportsASwinCheckpoint(@TempDir Path tmp) throws Exception {
        Path swin = tmp.resolve("swin_tiny_test.safetensors"), onnx = tmp.resolve("s.onnx");
        SafeTensors.writeF32(swin, SwinCheckpoint.random(TinyModels.SWIN_CFG, 5, false).asMap(), Map.of());
        String[] eval = {"--img-size", "32", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225", "--crop-pct", "0.9",
                "--interpolation", "bicubic"};
        CliTest.Run refused = run("export", swin.toString(), "-o", onnx.toString());
        CliTest.assertUserError(refused, 1, "--img-size", "--mean");
        String[] args = java.util.stream.Stream.concat(java.util.stream.Stream.of("export", swin.toString(), "-o", onnx.toString(),
                "--opset", "21"), java.util.Arrays.stream(eval)).toArray(String[]::new);
        CliTest.Run r = run(args);
        assertEquals(0, r.exit(), r.err());
        Model m = ModelLoader.load(swin.toString(), null, new io.vitq.io.ModelOverrides(null, 32, null, null,
                io.vitq.data.Preprocessing.IMAGENET_MEAN, io.vitq.data.Preprocessing.IMAGENET_STD, 0.9,
                io.vitq.data.Interpolation.BICUBIC)).model();
        float[] ref = m.forward(TinyModels.IMAGES).data(), got = ortLogits(onnx, TinyModels.IMAGES);
        for (int i = 0; i < ref.length; i++) assertEquals(ref[i], got[i], 1e-4);
    }

    @Test
    void oneLineErrorsAndNoHalfWrittenFile(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("no/such/dir/m.onnx");
        assertUserError(run("export", MODEL, "-o", out.toString()), 1, "does not exist");
        assertUserError(run("export", MODEL, "-o", tmp.resolve("m.onnx").toString(), "--opset", "12"), 1, "--opset 12", "13 to 21");
        assertUserError(run("export", "/nonexistent/q.safetensors", "-o", tmp.resolve("m.onnx").toString()), 1, "/nonexistent/q.safetensors");
        assertUserError(run("export", MODEL, "-o", tmp.toString()), 1, "is a directory");
        Path plan = tmp.resolve("missing.json");
        assertUserError(run("export", MODEL, "--plan", plan.toString(), "-o", tmp.resolve("m.onnx").toString()), 1, "--plan", plan.toString());
        Path q = quantizedFile(tmp);
        QuantPlanJson.write(ModelLoader.load(q.toString(), null).plan(), tmp.resolve("plan.json"));
        assertUserError(run("export", q.toString(), "--plan", tmp.resolve("plan.json").toString(), "-o", tmp.resolve("m.onnx").toString()),
                1, "already a quantized model");
        // a quantized file where a float model is needed: refused before the loader's note ("run with its plan") is printed
        for (String[] args : List.of(
                new String[] {"quantize", "--model", q.toString(), "--calib-size", "2", "-o", tmp.resolve("y.safetensors").toString()},
                new String[] {"eval", "--model", q.toString(), "--plan", tmp.resolve("plan.json").toString(), "--data", CALIB.toString()},
                new String[] {"export", q.toString(), "--plan", tmp.resolve("plan.json").toString(), "-o", tmp.resolve("m.onnx").toString()})) {
            CliTest.Run refused = run(args);
            assertUserError(refused, 1, "already");
            assertEquals(1, refused.err().strip().lines().count(), refused.err());
        }
        CliTest.Run r = run("export", MODEL, "-o", tmp.resolve("m.onnx").toString(), "--opset", "99");
        assertEquals(1, r.err().strip().lines().count(), r.err());
        try (var files = Files.list(tmp)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertFalse(names.stream().anyMatch(n -> n.endsWith(".onnx") || n.endsWith(".tmp")), names.toString());
        }
    }
}
