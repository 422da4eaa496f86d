package io.vitq.io;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.model.Backward;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.ViTConfig;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.vitq.testutil.Diffs.maxAbs;
import static io.vitq.testutil.Diffs.maxDiff;

/**
 * A ViT whose qkv and fc1 read rotated inputs ({@link Reparameterization#rotated}): the same float
 * function and gradients as the checkpoint, and a plan calibrated on it goes through integer
 * execution, the plan file (applied to the unrotated checkpoint) and the quantized model file.
 */
class RotatedInputsTest {
    static final Tensor IMAGES = ReparameterizationTest.IMAGES;

    @TempDir
    Path tmp;

    @Test
    void rotatedFloatModelComputesTheSameFunction() {
        ModelLoader.Loaded l = ReparameterizationTest.vit();
        ModelLoader.Loaded r = Reparameterization.rotated(l);
        Model m = l.model(), rm = r.model();
        assertTrue(((ViTConfig) rm.spec().architecture()).rotatedInputs());
        assertTrue(Reparameterization.rotatesInputs(rm) && !Reparameterization.rotatesInputs(m));
        assertSame(r, Reparameterization.rotated(r), "rotating a rotated model changes nothing");
        assertTrue(rm.normLinears().isEmpty(), "nothing to fold across a rotation");
        assertTrue(String.join("\n", rm.describe()).contains("qkv and fc1 inputs rotated"));
        float[] a = m.forward(IMAGES).data(), b = rm.forward(IMAGES).data();
        double d = maxDiff(a, b), scale = maxAbs(a);
        System.out.printf("rotated float logits within %.2e of the original (largest logit %.2f)%n", d, scale);
        assertTrue(d <= 1e-5 * Math.max(1, scale), "max difference " + d);
        // the weights really changed where they should, and only there
        List<Linear> before = m.linears(), after = rm.linears();
        for (int i = 0; i < before.size(); i++) {
            String id = before.get(i).id();
            assertEquals(id, after.get(i).id());
            boolean rotated = id.endsWith(".attn.qkv") || id.endsWith(".mlp.fc1");
            assertEquals(rotated, maxDiff(before.get(i).weight(), after.get(i).weight()) > 1e-3, id);
        }
    }

    /** Every Linear's and matmul's output gradient, the Hessian metric's weights, is the checkpoint's (the rotation's backward is R^T). */
    @Test
    void gradientsAreTheCheckpointsGradients() {
        ModelLoader.Loaded l = ReparameterizationTest.vit();
        Map<String, float[]> g0 = outputGradients(l.model()), g1 = outputGradients(Reparameterization.rotated(l).model());
        assertEquals(g0.keySet(), g1.keySet());
        for (String id : g0.keySet()) {
            double d = maxDiff(g0.get(id), g1.get(id)), s = maxAbs(g0.get(id));
            assertTrue(d <= 1e-4 * s, id + ": gradient differs by " + d + " (largest " + s + ")");
        }
    }

    static Map<String, float[]> outputGradients(Model m) {
        Map<String, Tensor> t = new HashMap<>();
        Backward.run(m, IMAGES, null, t);
        Map<String, float[]> g = new HashMap<>();
        t.forEach((id, v) -> g.put(id, v.data()));
        return g;
    }

