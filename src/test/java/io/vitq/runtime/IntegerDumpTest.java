package io.vitq.runtime;

import io.vitq.io.SafeTensors;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.quant.QuantPlan;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.IntegerDumpCheck;
import io.vitq.testutil.MinMaxPlans;
import io.vitq.testutil.MinMaxPlans.Spec;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link IntegerDump}: every op's sums and outputs recomputed from the dumped codes and steps alone
 * ({@link IntegerDumpCheck}, plain integer and float arithmetic) equal the runtime's bit for bit,
 * for every integer form (INT8, SHIFT, SPLIT, WIDE, asymmetric inputs) on the tiny ViT and Swin;
 * recording changes no result.
 */
class IntegerDumpTest {
    static final IntegerExecutor.Options LAYOUT = new IntegerExecutor.Options(IntegerExecutor.TwinForm.AUTO, true);

    @TempDir
    Path tmp;

    static Tensor image(int i) {
        Tensor all = TinyModels.IMAGES;
        int per = all.data().length / all.dim(0);
        return new Tensor(Arrays.copyOfRange(all.data(), i * per, (i + 1) * per), 1, all.dim(1), all.dim(2), all.dim(3));
    }

    /** Dumps both images of TinyModels.IMAGES one by one; returns the file. */
    Path dump(Model model, QuantPlan plan, Predicate<String> ops, Set<IntegerDump.Part> parts, String name) throws Exception {
        int n = TinyModels.IMAGES.dim(0), nc = model.numClasses();
        IntegerDump d = new IntegerDump(n, ops, parts, 1L << 30);
        IntegerExecutor rec = new IntegerExecutor(plan, model, LAYOUT, d), plain = new IntegerExecutor(plan, model, LAYOUT);
        float[] logits = new float[n * nc];
        for (int i = 0; i < n; i++) {
            d.nextImage();
            float[] y = model.forward(image(i), rec).data();
            assertArrayEquals(model.forward(image(i), plain).data(), y, name + ": recording changes no logit");
            System.arraycopy(y, 0, logits, i * nc, nc);
        }
        Path f = tmp.resolve(name + ".safetensors");
        d.write(f, logits, nc, Map.of("model", model.name()));
        return f;
    }

    static QuantPlan plan(Model model, Spec sp) { return IntegerExecutorTest.plan(model, sp); }

    /** The forms each plan's ops run in, so that the test is known to cover them all. */
    static Set<IntegerExecutor.OpForm> forms(Model model, QuantPlan plan) {
        return EnumSet.copyOf(new IntegerExecutor(plan, model, LAYOUT).forms().values());
    }

