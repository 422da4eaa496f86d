package io.vitq.runtime;

import io.vitq.model.AttentionOp;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.AsymmetricOperand;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinGeluQuantizer;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.runtime.IntegerExecutor.OpForm;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.MinMaxPlans;
import io.vitq.testutil.MinMaxPlans.Spec;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.vitq.testutil.Diffs.maxAbs;
import static io.vitq.testutil.Diffs.maxDiff;

/**
 * IntegerExecutor against FakeQuantExecutor on the tiny ViT and Swin of {@link TinyModels}, with
 * plans built by hand from min-max scales (as FakeQuantExecutorTest builds them): the two compute
 * the same quantized network, one summing exact integer products, the other dequantized floats.
 */
class IntegerExecutorTest {
    static final Tensor IMAGES = TinyModels.IMAGES;

    // ---- plans (min-max scales of a float forward, times a shrink factor so that some values clip) ----

    static final Map<Model, MinMaxPlans.Maxima> MAXIMA = new HashMap<>();

    static QuantPlan plan(Model model, Spec sp) {
        MinMaxPlans.Maxima mx;
        synchronized (MAXIMA) {
            mx = MAXIMA.computeIfAbsent(model, m -> MinMaxPlans.maxima(m, IMAGES));
        }
        return MinMaxPlans.plan(model, mx, sp);
    }

    /**
     * Integer vs fake-quant logits. Tolerance 1e-4 of max |logit|: both compute the same quantized
     * network; the sums differ by float rounding (~1e-7 relative), and a value that lands within
     * that distance of a rounding boundary may round to the neighbouring code in one of the two,
     * which moves it by one step; the following layers dilute that. Quantization itself moves the
     * logits by far more (checked), so a wrong code, scale or form would not pass.
     */
    static double compare(Model model, QuantPlan plan, IntegerExecutor.Options options, String label) {
        float[] flt = model.forward(IMAGES).data();
        float[] fq = model.forward(IMAGES, new FakeQuantExecutor(plan, model)).data();
        IntegerExecutor ie = new IntegerExecutor(plan, model, options);
        float[] in = model.forward(IMAGES, ie).data();
        double d = maxDiff(in, fq), rel = d / maxAbs(fq), dq = maxDiff(fq, flt);
        System.out.printf("integer vs fake quant, %s %s: max|int - fq| %.3g (%.2g of max|logit| %.3g), max|fq - float| %.3g%n",
                model.name(), label, d, rel, maxAbs(fq), dq);
        assertTrue(rel <= 1e-4, label + ": max |diff| " + d + " is " + rel + " of max |logit|");
        assertTrue(dq > 100 * d, label + ": quantization should move the logits far more than the integer/fake-quant difference");
        assertArrayEquals(in, model.forward(IMAGES, ie).data(), label + ": a second forward gives the same logits");
        if (options.equals(IntegerExecutor.Options.DEFAULT) && maxBits(plan) <= 8) {
            // same codes, same forms, exact sums: the code-product fake quant rounds exactly as integers do
            float[] cp = model.forward(IMAGES, new FakeQuantExecutor(plan, model, FakeQuantExecutor.Products.CODES)).data();
            assertArrayEquals(in, cp, label + ": integer logits equal the code-product fake quant's bit for bit");
            System.out.printf("  code-product fake quant: bit-identical; its max|diff| to dequantized products %.3g%n",
                    maxDiff(cp, fq));
        }
        return rel;
    }

