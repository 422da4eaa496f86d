package io.vitq.io;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.calib.NormFolds;
import io.vitq.data.Preprocessing;
import io.vitq.model.LayerNorm;
import io.vitq.model.Model;
import io.vitq.model.NormLinear;
import io.vitq.model.SwinCheckpoint;
import io.vitq.model.SwinTransformer;
import io.vitq.model.VisionTransformer;
import io.vitq.model.Weights;
import io.vitq.quant.AsymmetricOperand;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.NormFold;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RepQ-ViT's LayerNorm reparameterisation ({@link NormFold}, {@link Reparameterization}): the folded
 * float model computes the same function as the original, the folded per-tensor codes are the
 * per-channel codes of the original activations, and a plan with folds goes through every
 * execution mode and file form.
 */
class ReparameterizationTest {
    static final Tensor IMAGES = TinyModels.randomImages(6, 32, 41);

    @TempDir
    Path tmp;

    /** The tiny ViT with LayerNorm affines that differ per channel (a fold then moves something). */
    static ModelLoader.Loaded vit() {
        Weights w = TinyModels.vitWeights(TinyModels.VIT_CFG, 11);
        randomNorms(w, 7);
        return loaded(VisionTransformer.load("vit_tiny_test", TinyModels.VIT_CFG, Preprocessing.timm(32, true), w), w);
    }

    static ModelLoader.Loaded swin() { return swin(false); }

    /** @param legacy timm 0.4.12's tensor names (downsample one stage earlier, the head as {@code head.weight}) */
    static ModelLoader.Loaded swin(boolean legacy) {
        Weights w = SwinCheckpoint.random(TinyModels.SWIN_CFG, 5, legacy);
        randomNorms(w, 9);
        return loaded(SwinTransformer.load("swin_tiny_test", TinyModels.SWIN_CFG, Preprocessing.timm(32, false), w), w);
    }

    static ModelLoader.Loaded loaded(Model m, Weights w) {
        return new ModelLoader.Loaded(m, Path.of("test.safetensors"), List.of(), w, List.of(), null);
    }

    static void randomNorms(Weights w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (String name : w.names()) {
            if (!name.contains("norm")) continue;
            float[] d = w.asMap().get(name).data();
            boolean gamma = name.endsWith(".weight");
            for (int i = 0; i < d.length; i++) d[i] = (float) (gamma ? r.nextDouble(0.2, 3) : r.nextDouble(-1, 1));
        }
    }

    /** Random folds: channel scales over a decade, zero points inside and outside the code range. */
    static List<NormFold> randomFolds(Model m, int bits, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<NormFold> folds = new ArrayList<>();
        for (NormLinear p : Reparameterization.foldable(m)) {
            int c = p.norm().dim();
            float[] s = new float[c];
            int[] z = new int[c];
            for (int i = 0; i < c; i++) {
                s[i] = (float) Math.exp(r.nextDouble(Math.log(0.005), Math.log(0.05)));
                z[i] = r.nextInt(-20, (1 << bits) + 20);
            }
            folds.add(new NormFold(p.norm().id(), p.linear().id(), bits, s, z));
        }
        return folds;
    }

    @Test
    void foldedFloatModelComputesTheSameFunction() {
        for (ModelLoader.Loaded l : List.of(vit(), swin(), swin(true))) {
            Model m = l.model();
            List<NormFold> folds = randomFolds(m, 8, 3);
            assertTrue(folds.size() >= 4, m.name() + ": folds " + folds.size());
            Model f = Reparameterization.apply(l, folds).model();
            float[] a = m.forward(IMAGES).data(), b = f.forward(IMAGES).data();
            double max = 0, scale = 0;
            for (int i = 0; i < a.length; i++) {
                max = Math.max(max, Math.abs(a[i] - b[i]));
                scale = Math.max(scale, Math.abs(a[i]));
            }
            System.out.printf("%s: folded float logits within %.2e of the original (largest logit %.2f)%n", m.name(), max, scale);
            assertTrue(max <= 1e-5 * Math.max(1, scale), m.name() + ": max difference " + max);
            // the folded LayerNorm really differs (a fold that changed nothing would pass the above)
            LayerNorm n0 = m.normLinears().get(0).norm(), n1 = f.normLinears().get(0).norm();
            assertTrue(Math.abs(n0.weight()[0] - n1.weight()[0]) > 1e-3);
        }
    }

