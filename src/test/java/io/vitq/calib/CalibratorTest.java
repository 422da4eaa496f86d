package io.vitq.calib;

import io.vitq.model.FloatExecutor;
import io.vitq.model.Model;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.PlanModelCheck;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.vitq.testutil.TinyModels.IMAGES;
import static io.vitq.testutil.TinyModels.SWIN;
import static io.vitq.testutil.TinyModels.VIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole calibration on tiny random ViT and Swin models: which ops, which quantizers, in which order. */
class CalibratorTest {

    @Test
    void ptq4vitPlanCoversEveryOpOfViTAndSwinInForwardOrder() {
        for (Model m : List.of(VIT, SWIN)) {
            QuantPlan p = Calibrator.calibrate(m, IMAGES, null, CalibConfig.ptq4vit(8, 8).withSearch(10, 2), "test", null).plan();
            assertEquals(Calibrator.forwardOrder(m), p.opIds(), m.name());
            PlanModelCheck.check(p, m);
            for (var e : p.ops().entrySet()) {
                String id = e.getKey();
                if (e.getValue() instanceof LinearQuant l) {
                    if (id.equals("patch_embed.proj")) {
                        assertNull(l.input(), "the image stays float");
                        assertEquals(io.vitq.quant.Granularity.PER_OUTPUT_CHANNEL, l.weight().granularity());
                    } else if (id.endsWith("mlp.fc2")) assertInstanceOf(TwinGeluOperand.class, l.input(), id);
                    else assertInstanceOf(UniformOperand.class, l.input(), id);
                    if (id.endsWith(".qkv")) assertEquals(3, l.weight().scaleCount(), id);
                } else {
                    MatmulQuant mq = (MatmulQuant) e.getValue();
                    if (id.endsWith("matmul2")) assertInstanceOf(TwinSoftmaxOperand.class, mq.a(), id);
                    else assertInstanceOf(UniformOperand.class, mq.a(), id);
                }
            }
            // 8-bit fake quant stays close to float on these inputs
            Tensor f = m.forward(IMAGES, FloatExecutor.INSTANCE), q = m.forward(IMAGES, new FakeQuantExecutor(p, m));
            double max = 0, diff = 0;
            for (int i = 0; i < f.size(); i++) {
                max = Math.max(max, Math.abs(f.data()[i]));
                diff = Math.max(diff, Math.abs(f.data()[i] - q.data()[i]));
            }
            assertTrue(diff < 0.1 * max, m.name() + ": 8-bit logits differ by " + diff + " (max |logit| " + max + ")");
        }
    }

    @Test
    void basePtqUsesSignedQuantizersEverywhere() {
        QuantPlan p = Calibrator.calibrate(VIT, IMAGES, null, CalibConfig.basePtq(6, 6).withSearch(10, 1), "test", null).plan();
        assertEquals("basePTQ", p.info().method());
        assertEquals("cosine", p.info().metric());
        p.ops().values().forEach(op -> op.operands().forEach(o -> {
            assertInstanceOf(UniformOperand.class, o);
            assertEquals(6, o.bits());
        }));
        assertEquals(io.vitq.quant.Granularity.PER_TENSOR, p.linear("patch_embed.proj").weight().granularity());
    }

    /**
     * --per-channel-weights: every Linear's weight gets one scale per output channel; the plan runs
     * in integers equal to the code-product fake quant bit for bit (row scales are the runtime's general case).
     */
    @Test
    void perChannelWeightsOnEveryLinear() {
        for (Model m : List.of(VIT, SWIN)) {
            QuantPlan p = Calibrator.calibrate(m, IMAGES, null, CalibConfig.ptq4vit(6, 6).withSearch(10, 2).withPerChannelWeights(true),
                    "test", null).plan();
            for (var l : m.linears()) {
                UniformOperand w = p.linear(l.id()).weight();
                assertEquals(io.vitq.quant.Granularity.PER_OUTPUT_CHANNEL, w.granularity(), l.id());
                assertEquals(l.out(), w.scaleCount(), l.id());
            }
            assertEquals("per-output-channel", p.info().options().get("linear_weights"));
            Tensor in = m.forward(IMAGES, new io.vitq.runtime.IntegerExecutor(p, m));
            Tensor cp = m.forward(IMAGES, new FakeQuantExecutor(p, m, FakeQuantExecutor.Products.CODES));
            org.junit.jupiter.api.Assertions.assertArrayEquals(cp.data(), in.data(), m.name());
        }
        assertThrows(IllegalArgumentException.class, () -> CalibConfig.vtptq(8, 8).withPerChannelWeights(true));
        // results files key cells by this string: unchanged for per-tensor settings (as written before the option existed)
        assertEquals("CalibConfig[method=ptq4vit, weightBits=8, activationBits=8, metric=HESSIAN, alpha=0.01, beta=1.2, "
                + "candidates=100, rounds=3, patchEmbedPerChannel=true, twinSoftmax=true, softmaxMode=CLEAN, softmaxSplits=20, "
                + "twinGelu=true, geluPowerOfTwo=false, geluMaxShift=15, trueLabels=false, opBits=[], vt=null, sequential=false]",
                CalibConfig.ptq4vit(8, 8).toString());
        assertTrue(CalibConfig.ptq4vit(8, 8).withPerChannelWeights(true).toString().endsWith(", sequential=false, perChannelWeights=true]"));
        assertThrows(IllegalArgumentException.class,
                () -> CalibConfig.ptq4vit(8, 8).withPerChannelWeights(true).withVt(CalibConfig.VtOptions.defaults()));
    }