    @Test
    void calibratedRotationThroughEveryForm() throws Exception {
        ModelLoader.Loaded l = ReparameterizationTest.vit();
        CalibConfig cfg = CalibConfig.ptq4vit(4, 4).withSearch(8, 2).withPerChannelWeights(true).withRotateInputs(true);
        Tensor calib = io.vitq.testutil.TinyModels.randomImages(8, 32, 5);
        assertThrows(IllegalArgumentException.class, () -> Calibrator.calibrate(l.model(), calib, null, cfg, "test", null),
                "a rotating config needs the rotated model");
        ModelLoader.Loaded r = Reparameterization.rotated(l);
        assertThrows(IllegalArgumentException.class, () -> Calibrator.calibrate(r.model(), calib, null,
                cfg.withRotateInputs(false), "test", null), "a rotated model needs a rotating config");
        QuantPlan plan = Calibrator.calibrate(r.model(), calib, null, cfg, "test", null).plan();
        assertTrue(plan.info().options().containsKey(PlanInfo.INPUT_ROTATION), "the plan says it: " + plan.info().options());
        Model rm = r.model();
        float[] fq = rm.forward(IMAGES, new FakeQuantExecutor(plan, rm)).data();
        float[] cp = rm.forward(IMAGES, new FakeQuantExecutor(plan, rm, FakeQuantExecutor.Products.CODES)).data();
        assertArrayEquals(cp, rm.forward(IMAGES, new IntegerExecutor(plan, rm)).data(), "integers equal code products bit for bit");

        Path json = tmp.resolve("plan.json");
        QuantPlanJson.write(plan, json);
        QuantPlan back = QuantPlanJson.read(json);
        ModelLoader.Loaded again = Reparameterization.apply(l, back);
        assertTrue(Reparameterization.rotatesInputs(again.model()), "the plan file rotates the checkpoint it is applied to");
        assertArrayEquals(fq, again.model().forward(IMAGES, new FakeQuantExecutor(back, again.model())).data(),
                "the plan file applied to the original checkpoint");
        assertSame(r, Reparameterization.apply(r, back), "the rotated model is rotated already");
        QuantPlan unrotated = new QuantPlan(new PlanInfo(plan.info().model(), plan.info().method(), 4, 4), plan.ops(), List.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Reparameterization.apply(r, unrotated));
        assertTrue(e.getMessage().contains("calibrated without the rotation"), e.getMessage());

        Path file = tmp.resolve("q.safetensors");
        QuantizedModelFile.write(file, rm.spec(), r.weights(), plan);
        // a rotated model is version 3, or 4 when its codes are packed (these are 4-bit): readers of earlier versions refuse both
        assertEquals(Integer.toString(QuantizedModelFile.PACKED_VERSION),
                io.vitq.io.SafeTensors.read(file).metadata().get(QuantizedModelFile.META_VERSION), "a rotated 4-bit model is version 4");
        ModelLoader.Loaded loaded = QuantizedModelFile.load(file);
        assertTrue(Reparameterization.rotatesInputs(loaded.model()));
        assertArrayEquals(fq, loaded.model().forward(IMAGES, new FakeQuantExecutor(loaded.plan(), loaded.model())).data(),
                "the quantized file's fake-quant logits");

        // the version says whether the model rotates: an old reader refuses version 3, and the two never disagree
        String v2 = Integer.toString(QuantizedModelFile.VERSION);
        Path wrong = QuantizedModelFileTest.rewrite(file, tmp.resolve("v2.safetensors"), t -> {},
                m -> m.put(QuantizedModelFile.META_VERSION, v2));
        CheckpointException ce = assertThrows(CheckpointException.class, () -> QuantizedModelFile.load(wrong));
        assertTrue(ce.getMessage().contains("rotated inputs"), ce.getMessage());
    }

    @Test
    void onlyViTsRotate() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Reparameterization.rotated(ReparameterizationTest.swin()));
        assertTrue(e.getMessage().contains("ViT and DeiT"), e.getMessage());
        // vitq's recipe on a Swin folds instead (its recipe before the rotation); other methods are refused
        CalibConfig vitq = CalibConfig.vitq(4, 4);
        assertTrue(vitq.rotateInputs() && !vitq.reparamNorms());
        CalibConfig swin = vitq.forArchitecture(ReparameterizationTest.swin().model().spec().architecture());
        assertFalse(swin.rotateInputs());
        assertTrue(swin.reparamNorms());
        assertThrows(IllegalArgumentException.class, () -> CalibConfig.ptq4vit(4, 4).withRotateInputs(true)
                .forArchitecture(ReparameterizationTest.swin().model().spec().architecture()));
    }
}
