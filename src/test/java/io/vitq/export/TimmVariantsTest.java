package io.vitq.export;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.export.proto.Onnx;
import io.vitq.io.ModelLoader;
import io.vitq.io.QuantizedModelFile;
import io.vitq.model.Model;
import io.vitq.model.ViTConfig;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The timm ViT variants (DeiT-3's LayerScale and patch-only position embedding, the GAP ViTs,
 * average pooling with fc_norm), loaded from the timm-made fixture folders (whose float logits
 * ModelFolderTest holds to timm's), through every execution mode: ONNX float export, PTQ4ViT
 * calibration, integer execution equal to the code-product fake quant bit for bit, the QDQ export
 * against fake quant, and the quantized file's round trip.
 */
class TimmVariantsTest {
    static final Tensor IMAGES = TinyModels.randomImages(64, 32, 21);

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"timm_deit3", "timm_vit_gap", "timm_vit_avg_fc_norm"})
    void everyExecutionMode(String folder) throws Exception {
        ModelLoader.Loaded loaded = ModelLoader.load(TestData.resource("hf/" + folder).toString(), null);
        Model m = loaded.model();
        int classes = m.numClasses();
        float[] flt = m.forward(IMAGES).data();

        OnnxExporterTest.Diff f = OnnxExporterTest.diff(flt, OnnxExporterTest.ort(OnnxExporter.export(m, null, 17), IMAGES, true), classes);
        System.out.println(folder + " float ONNX vs vitq: " + f);
        assertTrue(f.max() <= 1e-4, f.toString());

        QuantPlan plan = Calibrator.calibrate(m, TinyModels.randomImages(8, 32, 5), null,
                CalibConfig.ptq4vit(8, 8).withSearch(8, 2), "test", null).plan();
        float[] fq = m.forward(IMAGES, new FakeQuantExecutor(plan, m)).data();
        float[] cp = m.forward(IMAGES, new FakeQuantExecutor(plan, m, FakeQuantExecutor.Products.CODES)).data();
        float[] in = m.forward(IMAGES, new IntegerExecutor(plan, m)).data();
        assertArrayEquals(cp, in, folder + ": integer logits equal the code-product fake quant's bit for bit");
        double moved = 0;
        for (int i = 0; i < flt.length; i++) moved = Math.max(moved, Math.abs(fq[i] - flt[i]));
        assertTrue(moved > 1e-3, folder + ": quantization moves the logits (" + moved + ")");

        Onnx.ModelProto q = OnnxExporter.export(m, plan, 17);
        OnnxExporterTest.Diff d = OnnxExporterTest.diff(fq, OnnxExporterTest.ort(q, IMAGES, false), classes);
        System.out.println(folder + " PTQ4ViT W8A8 QDQ ONNX vs vitq fake quant: " + d);
        assertTrue(d.imagesWithin() >= 48 && d.agree() >= 62 && d.max() <= 0.1, d.toString());

        Path file = tmp.resolve(folder + ".q.safetensors");
        QuantizedModelFile.write(file, m.spec(), loaded.weights(), plan);
        ModelLoader.Loaded back = QuantizedModelFile.load(file);
        assertEquals(m.spec(), back.model().spec(), "the architecture options survive the file");
        assertTrue(((ViTConfig) back.model().spec().architecture()).equals(m.spec().architecture()));
        assertArrayEquals(fq, back.model().forward(IMAGES, new FakeQuantExecutor(back.plan(), back.model())).data(),
                folder + ": the saved model's fake-quant logits");
    }
}
