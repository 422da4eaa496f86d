package io.vitq.export;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.io.ModelLoader;
import io.vitq.io.Reparameterization;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

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
        ModelLoader.Loaded l = Reparameterization.rotated(new ModelLoader.Loaded(TinyModels.VIT, Path.of("test.safetensors"),
                List.of(), TinyModels.VIT_WEIGHTS, List.of(), null));
        Tensor calib = TinyModels.randomImages(8, 32, 5);
        // vitq at 5 bits rotates; with the GELU codebook instead of AdaLog's quantizers (the recipe with an integer form)
        CalibConfig cfg = CalibConfig.vitq(5, 5).withSearch(8, 2).withAdaLog(false).withGeluCodebook(CalibConfig.GeluLevels.FITTED);
        Model m = l.model();
        QuantPlan plan = Calibrator.calibrate(m, calib, null, cfg, "test", null).plan();
        float[] fq = m.forward(OnnxExporterTest.IMAGES, new FakeQuantExecutor(plan, m)).data();
        OnnxExporterTest.Diff d = OnnxExporterTest.diff(fq, OnnxExporterTest.ort(OnnxExporter.export(m, plan, 17),
                OnnxExporterTest.IMAGES, true), 10);
        System.out.println("tiny ViT, vitq W5A5 with rotated inputs and GELU codebooks, QDQ ONNX vs vitq fake quant: " + d);
        assertTrue(d.imagesWithin() >= 48 && d.agree() >= 62 && d.max() <= 0.1, d.toString());

        float[] fp = TinyModels.VIT.forward(OnnxExporterTest.IMAGES).data();
        OnnxExporterTest.Diff f = OnnxExporterTest.diff(fp, OnnxExporterTest.ort(OnnxExporter.export(m, null, 17),
                OnnxExporterTest.IMAGES, true), 10);
        System.out.println("tiny ViT with rotated inputs, float ONNX vs the checkpoint's float logits: " + f);
        assertTrue(f.max() <= 1e-4, f.toString());
    }
}