    /**
     * Op by op on many random inputs, where a one-ulp difference would show: every Linear (GELU
     * and residual forms included) and every attention of the tiny ViT, for plans whose twin
     * operands take the shift form and the split form, integer output equals the code-product
     * fake quant's bit for bit.
     */
    @Test
    void everyOpEqualsTheCodeProductFakeQuantBitForBit() {
        Model model = TinyModels.VIT;
        SplittableRandom r = new SplittableRandom(31);
        for (Spec sp : List.of(Spec.ptq4vit(true), Spec.ptq4vit(false), Spec.ptq4vit(true).withSplit(0x1p-19f), Spec.uniform())) {
            QuantPlan plan = plan(model, sp);
            IntegerExecutor ie = new IntegerExecutor(plan, model);
            FakeQuantExecutor cp = new FakeQuantExecutor(plan, model, FakeQuantExecutor.Products.CODES);
            int rows = 301;
            for (Linear l : model.linears()) {
                float[] x = new float[rows * l.in()];
                for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (l.id().endsWith("fc2") ? 0.3 : 1.5));
                for (Activation act : new Activation[] {Activation.NONE, Activation.GELU}) {
                    float[] yi = new float[rows * l.out()], yc = new float[rows * l.out()];
                    ie.linear(l, x, rows, yi, act, false);
                    cp.linear(l, x, rows, yc, act, false);
                    assertArrayEquals(yi, yc, l.id() + " " + act);
                }
                float[] yi = new float[rows * l.out()], yc;
                for (int i = 0; i < yi.length; i++) yi[i] = (float) r.nextGaussian();
                yc = yi.clone();
                ie.linear(l, x, rows, yi, Activation.NONE, true);
                cp.linear(l, x, rows, yc, Activation.NONE, true);
                assertArrayEquals(yi, yc, l.id() + " accumulate");
            }
            for (AttentionOp a : model.attentionOps()) {
                // 7 groups: a group's q, k and v encoded at once; 1 group: head by head (with two or more threads)
                for (int groups : new int[] {7, 1}) {
                    int T = a.spec().tokens(), D = a.spec().dim();
                    float[] qkv = new float[groups * T * 3 * D];
                    for (int i = 0; i < qkv.length; i++) qkv[i] = (float) (r.nextGaussian() * 2);
                    float[] oi = new float[groups * T * D], oc = new float[groups * T * D];
                    ie.attention(a, qkv, groups, oi);
                    cp.attention(a, qkv, groups, oc);
                    assertArrayEquals(oi, oc, a.prefix() + ", " + groups + " groups");
                }
            }
        }
    }

    /** The widest code of any quantized operand in the plan. */
    static int maxBits(QuantPlan plan) {
        int b = 0;
        for (io.vitq.quant.OpQuant op : plan.ops().values()) {
            if (op instanceof LinearQuant lq) {
                b = Math.max(b, lq.weight().bits());
                if (lq.input() != null) b = Math.max(b, lq.input().bits());
            } else if (op instanceof MatmulQuant mq) {
                if (mq.a() != null) b = Math.max(b, mq.a().bits());
                if (mq.b() != null) b = Math.max(b, mq.b().bits());
            }
        }
        return b;
    }

    // ---- tests ----

    /** VT-PTQ's corrected biases (and the one-scale-per-tensor plan) run the same in integers. */
    @Test
    void vtptqCorrectedBiasesAreUsed() {
        QuantPlan plan = io.vitq.calib.Calibrator.calibrate(TinyModels.VIT, TinyModels.IMAGES, null,
                io.vitq.calib.CalibConfig.vtptq(8, 8).withSearch(8, 2), "test", null).plan();
        assertTrue(plan.linear("blocks.0.mlp.fc1").bias() != null, "the plan corrects biases");
        compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, "vtptq with bias correction");
    }

    @Test
    void vitPtq4vitPowerOfTwoGeluUsesShiftForms() {
        QuantPlan plan = plan(TinyModels.VIT, Spec.ptq4vit(true));
        IntegerExecutor ie = new IntegerExecutor(plan, TinyModels.VIT);
        assertEquals(OpForm.FLOAT_INPUT, ie.form("patch_embed.proj"));
        assertEquals(OpForm.INT8, ie.form("blocks.0.attn.qkv"));
        assertEquals(OpForm.INT8, ie.form("head"));
        assertEquals(OpForm.SHIFT, ie.form("blocks.0.mlp.fc2"), "fc2: K 256, 2^m <= 2^9 fits int32");
        assertEquals(OpForm.INT8, ie.form("blocks.1.attn.matmul1"));
        assertEquals(OpForm.SHIFT, ie.form("blocks.1.attn.matmul2"), "T 17, m 4 fits int32");
        compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, "ptq4vit, GELU power of two, shift forms");
        // the same plan with both twin operands as two accumulations
        IntegerExecutor.Options split = new IntegerExecutor.Options(IntegerExecutor.TwinForm.SPLIT, false);
        assertEquals(OpForm.SPLIT, new IntegerExecutor(plan, TinyModels.VIT, split).form("blocks.0.mlp.fc2"));
        compare(TinyModels.VIT, plan, split, "ptq4vit, GELU power of two, split forms");
    }

    /** The reference's linear grid: no shift aligns the GELU ranges, so fc2 runs two accumulations. */
    @Test
    void vitPtq4vitLinearGeluUsesSplitForm() {
        QuantPlan plan = plan(TinyModels.VIT, Spec.ptq4vit(false));
        IntegerExecutor ie = new IntegerExecutor(plan, TinyModels.VIT);
        assertEquals(OpForm.SPLIT, ie.form("blocks.1.mlp.fc2"));
        assertTrue(ie.notes().stream().anyMatch(n -> n.startsWith("blocks.1.mlp.fc2") && n.contains("--gelu-grid power-of-two")),
                ie.notes().toString());
        compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, "ptq4vit, GELU linear grid");
    }

    /** BasePTQ-like: uniform per-head probabilities, per-tensor k and v, some ops float; and per-channel weights. */
    @Test
    void vitUniformPlans() {
        QuantPlan plan = plan(TinyModels.VIT, Spec.uniform());
        IntegerExecutor ie = new IntegerExecutor(plan, TinyModels.VIT);
        assertEquals(OpForm.FLOAT, ie.form("head"));
        assertEquals(OpForm.FLOAT, ie.form("blocks.1.attn.matmul1"));
        assertEquals(OpForm.INT8, ie.form("blocks.1.attn.matmul2"));
        compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, "uniform");
        compare(TinyModels.VIT, plan(TinyModels.VIT, Spec.uniform().perChannelWeights()), IntegerExecutor.Options.DEFAULT,
                "uniform, per-channel weights");
        compare(TinyModels.VIT, plan(TinyModels.VIT, Spec.ptq4vit(true).perChannelWeights()), IntegerExecutor.Options.DEFAULT,
                "ptq4vit, per-channel weights");
    }

    /** Swin: q scaled before it is quantized, window bias and shift mask, patch merging (no bias). */
    @Test
    void swinMatchesFakeQuant() {
        for (boolean pow2 : new boolean[] {true, false}) {
            QuantPlan plan = plan(TinyModels.SWIN, Spec.ptq4vit(pow2));
            compare(TinyModels.SWIN, plan, IntegerExecutor.Options.DEFAULT, "ptq4vit, GELU " + (pow2 ? "power of two" : "linear"));
        }
        compare(TinyModels.SWIN, plan(TinyModels.SWIN, Spec.uniform()), IntegerExecutor.Options.DEFAULT, "uniform");
    }

    /**
     * The bound decides the form. Softmax split 2^-19: 17 tokens x 127 x 2^19 x 128 > 2^31 - 1, so
     * the probabilities must run as two accumulations (the shift form could overflow); 2^-4 fits.
     * GELU Δpos = 2^15 Δneg: 256 x 127 x 2^15 x 128 > 2^31 - 1, split form; 2^9 fits.
     */
    @Test
    void overflowBoundPicksTheSplitForm() {
        QuantPlan deep = plan(TinyModels.VIT, Spec.ptq4vit(true).withSplit(0x1p-19f));
        float neg = TwinGeluQuantizer.defaultNegativeStep(8);
        for (String fc2 : List.of("blocks.0.mlp.fc2", "blocks.1.mlp.fc2")) {
            LinearQuant lq = (LinearQuant) deep.op(fc2);
            deep = deep.with(fc2, new LinearQuant(lq.weight(), new TwinGeluOperand(8, Math.scalb(neg, 15), neg)));
        }
        IntegerExecutor ie = new IntegerExecutor(deep, TinyModels.VIT);
        assertEquals(OpForm.SPLIT, ie.form("blocks.0.attn.matmul2"));
        assertEquals(OpForm.SPLIT, ie.form("blocks.0.mlp.fc2"));
        System.out.println(String.join("\n", ie.notes()));
        assertTrue(ie.notes().contains("blocks.0.attn.matmul2: twin softmax probabilities: split form (two int8 accumulations): "
                + "the shift form (m = 19) could overflow int32, K 17 x 66584576 x 128 > 2^31 - 1"), ie.notes().toString());
        assertTrue(!Int8Gemm.fitsInt32(17, 127L << 19, 128) && !Int8Gemm.fitsInt32(256, 127L << 15, 128));
        compare(TinyModels.VIT, deep, IntegerExecutor.Options.DEFAULT, "split 2^-19, GELU 2^15 Δneg (split forms by the bound)");

        // the largest shifts that still fit: m = 9 for both (17 x 127 x 2^9 x 128 and 256 x 127 x 2^9 x 128 fit)
        QuantPlan fits = plan(TinyModels.VIT, Spec.ptq4vit(true).withSplit(0x1p-9f));
        for (String fc2 : List.of("blocks.0.mlp.fc2", "blocks.1.mlp.fc2")) {
            LinearQuant lq = (LinearQuant) fits.op(fc2);
            fits = fits.with(fc2, new LinearQuant(lq.weight(), new TwinGeluOperand(8, Math.scalb(neg, 9), neg)));
        }
        IntegerExecutor ie2 = new IntegerExecutor(fits, TinyModels.VIT);
        assertEquals(OpForm.SHIFT, ie2.form("blocks.0.attn.matmul2"));
        assertEquals(OpForm.SHIFT, ie2.form("blocks.0.mlp.fc2"));
        assertTrue(ie2.notes().contains("blocks.0.mlp.fc2: twin GELU input: shift form (m = 9), one int32 accumulation: "
                + "K 256 x 65024 x 128 <= 2^31 - 1"), ie2.notes().toString());
        assertTrue(Int8Gemm.fitsInt32(256, 127L << 9, 128) && !Int8Gemm.fitsInt32(256, 127L << 10, 128));
        compare(TinyModels.VIT, fits, IntegerExecutor.Options.DEFAULT, "split 2^-9, GELU 2^9 Δneg (shift forms at the bound)");
    }

    /**
     * Codes wider than 8 bits: the long-accumulation fallback (twin operands split). A whole 16-bit
     * plan agrees less closely (1e-4 of max |logit|): a 16-bit step is 1/32767 of each range, so
     * the float-rounding differences upstream flip codes far more often than at 8 bits, and the
     * fake-quant float sums of 30-bit products are themselves rounded. 16-bit ops inside an 8-bit
     * plan (each wide form once: weight, uniform input, twin GELU input, q/k, twin softmax and v)
     * are held to the 8-bit tolerance.
     */
    @Test
    void sixteenBitCodesRunWide() {
        QuantPlan plan = plan(TinyModels.VIT, Spec.ptq4vit(true).withBits(16));
        IntegerExecutor ie = new IntegerExecutor(plan, TinyModels.VIT);
        assertEquals(OpForm.WIDE, ie.form("blocks.0.mlp.fc2"));
        assertEquals(OpForm.WIDE, ie.form("blocks.0.attn.matmul2"));
        float[] fq = TinyModels.VIT.forward(IMAGES, new FakeQuantExecutor(plan, TinyModels.VIT)).data();
        float[] in = TinyModels.VIT.forward(IMAGES, ie).data();
        double rel = maxDiff(in, fq) / maxAbs(fq);
        System.out.printf("integer vs fake quant, 16-bit plan: max|diff| %.2g of max|logit|%n", rel);
        assertTrue(rel <= 1e-3, "16 bit: " + rel);

        QuantPlan p8 = plan(TinyModels.VIT, Spec.ptq4vit(true)), p16 = plan;
        QuantPlan mixed = p8;
        for (String id : List.of("blocks.0.mlp.fc1", "blocks.1.mlp.fc2", "blocks.1.attn.matmul1", "blocks.0.attn.matmul2"))
            mixed = mixed.with(id, p16.op(id));
        LinearQuant qkv = (LinearQuant) p8.op("blocks.1.attn.qkv");
        mixed = mixed.with("blocks.1.attn.qkv", new LinearQuant(qkv.weight().withBits(16), qkv.input()));
        IntegerExecutor im = new IntegerExecutor(mixed, TinyModels.VIT);
        for (String id : List.of("blocks.0.mlp.fc1", "blocks.1.mlp.fc2", "blocks.1.attn.matmul1", "blocks.0.attn.matmul2",
                "blocks.1.attn.qkv"))
            assertEquals(OpForm.WIDE, im.form(id), id);
        assertEquals(OpForm.SHIFT, im.form("blocks.0.mlp.fc2"));
        compare(TinyModels.VIT, mixed, IntegerExecutor.Options.DEFAULT, "8 bit with 16-bit ops of every kind");
    }

    /** {@code plan(model, sp)} with every uniform Linear input asymmetric (min-max range, step times {@code shrink}). */
    static QuantPlan asymmetricPlan(Model model, Spec sp, float shrink) {
        MinMaxPlans.Maxima mx;
        synchronized (MAXIMA) {
            mx = MAXIMA.computeIfAbsent(model, m -> MinMaxPlans.maxima(m, IMAGES));
        }
        return MinMaxPlans.withAsymmetricInputs(plan(model, sp), mx, shrink);
    }

    /**
     * Asymmetric Linear inputs (uint8 codes q with a zero point z): the integer sums subtract
     * {@code z · sum_k w_jk} from {@code sum_k q_k w_jk}; the logits equal the code-product fake
     * quant's (which multiplies q - z) bit for bit, op by op and through the whole network, at 8
     * and 6 bits, ViT and Swin.
     */
    @Test
    void asymmetricInputsSubtractTheZeroPointCorrection() {
        for (Spec sp : List.of(Spec.ptq4vit(true), Spec.uniform(), Spec.ptq4vit(true).withBits(6))) {
            QuantPlan plan = asymmetricPlan(TinyModels.VIT, sp, 0.9f);
            java.util.Set<Integer> zeroPoints = new java.util.TreeSet<>();
            for (var op : plan.ops().values())
                if (op instanceof LinearQuant lq && lq.input() instanceof AsymmetricOperand a) zeroPoints.add(a.zeroPoint());
            assertTrue(zeroPoints.size() >= 3, "zero points of the hand plan " + zeroPoints);
            assertTrue(zeroPoints.stream().anyMatch(z -> z != 0 && z != 1 << (sp.bits() - 1)), "" + zeroPoints);
            IntegerExecutor ie = new IntegerExecutor(plan, TinyModels.VIT);
            assertEquals(OpForm.INT8, ie.form("blocks.0.attn.qkv"));
            compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, "asymmetric inputs " + sp.bits() + " bit"
                    + (sp.ptq4vit() ? " ptq4vit" : " uniform") + ", zero points " + zeroPoints);
            FakeQuantExecutor cp = new FakeQuantExecutor(plan, TinyModels.VIT, FakeQuantExecutor.Products.CODES);
            SplittableRandom r = new SplittableRandom(5);
            for (Linear l : TinyModels.VIT.linears()) assertLinearEqualsCodeProducts(ie, cp, l, r, l.id());
        }
        compare(TinyModels.SWIN, asymmetricPlan(TinyModels.SWIN, Spec.ptq4vit(true), 0.9f), IntegerExecutor.Options.DEFAULT,
                "asymmetric inputs");
        // 16-bit weights: the long sums take the correction too
        QuantPlan base = asymmetricPlan(TinyModels.VIT, Spec.uniform(), 0.9f);
        LinearQuant qkv = base.linear("blocks.0.attn.qkv");
        QuantPlan wide = base.with("blocks.0.attn.qkv", new LinearQuant(
                new UniformOperand(16, qkv.weight().granularity(), scaledBy(qkv.weight().scales(), 1f / 256)), qkv.input()));
        assertEquals(OpForm.WIDE, new IntegerExecutor(wide, TinyModels.VIT).form("blocks.0.attn.qkv"));
        compare(TinyModels.VIT, wide, IntegerExecutor.Options.DEFAULT, "asymmetric inputs, a 16-bit weight");
    }

    /**
     * Codebook Linear inputs: the integer sums run on the levels' uint8 grid codes with the zero
     * point's correction, equal to the code-product fake quant bit for bit, ViT and Swin.
     */
    @Test
    void codebookInputsAreGridCodeProducts() {
        for (Model m : List.of(TinyModels.VIT, TinyModels.SWIN)) {
            QuantPlan plan = MinMaxPlans.withCodebookInputs(plan(m, Spec.ptq4vit(true)));
            assertTrue(plan.ops().values().stream().anyMatch(op -> op instanceof LinearQuant lq
                    && lq.input() instanceof io.vitq.quant.CodebookOperand), "the plan has codebook inputs");
            compare(m, plan, IntegerExecutor.Options.DEFAULT, "codebook inputs");
        }
    }

    /**
     * log-sqrt2 probabilities: two components (even and odd levels) a factor √2 apart, summed
     * separately; at 3 bits in the int8 kernels, at 4 bits (codes up to 128) in the wide path; equal
     * to the code-product fake quant bit for bit, ViT and Swin. At 6 bits there is no integer form.
     */
    @Test
    void logSoftmaxProbabilitiesAreTwoCodeProducts() {
        for (Model m : List.of(TinyModels.VIT, TinyModels.SWIN))
            for (int bits : new int[] {3, 4}) {
                QuantPlan plan = MinMaxPlans.withLogSoftmax(plan(m, Spec.ptq4vit(true)), bits, 0.4f);
                String m2 = plan.ops().keySet().stream().filter(id -> id.endsWith(".matmul2")).findFirst().orElseThrow();
                assertEquals(bits == 3 ? OpForm.SPLIT : OpForm.WIDE, new IntegerExecutor(plan, m).form(m2), m2);
                compare(m, plan, IntegerExecutor.Options.DEFAULT, "log-sqrt2 probabilities, " + bits + " bits");
            }
        QuantPlan six = MinMaxPlans.withLogSoftmax(plan(TinyModels.VIT, Spec.ptq4vit(true)), 6, 0.4f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new IntegerExecutor(six, TinyModels.VIT));
        assertTrue(e.getMessage().contains("no integer form"), e.getMessage());
    }

    /**
     * AdaLog's quantizers (fc2's post-GELU input and the probabilities, 3 to 6 bits) run on their
     * grid form (AdaLogOperand's class comment): integer logits equal the code-product fake quant's
     * bit for bit, ViT and Swin, both ops in the shift form; every fc2 equals it on random rows too.
     * The grid form is an approximation of AdaLog's levels, so against the dequantized fake quant the
     * logits differ, but by far less than quantization moves them.
     */
    @Test
    void adaLogOperandsRunOnTheirGrid() {
        SplittableRandom r = new SplittableRandom(17);
        for (Model m : List.of(TinyModels.VIT, TinyModels.SWIN))
            for (int bits : new int[] {3, 4, 6}) {
                QuantPlan plan = MinMaxPlans.withAdaLog(plan(m, Spec.ptq4vit(true)), bits, 23, 41, 1.5f);
                IntegerExecutor ie = new IntegerExecutor(plan, m);
                FakeQuantExecutor cp = new FakeQuantExecutor(plan, m, FakeQuantExecutor.Products.CODES);
                String label = m.name() + " AdaLog " + bits + " bits";
                for (String id : plan.ops().keySet())
                    if (id.endsWith("mlp.fc2") || id.endsWith(".matmul2")) assertEquals(OpForm.SHIFT, ie.form(id), label + " " + id);
                float[] in = m.forward(IMAGES, ie).data();
                assertArrayEquals(in, m.forward(IMAGES, cp).data(), label + ": integer logits equal the code-product fake quant's");
                float[] fq = m.forward(IMAGES, new FakeQuantExecutor(plan, m)).data(), flt = m.forward(IMAGES).data();
                double grid = maxDiff(in, fq), quant = maxDiff(fq, flt);
                System.out.printf("integer vs fake quant, %s: max|int - fq| %.3g (the grid), max|fq - float| %.3g%n", label, grid, quant);
                assertTrue(grid < quant, label + ": the grid moves the logits by " + grid + ", quantization by " + quant);
                FakeQuantExecutor dq = new FakeQuantExecutor(plan, m);
                for (Linear l : m.linears())
                    if (l.id().endsWith("mlp.fc2")) {
                        assertLinearEqualsCodeProducts(ie, cp, l, r, label + " " + l.id());
                        assertGridWithinOneStep(ie, dq, l, plan, r, label + " " + l.id());
                    }
            }
    }

    /**
     * One fc2 on random rows: the integer output differs from the dequantized fake quant's by the
     * grid alone, each input within 1.01 grid steps of AdaLog's level (AdaLogOperandTest), so each
     * output by at most {@code 1.01 step sum_k |w_jk|} (the 8-bit weights within 1.1 |w| in sum)
     * plus float rounding.
     */
    static void assertGridWithinOneStep(IntegerExecutor ie, FakeQuantExecutor dq, Linear l, QuantPlan plan, SplittableRandom r, String what) {
        int rows = 67, in = l.in(), out = l.out();
        float step = ((io.vitq.quant.AdaLogOperand) plan.linear(l.id()).input()).gridStep();
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 1.5 + 0.7);
        float[] yi = new float[rows * out], yd = new float[rows * out];
        ie.linear(l, x, rows, yi, Activation.NONE, false);
        dq.linear(l, x, rows, yd, Activation.NONE, false);
        double worst = 0;
        for (int j = 0; j < out; j++) {
            double sumW = 0;
            for (int k = 0; k < in; k++) sumW += Math.abs(l.weight()[j * in + k]);
            double bound = 1.01 * step * 1.1 * sumW;
            for (int row = 0; row < rows; row++) {
                double d = Math.abs(yi[row * out + j] - yd[row * out + j]);
                worst = Math.max(worst, d / bound);
                assertTrue(d <= bound + 1e-5 * Math.abs(yd[row * out + j]), what + " [" + row + "][" + j + "]: " + d + " > " + bound);
            }
        }
        assertTrue(worst > 0, what + ": the grid should show");
    }

    /** One Linear on 67 random rows (mean 0.7, sd 1.5) with a GELU: integer execution = code products, bit for bit. */
    static void assertLinearEqualsCodeProducts(IntegerExecutor ie, FakeQuantExecutor cp, Linear l, SplittableRandom r, String what) {
        int rows = 67;
        float[] x = new float[rows * l.in()];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 1.5 + 0.7);
        float[] yi = new float[rows * l.out()], yc = new float[rows * l.out()];
        ie.linear(l, x, rows, yi, Activation.GELU, false);
        cp.linear(l, x, rows, yc, Activation.GELU, false);
        assertArrayEquals(yc, yi, what);
    }

    static float[] scaledBy(float[] s, float f) {
        float[] t = s.clone();
        for (int i = 0; i < t.length; i++) t[i] *= f;
        return t;
    }

    /**
     * Asymmetric weights (a zero point per row or row block): their codes relative to the zero
     * point, up to 2^k - 1 in magnitude, are the int8 weight codes, so the integer logits equal the
     * code-product fake quant's bit for bit at 4 and 6 bits, per channel and at PTQ4ViT's
     * granularities, ViT and Swin, op by op too; the bound that picks the twin's shift form counts
     * the wider codes.
     */
    @Test
    void asymmetricWeightsAreWiderSignedCodes() {
        for (Spec sp : List.of(Spec.ptq4vit(true).withBits(4).perChannelWeights(), Spec.ptq4vit(true).withBits(6),
                Spec.uniform().withBits(4))) {
            QuantPlan plan = MinMaxPlans.withAsymmetricWeights(plan(TinyModels.VIT, sp), TinyModels.VIT, 0.9f);
            java.util.Set<Integer> zeroPoints = new java.util.TreeSet<>();
            for (var op : plan.ops().values())
                if (op instanceof LinearQuant lq) for (int z : lq.weight().zeroPoints()) zeroPoints.add(z);
            assertTrue(zeroPoints.size() >= 3, "zero points of the hand plan " + zeroPoints);
            String label = "asymmetric weights " + sp.bits() + " bit" + (sp.perChannel() ? " per channel" : "")
                    + (sp.ptq4vit() ? " ptq4vit" : " uniform") + ", zero points " + zeroPoints;
            compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, label);
            assertEveryLinearEqualsCodeProducts(plan, 7, label);
        }
        compare(TinyModels.SWIN, MinMaxPlans.withAsymmetricWeights(plan(TinyModels.SWIN, Spec.ptq4vit(true).withBits(4)),
                TinyModels.SWIN, 0.9f), IntegerExecutor.Options.DEFAULT, "asymmetric 4-bit weights");
    }

    /**
     * Weights on a table of 16 levels of the 8-bit grid (docs/LOWBIT.md section 1.2): the levels are the
     * int8 weight codes, so the integer logits equal the code-product fake quant's bit for bit, ViT and
     * Swin, op by op too.
     */
    @Test
    void levelledWeightsAreTheirLevelsCodes() {
        for (Spec sp : List.of(Spec.ptq4vit(true).withBits(8).perChannelWeights(), Spec.uniform().withBits(8))) {
            QuantPlan plan = MinMaxPlans.withLevelledWeights(plan(TinyModels.VIT, sp), TinyModels.VIT, 4, MinMaxPlans.LEVELS16, 0.9f);
            String label = "16 weight levels, " + (sp.ptq4vit() ? "ptq4vit" : "uniform") + " A8";
            compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, label);
            assertEveryLinearEqualsCodeProducts(plan, 8, label);
        }
        compare(TinyModels.SWIN, MinMaxPlans.withLevelledWeights(plan(TinyModels.SWIN, Spec.ptq4vit(true).withBits(8)),
                TinyModels.SWIN, 4, MinMaxPlans.LEVELS16, 0.9f), IntegerExecutor.Options.DEFAULT, "16 weight levels, Swin");
    }

    /**
     * Weights on a table of 256 code pairs (docs/LOWBIT.md section 1.3): each two columns' pair is two int8
     * weight codes, so the integer logits equal the code-product fake quant's bit for bit, ViT and Swin, op
     * by op too.
     */
    @Test
    void pairedWeightsAreTheirPairsCodes() {
        QuantPlan plan = MinMaxPlans.withPairedWeights(plan(TinyModels.VIT, Spec.ptq4vit(true).withBits(8).perChannelWeights()),
                TinyModels.VIT, MinMaxPlans.PAIRS256, 0.9f);
        compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, "256 weight pairs, ptq4vit A8");
        assertEveryLinearEqualsCodeProducts(plan, 8, "256 weight pairs");
        compare(TinyModels.SWIN, MinMaxPlans.withPairedWeights(plan(TinyModels.SWIN, Spec.ptq4vit(true).withBits(8)),
                TinyModels.SWIN, MinMaxPlans.PAIRS256, 0.9f), IntegerExecutor.Options.DEFAULT, "256 weight pairs, Swin");
    }

    /** Every Linear of the tiny ViT under {@code plan}, on random inputs from {@code seed}: integer output = code products, bit for bit. */
    private static void assertEveryLinearEqualsCodeProducts(QuantPlan plan, long seed, String label) {
        IntegerExecutor ie = new IntegerExecutor(plan, TinyModels.VIT);
        FakeQuantExecutor cp = new FakeQuantExecutor(plan, TinyModels.VIT, FakeQuantExecutor.Products.CODES);
        SplittableRandom r = new SplittableRandom(seed);
        for (Linear l : TinyModels.VIT.linears()) assertLinearEqualsCodeProducts(ie, cp, l, r, label + " " + l.id());
    }

    /** 6-bit codes use the int8 kernels (W6A6). */
    @Test
    void sixBitPlan() {
        QuantPlan plan = plan(TinyModels.VIT, Spec.ptq4vit(true).withBits(6));
        assertEquals(OpForm.SHIFT, new IntegerExecutor(plan, TinyModels.VIT).form("blocks.0.mlp.fc2"));
        compare(TinyModels.VIT, plan, IntegerExecutor.Options.DEFAULT, "W6A6 ptq4vit");
    }

    @Test
    void quirkModeAndHalfQuantizedMatmulsAreRefused() {
        QuantPlan plan = plan(TinyModels.VIT, Spec.ptq4vit(true));
        QuantPlan quirk = plan.with("blocks.1.attn.matmul2", new MatmulQuant(
                new TwinSoftmaxOperand(8, 0x1p-4f, TwinSoftmaxQuantizer.Mode.REFERENCE_QUIRK),
                ((MatmulQuant) plan.op("blocks.1.attn.matmul2")).b()));
        new FakeQuantExecutor(quirk, TinyModels.VIT); // fake quant accepts it
        var e = assertThrows(IllegalArgumentException.class, () -> new IntegerExecutor(quirk, TinyModels.VIT));
        assertTrue(e.getMessage().contains("blocks.1.attn.matmul2") && e.getMessage().contains("quirk"), e.getMessage());

        QuantPlan half = plan.with("blocks.0.attn.matmul1",
                new MatmulQuant(((MatmulQuant) plan.op("blocks.0.attn.matmul1")).a(), null));
        var e2 = assertThrows(IllegalArgumentException.class, () -> new IntegerExecutor(half, TinyModels.VIT));
        assertTrue(e2.getMessage().contains("blocks.0.attn.matmul1") && e2.getMessage().contains("both operands"), e2.getMessage());

        var e3 = assertThrows(IllegalArgumentException.class, () -> new IntegerExecutor(plan.with("blocks.9.attn.qkv",
                plan.op("blocks.0.attn.qkv")), TinyModels.VIT));
        assertTrue(e3.getMessage().contains("blocks.9.attn.qkv"), e3.getMessage());
    }

    @Test
    void nonFiniteInputNamesTheOp() {
        IntegerExecutor ie = new IntegerExecutor(plan(TinyModels.VIT, Spec.ptq4vit(true)), TinyModels.VIT);
        for (Linear l : List.of(TinyModels.VIT.blocks()[0].qkv(), TinyModels.VIT.blocks()[0].fc2())) {
            float[] x = new float[3 * l.in()];
            x[l.in() + 5] = Float.NaN;
            var e = assertThrows(IllegalArgumentException.class, () -> ie.linear(l, x, 3, new float[3 * l.out()], Activation.NONE, false));
            assertTrue(e.getMessage().contains(l.id()) && e.getMessage().contains("NaN"), e.getMessage());
        }
        // in an attention's q (matmul1's operand) or v (matmul2's), with groups encoded at once and head by head
        AttentionOp a = TinyModels.VIT.attentionOps().getFirst();
        int T = a.spec().tokens(), D = a.spec().dim();
        for (int groups : new int[] {3, 1})
            for (int part : new int[] {0, 2}) {
                float[] qkv = new float[groups * T * 3 * D];
                qkv[(groups - 1) * T * 3 * D + 4 * 3 * D + part * D + 1] = Float.POSITIVE_INFINITY;
                var e = assertThrows(IllegalArgumentException.class, () -> ie.attention(a, qkv, groups, new float[groups * T * D]));
                String id = part == 0 ? a.matmul1Id() : a.matmul2Id();
                assertTrue(e.getMessage().contains(id) && e.getMessage().contains("Infinity"), e.getMessage());
            }
    }

    @Test
    void callerBuffersAreNotModifiedAndLayersAreChecked() {
        IntegerExecutor ie = new IntegerExecutor(plan(TinyModels.VIT, Spec.ptq4vit(true)), TinyModels.VIT);
        SplittableRandom r = new SplittableRandom(4);
        Linear fc2 = TinyModels.VIT.blocks()[0].fc2();
        float[] x = new float[5 * fc2.in()];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] copy = x.clone();
        ie.linear(fc2, x, 5, new float[5 * fc2.out()], Activation.NONE, false);
        assertArrayEquals(copy, x);
        AttentionOp a = TinyModels.VIT.attentionOps().getFirst();
        int n = TinyModels.B * a.spec().tokens();
        float[] qkv = new float[n * 3 * a.spec().dim()];
        for (int i = 0; i < qkv.length; i++) qkv[i] = (float) r.nextGaussian();
        float[] qc = qkv.clone();
        ie.attention(a, qkv, TinyModels.B, new float[n * a.spec().dim()]);
        assertArrayEquals(qc, qkv);
        // a layer of another model under a known id
        Linear foreign = new Linear(fc2.id(), fc2.weight().clone(), fc2.bias(), fc2.out(), fc2.in());
        var e = assertThrows(IllegalArgumentException.class,
                () -> ie.linear(foreign, x, 5, new float[5 * fc2.out()], Activation.NONE, false));
        assertTrue(e.getMessage().contains(fc2.id()), e.getMessage());
    }

    /**
     * The operands are the uint8 layout of ALGORITHMS section 6 read as (flag, magnitude):
     * softmax split codes equal {@link TwinSoftmaxQuantizer#encode} exactly, shift values are
     * {@code flag ? mag << m : mag}; GELU codes equal {@link TwinGeluQuantizer#encode} except where
     * fake quant reaches -2^(k-1) Δneg (the layout's magnitude stops at 127), and code times step
     * equals the fake-quant value bit for bit.
     */
    @Test
    void twinOperandsAreTheUint8Layout() {
        SplittableRandom r = new SplittableRandom(9);
        int n = 4099;
        float[] p = new float[n], g = new float[n];
        for (int i = 0; i < n; i++) {
            p[i] = i % 7 == 0 ? (float) r.nextDouble() : (float) Math.pow(r.nextDouble(), 6);
            g[i] = i % 5 == 0 ? (float) (-0.17 + 0.01 * r.nextDouble()) : (float) (r.nextGaussian() * 2);
        }
        TwinSoftmaxQuantizer sq = new TwinSoftmaxQuantizer(8, 0x1p-5f);
        io.vitq.quant.CodeForm sf = new TwinSoftmaxOperand(8, 0x1p-5f, TwinSoftmaxQuantizer.Mode.CLEAN).codeForm("t", 0, 1f, false);
        byte[] r1 = new byte[n], r2 = new byte[n];
        int[] sh = new int[n];
        assertTrue(sf.encode(p, 0, n, r1, r2, 0));             // fine range R1, coarse range R2
        assertTrue(sf.encodeCombined(p, 0, n, sh, 0));
        for (int i = 0; i < n; i++) {
            int code = sq.encode(p[i]), mag = code & 0x7F;
            boolean flag = (code & 0x80) != 0;
            assertEquals(flag ? 0 : mag, r1[i], "R1 code " + i);
            assertEquals(flag ? mag : 0, r2[i], "R2 code " + i);
            assertEquals(flag ? mag << sq.shift() : mag, sh[i], "shift value " + i);
        }
        TwinGeluQuantizer gq = new TwinGeluQuantizer(8, Math.scalb(TwinGeluQuantizer.defaultNegativeStep(8), 6));
        io.vitq.quant.CodeForm gf = new TwinGeluOperand(8, gq.positiveStep(), gq.negativeStep()).codeForm("g", 0, 1f, false);
        byte[] pos = new byte[n], neg = new byte[n];
        int[] gs = new int[n];
        assertTrue(gf.encode(g, 0, n, neg, pos, 0));           // fine range: negative, coarse: positive
        assertTrue(gf.encodeCombined(g, 0, n, gs, 0));
        int minus128 = 0;
        for (int i = 0; i < n; i++) {
            int code = gq.encode(g[i]), mag = code & 0x7F;
            boolean flag = (code & 0x80) != 0;
            assertEquals(flag ? mag : 0, pos[i], "positive code " + i);
            if (neg[i] == -128) {
                minus128++;
                assertEquals(127, mag, "the layout saturates at 127");
            } else {
                assertEquals(flag ? 0 : -mag, neg[i], "negative code " + i);
            }
            assertEquals((pos[i] << gq.shift()) + neg[i], gs[i], "shift value " + i);
            assertEquals(Float.floatToIntBits(gq.fakeQuant(g[i])), Float.floatToIntBits(gs[i] * gq.negativeStep()),
                    "value of the code = fake quant, " + g[i]);
        }
        assertTrue(minus128 > 0, "the test covers GELU's flat minimum");
        // uniform codes too
        byte[] u = new byte[n];
        io.vitq.quant.CodeForm uf = UniformOperand.perTensor(8, 0.01f).codeForm("u", 0, 1f, false);
        assertTrue(uf.encode(g, 0, n, u, null, 0));
        io.vitq.quant.UniformQuantizer uq = new io.vitq.quant.UniformQuantizer(8);
        for (int i = 0; i < n; i++) assertEquals(uq.code(g[i], 0.01f), u[i]);
        io.vitq.quant.CodeForm unit = UniformOperand.perTensor(8, 1f).codeForm("u", 0, 1f, false);
        assertTrue(!unit.encode(new float[] {1, Float.POSITIVE_INFINITY}, 0, 2, u, null, 0));
    }

    /** The uint8-layout GELU codes (negative magnitudes stop at 127, as the reference export): a small, measured deviation. */
    @Test
    void layoutGeluCodesOption() {
        QuantPlan plan = plan(TinyModels.VIT, Spec.ptq4vit(true));
        float[] fq = TinyModels.VIT.forward(IMAGES, new FakeQuantExecutor(plan, TinyModels.VIT)).data();
        float[] strict = TinyModels.VIT.forward(IMAGES, new IntegerExecutor(plan, TinyModels.VIT,
                new IntegerExecutor.Options(IntegerExecutor.TwinForm.AUTO, true))).data();
        float[] flt = TinyModels.VIT.forward(IMAGES).data();
        System.out.printf("uint8-layout GELU codes (-127 floor) vs fake quant: max|diff| %.3g, fake quant vs float %.3g%n",
                maxDiff(strict, fq), maxDiff(fq, flt));
        assertTrue(maxDiff(strict, fq) < maxDiff(fq, flt));
    }

    @Test
    void weightMemoryIsAQuarter() {
        IntegerExecutor ie = new IntegerExecutor(plan(TinyModels.VIT, Spec.ptq4vit(true)), TinyModels.VIT);
        long floatBytes = 0, patch = 0;
        for (Linear l : TinyModels.VIT.linears()) {
            floatBytes += 4L * l.in() * l.out();
            if (l.id().equals("patch_embed.proj")) patch = 4L * l.in() * l.out();
        }
        long intBytes = ie.weightBytes() - patch;
        System.out.printf("tiny ViT weights: float %d bytes, integer executor %d bytes (int8 codes incl. panel padding) + %d float patch embedding%n",
                floatBytes - patch, intBytes, patch);
        assertTrue(intBytes <= (floatBytes - patch) / 4 * 1.3, "int8 codes incl. padding: " + intBytes);
    }
}
