package io.vitq.export;

import io.vitq.data.Preprocessing;
import io.vitq.export.proto.Onnx;
import io.vitq.export.proto.Onnx.TensorProto;
import io.vitq.model.Model;
import io.vitq.model.SwinTransformer;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The exported tiny ViT (and DeiT, Swin) run by ONNX Runtime against vitq: float logits, and the logits of
 * hand-built quantized plans (every quantizer and granularity, 8, 6 and 10 bits) against the
 * fake-quant executor; the graph's structure; errors.
 */
class OnnxExporterTest {
    static final VisionTransformer VIT = TinyModels.VIT;
    /** 64 random images: enough logits to see how often a rounding flip moves one. */
    static final Tensor IMAGES = TinyModels.randomImages(64, 32, 9);
    static final io.vitq.testutil.MinMaxPlans.Maxima MAX = HandPlans.maxima(VIT, TinyModels.IMAGES);

    /** Logits compared: max |diff|, the fraction within 1e-4, images whose logits are all within 1e-4, top-1 agreement. */
    record Diff(double max, double withinFraction, int imagesWithin, int agree, int images) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "max |diff| %.3g, logits within 1e-4: %.4f (images: %d/%d), top-1 agreement %d/%d",
                    max, withinFraction, imagesWithin, images, agree, images);
        }
    }

    static Diff diff(float[] ref, float[] got, int classes) {
        double max = 0;
        int within = 0, agree = 0, images = ref.length / classes, imagesWithin = images;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(ref[i] - got[i]);
            max = Math.max(max, d);
            if (d <= 1e-4) within++;
        }
        for (int b = 0; b < images; b++) {
            if (VitTinyOnnxTest.argmax(ref, b * classes, classes) == VitTinyOnnxTest.argmax(got, b * classes, classes)) agree++;
            for (int c = 0; c < classes; c++) {
                if (Math.abs(ref[b * classes + c] - got[b * classes + c]) > 1e-4) {
                    imagesWithin--;
                    break;
                }
            }
        }
        return new Diff(max, within / (double) ref.length, imagesWithin, agree, images);
    }

    static float[] ort(Onnx.ModelProto m, Tensor x, boolean optimized) throws Exception {
        try (Ort o = new Ort(m.toByteArray(), optimized)) {
            return o.logits(x);
        }
    }

    // ---------------------------------------------------------------- numerics

    @Test
    void floatExportMatchesVitqFloat() throws Exception {
        float[] ref = VIT.forward(IMAGES).data();
        for (int opset : new int[] {13, 17, 21}) {
            for (boolean opt : new boolean[] {false, true}) {
                Diff d = diff(ref, ort(OnnxExporter.export(VIT, null, opset), IMAGES, opt), 10);
                System.out.println("tiny ViT float, opset " + opset + (opt ? " optimized" : "") + ": " + d);
                assertTrue(d.max() <= 1e-4, d.toString());
            }
        }
    }

    @Test
    void distilledDeitFloatAndQuantized() throws Exception {
        ViTConfig c = TinyModels.VIT_CFG.withDistillation(true);
        VisionTransformer deit = VisionTransformer.load("deit_tiny_test", c, Preprocessing.timm(32, false), TinyModels.vitWeights(c, 4));
        Diff f = diff(deit.forward(IMAGES).data(), ort(OnnxExporter.export(deit, null, 17), IMAGES, true), 10);
        System.out.println("tiny distilled DeiT float: " + f);
        assertTrue(f.max() <= 1e-4, f.toString());
        QuantPlan plan = HandPlans.ptq4vit(deit, HandPlans.maxima(deit, TinyModels.IMAGES), 6, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN);
        Diff q = diff(deit.forward(IMAGES, new FakeQuantExecutor(plan, deit)).data(), ort(OnnxExporter.export(deit, plan, 17), IMAGES, true), 10);
        System.out.println("tiny distilled DeiT W6A6: " + q);
        assertTrue(q.imagesWithin() >= 48 && q.agree() >= 62, q.toString());
    }

    /**
     * Each plan's export against vitq's fake quantization: most logits within 1e-4, the rest moved
     * by rounding flips (an activation that lands on the other side of a rounding boundary because
     * ONNX Runtime sums in another order). ONNX Runtime's optimized and unoptimized runs of the
     * same file are compared too: they disagree with each other in the same way.
     */
    @Test
    void quantizedPlansMatchFakeQuant() throws Exception {
        record Case(String name, QuantPlan plan, int opset) {}
        List<Case> cases = List.of(
                new Case("PTQ4ViT-like W8A8 (twins clean)", HandPlans.ptq4vit(VIT, MAX, 8, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN), 17),
                new Case("PTQ4ViT-like W6A6 (twins clean)", HandPlans.ptq4vit(VIT, MAX, 6, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN), 17),
                new Case("PTQ4ViT-like W8A8 (softmax quirk)", HandPlans.ptq4vit(VIT, MAX, 8, 0.8f, TwinSoftmaxQuantizer.Mode.REFERENCE_QUIRK), 17),
                new Case("BasePTQ-like W8A8 + 10-bit block 0 MLP", HandPlans.mixed(VIT, MAX, 8, 10, 0.8f), 13),
                new Case("BasePTQ-like W6A6 + 10-bit block 0 MLP", HandPlans.mixed(VIT, MAX, 6, 10, 0.8f), 21),
                new Case("PTQ4ViT-like W8A8, asymmetric Linear inputs", io.vitq.testutil.MinMaxPlans.withAsymmetricInputs(
                        HandPlans.ptq4vit(VIT, MAX, 8, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN), MAX, 0.9f), 17),
                new Case("PTQ4ViT-like W6A6, asymmetric Linear inputs", io.vitq.testutil.MinMaxPlans.withAsymmetricInputs(
                        HandPlans.ptq4vit(VIT, MAX, 6, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN), MAX, 0.9f), 13),
                new Case("PTQ4ViT-like W4A8, asymmetric per-channel weights", io.vitq.testutil.MinMaxPlans.withAsymmetricWeights(
                        io.vitq.testutil.MinMaxPlans.plan(VIT, MAX, io.vitq.testutil.MinMaxPlans.Spec.ptq4vit(true).perChannelWeights()),
                        VIT, 4, 0.9f), 17),
                new Case("PTQ4ViT-like W4A8, 16 weight levels per Linear", io.vitq.testutil.MinMaxPlans.withLevelledWeights(
                        io.vitq.testutil.MinMaxPlans.plan(VIT, MAX, io.vitq.testutil.MinMaxPlans.Spec.ptq4vit(true).perChannelWeights()),
                        VIT, 4, io.vitq.testutil.MinMaxPlans.LEVELS16, 0.9f), 17),
                new Case("PTQ4ViT-like W4A8, 256 weight pairs per Linear", io.vitq.testutil.MinMaxPlans.withPairedWeights(
                        io.vitq.testutil.MinMaxPlans.plan(VIT, MAX, io.vitq.testutil.MinMaxPlans.Spec.ptq4vit(true).perChannelWeights()),
                        VIT, io.vitq.testutil.MinMaxPlans.PAIRS256, 0.9f), 17),
                new Case("PTQ4ViT W4A6 calibrated, --per-channel-weights --asymmetric-weights", io.vitq.calib.Calibrator.calibrate(VIT,
                        TinyModels.IMAGES, null, io.vitq.calib.CalibConfig.ptq4vit(4, 6).withSearch(8, 1).withPerChannelWeights(true)
                                .withAsymmetricWeights(true), "test", null).plan(), 17),
                new Case("PTQ4ViT W6A6 calibrated, --per-channel-weights", io.vitq.calib.Calibrator.calibrate(VIT, TinyModels.IMAGES,
                        null, io.vitq.calib.CalibConfig.ptq4vit(6, 6).withSearch(8, 1).withPerChannelWeights(true), "test", null).plan(), 17),
                new Case("PTQ4ViT W6A6 calibrated, --gelu-codebook", io.vitq.calib.Calibrator.calibrate(VIT, TinyModels.IMAGES,
                        null, io.vitq.calib.CalibConfig.ptq4vit(6, 6).withSearch(8, 1).withGeluCodebook(io.vitq.calib.CalibConfig.GeluLevels.FITTED), "test", null).plan(), 17));
        for (Case c : cases) {
            float[] ref = VIT.forward(IMAGES, new FakeQuantExecutor(c.plan(), VIT)).data();
            Onnx.ModelProto m = OnnxExporter.export(VIT, c.plan(), c.opset());
            float[] opt = ort(m, IMAGES, true), plain = ort(m, IMAGES, false);
            Diff d = diff(ref, opt, 10), dp = diff(ref, plain, 10), self = diff(plain, opt, 10);
            System.out.println("tiny ViT " + c.name() + ", opset " + c.opset() + ": ONNX Runtime vs vitq fake quant: " + d
                    + "; unoptimized ONNX Runtime vs vitq: " + dp + "; ONNX Runtime optimized vs unoptimized: " + self);
            // a semantic mismatch would move every image; rounding flips move a few
            for (Diff x : new Diff[] {d, dp}) {
                assertTrue(x.imagesWithin() >= 48, c.name() + ": " + x);
                assertTrue(x.agree() >= 62, c.name() + ": " + x);
                assertTrue(x.max() <= 0.1, c.name() + ": " + x);
            }
        }
    }

    /** VT-PTQ's plans carry corrected biases (and create one where a layer has none): the export must use them. */
    @Test
    void vtptqCorrectedBiasesAreExported() throws Exception {
        QuantPlan plan = io.vitq.calib.Calibrator.calibrate(VIT, TinyModels.IMAGES, null,
                io.vitq.calib.CalibConfig.vtptq(8, 8).withSearch(8, 2), "test", null).plan();
        float[] corrected = plan.linear("blocks.0.mlp.fc1").bias();
        assertTrue(corrected != null && !java.util.Arrays.equals(corrected, VIT.blocks()[0].fc1().bias()), "a corrected bias");
        Onnx.ModelProto m = OnnxExporter.export(VIT, plan, 17);
        assertTrue(java.util.Arrays.equals(corrected, floats(init(m, "blocks.0.mlp.fc1.bias"))), "the initializer is the plan's bias");
        float[] ref = VIT.forward(IMAGES, new FakeQuantExecutor(plan, VIT)).data();
        Diff d = diff(ref, ort(m, IMAGES, false), 10);
        System.out.println("tiny ViT VT-PTQ W8A8 with bias correction: unoptimized ONNX Runtime vs vitq: " + d);
        assertTrue(d.imagesWithin() >= 48 && d.agree() >= 62 && d.max() <= 0.1, d.toString());
    }

    @Test
    void swinFloatAndQuantized() throws Exception {
        SwinTransformer swin = TinyModels.SWIN;
        float[] ref = swin.forward(IMAGES).data();
        for (int opset : new int[] {13, 17, 18, 21}) {
            Diff d = diff(ref, ort(OnnxExporter.export(swin, null, opset), IMAGES, true), 10);
            System.out.println("tiny Swin float, opset " + opset + ": " + d);
            assertTrue(d.max() <= 1e-4, d.toString());
        }
        io.vitq.testutil.MinMaxPlans.Maxima mx = HandPlans.maxima(swin, TinyModels.IMAGES);
        record Case(String name, QuantPlan plan, int opset) {}
        for (Case c : List.of(
                new Case("PTQ4ViT-like W8A8", HandPlans.ptq4vit(swin, mx, 8, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN), 17),
                new Case("PTQ4ViT-like W6A6", HandPlans.ptq4vit(swin, mx, 6, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN), 21),
                new Case("BasePTQ-like W8A8 + 10-bit", HandPlans.mixed(swin, mx, 8, 10, 0.8f), 13),
                // AdaLog's probabilities (windows x heads x tokens x tokens) and fc2 inputs: the logarithm's codes, lookups
                new Case("PTQ4ViT-like W8A8, AdaLog 6-bit probabilities and fc2 inputs", HandPlans.withAdaLog(
                        HandPlans.ptq4vit(swin, mx, 8, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN), 6, 30, 4f), 17))) {
            float[] fq = swin.forward(IMAGES, new FakeQuantExecutor(c.plan(), swin)).data();
            Onnx.ModelProto m = OnnxExporter.export(swin, c.plan(), c.opset());
            float[] opt = ort(m, IMAGES, true), plain = ort(m, IMAGES, false);
            Diff d = diff(fq, opt, 10), dp = diff(fq, plain, 10), self = diff(plain, opt, 10);
            System.out.println("tiny Swin " + c.name() + ", opset " + c.opset() + ": ONNX Runtime vs vitq fake quant: " + d
                    + "; unoptimized ONNX Runtime vs vitq: " + dp + "; ONNX Runtime optimized vs unoptimized: " + self);
            // a semantic mismatch would move every image; rounding flips move a few
            for (Diff x : new Diff[] {d, dp}) assertTrue(x.imagesWithin() >= 48 && x.agree() >= 62 && x.max() <= 0.1, c.name() + ": " + x);
        }
    }

    @Test
    void floatPlanOpsStayFloat() throws Exception {
        // a plan that quantizes only one weight: the rest of the graph is the float export's
        QuantPlan one = new QuantPlan(new PlanInfo(VIT.name(), "by hand", 8, 8), Map.of("blocks.1.mlp.fc1",
                new LinearQuant(UniformOperand.perTensor(8, 0.01f), null)));
        Onnx.ModelProto m = OnnxExporter.export(VIT, one, 17);
        // its input stays float, so no integer kernel: the codes dequantized by Cast and Mul, which ONNX Runtime folds at load
        assertEquals(0, count(m, "DequantizeLinear"));
        assertEquals(1, count(m, "Cast"));
        assertEquals(0, count(m, "QuantizeLinear"));
        Diff d = diff(VIT.forward(IMAGES, new FakeQuantExecutor(one, VIT)).data(), ort(m, IMAGES, true), 10);
        assertTrue(d.max() <= 1e-4, d.toString());
    }

    // ---------------------------------------------------------------- structure

    @Test
    void qdqGraphStructure() {
        QuantPlan plan = HandPlans.ptq4vit(VIT, MAX, 8, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN);
        Onnx.ModelProto m = OnnxExporter.export(VIT, plan, 17);
        assertEquals(8, m.getIrVersion());
        assertEquals(17, m.getOpsetImport(0).getVersion());
        assertEquals("", m.getOpsetImport(0).getDomain());
        Onnx.GraphProto g = m.getGraph();
        assertEquals(OnnxExporter.INPUT, g.getInput(0).getName());
        assertEquals(OnnxExporter.OUTPUT, g.getOutput(0).getName());
        assertEquals("batch", g.getInput(0).getType().getTensorType().getShape().getDim(0).getDimParam());
        assertEquals(List.of(3L, 32L, 32L), g.getInput(0).getType().getTensorType().getShape().getDimList().stream().skip(1)
                .map(Onnx.TensorShapeProto.Dimension::getDimValue).toList());
        // per block: qkv input, q, k, twin small, twin large, v, proj input, fc1 input, fc2 negative and positive; head input
        assertEquals(2 * 10 + 1, count(m, "QuantizeLinear"));
        // and the weights: patch embedding, 4 per block, head
        assertEquals(2 * 10 + 1 + 1 + 2 * 4 + 1, count(m, "DequantizeLinear"));
        assertEquals(2, count(m, "Where"), "the twin softmax's ranges, one per block");
        // the twin GELU input as two products added (each an integer kernel in ONNX Runtime): each
        // range clamped at zero by its uint8 codes' saturation, the positive range's top by a Clip
        // on its codes; no float Clip anywhere (at 8 bits int8 saturation is every other clamp)
        assertEquals(2, count(m, "Clip"), "the twin GELU positive range's top clamp, one per block");
        for (Onnx.NodeProto n : g.getNodeList())
            if (n.getOpType().equals("Clip"))
                assertEquals("QuantizeLinear", g.getNodeList().stream().filter(p -> p.getOutputList().contains(n.getInput(0)))
                        .findFirst().orElseThrow().getOpType(), n.getName() + ": a clamp on codes");
        assertEquals("MatMul", node(m, "blocks.0.mlp.fc2/matmul").getOpType());
        assertEquals("MatMul", node(m, "blocks.0.mlp.fc2/matmul1").getOpType());
        assertEquals("Add", node(m, "blocks.0.mlp.fc2/ranges").getOpType());
        assertEquals(5, count(m, "LayerNormalization"));
        Map<String, Onnx.TensorProto> init = g.getInitializerList().stream().collect(Collectors.toMap(Onnx.TensorProto::getName, t -> t));
        // weights: int8 codes, transposed to [in, out]; qkv's 3 block scales repeated per output row (axis 1)
        Onnx.TensorProto qkv = init.get("blocks.0.attn.qkv.weight_codes");
        assertEquals(TensorProto.DataType.INT8.getNumber(), qkv.getDataType());
        assertEquals(List.of(64L, 192L), qkv.getDimsList());
        float[] blockScales = ((LinearQuant) plan.op("blocks.0.attn.qkv")).weight().scales();
        float[] rowScales = floats(init.get("blocks.0.attn.qkv.weight_scale"));
        assertEquals(192, rowScales.length);
        for (int r = 0; r < 192; r++) assertEquals(blockScales[r / 64], rowScales[r]);
        Onnx.NodeProto dq = node(m, "blocks.0.attn.qkv.weight");
        assertEquals("DequantizeLinear", dq.getOpType());
        assertEquals(1, dq.getAttribute(0).getI());
        assertEquals(0, node(m, "patch_embed.proj.weight").getAttribute(0).getI());
        assertEquals(List.of(64L, 3L, 8L, 8L), init.get("patch_embed.proj.weight_codes").getDimsList());
        // ONNX Runtime's form: the conv on the float image gets its int8 codes times per-channel scales [D, 1, 1, 1]
        Onnx.ModelProto integer = OnnxExporter.export(VIT, plan, 17, OnnxExporter.ActivationCodes.UINT8, OnnxExporter.LinearForm.INTEGER);
        Onnx.NodeProto convWeight = node(integer, "patch_embed.proj.weight");
        assertEquals("Mul", convWeight.getOpType());
        assertEquals("Cast", node(integer, "patch_embed.proj.weight_float_codes").getOpType());
        assertEquals(List.of(64L, 1L, 1L, 1L), init(integer, convWeight.getInput(1)).getDimsList());
        assertEquals(init.get("patch_embed.proj.weight_codes"), init(integer, "patch_embed.proj.weight_codes"), "the same codes");
        // per-tensor weight: a scalar scale and no axis
        assertEquals(0, init.get("blocks.0.attn.proj.weight_scale").getDimsCount());
        assertEquals(0, node(m, "blocks.0.attn.proj.weight").getAttributeCount());
        // the heads split by a Transpose that moves one axis of [N, T, 3H, d] (ONNX Runtime copies rows of
        // d; the 5-D permutation [N, T, 3, H, d] -> [3, N, H, T, d] before it ran 1.7-2.6x slower there)
        Onnx.NodeProto heads = node(m, "blocks.0.attn/qkv");
        assertEquals("Transpose", heads.getOpType());
        assertEquals(List.of(0L, 2L, 1L, 3L), heads.getAttribute(0).getIntsList());
        // per-head q: per-axis QuantizeLinear on axis 1 of [N, H, T, d]
        Onnx.NodeProto q = node(m, "blocks.0.attn.matmul1/a/quantize");
        assertEquals("axis", q.getAttribute(0).getName());
        assertEquals(1, q.getAttribute(0).getI());
        Map<String, String> meta = m.getMetadataPropsList().stream().collect(Collectors.toMap(Onnx.StringStringEntryProto::getKey,
                Onnx.StringStringEntryProto::getValue));
        assertEquals("by hand W8A8", meta.get("vitq.quantization"));
        assertTrue(meta.get("vitq.plan").contains("twin-softmax"), meta.get("vitq.plan"));
        assertEquals("vitq", m.getProducerName());
    }

    @Test
    void weightCodesAreThePlansCodes() {
        QuantPlan plan = HandPlans.ptq4vit(VIT, MAX, 6, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN);
        Onnx.ModelProto m = OnnxExporter.export(VIT, plan, 17);
        var fc2 = VIT.blocks()[1].fc2();
        UniformOperand w = ((LinearQuant) plan.op(fc2.id())).weight();
        byte[] codes = init(m, fc2.id() + ".weight_codes").getRawData().toByteArray();
        var q = w.quantizer();
        for (int r = 0; r < fc2.out(); r++)
            for (int c = 0; c < fc2.in(); c++) {
                int code = q.code(fc2.weight()[r * fc2.in() + c], w.scale(0));
                assertEquals(code, codes[c * fc2.out() + r]);
                assertTrue(code >= -32 && code <= 31);
            }
    }

    @Test
    void opsetsAndLayerNormForms() {
        QuantPlan plan = HandPlans.mixed(VIT, MAX, 8, 10, 0.8f);
        Onnx.ModelProto m13 = OnnxExporter.export(VIT, plan, 13), m21 = OnnxExporter.export(VIT, plan, 21);
        assertEquals(7, m13.getIrVersion());
        assertEquals(10, m21.getIrVersion());
        assertEquals(0, count(m13, "LayerNormalization"));
        assertEquals(10, count(m13, "ReduceMean"));
        // 10-bit weights: int32 codes before opset 21, int16 from 21 on; 10-bit activations emulated before 21
        assertEquals(TensorProto.DataType.INT32.getNumber(), init(m13, "blocks.0.mlp.fc1.weight_codes").getDataType());
        assertEquals(TensorProto.DataType.INT16.getNumber(), init(m21, "blocks.0.mlp.fc1.weight_codes").getDataType());
        assertEquals(2, count(m13, "Round"));
        assertEquals(0, count(m21, "Round"));
    }

    @Test
    void exportIsDeterministic() {
        QuantPlan plan = HandPlans.ptq4vit(VIT, MAX, 8, 0.8f, TwinSoftmaxQuantizer.Mode.CLEAN);
        assertArrayEquals(OnnxExporter.export(VIT, plan, 17).toByteArray(), OnnxExporter.export(VIT, plan, 17).toByteArray());
    }

    @Test
    void writesAtomically(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("m.onnx");
        Files.writeString(out, "old");
        OnnxExporter.write(out, VIT, null, 17);
        assertEquals(OnnxExporter.export(VIT, null, 17), Onnx.ModelProto.parseFrom(Files.readAllBytes(out)));
        assertThrows(IllegalArgumentException.class, () -> OnnxExporter.write(tmp.resolve("s.onnx"), VIT, null, 12));
        try (var files = Files.list(tmp)) {
            assertEquals(List.of("m.onnx"), files.map(p -> p.getFileName().toString()).toList());
        }
        // the permissions of any new file (not a temporary file's owner-only ones)
        Path ref = Files.writeString(tmp.resolve("ref.txt"), "");
        assertEquals(Files.getPosixFilePermissions(ref), Files.getPosixFilePermissions(out));
    }

    // ---------------------------------------------------------------- errors

    @Test
    void errorsAreOneLineMessages() {
        Model other = new Model() {
            public io.vitq.model.ModelSpec spec() { return VIT.spec().withName("resnet_test"); }
            public long parameterCount() { return 0; }
            public List<String> describe() { return List.of(); }
            public List<io.vitq.model.Linear> linears() { return List.of(); }
            public List<io.vitq.model.NormLinear> normLinears() { return List.of(); }
            public List<io.vitq.model.AttentionOp> attentionOps() { return List.of(); }
            public List<io.vitq.model.Segment> segments() { return List.of(); }
            public Tensor forward(Tensor images, io.vitq.model.Executor ex) { return images; }
        };
        String kind = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(other, null, 17)).getMessage();
        assertTrue(kind.contains("resnet_test is not a ViT, DeiT or Swin model"), kind);
        String opset = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(VIT, null, 12)).getMessage();
        assertTrue(opset.contains("opset 12") && opset.contains("13 to 21"), opset);
        assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(VIT, null, 22));
        // a plan made for another model
        QuantPlan wrong = new QuantPlan(new PlanInfo("x", "by hand", 8, 8), Map.of("blocks.7.attn.qkv",
                new LinearQuant(UniformOperand.perTensor(8, 0.01f), null)));
        String plan = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(VIT, wrong, 17)).getMessage();
        assertTrue(plan.contains("blocks.7.attn.qkv") && !plan.contains("\n"), plan);
    }

    // ---------------------------------------------------------------- helpers

    static long count(Onnx.ModelProto m, String op) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).count();
    }

    static Onnx.NodeProto node(Onnx.ModelProto m, String name) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow(
                () -> new AssertionError("no node " + name));
    }

    static Onnx.TensorProto init(Onnx.ModelProto m, String name) { return init(m.getGraph(), name); }

    static Onnx.TensorProto init(Onnx.GraphProtoOrBuilder g, String name) {
        return g.getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst().orElseThrow(
                () -> new AssertionError("no initializer " + name));
    }

    static float[] floats(Onnx.TensorProto t) {
        var b = t.getRawData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] f = new float[b.remaining()];
        b.get(f);
        return f;
    }
}