    @Test
    void everyOpRecomputesBitForBitFromItsCodes() throws Exception {
        EnumSet<IntegerExecutor.OpForm> covered = EnumSet.noneOf(IntegerExecutor.OpForm.class);
        int asymmetric = 0;
        for (Model model : List.of(TinyModels.VIT, TinyModels.SWIN)) {
            MinMaxPlans.Maxima mx = MinMaxPlans.maxima(model, TinyModels.IMAGES);
            Map<String, QuantPlan> plans = new java.util.LinkedHashMap<>();
            plans.put("ptq4vit-pow2", plan(model, Spec.ptq4vit(true)));
            plans.put("ptq4vit-linear", plan(model, Spec.ptq4vit(false)));
            plans.put("ptq4vit-pow2-split", plan(model, Spec.ptq4vit(true).withSplit(0x1p-19f)));
            plans.put("uniform", plan(model, Spec.uniform()));
            plans.put("uniform-6", plan(model, Spec.uniform().withBits(6)));
            plans.put("ptq4vit-10", plan(model, Spec.ptq4vit(true).withBits(10)));
            plans.put("asymmetric", MinMaxPlans.withAsymmetricInputs(plan(model, Spec.uniform()), mx, 0.8f));
            plans.put("asymmetric-z0", zeroPointZero(plan(model, Spec.uniform())));
            plans.put("asymmetric-weights", MinMaxPlans.withAsymmetricWeights(plan(model, Spec.ptq4vit(true).withBits(4)), model, 0.9f));
            plans.put("adalog", MinMaxPlans.withAdaLog(plan(model, Spec.ptq4vit(true)), 4, 23, 41, 1.5f));
            for (Map.Entry<String, QuantPlan> e : plans.entrySet()) {
                String name = model.name() + " " + e.getKey();
                covered.addAll(forms(model, e.getValue()));
                Path f = dump(model, e.getValue(), id -> true, EnumSet.allOf(IntegerDump.Part.class), name.replace(' ', '_'));
                IntegerDumpCheck.Counts c = IntegerDumpCheck.verify(f);
                System.out.printf("dump %s: %d Linear ops, %d matmuls, %d sums and %d outputs recomputed bit for bit (%.1f kB)%n",
                        name, c.linears(), c.matmuls(), c.sums(), c.outputs(), Files.size(f) / 1e3);
                // every op that runs in integers is in the dump (the plans leave some in float)
                Map<String, IntegerExecutor.OpForm> opForms = new IntegerExecutor(e.getValue(), model, LAYOUT).forms();
                long integerOps = opForms.values().stream().filter(x -> x != IntegerExecutor.OpForm.FLOAT && x != IntegerExecutor.OpForm.FLOAT_INPUT).count();
                long integerMatmuls = opForms.entrySet().stream().filter(x -> x.getKey().matches(".*matmul[12]")
                        && x.getValue() != IntegerExecutor.OpForm.FLOAT).count();
                assertEquals(integerOps - integerMatmuls, c.linears(), name + ": every Linear with quantized input is in the dump");
                assertEquals(integerMatmuls, c.matmuls(), name + ": every integer matmul");
                assertTrue(c.linears() >= model.linears().size() - 2 && c.matmuls() >= model.attentionOps().size(), name + ": most ops");
                if (e.getKey().equals("adalog")) {
                    SafeTensors st = SafeTensors.read(f);
                    String fc2 = model.linears().stream().map(Linear::id).filter(id -> id.endsWith("mlp.fc2")).findFirst().orElseThrow();
                    assertTrue(st.metadata().get(fc2).contains("\"input\":{\"layout\":\"adalog-grid\",\"bits\":4,\"stored_bits\":15,\"shift\":7}"),
                            st.metadata().get(fc2));
                    assertEquals(io.vitq.io.DType.I32, st.get(fc2 + ".input").dtype(), "grid codes as int32");
                }
                if (e.getKey().equals("asymmetric-weights")) {
                    SafeTensors st = SafeTensors.read(f);
                    String op = model.linears().get(1).id();
                    assertTrue(st.metadata().get(op).contains("\"weight_codes\":\"minus weight_zero_point\""), st.metadata().get(op));
                    assertTrue(st.has(op + ".weight_zero_point"), "the zero points are dumped");
                } else if (e.getKey().startsWith("asymmetric")) {
                    SafeTensors st = SafeTensors.read(f);
                    String qkv = model.linears().get(1).id();
                    assertEquals(io.vitq.io.DType.U8, st.get(qkv + ".input").dtype(), "asymmetric codes are unsigned");
                    assertTrue(st.metadata().get(qkv).contains("zero_point"), st.metadata().get(qkv));
                    asymmetric++;
                }
            }
        }
        assertEquals(4, asymmetric);
        assertTrue(covered.containsAll(EnumSet.of(IntegerExecutor.OpForm.INT8, IntegerExecutor.OpForm.SHIFT,
                IntegerExecutor.OpForm.SPLIT, IntegerExecutor.OpForm.WIDE)), "the plans cover every integer form: " + covered);
    }

    /** A ViT with rotated qkv and fc1 inputs: the dump holds the codes of the rotated inputs, and every op recomputes from them. */
    @Test
    void rotatedInputsRecomputeFromTheirCodes() throws Exception {
        Model model = io.vitq.io.Reparameterization.rotated(new io.vitq.io.ModelLoader.Loaded(TinyModels.VIT,
                Path.of("test.safetensors"), List.of(), TinyModels.VIT_WEIGHTS, List.of(), null)).model();
        QuantPlan plan = plan(model, Spec.ptq4vit(true));
        Path f = dump(model, plan, id -> true, EnumSet.allOf(IntegerDump.Part.class), "rotated");
        IntegerDumpCheck.Counts c = IntegerDumpCheck.verify(f);
        System.out.printf("dump of the rotated ViT: %d Linear ops, %d matmuls recomputed bit for bit%n", c.linears(), c.matmuls());
        assertTrue(c.linears() >= model.linears().size() - 2 && c.matmuls() >= model.attentionOps().size(), "most ops");
    }

    /** Every uniform Linear input as an asymmetric quantizer with zero point 0 (codes 0..255 for x >= 0, unsigned). */
    static QuantPlan zeroPointZero(QuantPlan plan) {
        return MinMaxPlans.withLinearInputs(plan, (id, u) -> new io.vitq.quant.AsymmetricOperand(u.bits(), u.scale(0) / 2, 0));
    }