    /** Swin's patch-merging reduction has no bias: it is not foldable, the blocks' pairs are. */
    @Test
    void onlyLinearsWithABiasAreFoldable() {
        Model s = swin().model();
        assertTrue(s.normLinears().stream().anyMatch(p -> p.linear().id().endsWith("downsample.reduction")));
        assertTrue(Reparameterization.foldable(s).stream().noneMatch(p -> p.linear().id().endsWith("reduction")));
        assertEquals(2 * 4, Reparameterization.foldable(s).size());
        assertEquals(2 * 2, Reparameterization.foldable(vit().model()).size());
    }

    /** Replaced Linear weights land under the checkpoint's own names, old Swin layout included. */
    @Test
    void replacedWeightsReachTheirOps() {
        for (ModelLoader.Loaded l : List.of(vit(), swin(), swin(true))) {
            java.util.Map<String, float[]> w = new java.util.HashMap<>();
            for (io.vitq.model.Linear lin : l.model().linears()) {
                float[] v = new float[lin.out() * lin.in()];
                java.util.Arrays.fill(v, lin.id().length() * 0.01f);
                w.put(lin.id(), v);
            }
            ModelLoader.Loaded r = Reparameterization.withLinearWeights(l, w, "test");
            for (io.vitq.model.Linear lin : r.model().linears())
                assertArrayEquals(w.get(lin.id()), lin.weight(), l.model().name() + ": " + lin.id());
        }
    }

