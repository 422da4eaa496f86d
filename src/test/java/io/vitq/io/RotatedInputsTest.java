package io.vitq.io;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.model.Backward;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.RotatedInputs;
import io.vitq.model.ViTConfig;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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
 * A ViT whose qkv and fc1 (NORMED), or every block Linear (ALL), read rotated inputs
 * ({@link Reparameterization#rotated}): the same float function and gradients as the checkpoint, and
 * a plan calibrated on it goes through integer execution, the plan file (applied to the unrotated
 * checkpoint) and the quantized model file.
 */
class RotatedInputsTest {
    static final Tensor IMAGES = ReparameterizationTest.IMAGES;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = RotatedInputs.class, names = {"NORMED", "ALL"})
    void rotatedFloatModelComputesTheSameFunction(RotatedInputs rotation) {
        ModelLoader.Loaded l = ReparameterizationTest.vit();
        ModelLoader.Loaded r = Reparameterization.rotated(l, rotation);
        Model m = l.model(), rm = r.model();
        assertEquals(rotation, ((ViTConfig) rm.spec().architecture()).rotation());
        assertTrue(Reparameterization.rotatesInputs(rm) && !Reparameterization.rotatesInputs(m));
        assertSame(r, Reparameterization.rotated(r, rotation), "rotating a rotated model changes nothing");
        RotatedInputs other = rotation == RotatedInputs.ALL ? RotatedInputs.NORMED : RotatedInputs.ALL;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Reparameterization.rotated(r, other));
        assertTrue(e.getMessage().contains("rotates its " + rotation.linears() + " inputs"), e.getMessage());
        assertTrue(rm.normLinears().isEmpty(), "nothing to fold across a rotation");
        assertTrue(String.join("\n", rm.describe()).contains(rotation.linears() + " inputs rotated"));
        float[] a = m.forward(IMAGES).data(), b = rm.forward(IMAGES).data();
        double d = maxDiff(a, b), scale = maxAbs(a);
        System.out.printf("rotated float logits within %.2e of the original (largest logit %.2f)%n", d, scale);
        assertTrue(d <= 1e-5 * Math.max(1, scale), "max difference " + d);
        // the weights really changed where they should, and only there
        List<Linear> before = m.linears(), after = rm.linears();
        for (int i = 0; i < before.size(); i++) {
            String id = before.get(i).id();
            assertEquals(id, after.get(i).id());
            boolean rotated = id.endsWith(".attn.qkv") || id.endsWith(".mlp.fc1")
                    || rotation.proj() && id.endsWith(".attn.proj") || rotation.fc2() && id.endsWith(".mlp.fc2");
            assertEquals(rotated, maxDiff(before.get(i).weight(), after.get(i).weight()) > 1e-3, id);
        }
    }

    /** Every Linear's and matmul's output gradient, the Hessian metric's weights, is the checkpoint's (the rotation's backward is R^T). */
    @ParameterizedTest
    @EnumSource(value = RotatedInputs.class, names = {"NORMED", "ALL"})
    void gradientsAreTheCheckpointsGradients(RotatedInputs rotation) {
        ModelLoader.Loaded l = ReparameterizationTest.vit();
        Map<String, float[]> g0 = outputGradients(l.model()), g1 = outputGradients(Reparameterization.rotated(l, rotation).model());
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

    @ParameterizedTest
    @EnumSource(value = RotatedInputs.class, names = {"NORMED", "ALL"})
    void calibratedRotationThroughEveryForm(RotatedInputs rotation) throws Exception {
        ModelLoader.Loaded l = ReparameterizationTest.vit();
        CalibConfig cfg = CalibConfig.ptq4vit(4, 4).withSearch(8, 2).withPerChannelWeights(true).withRotation(rotation);
        Tensor calib = io.vitq.testutil.TinyModels.randomImages(8, 32, 5);
        assertThrows(IllegalArgumentException.class, () -> Calibrator.calibrate(l.model(), calib, null, cfg, "test", null),
                "a rotating config needs the rotated model");
        ModelLoader.Loaded r = Reparameterization.rotated(l, rotation);
        assertThrows(IllegalArgumentException.class, () -> Calibrator.calibrate(r.model(), calib, null,
                cfg.withRotateInputs(false), "test", null), "a rotated model needs a rotating config");
        RotatedInputs other = rotation == RotatedInputs.ALL ? RotatedInputs.NORMED : RotatedInputs.ALL;
        assertThrows(IllegalArgumentException.class, () -> Calibrator.calibrate(r.model(), calib, null,
                cfg.withRotation(other), "test", null), "the config's rotation must be the model's");
        QuantPlan plan = Calibrator.calibrate(r.model(), calib, null, cfg, "test", null).plan();
        assertEquals(rotation, RotatedInputs.ofPlanOption(plan.info().options().get(PlanInfo.INPUT_ROTATION)),
                "the plan says it: " + plan.info().options());
        // PTQ4ViT's twin GELU quantizer reads fc2's input unless it is rotated: then it is no GELU output, and uniform
        String fc2Input = plan.linear("blocks.0.mlp.fc2").input().quantizerName();
        assertEquals(rotation.fc2() ? "uniform" : "twin-gelu", fc2Input);
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
        QuantPlan otherPlan = plan.withInfo(plan.info().withOption(PlanInfo.INPUT_ROTATION, other.planOption()));
        e = assertThrows(IllegalArgumentException.class, () -> Reparameterization.apply(r, otherPlan));
        assertTrue(e.getMessage().contains("with its " + other.linears() + " inputs rotated"), e.getMessage());

        Path file = tmp.resolve("q.safetensors");
        QuantizedModelFile.write(file, rm.spec(), r.weights(), plan);
        // a rotated model is version 3, or 4 when its codes are packed (these are 4-bit), and 5 when every block input is
        // rotated: readers of earlier versions refuse each
        int version = rotation.proj() ? QuantizedModelFile.ROTATED_ALL_VERSION : QuantizedModelFile.PACKED_VERSION;
        assertEquals(Integer.toString(version), io.vitq.io.SafeTensors.read(file).metadata().get(QuantizedModelFile.META_VERSION),
                "a 4-bit model with " + rotation.linears() + " rotated");
        ModelLoader.Loaded loaded = QuantizedModelFile.load(file);
        assertTrue(Reparameterization.rotatesInputs(loaded.model()));
        assertArrayEquals(fq, loaded.model().forward(IMAGES, new FakeQuantExecutor(loaded.plan(), loaded.model())).data(),
                "the quantized file's fake-quant logits");

        // the version says how the model rotates: an old reader refuses version 3 and 5, and the two never disagree
        String earlier = Integer.toString(rotation.proj() ? QuantizedModelFile.PACKED_VERSION : QuantizedModelFile.VERSION);
        Path wrong = QuantizedModelFileTest.rewrite(file, tmp.resolve("earlier.safetensors"), t -> {},
                m -> m.put(QuantizedModelFile.META_VERSION, earlier));
        CheckpointException ce = assertThrows(CheckpointException.class, () -> QuantizedModelFile.load(wrong));
        assertTrue(ce.getMessage().contains(rotation.proj() ? "every block input rotated" : "rotated inputs"), ce.getMessage());
        if (rotation.proj()) {
            // the spec's value is one vitq knows, and a version 5 file says every block input is rotated
            String value = "\"rotated_inputs\":\"" + rotation.name().toLowerCase(java.util.Locale.ROOT) + "\"";
            Path odd = QuantizedModelFileTest.rewrite(file, tmp.resolve("odd.safetensors"), t -> {}, m -> m.put(QuantizedModelFile.META_SPEC,
                    m.get(QuantizedModelFile.META_SPEC).replace(value, "\"rotated_inputs\":\"some\"")));
            ce = assertThrows(CheckpointException.class, () -> QuantizedModelFile.load(odd));
            assertTrue(ce.getMessage().contains("'rotated_inputs' must be true, false or \"all\", got \"some\""), ce.getMessage());
            Path normed = QuantizedModelFileTest.rewrite(file, tmp.resolve("normed.safetensors"), t -> {}, m -> m.put(QuantizedModelFile.META_SPEC,
                    m.get(QuantizedModelFile.META_SPEC).replace(value, "\"rotated_inputs\":true")));
            ce = assertThrows(CheckpointException.class, () -> QuantizedModelFile.load(normed));
            assertTrue(ce.getMessage().contains("version 5 without every block input rotated"), ce.getMessage());
        }
    }

    /** A plan option that names no rotation vitq knows is refused, naming it; plans before ALL read as NORMED. */
    @Test
    void planOptionsNameTheRotation() {
        for (RotatedInputs r : List.of(RotatedInputs.NORMED, RotatedInputs.ALL)) assertEquals(r, RotatedInputs.ofPlanOption(r.planOption()));
        assertEquals(RotatedInputs.NONE, RotatedInputs.ofPlanOption(null));
        assertEquals(RotatedInputs.NORMED, RotatedInputs.ofPlanOption("qkv and fc1 inputs through a randomized block Hadamard "
                + "(docs/LOWBIT.md 2.1); the model's weights there are W R^T"), "the option as plans before 2026-12-06 wrote it");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RotatedInputs.ofPlanOption("qkv only"));
        assertTrue(e.getMessage().contains("'qkv only'"), e.getMessage());
    }

    @Test
    void onlyViTsRotate() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Reparameterization.rotated(ReparameterizationTest.swin()));
        assertTrue(e.getMessage().contains("ViT and DeiT"), e.getMessage());
        // vitq's recipe on a Swin folds instead (its recipe before the rotation); other methods are refused
        CalibConfig vitq = CalibConfig.vitq(4, 4);
        assertTrue(vitq.rotateInputs() && !vitq.reparamNorms());
        assertFalse(CalibConfig.vitq(4, 8).forArchitecture(ReparameterizationTest.swin().model().spec().architecture()).rotateInputs());
        CalibConfig swin = vitq.forArchitecture(ReparameterizationTest.swin().model().spec().architecture());
        assertFalse(swin.rotateInputs());
        assertTrue(swin.reparamNorms());
        assertThrows(IllegalArgumentException.class, () -> CalibConfig.ptq4vit(4, 4).withRotateInputs(true)
                .forArchitecture(ReparameterizationTest.swin().model().spec().architecture()));
    }
}