    /** The twin codes are ALGORITHMS section 6's uint8 layout, the flag in bit 7. */
    @Test
    void twinCodesUseTheUint8Layout() throws Exception {
        Model model = TinyModels.VIT;
        Path f = dump(model, plan(model, Spec.ptq4vit(true)), id -> true, EnumSet.allOf(IntegerDump.Part.class), "layout");
        SafeTensors st = SafeTensors.read(f);
        String fc2 = "blocks.0.mlp.fc2", m2 = "blocks.0.attn.matmul2";
        assertEquals(io.vitq.io.DType.U8, st.get(fc2 + ".input").dtype());
        assertEquals(io.vitq.io.DType.U8, st.get(m2 + ".a").dtype());
        assertTrue(st.metadata().get(fc2).contains("\"layout\":\"twin-gelu\""), st.metadata().get(fc2));
        byte[] codes = new byte[st.get(fc2 + ".input").numel()];
        st.get(fc2 + ".input").bytes().duplicate().get(codes);
        int positive = 0, negative = 0;
        for (byte b : codes) {
            if ((b & 0x80) != 0) positive++;
            else if (b != 0) negative++;
        }
        assertTrue(positive > 0 && negative > 0, "post-GELU codes in both ranges: " + positive + " positive, " + negative + " negative");
    }

    @Test
    void opsAndPartsCanBeLeftOut() throws Exception {
        Model model = TinyModels.VIT;
        Path f = dump(model, plan(model, Spec.ptq4vit(true)), id -> id.startsWith("blocks.1."),
                EnumSet.of(IntegerDump.Part.INPUTS, IntegerDump.Part.OUTPUTS), "some");
        SafeTensors st = SafeTensors.read(f);
        assertTrue(st.has("blocks.1.mlp.fc1.input") && st.has("blocks.1.mlp.fc1.output") && st.has("blocks.1.mlp.fc1.weight_step"));
        assertFalse(st.has("blocks.1.mlp.fc1.weight") || st.has("blocks.1.mlp.fc1.acc"), "weights and sums left out");
        assertFalse(st.tensors().keySet().stream().anyMatch(k -> k.startsWith("blocks.0.")), "only blocks.1");
        assertTrue(st.has("logits"));
    }

    @Test
    void refusesBeyondItsByteLimitBeforeAllocating() {
        Model model = TinyModels.VIT;
        IntegerDump d = new IntegerDump(1000, id -> true, EnumSet.allOf(IntegerDump.Part.class), 1 << 20);
        IntegerExecutor ex = new IntegerExecutor(plan(model, Spec.uniform()), model, LAYOUT, d);
        d.nextImage();
        IntegerDump.TooLargeException e = assertThrows(IntegerDump.TooLargeException.class, () -> model.forward(image(0), ex));
        assertTrue(e.getMessage().contains("1000 images"), e.getMessage());
        assertTrue(d.bytes() <= 1 << 20);
    }

    /**
     * The limit counts the bytes the file will hold: 8-bit codes one byte each (they were counted at the
     * four of the ints that hold them until written, refusing dumps far under 2 GiB).
     */
    @Test
    void itsByteCountIsTheFilesPerImageTensors() throws Exception {
        Model model = TinyModels.VIT;
        QuantPlan plan = plan(model, Spec.ptq4vit(true));
        IntegerDump d = new IntegerDump(1, id -> true, EnumSet.allOf(IntegerDump.Part.class), 1L << 30);
        IntegerExecutor ex = new IntegerExecutor(plan, model, LAYOUT, d);
        d.nextImage();
        float[] logits = model.forward(image(0), ex).data();
        Path f = tmp.resolve("count.safetensors");
        d.write(f, logits, model.numClasses(), Map.of("model", model.name()));
        SafeTensors st = SafeTensors.read(f);
        long ops = 0, codes = 0;
        for (String k : st.tensors().keySet()) {
            if (k.equals("logits")) continue;
            long n = st.get(k).bytes().remaining();
            ops += n;
            if (k.endsWith(".input") || k.endsWith(".a") || k.endsWith(".b")) codes += n;
        }
        assertTrue(codes > 0, "8-bit codes in the dump");
        assertEquals(ops, d.bytes(), "the file's tensors but the logits");
    }

    @Test
    void oneCallPerOpAndImage() {
        Model model = TinyModels.VIT;
        IntegerDump d = new IntegerDump(1, id -> true, EnumSet.allOf(IntegerDump.Part.class), 1L << 30);
        IntegerExecutor ex = new IntegerExecutor(plan(model, Spec.uniform()), model, LAYOUT, d);
        assertThrows(IllegalStateException.class, () -> model.forward(image(0), ex), "nextImage() first");
        d.nextImage();
        model.forward(image(0), ex);
        assertThrows(IllegalStateException.class, () -> model.forward(image(0), ex), "a second forward for the same image");
        assertThrows(IllegalStateException.class, d::nextImage, "more images than announced");
        Linear l = model.linears().get(1);
        assertTrue(d.opIds().contains(l.id()));
    }
}