    /**
     * {@code X'_c / s~ + z~ = X_c / s_c + z_c}: the folded per-tensor codes equal the per-channel
     * codes of the original LayerNorm output, except where float rounding of the folded affine moves
     * a value across a rounding boundary (then by one code).
     */
    @Test
    void foldedCodesArePerChannelCodes() {
        ModelLoader.Loaded l = vit();
        NormLinear pair = l.model().normLinears().get(0);
        LayerNorm before = pair.norm();
        int rows = 500, c = before.dim();
        float[] x = new float[rows * c];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 2 + (i % c) * 0.05);
        float[] y = new float[x.length], yf = new float[x.length];
        before.apply(x, y, rows);
        NormFold fold = NormFolds.fold(pair, y, rows, 4); // the calibration's own ranges
        LayerNorm after = Reparameterization.apply(l, List.of(fold)).model().normLinears().get(0).norm();
        after.apply(x, yf, rows);
        float[] s = fold.scales();
        int[] z = fold.zeroPoints();
        AsymmetricOperand q = fold.input();
        int levels = 15, differ = 0, clamped = 0;
        for (int i = 0; i < x.length; i++) {
            int ch = i % c;
            long perChannel = Math.min(Math.max(Math.round(Math.rint(y[i] / s[ch])) + z[ch], 0), levels);
            long folded = Math.min(Math.max(Math.round(Math.rint(yf[i] / q.scale())) + q.zeroPoint(), 0), levels);
            if (perChannel != folded) {
                differ++;
                assertEquals(1, Math.abs(perChannel - folded), "value " + i);
            }
            if (perChannel == 0 || perChannel == levels) clamped++;
        }
        System.out.printf("folded codes: %d of %d differ from the per-channel codes by one (%d clamped)%n", differ, x.length, clamped);
        assertTrue(clamped < x.length / 2, "the test's values mostly fall inside the range");
        assertTrue(differ <= x.length / 1000, differ + " codes differ");
    }

    /** PTQ4ViT with calibrated folds, through fake quant, integers, the plan file and the quantized file. */
    @Test
    void calibratedFoldsThroughEveryForm() throws Exception {
        ModelLoader.Loaded l = vit();
        Model m = l.model();
        CalibConfig cfg = CalibConfig.ptq4vit(4, 4).withSearch(8, 2).withPerChannelWeights(true).withReparamNorms(true);
        Tensor calib = TinyModels.randomImages(8, 32, 5);
        List<NormFold> folds = NormFolds.calibrate(m, calib, cfg, Reparameterization.foldable(m));
        ModelLoader.Loaded folded = Reparameterization.apply(l, folds);
        assertSame(folded, Reparameterization.apply(folded, folds), "applying the same folds again changes nothing");
        assertThrows(IllegalArgumentException.class, () -> Reparameterization.apply(folded, folds.subList(0, 1)));
        QuantPlan plan = Calibrator.calibrateFolded(folded.model(), calib, null, cfg, "test", null, folds).plan();
        assertEquals(folds, plan.folds());
        for (NormFold f : folds) {
            LinearQuant lq = plan.linear(f.linear());
            assertEquals(f.input(), lq.input(), f.linear() + ": the fold's input quantizer, not a searched one");
        }
        assertThrows(IllegalArgumentException.class, () -> Calibrator.calibrate(m, calib, null, cfg, "test", null),
                "a reparameterising config needs the folded model");

        Model fm = folded.model();
        float[] fq = fm.forward(IMAGES, new FakeQuantExecutor(plan, fm)).data();
        float[] cp = fm.forward(IMAGES, new FakeQuantExecutor(plan, fm, FakeQuantExecutor.Products.CODES)).data();
        float[] in = fm.forward(IMAGES, new IntegerExecutor(plan, fm)).data();
        assertArrayEquals(cp, in, "integer logits equal the code-product fake quant's bit for bit");

        Path json = tmp.resolve("plan.json");
        QuantPlanJson.write(plan, json);
        QuantPlan back = QuantPlanJson.read(json);
        assertEquals(plan, back, "folds survive the plan file");
        ModelLoader.Loaded again = Reparameterization.apply(l, back);
        assertNotSame(l, again);
        assertArrayEquals(fq, again.model().forward(IMAGES, new FakeQuantExecutor(back, again.model())).data(),
                "the plan file applied to the original checkpoint");

        Path file = tmp.resolve("q.safetensors");
        assertThrows(IllegalArgumentException.class, () -> QuantizedModelFile.write(file, fm.spec(), folded.weights(), plan),
                "a plan with folds is not written beside folded tensors");
        QuantizedModelFile.write(file, fm.spec(), folded.weights(), Reparameterization.storedPlan(plan));
        ModelLoader.Loaded loaded = QuantizedModelFile.load(file);
        assertTrue(loaded.plan().folds().isEmpty());
        assertTrue(loaded.plan().info().options().get(Reparameterization.FOLDED).startsWith("4 LayerNorm -> Linear pairs"));
        assertArrayEquals(fq, loaded.model().forward(IMAGES, new FakeQuantExecutor(loaded.plan(), loaded.model())).data(),
                "the quantized file's fake-quant logits");
        assertThrows(IllegalArgumentException.class, () -> Reparameterization.apply(loaded, plan), "a quantized file is folded already");
    }

    /**
     * Swin with folds (window partition between the LayerNorm and qkv, the patch merging left
     * unfolded), calibrated by vitq's recipe with GPTQ: integers equal code products, the file
     * round trip keeps the logits, in timm's and timm 0.4.12's tensor names.
     */
    @Test
    void swinWithFoldsAndGptq() throws Exception {
        for (boolean legacy : new boolean[] {false, true}) {
            ModelLoader.Loaded l = swin(legacy);
            CalibConfig cfg = CalibConfig.vitq(6, 6).withSearch(6, 1).withGptq(true);
            Tensor calib = TinyModels.randomImages(6, 32, 8);
            List<NormFold> folds = NormFolds.calibrate(l.model(), calib, cfg, Reparameterization.foldable(l.model()));
            ModelLoader.Loaded folded = Reparameterization.apply(l, folds);
            Calibrator.Result r = Calibrator.calibrateFolded(folded.model(), calib, null, cfg, "test", null, folds);
            ModelLoader.Loaded run = Reparameterization.withLinearWeights(folded, r.roundedWeights(), "test");
            Model m = run.model();
            float[] cp = m.forward(IMAGES, new FakeQuantExecutor(r.plan(), m, FakeQuantExecutor.Products.CODES)).data();
            assertArrayEquals(cp, m.forward(IMAGES, new IntegerExecutor(r.plan(), m)).data(), "legacy " + legacy + ": integers = code products");
            Path file = tmp.resolve("swin" + legacy + ".safetensors");
            QuantizedModelFile.write(file, m.spec(), run.weights(), Reparameterization.storedPlan(r.plan()));
            ModelLoader.Loaded back = QuantizedModelFile.load(file);
            assertArrayEquals(m.forward(IMAGES, new FakeQuantExecutor(r.plan(), m)).data(),
                    back.model().forward(IMAGES, new FakeQuantExecutor(back.plan(), back.model())).data(), "legacy " + legacy + ": file");
        }
    }

    @Test
    void aPlanWhoseFoldedInputDisagreesIsRefused() {
        ModelLoader.Loaded l = vit();
        NormFold f = randomFolds(l.model(), 8, 2).get(0);
        QuantPlan plain = Calibrator.calibrate(l.model(), TinyModels.randomImages(4, 32, 5), null,
                CalibConfig.basePtq(8, 8).withSearch(4, 1), "test", null).plan();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QuantPlan(plain.info(), plain.ops(), List.of(f)));
        assertTrue(e.getMessage().contains("input quantizer must be the fold's"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new QuantPlan(plain.info(),
                plain.with(f.linear(), new LinearQuant(plain.linear(f.linear()).weight(), f.input())).ops(), List.of(f, f)));
    }
}
