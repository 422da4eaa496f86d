package io.vitq.export;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.calib.NormFolds;
import io.vitq.io.ModelLoader;
import io.vitq.io.Reparameterization;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.NormFold;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A plan with LayerNorm folds (RepQ-ViT) exported to ONNX: the folded model's graph with the folded
 * inputs as uint8 QDQ pairs with zero points, run in ONNX Runtime, against vitq's fake quant, with
 * the bounds the other quantized exports meet (OnnxExporterTest).
 */
class FoldedPlanOnnxTest {
    @Test
    void foldedPlanRunsInOnnxRuntime() throws Exception {
        ModelLoader.Loaded l = new ModelLoader.Loaded(TinyModels.VIT, Path.of("test.safetensors"), List.of(),
                TinyModels.VIT_WEIGHTS, List.of(), null);
        Tensor calib = TinyModels.randomImages(8, 32, 5);
        // the codebook recipe (integer form): vitq at 5 bits with the GELU codebook instead of AdaLog's quantizers
        CalibConfig cfg = CalibConfig.vitq(5, 5).withSearch(8, 2).withAdaLog(false).withGeluCodebook(CalibConfig.GeluLevels.FITTED)
                .withRotateInputs(false).withReparamNorms(true); // the folds, not the rotation vitq takes at 5 bits
        List<NormFold> folds = NormFolds.calibrate(l.model(), calib, cfg, Reparameterization.foldable(l.model()));
        Model m = Reparameterization.apply(l, folds).model();
        QuantPlan plan = Calibrator.calibrateFolded(m, calib, null, cfg, "test", null, folds).plan();
        float[] fq = m.forward(OnnxExporterTest.IMAGES, new FakeQuantExecutor(plan, m)).data();
        OnnxExporterTest.Diff d = OnnxExporterTest.diff(fq, OnnxExporterTest.ort(OnnxExporter.export(m, plan, 17),
                OnnxExporterTest.IMAGES, true), 10);
        System.out.println("tiny ViT, vitq W5A5 with folds and GELU codebooks, QDQ ONNX vs vitq fake quant: " + d);
        assertTrue(d.imagesWithin() >= 48 && d.agree() >= 62 && d.max() <= 0.1, d.toString());
    }
}
