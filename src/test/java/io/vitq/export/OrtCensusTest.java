package io.vitq.export;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.vitq.export.proto.Onnx;
import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.io.ModelLoader;
import io.vitq.model.Model;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.testutil.Diffs;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What ONNX Runtime makes of vitq's QDQ export: the node census of its optimized graph (the graph
 * after all of its fusions, as {@code SessionOptions.setOptimizedModelFilePath} writes it), for
 * the embedded ViT-Ti with the committed PTQ4ViT W8A8 plan. Which block products run as integer
 * kernels is the question of the deployment-speed issue; this test pins today's answer so that a
 * change of the export (or of ONNX Runtime) that alters it is seen: every block Linear (qkv,
 * proj, fc1, and fc2 as two products) runs as ONNX Runtime's MatMulIntegerToFloat, 60 kernels.
 */
class OrtCensusTest {
    @TempDir
    Path tmp;

    static Map<String, Integer> census(Onnx.ModelProto m) {
        Map<String, Integer> c = new TreeMap<>();
        for (Onnx.NodeProto n : m.getGraph().getNodeList())
            c.merge((n.getDomain().isEmpty() ? "" : n.getDomain() + ":") + n.getOpType(), 1, Integer::sum);
        return c;
    }

    /** ONNX Runtime's optimized graph of {@code exported}. */
    private Onnx.ModelProto optimized(Onnx.ModelProto exported) throws Exception {
        Path optimized = tmp.resolve("optimized.onnx");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setOptimizedModelFilePath(optimized.toString());
            o.setIntraOpNumThreads(2);
            env.createSession(exported.toByteArray(), o).close();
        }
        return Onnx.ModelProto.parseFrom(Files.readAllBytes(optimized));
    }

    /** Matrix-product node kind -> op id (block index as *) -> count; node names carry the op id (the exporter's scopes). */
    static Map<String, Map<String, Long>> products(Onnx.ModelProto fused) {
        Map<String, java.util.List<String>> byKind = new TreeMap<>();
        for (Onnx.NodeProto n : fused.getGraph().getNodeList())
            if (n.getOpType().contains("MatMul") || n.getOpType().equals("Gemm"))
                byKind.computeIfAbsent(n.getOpType(), k -> new java.util.ArrayList<>()).add(n.getName().replaceAll("^blocks\\.\\d+\\.", "blocks.*."));
        Map<String, Map<String, Long>> where = new TreeMap<>();
        byKind.forEach((k, v) -> where.put(k, new TreeMap<>(v.stream().collect(
                java.util.stream.Collectors.groupingBy(x -> x.replaceAll("/.*", ""), java.util.stream.Collectors.counting())))));
        return where;
    }

    @Test
    void optimizedGraphOfTheVitTinyExport() throws Exception {
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        QuantPlan plan = QuantPlanJson.read(TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json"));
        Onnx.ModelProto exported = OnnxExporter.export(m, plan, 17);
        Onnx.ModelProto fused = optimized(exported);
        Map<String, Integer> before = census(exported), after = census(fused);
        System.out.println("ONNX Runtime census, ViT-Ti PTQ4ViT W8A8 (power-of-two GELU), opset 17");
        System.out.println("  exported:  " + before);
        System.out.println("  optimized: " + after);
        Map<String, Map<String, Long>> where = products(fused);
        where.forEach((k, v) -> System.out.println("  " + k + ": " + v));
        assertEquals(Map.of("blocks.*.attn.proj", 12L, "blocks.*.attn.qkv", 12L, "blocks.*.mlp.fc1", 12L, "blocks.*.mlp.fc2", 24L),
                where.get("MatMulIntegerToFloat"), "the products ONNX Runtime runs as integer kernels");
        int integerMatMuls = 0;
        for (var e : after.entrySet())
            if (e.getKey().contains("QLinearMatMul") || e.getKey().contains("MatMulInteger") || e.getKey().contains("QGemm")
                    || e.getKey().contains("DynamicQuantizeMatMul") || e.getKey().contains("QAttention"))
                integerMatMuls += e.getValue();
        System.out.println("  integer matrix-product kernels in the optimized graph: " + integerMatMuls
                + " (the model has 12 x 4 block Linear ops + head, 24 attention matmuls)");
        assertEquals(EXPECTED_INTEGER_MATMULS, integerMatMuls, "integer matrix-product kernels after ONNX Runtime's fusions");
    }

    /**
     * The uint8 option (per-tensor activation codes as uint8 with zero point 128): the same block
     * Linears run as integer kernels, now on uint8 activations (`vitq bench` measured them at the
     * speed of the int8 ones on this CPU). The per-head matmul operands stay int8: as uint8, ONNX Runtime 1.23 fused matmul1 into a
     * MatMulIntegerToFloat with a per-head zero point that its kernel then refused at run time, so
     * the optimized model is also run here, once.
     */
    @Test
    void uint8ActivationsKeepEveryIntegerKernel() throws Exception {
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        QuantPlan plan = QuantPlanJson.read(TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json"));
        Onnx.ModelProto fused = optimized(OnnxExporter.export(m, plan, 17, OnnxExporter.ActivationCodes.UINT8));
        Map<String, Map<String, Long>> where = products(fused);
        System.out.println("ONNX Runtime, ViT-Ti with uint8 activation codes: " + census(fused) + " " + where);
        assertEquals(Map.of("blocks.*.attn.proj", 12L, "blocks.*.attn.qkv", 12L, "blocks.*.mlp.fc1", 12L, "blocks.*.mlp.fc2", 24L),
                where.get("MatMulIntegerToFloat"), "the products ONNX Runtime runs as integer kernels");
        try (Ort ort = new Ort(OnnxExporter.export(m, plan, 17, OnnxExporter.ActivationCodes.UINT8).toByteArray(), true)) {
            float[] logits = ort.logits(io.vitq.data.CalibrationSet.load(TestData.demo("calib/calib32.txt"), 1, m.preprocessing()).images());
            assertEquals(m.numClasses(), logits.length);
        }
        for (Onnx.NodeProto n : fused.getGraph().getNodeList())
            if (n.getOpType().equals("MatMulIntegerToFloat"))
                assertEquals(TensorProto.DataType.UINT8, elementType(fused, n.getInput(0)), n.getName() + ": its activation input");
    }

    /**
     * {@code export --float-attention}: the same 60 block products as integer kernels, and nothing
     * left of the attention operands' quantizers (no twin softmax {@code Where}, no QuantizeLinear
     * on q, k, v or the probabilities: 12 x 5 Linear inputs, fc2's as two, remain); ONNX Runtime's
     * logits are vitq's fake quant of the plan without its matmul entries.
     */
    @Test
    void floatAttentionKeepsTheIntegerLinearsAndDropsTheAttentionQuantizers() throws Exception {
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        QuantPlan plan = QuantPlanJson.read(TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json")).withoutMatmuls();
        Onnx.ModelProto exported = OnnxExporter.export(m, plan, 17);
        Onnx.ModelProto fused = optimized(exported);
        Map<String, Integer> after = census(fused);
        System.out.println("ONNX Runtime, ViT-Ti with float attention: " + after + " " + products(fused));
        assertEquals(Map.of("blocks.*.attn.proj", 12L, "blocks.*.attn.qkv", 12L, "blocks.*.mlp.fc1", 12L, "blocks.*.mlp.fc2", 24L),
                products(fused).get("MatMulIntegerToFloat"), "the products ONNX Runtime runs as integer kernels");
        assertEquals(null, after.get("Where"), "the twin softmax quantizer's branches are gone");
        int quantizeInExport = census(exported).getOrDefault("QuantizeLinear", 0);
        for (Onnx.NodeProto n : exported.getGraph().getNodeList())
            if (n.getOpType().equals("QuantizeLinear"))
                assertEquals(false, n.getName().contains("matmul"), n.getName() + ": an attention operand quantized");
        System.out.println("  QuantizeLinear nodes in the export: " + quantizeInExport);
        // (the full plan's export does name its attention operands' quantizers so: the check above can fail)
        QuantPlan full = QuantPlanJson.read(TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json"));
        assertEquals(true, OnnxExporter.export(m, full, 17).getGraph().getNodeList().stream()
                .anyMatch(n -> n.getOpType().equals("QuantizeLinear") && n.getName().contains("matmul")));

        io.vitq.tensor.Tensor x = io.vitq.data.CalibrationSet.load(TestData.demo("calib/calib32.txt"), 4, m.preprocessing()).images();
        float[] vitq = m.forward(x, new io.vitq.quant.FakeQuantExecutor(plan, m)).data();
        try (Ort ort = new Ort(exported.toByteArray(), true)) {
            float[] logits = ort.logits(x);
            double maxDiff = Diffs.maxDiff(logits, vitq), maxAbs = Diffs.maxAbs(vitq);
            // two float implementations of one quantized model: a rounding flip of an 8-bit code moves a logit by a step
            System.out.printf(java.util.Locale.ROOT, "  ONNX Runtime vs vitq fake quant of the same plan: max |logit difference| %.4f (max |logit| %.2f)%n",
                    maxDiff, maxAbs);
            assertEquals(true, maxDiff < 0.05 * maxAbs, "max logit difference " + maxDiff);
            for (int i = 0; i < 4; i++)
                assertEquals(io.vitq.model.Backward.topOne(vitq, 4, m.numClasses())[i], io.vitq.model.Backward.topOne(logits, 4, m.numClasses())[i]);
        }
    }

    /**
     * {@code export --float-attention --integer-linears}: every quantized Linear as MatMulInteger on
     * the codes, Cast, Mul by the scales and the bias's Add, which ONNX Runtime fuses into one
     * MatMulIntegerToFloat with the bias inside. The 60 block products and the head (a float Gemm in
     * the QDQ form) run as integer kernels, 49 of them with the bias (qkv, proj, fc1, fc2's first
     * range and the head); no bias Add is left after a product, and no DequantizeLinear of a Linear's
     * weight or input is left to run. ONNX Runtime's logits, with and without its fusions, stay within
     * 5 % of the largest logit of the QDQ form's of the same plan, with its top-1 (rounding flips
     * cascade through ViT-Ti's 12 blocks; {@code VitqRecipeVariantsTest} holds the form to the
     * 1e-4 bound of the other exports on the micro models).
     */
    @ParameterizedTest
    @ValueSource(ints = {17, 21})
    void integerLinearsCarryTheirBiasIntoTheIntegerKernel(int opset) throws Exception {
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        QuantPlan plan = QuantPlanJson.read(TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json")).withoutMatmuls();
        Onnx.ModelProto exported = OnnxExporter.export(m, plan, opset, OnnxExporter.ActivationCodes.UINT8, OnnxExporter.LinearForm.INTEGER);
        Onnx.ModelProto fused = optimized(exported);
        System.out.println("ONNX Runtime, ViT-Ti with float attention and integer Linears: " + census(fused) + " " + products(fused));
        assertEquals(Map.of("blocks.*.attn.proj", 12L, "blocks.*.attn.qkv", 12L, "blocks.*.mlp.fc1", 12L, "blocks.*.mlp.fc2", 24L,
                "head", 1L), products(fused).get("MatMulIntegerToFloat"), "the products ONNX Runtime runs as integer kernels");
        java.util.Set<String> initializers = new java.util.HashSet<>();
        for (TensorProto t : fused.getGraph().getInitializerList()) initializers.add(t.getName());
        java.util.Set<String> products = new java.util.HashSet<>();
        int withBias = 0;
        for (Onnx.NodeProto n : fused.getGraph().getNodeList()) {
            if (!n.getOpType().equals("MatMulIntegerToFloat")) continue;
            products.addAll(n.getOutputList());
            if (n.getInputCount() > 6 && !n.getInput(6).isEmpty()) withBias++;
        }
        assertEquals(49, withBias, "products with the bias inside");
        for (Onnx.NodeProto n : fused.getGraph().getNodeList()) {
            if (n.getOpType().equals("Add"))
                assertTrue(!(products.contains(n.getInput(0)) && initializers.contains(n.getInput(1))), n.getName() + ": a bias added after its product");
            if (n.getOpType().equals("DequantizeLinear"))
                assertTrue(n.getName().endsWith("/input_scale"), n.getName() + ": a DequantizeLinear left to run on a weight or input");
        }
        // the patch embedding on the float image: its weight folded at load, so the conv gets the blocked float kernel
        // (ONNX Runtime's NCHWc transform is x86-64's)
        if (java.util.Set.of("amd64", "x86_64").contains(System.getProperty("os.arch")))
            assertEquals(1, census(fused).get("com.microsoft.nchwc:Conv"), "the patch-embedding conv as ONNX Runtime's NCHWc kernel");
        // the QDQ form of the same plan; the integer form also as plain ONNX semantics (no fusions)
        io.vitq.tensor.Tensor x = io.vitq.data.CalibrationSet.load(TestData.demo("calib/calib32.txt"), 4, m.preprocessing()).images();
        float[] qdq, integer, plain;
        try (Ort ort = new Ort(OnnxExporter.export(m, plan, 17).toByteArray(), true)) { qdq = ort.logits(x); }
        try (Ort ort = new Ort(exported.toByteArray(), true)) { integer = ort.logits(x); }
        try (Ort ort = new Ort(exported.toByteArray(), false)) { plain = ort.logits(x); }
        double maxAbs = Diffs.maxAbs(qdq), fusedDiff = Diffs.maxDiff(integer, qdq), plainDiff = Diffs.maxDiff(plain, qdq);
        System.out.printf(java.util.Locale.ROOT, "  max |logit difference| to the QDQ form: fused %.4f, unfused %.4f (max |logit| %.2f)%n",
                fusedDiff, plainDiff, maxAbs);
        // the same codes and scales; the float sums differ in order only (the bias inside the GEMM's output stage, fc2's two ranges)
        assertTrue(fusedDiff < 0.05 * maxAbs, "fused: max logit difference " + fusedDiff);
        assertTrue(plainDiff < 0.05 * maxAbs, "unfused: max logit difference " + plainDiff);
        int[] top = io.vitq.model.Backward.topOne(qdq, 4, m.numClasses());
        assertEquals(java.util.Arrays.toString(top), java.util.Arrays.toString(io.vitq.model.Backward.topOne(integer, 4, m.numClasses())));
        assertEquals(java.util.Arrays.toString(top), java.util.Arrays.toString(io.vitq.model.Backward.topOne(plain, 4, m.numClasses())));
    }

    /**
     * The element type of the codes in value {@code name}: the zero point's of the QuantizeLinear
     * that made them, through the layout nodes ONNX Runtime moves between a Q and its consumer and
     * the clamps on codes (QdqEmitter's shifted codes).
     */
    private static TensorProto.DataType elementType(Onnx.ModelProto m, String name) {
        for (Onnx.NodeProto n : m.getGraph().getNodeList()) {
            if (!n.getOutputList().contains(name)) continue;
            if (n.getOpType().equals("QuantizeLinear")) {
                for (TensorProto t : m.getGraph().getInitializerList())
                    if (t.getName().equals(n.getInput(2))) return TensorProto.DataType.forNumber(t.getDataType());
            } else if (java.util.Set.of("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Clip").contains(n.getOpType())) {
                return elementType(m, n.getInput(0));
            }
            throw new AssertionError(name + " comes from " + n.getOpType() + n.getInputList() + ", not a QuantizeLinear");
        }
        throw new AssertionError(name + ": no node makes it");
    }

    /**
     * fc2 with a codebook input (QuantizeLinear, a lookup of the level table, DequantizeLinear) runs
     * as one integer kernel, not two as with the twin GELU input: the table sits between the Q and
     * the DQ, and ONNX Runtime fuses the DQ into the product as it does any other.
     */
    @Test
    void codebookInputsFuseIntoOneIntegerKernel() throws Exception {
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        QuantPlan plan = QuantPlanJson.read(TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json"));
        QuantPlan codebook = HandPlans.withFc2Inputs(plan, io.vitq.quant.CodebookOperand.nearest(4, 0.03f, 6,
                new int[] {0, 3, 6, 8, 11, 15, 20, 26, 33, 41, 52, 66, 85, 110, 160, 255}));
        Map<String, Map<String, Long>> where = products(optimized(OnnxExporter.export(m, codebook, 17)));
        System.out.println("ONNX Runtime, ViT-Ti with codebook fc2 inputs: " + where);
        assertEquals(Map.of("blocks.*.attn.proj", 12L, "blocks.*.attn.qkv", 12L, "blocks.*.mlp.fc1", 12L, "blocks.*.mlp.fc2", 12L),
                where.get("MatMulIntegerToFloat"), "every block Linear one integer kernel");
    }

    /**
     * fc2 with AdaLog's input (a lookup-coded quantizer: its values are float) cannot run as an integer
     * kernel: its weight goes out as codes, Cast and Mul, which ONNX Runtime folds into a float
     * initializer at load, so the product is a plain float MatMul, with no DequantizeLinear left to run
     * on every call (nor a weight-only MatMulNBits, which ONNX Runtime 1.30 makes of a DequantizeLinear
     * weight). The other block Linears keep their integer kernels, and the logits are the fake quant's.
     */
    @Test
    void floatInputLinearsGetAFoldedFloatWeight() throws Exception {
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        QuantPlan plan = QuantPlanJson.read(TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json"));
        QuantPlan adaLog = HandPlans.withFc2Inputs(plan, new io.vitq.quant.AdaLogOperand(4, 30, 6f, io.vitq.quant.AdaLogOperand.GELU_SHIFT));
        Onnx.ModelProto exported = OnnxExporter.export(m, adaLog, 17);
        Onnx.ModelProto fused = optimized(exported);
        Map<String, Map<String, Long>> where = products(fused);
        System.out.println("ONNX Runtime, ViT-Ti with AdaLog fc2 inputs: " + where + " " + census(fused));
        assertEquals(Map.of("blocks.*.attn.proj", 12L, "blocks.*.attn.qkv", 12L, "blocks.*.mlp.fc1", 12L),
                where.get("MatMulIntegerToFloat"), "qkv, proj and fc1 integer kernels");
        assertEquals(12L, where.get("MatMul").get("blocks.*.mlp.fc2"), "fc2 a float MatMul");
        assertEquals(null, where.get("com.microsoft:MatMulNBits"));
        assertEquals(null, where.get("MatMulNBits"));
        assertTrue(fused.getGraph().getNodeList().stream().noneMatch(n -> n.getName().contains("mlp.fc2.weight")),
                "fc2's weight folded into an initializer");
        io.vitq.tensor.Tensor x = io.vitq.data.CalibrationSet.load(TestData.demo("calib/calib32.txt"), 4, m.preprocessing()).images();
        float[] vitq = m.forward(x, new io.vitq.quant.FakeQuantExecutor(adaLog, m)).data();
        try (Ort ort = new Ort(exported.toByteArray(), true)) {
            float[] logits = ort.logits(x);
            for (int i = 0; i < 4; i++)
                assertEquals(io.vitq.model.Backward.topOne(vitq, 4, m.numClasses())[i], io.vitq.model.Backward.topOne(logits, 4, m.numClasses())[i]);
        }
    }

    /**
     * The deployment form at its opset (21) with AdaLog's quantizers on the fc2 inputs: each fc2
     * input's two components come from one lookup of fc1's output ({@link GeluCodeLookup}), so no
     * GELU, logarithm or code correction is left in ONNX Runtime's graph, two GatherElements per
     * block do the lookup, and fc2 runs as two integer kernels like every other block Linear. At
     * opset 17 the same export computes the codes from the GELU's output (a Log per block).
     */
    @Test
    void deploymentFormLooksUpFc2sAdaLogCodes() throws Exception {
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        QuantPlan plan = QuantPlanJson.read(TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json"));
        QuantPlan adaLog = HandPlans.withFc2Inputs(plan, new io.vitq.quant.AdaLogOperand(4, 30, 6f, io.vitq.quant.AdaLogOperand.GELU_SHIFT));
        Onnx.ModelProto fused = optimized(OnnxExporter.exportForOnnxRuntime(m, adaLog, OnnxExporter.integerLinearsOpset(adaLog)));
        Map<String, Integer> census = census(fused);
        System.out.println("ONNX Runtime, ViT-Ti deployment form with AdaLog fc2 inputs, opset 21: " + census + " " + products(fused));
        assertEquals(Map.of("blocks.*.attn.proj", 12L, "blocks.*.attn.qkv", 12L, "blocks.*.mlp.fc1", 12L, "blocks.*.mlp.fc2", 24L,
                "head", 1L), products(fused).get("MatMulIntegerToFloat"), "every Linear product an integer kernel");
        assertEquals(24, census.get("GatherElements"), "two lookups per block");
        for (String gone : List.of("Gelu", "BiasGelu", "Erf", "Log", "Less"))
            assertEquals(null, census.get(gone), gone + " left in the graph");
        assertEquals(17, OnnxExporter.integerLinearsOpset(plan), "a plan without lookup-coded inputs stays at opset 17");
        Map<String, Integer> exact = census(optimized(OnnxExporter.exportForOnnxRuntime(m, adaLog, 17)));
        assertEquals(12, exact.get("Log"), "opset 17: the codes computed from the GELU's output");
    }

    /**
     * Measured with ONNX Runtime 1.23.2: qkv, proj and fc1 of the 12 blocks, and fc2 as two
     * products (its twin GELU input's two ranges, exported as two QDQ values whose products are
     * added) fuse into MatMulIntegerToFloat; both attention matmuls (per-head scales; twin
     * softmax) and the head stay float MatMul/FusedMatMul/Gemm on dequantized values. (Before fc2's
     * two-product export: 36, fc2 a float MatMul after a Where.) Update when the export changes.
     */
    static final int EXPECTED_INTEGER_MATMULS = 60;
}
