package io.vitq.export;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.data.Preprocessing;
import io.vitq.export.proto.Onnx;
import io.vitq.io.ModelLoader;
import io.vitq.io.Reparameterization;
import io.vitq.model.Model;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A plan calibrated on the ViT with rotated qkv and fc1 inputs, exported to ONNX (the rotation as a
 * MatMul by a constant before each of those inputs' QDQ pair), run in ONNX Runtime against vitq's
 * fake quant with the bounds the other quantized exports meet (OnnxExporterTest); and the float
 * export of the rotated model against the checkpoint's float logits.
 */
class RotatedPlanOnnxTest {
    @Test
    void rotatedPlanRunsInOnnxRuntime() throws Exception {
        // vitq at 5 bits rotates; with the GELU codebook instead of AdaLog's quantizers (the recipe with an integer form)
        CalibConfig cfg = CalibConfig.vitq(5, 5).withSearch(8, 2).withAdaLog(false).withGeluCodebook(CalibConfig.GeluLevels.FITTED);
        Model m = rotatedTinyVit(cfg.rotation());
        QuantPlan plan = qdqMatchesFakeQuant(m, cfg, "vitq W5A5 with rotated inputs and GELU codebooks");

        float[] fp = TinyModels.VIT.forward(OnnxExporterTest.IMAGES).data();
        OnnxExporterTest.Diff f = OnnxExporterTest.diff(fp, OnnxExporterTest.ort(OnnxExporter.export(m, null, 17),
                OnnxExporterTest.IMAGES, true), 10);
        System.out.println("tiny ViT with rotated inputs, float ONNX vs the checkpoint's float logits: " + f);
        assertTrue(f.max() <= 1e-4, f.toString());
    }

    /**
     * Every block input rotated (the recipe at W4A8: proj's and fc2's inputs too, fc2's uniform): the QDQ
     * export and the deployment form ({@code --integer-linears}) in ONNX Runtime against vitq's fake quant
     * and code products, with the bounds above.
     */
    @Test
    void everyBlockInputRotatedRunsInOnnxRuntime() throws Exception {
        CalibConfig cfg = CalibConfig.vitq(4, 8).withSearch(8, 2);
        assertEquals(io.vitq.model.RotatedInputs.ALL, cfg.rotation(), "the recipe's W4A8 rotates every block input");
        Model m = rotatedTinyVit(cfg.rotation());
        QuantPlan plan = qdqMatchesFakeQuant(m, cfg, "vitq W4A8 with every block input rotated");
        float[] codes = m.forward(OnnxExporterTest.IMAGES, new FakeQuantExecutor(plan, m, FakeQuantExecutor.Products.CODES)).data();
        OnnxExporterTest.Diff dd = OnnxExporterTest.diff(codes, OnnxExporterTest.ort(OnnxExporter.exportForOnnxRuntime(m, plan,
                OnnxExporter.integerLinearsOpset(plan)), OnnxExporterTest.IMAGES, true), 10);
        System.out.println("the same, deployment form (float attention, integer Linears) vs vitq's code products: " + dd);
        assertTrue(dd.agree() >= 56, dd.toString());
    }

    /** The tiny test ViT with these inputs rotated. */
    private static Model rotatedTinyVit(io.vitq.model.RotatedInputs r) {
        return Reparameterization.rotated(new ModelLoader.Loaded(TinyModels.VIT, Path.of("test.safetensors"),
                List.of(), TinyModels.VIT_WEIGHTS, List.of(), null), r).model();
    }

    /** A plan calibrated on m by cfg whose QDQ export runs in ONNX Runtime within the quantized exports' bounds of vitq's fake quant. */
    private static QuantPlan qdqMatchesFakeQuant(Model m, CalibConfig cfg, String what) throws Exception {
        QuantPlan plan = Calibrator.calibrate(m, TinyModels.randomImages(8, 32, 5), null, cfg, "test", null).plan();
        float[] fq = m.forward(OnnxExporterTest.IMAGES, new FakeQuantExecutor(plan, m)).data();
        OnnxExporterTest.Diff d = OnnxExporterTest.diff(fq, OnnxExporterTest.ort(OnnxExporter.export(m, plan, 17),
                OnnxExporterTest.IMAGES, true), 10);
        System.out.println("tiny ViT, " + what + ", QDQ ONNX vs vitq fake quant: " + d);
        assertTrue(d.imagesWithin() >= 48 && d.agree() >= 62 && d.max() <= 0.1, d.toString());
        return plan;
    }

    /**
     * A width that is not a power of two (48: three Hadamard blocks of 16) exports the rotation in
     * block form (signs, blocks, one [16, 16] product); ONNX Runtime's float logits match vitq's.
     */
    @Test
    void blockFormRotationMatchesTheModel() throws Exception {
        ViTConfig c = new ViTConfig(32, 8, 3, 48, 2, 2, 96, 10, 1, 1e-6f);
        io.vitq.model.Weights w = TinyModels.vitWeights(c, 13);
        VisionTransformer vit = VisionTransformer.load("vit_w48_test", c, Preprocessing.timm(32, true), w);
        Model m = Reparameterization.rotated(new ModelLoader.Loaded(vit, Path.of("test.safetensors"), List.of(), w, List.of(), null)).model();
        Onnx.ModelProto proto = OnnxExporter.export(m, null, 17);
        long reshapes = proto.getGraph().getNodeList().stream().filter(n -> n.getName().contains("input_rotation/blocks")).count();
        assertEquals(4, reshapes, "two rotated inputs per block, two blocks");
        OnnxExporterTest.Diff f = OnnxExporterTest.diff(vit.forward(OnnxExporterTest.IMAGES).data(),
                OnnxExporterTest.ort(proto, OnnxExporterTest.IMAGES, true), 10);
        System.out.println("width-48 ViT with rotated inputs (block form), float ONNX vs the checkpoint's float logits: " + f);
        assertTrue(f.max() <= 1e-4, f.toString());
    }
}