    /**
     * Asymmetric weights: every Linear below 8 weight bits gets zero points, each the one of least
     * squared weight error at its row's searched step (restated here over all 2^k zero points);
     * an op given 8 weight bits stays symmetric; the plan runs in integers equal to the code
     * products bit for bit.
     */
    @Test
    void asymmetricWeightsTakeTheZeroPointOfLeastWeightError() {
        CalibConfig c = CalibConfig.ptq4vit(4, 6).withSearch(10, 1).withPerChannelWeights(true).withAsymmetricWeights(true)
                .withOpBits(List.of(new CalibConfig.OpBits("head", 8, 8)));
        QuantPlan p = Calibrator.calibrate(VIT, IMAGES, null, c, "test", null).plan();
        assertFalse(p.linear("head").weight().asymmetric(), "8-bit weights stay symmetric");
        int offCentre = 0;
        for (var l : VIT.linears()) {
            if (l.id().equals("head")) continue;
            UniformOperand w = p.linear(l.id()).weight();
            assertTrue(w.asymmetric(), l.id());
            for (int r = 0; r < l.out(); r++) {
                double s = w.scale(r);
                double[] err = new double[16];
                for (int z = 0; z < 16; z++)
                    for (int k = 0; k < l.in(); k++) {
                        double v = l.weight()[r * l.in() + k], d = v - Math.min(Math.max(Math.rint(v / s), -z), 15 - z) * s;
                        err[z] += d * d;
                    }
                int chosen = w.zeroPoint(r);
                if (chosen != 8) offCentre++;
                for (int z = 0; z < 16; z++)
                    assertTrue(err[chosen] <= err[z] * (1 + 1e-9), l.id() + " row " + r + ": zero point " + chosen + " error "
                            + err[chosen] + " > " + err[z] + " at " + z);
            }
        }
        assertTrue(offCentre > 20, "rows whose best grid is not the symmetric one: " + offCentre);
        Tensor in = VIT.forward(IMAGES, new io.vitq.runtime.IntegerExecutor(p, VIT));
        Tensor cp = VIT.forward(IMAGES, new FakeQuantExecutor(p, VIT, FakeQuantExecutor.Products.CODES));
        org.junit.jupiter.api.Assertions.assertArrayEquals(cp.data(), in.data());
        assertThrows(IllegalArgumentException.class, () -> CalibConfig.vtptq(6, 6).withAsymmetricWeights(true));
    }

    @Test
    void perOpBitOverrides() {
        CalibConfig c = CalibConfig.ptq4vit(4, 4).withSearch(6, 1).withOpBits(List.of(
                new CalibConfig.OpBits("head", 8, 8), new CalibConfig.OpBits("blocks.*.mlp.fc2", 6, 8)));
        QuantPlan p = Calibrator.calibrate(VIT, IMAGES, null, c, "test", null).plan();
        assertEquals(8, p.linear("head").weight().bits());
        assertEquals(8, p.linear("head").input().bits());
        for (int i = 0; i < 2; i++) {
            assertEquals(6, p.linear("blocks." + i + ".mlp.fc2").weight().bits());
            assertEquals(8, p.linear("blocks." + i + ".mlp.fc2").input().bits());
            assertEquals(4, p.linear("blocks." + i + ".mlp.fc1").weight().bits());
            assertEquals(4, p.matmul("blocks." + i + ".attn.matmul2").a().bits());
        }
        assertTrue(p.summary().contains("overrides: 3 ops"), p.summary());
        assertEquals("head=W8A8, blocks.*.mlp.fc2=W6A8", p.info().options().get("op_bits"));
        CalibConfig bad = c.withOpBits(List.of(new CalibConfig.OpBits("blocks.9.*", 8, 8)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Calibrator.calibrate(VIT, IMAGES, null, bad, "test", null));
        assertTrue(e.getMessage().contains("blocks.9.*"), e.getMessage());
    }

    @Test
    void trueLabelsNeedLabels() {
        CalibConfig c = CalibConfig.ptq4vit(8, 8).withSearch(4, 1).withTrueLabels(true);
        assertThrows(IllegalArgumentException.class, () -> Calibrator.calibrate(VIT, IMAGES, null, c, "test", null));
        int[] labels = new int[IMAGES.dim(0)];
        QuantPlan p = Calibrator.calibrate(VIT, IMAGES, labels, c, "test", null).plan();
        assertEquals("cross-entropy, true labels", p.info().options().get("gradient"));
    }
}
