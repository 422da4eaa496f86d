package io.vitq.io;

import io.vitq.model.FloatExecutor;
import io.vitq.model.Linear;
import io.vitq.model.Model;
import io.vitq.model.ModelException;
import io.vitq.model.ModelSpec;
import io.vitq.model.ModelZoo;
import io.vitq.model.RandomWeights;
import io.vitq.model.SwinCheckpoint;
import io.vitq.model.SwinConfig;
import io.vitq.model.ViTConfig;
import io.vitq.model.Weights;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.quant.ScaleGrid;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The quantized model file: written from a checkpoint and a plan, read back without the checkpoint. */
class QuantizedModelFileTest {
    @TempDir
    Path tmp;

    /** A micro ViT, not in the zoo: its spec (architecture and preprocessing) is stored in the file. */
    static final ViTConfig MICRO = new ViTConfig(32, 8, 3, 64, 2, 1, 256, 10, 1, 1e-6f);

    /** The spec of a model not in the zoo (timm's eval transform at its size). */
    static ModelSpec spec(String name, io.vitq.model.Architecture a) {
        return new ModelSpec(name, a, io.vitq.data.Preprocessing.timm(a.imgSize(), a instanceof ViTConfig));
    }

    /**
     * The brief's hand-made plan: qkv in 3 row blocks, patch_embed per output channel, the other
     * weights per tensor, 8 bits, and one op (blocks.1.mlp.fc1) overridden to 10 bits. Weight scales
     * are min-max times {@code shrink}, so that codes also clamp; inputs and matmuls get plausible
     * quantizers of every kind so that the whole plan goes through the metadata.
     */
    static QuantPlan handMadePlan(Model model, float shrink) {
        Map<String, LinearQuant> ops = new LinkedHashMap<>();
        for (Linear l : model.linears()) {
            Granularity g = l.id().endsWith("attn.qkv") ? Granularity.ROW_BLOCKS
                    : l.id().equals("patch_embed.proj") ? Granularity.PER_OUTPUT_CHANNEL : Granularity.PER_TENSOR;
            int n = g == Granularity.ROW_BLOCKS ? 3 : g == Granularity.PER_OUTPUT_CHANNEL ? l.out() : 1;
            float[] max = ScaledRanges.maxAbsRows(l.id(), g, n, l.weight(), l.out(), l.in());
            float[] scales = new float[n];
            for (int i = 0; i < n; i++) scales[i] = ScaleGrid.initScale(l.id(), max[i], 8) * shrink;
            OperandQuant in = l.id().equals("patch_embed.proj") ? null
                    : l.id().endsWith("mlp.fc2") ? TwinGeluOperand.withDefaultNegativeStep(8, 0.021f)
                    : UniformOperand.perTensor(8, 0.05f);
            ops.put(l.id(), new LinearQuant(new UniformOperand(8, g, scales), in));
        }
        QuantPlan plan = new QuantPlan(new PlanInfo("micro", "handmade", 8, 8, "cosine", "none", null, "test",
                Map.of("shrink", Float.toString(shrink))), ops);
        for (var a : model.attentionOps()) {
            int h = a.spec().heads();
            plan = plan.with(a.matmul1Id(), new MatmulQuant(new UniformOperand(8, Granularity.PER_HEAD, filled(h, 0.1f)),
                    new UniformOperand(8, Granularity.PER_HEAD, filled(h, 0.2f))));
            plan = plan.with(a.matmul2Id(), new MatmulQuant(new TwinSoftmaxOperand(8, 0x1p-4f, TwinSoftmaxQuantizer.Mode.CLEAN),
                    new UniformOperand(8, Granularity.PER_HEAD, filled(h, 0.03f))));
        }
        LinearQuant fc1 = plan.linear("blocks.1.mlp.fc1");
        return plan.with("blocks.1.mlp.fc1", new LinearQuant(fc1.weight().withBits(10), fc1.input())); // per-op override
    }

    /** Every Linear at 8 bits, per tensor, scale max|w| / 127.5, inputs float: the simplest plan for any model. */
    static QuantPlan minMaxPlan(String name, Model model) {
        Map<String, LinearQuant> ops = new LinkedHashMap<>();
        for (Linear l : model.linears()) {
            float max = ScaledRanges.maxAbsRows(l.id(), Granularity.PER_TENSOR, 1, l.weight(), l.out(), l.in())[0];
            ops.put(l.id(), new LinearQuant(UniformOperand.perTensor(8, ScaleGrid.initScale(l.id(), max, 8)), null));
        }
        return new QuantPlan(new PlanInfo(name, "minmax", 8, 8), ops);
    }

    static float[] filled(int n, float v) {
        float[] f = new float[n];
        Arrays.fill(f, v);
        return f;
    }

    /** The source weights with every planned Linear weight fake-quantized ({@code keyOf}: op id + ".weight" → source key). */
    static Weights fakeQuantized(Weights source, Model model, QuantPlan plan, UnaryOperator<String> keyOf) {
        Map<String, Tensor> m = new LinkedHashMap<>(source.asMap());
        for (Linear l : model.linears()) {
            if (!(plan.op(l.id()) instanceof LinearQuant lq)) continue;
            String key = keyOf.apply(l.id() + ".weight");
            Tensor t = source.asMap().get(key);
            float[] fq = new float[t.size()];
            UniformOperand w = lq.weight();
            ScaledRanges.fakeQuantRows(w, l.id(), t.data(), l.out(), l.in(), fq);
            m.put(key, new Tensor(fq, t.shape()));
        }
        return new Weights(source.source() + " (fake-quantized)", m);
    }

    static Map<String, Linear> linears(Model m) {
        Map<String, Linear> out = new HashMap<>();
        for (Linear l : m.linears()) out.put(l.id(), l);
        return out;
    }

    /**
     * Logits of a and b on x, compared bit for bit on their first forwards: the kernels give the
     * same bits in the interpreter, C1 and C2 (JitTiersTest), so no warm-up is needed, and a
     * repeated forward gives the same bits again.
     */
    static void assertSameLogits(Model a, Model b, Tensor x) {
        float[] la = a.forward(x, FloatExecutor.INSTANCE).data();
        float[] lb = b.forward(x, FloatExecutor.INSTANCE).data();
        assertArrayEquals(la, lb, "logits of the loaded model and of the fake-quantized source (bitwise)");
        assertArrayEquals(la, a.forward(x, FloatExecutor.INSTANCE).data(), "a repeated forward (bitwise)");
    }

    static Tensor randomImages(int n, int size, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * 3 * size * size];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return new Tensor(x, n, 3, size, size);
    }

    @Test
    void microVitRoundTripsBitExactly() throws IOException {
        Weights source = RandomWeights.vit(MICRO, 3);
        Model model = spec("micro", MICRO).build(source);
        QuantPlan plan = handMadePlan(model, 0.8f);
        Path file = tmp.resolve("micro.q.safetensors");
        QuantizedModelFile.write(file, model.spec(), source, plan);

        // the layout: codes in the checkpoint's shapes, I8 at 8 bits and I16 at 10, F32 scales, F32 rest
        SafeTensors st = SafeTensors.read(file);
        assertEquals(QuantizedModelFile.FORMAT, st.metadata().get("vitq.format"));
        assertEquals("2", st.metadata().get("vitq.format_version"));
        assertEquals("micro", st.metadata().get("vitq.model"));
        assertEquals(model.spec(), ModelSpecJson.parse(st.metadata().get("vitq.model_spec"), "test"));
        assertEquals(DType.I8, st.get("patch_embed.proj.weight").dtype());
        assertArrayEquals(new int[] {64, 3, 8, 8}, st.get("patch_embed.proj.weight").shape());
        assertArrayEquals(new int[] {64}, st.get("patch_embed.proj.weight_scale").shape());
        assertArrayEquals(new int[] {3}, st.get("blocks.0.attn.qkv.weight_scale").shape());
        assertArrayEquals(new int[] {1}, st.get("head.weight_scale").shape());
        assertEquals(DType.I8, st.get("blocks.1.mlp.fc2.weight").dtype());
        assertEquals(DType.I16, st.get("blocks.1.mlp.fc1.weight").dtype());
        assertArrayEquals(new int[] {256, 64}, st.get("blocks.1.mlp.fc1.weight").shape());
        assertEquals(DType.F32, st.get("blocks.1.mlp.fc1.bias").dtype());
        assertEquals(DType.F32, st.get("pos_embed").dtype());
        assertTrue(Arrays.stream(st.get("blocks.1.mlp.fc1.weight").toLongs()).anyMatch(c -> Math.abs(c) > 127),
                "10-bit codes use more than 8 bits");

        ModelLoader.Loaded loaded = ModelLoader.load(file.toString(), null);
        assertTrue(loaded.quantized());
        assertEquals("micro", loaded.model().name());
        assertEquals(file, loaded.checkpoint());
        // (3) the plan round-trips
        assertEquals(plan, loaded.plan());
        assertEquals(plan, QuantizedModelFile.readHeader(file).plan());
        assertTrue(loaded.notes().get(0).contains("handmade") && loaded.notes().get(0).contains("1 at 10 bits"), loaded.notes().toString());

        // (1) every quantized weight equals its fake quantization; -0.0 reads back as +0.0, nothing else differs
        Weights fq = fakeQuantized(source, model, plan, UnaryOperator.identity());
        Map<String, Linear> got = linears(loaded.model());
        int negativeZeros = 0;
        for (Linear l : model.linears()) {
            float[] expected = fq.asMap().get(l.id() + ".weight").data(), actual = got.get(l.id()).weight();
            assertEquals(expected.length, actual.length, l.id());
            for (int i = 0; i < expected.length; i++) {
                if (Float.floatToRawIntBits(expected[i]) == Float.floatToRawIntBits(actual[i])) continue;
                assertTrue(expected[i] == 0f && actual[i] == 0f && Float.floatToRawIntBits(actual[i]) == 0,
                        l.id() + "[" + i + "]: " + expected[i] + " read back as " + actual[i]);
                negativeZeros++;
            }
        }
        assertTrue(negativeZeros > 0, "the sample has weights that fake-quantize to -0.0 (the one documented difference)");

        // (2) every other tensor is stored unchanged
        for (String name : source.names()) {
            if (plan.op(name.replaceFirst("\\.weight$", "")) instanceof LinearQuant && name.endsWith(".weight")) continue;
            assertArrayEquals(source.asMap().get(name).data(), st.get(name).toFloats(), name);
            assertArrayEquals(source.asMap().get(name).shape(), st.get(name).shape(), name);
        }
        // ... and the whole model computes what the fake-quantized source computes
        assertSameLogits(loaded.model(), spec("micro", MICRO).build(fq), randomImages(2, 32, 4));
    }

    /**
     * A ViT with timm's norm_pre (the CLIP fine-tunes: no patch-embedding bias either) is written as
     * version 8, so that a reader of versions 1 to 7 refuses it instead of running it without that
     * LayerNorm; it round-trips, and a version that does not say it is refused.
     */
    @Test
    void aPreNormVitIsVersionEightAndRoundTrips() throws IOException {
        ViTConfig clip = MICRO.withEps(1e-5f).withPreNorm(true);
        Weights source = RandomWeights.vit(clip, 5);
        assertTrue(source.has("norm_pre.weight") && !source.has("patch_embed.proj.bias"));
        Model model = spec("micro_clip", clip).build(source);
        QuantPlan plan = minMaxPlan("micro_clip", model);
        Path file = tmp.resolve("clip.q.safetensors");
        QuantizedModelFile.write(file, model.spec(), source, plan);
        SafeTensors st = SafeTensors.read(file);
        assertEquals(Integer.toString(QuantizedModelFile.PRE_NORM_VERSION), st.metadata().get("vitq.format_version"));
        assertTrue(st.metadata().get("vitq.model_spec").contains("\"pre_norm\":true"), st.metadata().get("vitq.model_spec"));
        ModelLoader.Loaded loaded = ModelLoader.load(file.toString(), null);
        assertEquals(model.spec(), loaded.model().spec());
        assertSameLogits(loaded.model(), spec("micro_clip", clip).build(fakeQuantized(source, model, plan, UnaryOperator.identity())),
                randomImages(2, 32, 6));
        // labelled as any earlier version (what a reader of those could be given): refused, naming the version and why
        for (int v : new int[] {QuantizedModelFile.VERSION, QuantizedModelFile.PAIRS_VERSION}) {
            Path older = rewrite(file, tmp.resolve("clip" + v + ".q.safetensors"), t -> {},
                    m -> m.put(QuantizedModelFile.META_VERSION, Integer.toString(v)));
            assertTrue(loadError(older).getMessage().contains("format version " + v + " with a ViT with norm_pre"),
                    loadError(older).getMessage());
        }
    }

    @Test
    void eightBitFileIsUnderAQuarterOfFloat32() throws IOException {
        // dim 128: the Linear weights are ~97 % of the parameters, as in every published ViT
        ViTConfig c = new ViTConfig(32, 8, 3, 128, 2, 2, 512, 10, 1, 1e-6f);
        Weights source = RandomWeights.vit(c, 5);
        Model model = spec("wide", c).build(source);
        QuantPlan plan = minMaxPlan("wide", model);
        Path q = tmp.resolve("wide.q.safetensors"), f32 = tmp.resolve("wide.f32.safetensors");
        QuantizedModelFile.write(q, model.spec(), source, plan);
        SafeTensors.writeF32(f32, source.asMap(), Map.of());
        double ratio = (double) Files.size(q) / Files.size(f32);
        System.out.printf(Locale.ROOT, "quantized model file, micro ViT dim 128: %d / %d bytes = %.4f of F32%n",
                Files.size(q), Files.size(f32), ratio);
        assertTrue(ratio < 1 / 3.5, "ratio " + ratio);
    }

    @Test
    void legacySwinIsStoredUnderCurrentNamesAndLoadsBack() throws IOException {
        SwinConfig c = SwinConfig.of(56, 7, 16, new int[] {2, 2}, new int[] {1, 2}).withClasses(3);
        Weights source = SwinCheckpoint.random(c, 6, true);
        assertTrue(source.has("layers.0.downsample.reduction.weight") && source.has("head.weight"));
        Model model = spec("swin_micro", c).build(source);
        QuantPlan plan = minMaxPlan("swin_micro", model);
        LinearQuant qkv = plan.linear("layers.1.blocks.0.attn.qkv");
        float s = qkv.weight().scale(0);
        plan = plan.with("layers.1.blocks.0.attn.qkv", new LinearQuant(new UniformOperand(8, Granularity.ROW_BLOCKS,
                new float[] {s, s / 2, s / 3}), null));
        Path file = tmp.resolve("swin_micro.q.safetensors");
        QuantizedModelFile.write(file, model.spec(), source, plan);

        SafeTensors st = SafeTensors.read(file);
        assertTrue(st.has("layers.1.downsample.reduction.weight") && st.has("layers.1.downsample.norm.weight"));
        assertTrue(st.has("head.fc.weight") && st.has("head.fc.weight_scale"));
        assertFalse(st.has("layers.0.downsample.reduction.weight") || st.has("head.weight"));
        assertTrue(st.tensors().keySet().stream().noneMatch(k -> k.endsWith("attn_mask") || k.endsWith("relative_position_index")));

        ModelLoader.Loaded loaded = ModelLoader.load(file.toString(), null);
        assertEquals(plan, loaded.plan());
        assertTrue(loaded.notes().stream().noneMatch(n -> n.startsWith("ignored")), loaded.notes().toString());
        SwinCheckpoint legacy = SwinCheckpoint.of(source);
        Weights fq = fakeQuantized(source, model, plan, legacy::key);
        assertSameLogits(loaded.model(), spec("swin_micro", c).build(fq), randomImages(1, 56, 7));
    }

    /** The shipped ViT-Ti: written under its zoo name, read back with no other file, same logits as fake quantization. */
    @Test
    void demoVitTinyRoundTrips() throws IOException {
        Weights source = ModelLoader.readWeights(TestData.VIT_TINY);
        Model model = ModelZoo.get("vit_tiny_patch16_224").build(source);
        QuantPlan plan = minMaxPlan("vit_tiny_patch16_224", model);
        Path file = tmp.resolve("vit_tiny_w8.safetensors");
        QuantizedModelFile.write(file, model.spec(), source, plan);
        System.out.printf(Locale.ROOT, "quantized model file, ViT-Ti W8 per-tensor: %d / %d bytes = %.4f of the F32 checkpoint%n",
                Files.size(file), Files.size(TestData.VIT_TINY), (double) Files.size(file) / Files.size(TestData.VIT_TINY));
        assertTrue(Files.size(file) * 3.5 < Files.size(TestData.VIT_TINY));

        ModelLoader.Loaded loaded = ModelLoader.load(file.toString(), null);
        assertEquals("vit_tiny_patch16_224", loaded.model().name());
        assertEquals(plan, loaded.plan());
        assertEquals(model.parameterCount(), loaded.model().parameterCount());
        assertEquals(model.preprocessing().describe(), loaded.model().preprocessing().describe());
        Model fq = model.spec().build(fakeQuantized(source, model, plan, UnaryOperator.identity()));
        assertSameLogits(loaded.model(), fq, randomImages(2, 224, 8));

        // a zoo name with the file is accepted when it agrees, refused when it does not
        assertEquals(plan, ModelLoader.load("vit_tiny_patch16_224", file).plan());
        ModelException e = assertThrows(ModelException.class, () -> ModelLoader.load("deit_tiny_patch16_224", file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("vit_tiny_patch16_224"), e.getMessage());
        assertNull(ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).plan(), "a float checkpoint has no plan");
    }

    // ---------------------------------------------------------------- damaged files

    /** Writes {@code src} again with its tensors and metadata edited. */
    static Path rewrite(Path src, Path dst, Consumer<Map<String, SafeTensors.Entry>> editTensors,
                        Consumer<Map<String, String>> editMeta) throws IOException {
        SafeTensors st = SafeTensors.read(src);
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>();
        st.tensors().forEach((name, raw) -> t.put(name, new SafeTensors.Entry(raw.dtype(), raw.shape(),
                b -> b.put(raw.bytes().duplicate()))));
        Map<String, String> meta = new LinkedHashMap<>(st.metadata());
        editTensors.accept(t);
        editMeta.accept(meta);
        SafeTensors.write(dst, t, meta);
        return dst;
    }

    CheckpointException loadError(Path file) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelLoader.load(file.toString(), null));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    /**
     * Asymmetric 4-bit weights are stored packed (version 4: two codes a byte, each row's codes from its
     * lowest), read back as their fake quantization. A version 2 file of the same weights, whose codes are
     * I8 relative to each row's zero point (as vitq wrote them before packing), loads to the same weights,
     * and a code outside its row's range there is refused naming the tensor.
     */
    @Test
    void asymmetricWeightsRoundTripPackedAndAsTheirOlderI8Codes() throws IOException {
        Weights source = RandomWeights.vit(MICRO, 5);
        Model model = spec("micro", MICRO).build(source);
        Map<String, LinearQuant> ops = new LinkedHashMap<>();
        for (Linear l : model.linears())
            ops.put(l.id(), new LinearQuant(io.vitq.testutil.MinMaxPlans.asymmetricWeight(l, Granularity.PER_OUTPUT_CHANNEL, 4, 0.9f), null));
        QuantPlan plan = new QuantPlan(new PlanInfo("micro", "minmax", 4, 8), ops);
        Path file = tmp.resolve("asym.q.safetensors");
        QuantizedModelFile.write(file, model.spec(), source, plan);
        SafeTensors st = SafeTensors.read(file);
        assertEquals("4", st.metadata().get(QuantizedModelFile.META_VERSION));
        assertEquals(DType.U8, st.get("blocks.0.mlp.fc1.weight").dtype());
        assertArrayEquals(new int[] {256, 32}, st.get("blocks.0.mlp.fc1.weight").shape(), "64 codes of 4 bits a row: 32 bytes");
        assertArrayEquals(new int[] {64, 96}, st.get("patch_embed.proj.weight").shape(), "3 x 8 x 8 codes a row");
        assertTrue(st.metadata().get(QuantizedModelFile.META_PACKED).contains("\"patch_embed.proj.weight\":[64,3,8,8]"),
                st.metadata().get(QuantizedModelFile.META_PACKED));
        ModelLoader.Loaded loaded = ModelLoader.load(file.toString(), null);
        assertEquals(plan, loaded.plan());
        Weights fq = fakeQuantized(source, model, plan, UnaryOperator.identity());
        Map<String, Linear> got = linears(loaded.model());
        for (Linear l : model.linears())
            assertArrayEquals(fq.asMap().get(l.id() + ".weight").data(), got.get(l.id()).weight(), 0f, l.id());

        // the same weights as a version 2 file: I8 codes relative to each row's zero point
        Map<String, byte[]> i8 = new LinkedHashMap<>();
        for (Linear l : model.linears())
            i8.put(l.id(), ScaledRanges.codesRows(plan.linear(l.id()).weight(), l.id(), source.asMap().get(l.id() + ".weight").data(),
                    l.out(), l.in()));
        Consumer<Map<String, String>> v2 = m -> {
            m.put(QuantizedModelFile.META_VERSION, "2");
            m.remove(QuantizedModelFile.META_PACKED);
        };
        Path legacy = rewrite(file, tmp.resolve("asym.v2.safetensors"), t -> {
            for (Linear l : model.linears())
                t.put(l.id() + ".weight", SafeTensors.Entry.i8(i8.get(l.id()), source.asMap().get(l.id() + ".weight").shape()));
        }, v2);
        assertTrue(Arrays.stream(SafeTensors.read(legacy).get("blocks.0.mlp.fc1.weight").toLongs()).anyMatch(c -> c > 7 || c < -8),
                "codes relative to the zero points leave the signed 4-bit range");
        Map<String, Linear> old = linears(ModelLoader.load(legacy.toString(), null).model());
        for (Linear l : model.linears()) assertArrayEquals(got.get(l.id()).weight(), old.get(l.id()).weight(), 0f, l.id());

        UniformOperand w = plan.linear("blocks.0.mlp.fc1").weight();
        int row = 0;
        while (w.zeroPoint(row) == 0) row++;   // a row whose lowest code is below zero
        byte[] codes = i8.get("blocks.0.mlp.fc1").clone();
        int index = row * 64, bad = -w.zeroPoint(row) - 1;
        codes[index] = (byte) bad;
        Path range = rewrite(legacy, tmp.resolve("asymrange.safetensors"),
                t -> t.put("blocks.0.mlp.fc1.weight", SafeTensors.Entry.i8(codes, 256, 64)), m -> {});
        String m = loadError(range).getMessage();
        assertTrue(m.contains("'blocks.0.mlp.fc1.weight'") && m.contains("code " + bad + " at index " + index)
                && m.contains("zero point"), m);

        // damaged packed files
        Path noShapes = rewrite(file, tmp.resolve("noshapes.safetensors"), t -> {}, meta -> meta.remove(QuantizedModelFile.META_PACKED));
        assertTrue(loadError(noShapes).getMessage().contains("format version 4 without metadata 'vitq.packed_codes'"),
                loadError(noShapes).getMessage());
        Path packedV2 = rewrite(file, tmp.resolve("packedv2.safetensors"), t -> {}, meta -> meta.put(QuantizedModelFile.META_VERSION, "2"));
        assertTrue(loadError(packedV2).getMessage().contains("format version 2 with metadata 'vitq.packed_codes'"),
                loadError(packedV2).getMessage());
        Path future = rewrite(file, tmp.resolve("v9.safetensors"), t -> {}, meta -> meta.put(QuantizedModelFile.META_VERSION, "9"));
        assertTrue(loadError(future).getMessage().contains("version 9, this vitq reads versions 1 to 8"), loadError(future).getMessage());
        Path v8 = rewrite(file, tmp.resolve("v8.safetensors"), t -> {}, meta -> meta.put(QuantizedModelFile.META_VERSION, "8"));
        assertTrue(loadError(v8).getMessage().contains("format version 8 without a ViT with norm_pre"), loadError(v8).getMessage());
        Path v6 = rewrite(file, tmp.resolve("v6.safetensors"), t -> {}, meta -> meta.put(QuantizedModelFile.META_VERSION, "6"));
        assertTrue(loadError(v6).getMessage().contains("format version 6 without a weight on a table of levels"), loadError(v6).getMessage());
        Path v5 = rewrite(file, tmp.resolve("v5.safetensors"), t -> {}, meta -> meta.put(QuantizedModelFile.META_VERSION, "5"));
        assertTrue(loadError(v5).getMessage().contains("format version 5 without every block input rotated"), loadError(v5).getMessage());
        Path asI8 = rewrite(file, tmp.resolve("asi8.safetensors"),
                t -> t.put("blocks.0.mlp.fc1.weight", SafeTensors.Entry.i8(i8.get("blocks.0.mlp.fc1"), 256, 64)), meta -> {});
        m = loadError(asI8).getMessage();
        assertTrue(m.contains("'blocks.0.mlp.fc1.weight' is I8, expected U8 packed codes of a 4-bit weight"), m);
        Path narrow = rewrite(file, tmp.resolve("narrow.safetensors"),
                t -> t.put("blocks.0.mlp.fc1.weight", SafeTensors.Entry.u8(new byte[256 * 31], 256, 31)), meta -> {});
        m = loadError(narrow).getMessage();
        assertTrue(m.contains("'blocks.0.mlp.fc1.weight' has shape [256, 31], expected [256, 32]"), m);
        String shapes = st.metadata().get(QuantizedModelFile.META_PACKED);
        Path alien = rewrite(file, tmp.resolve("alien.safetensors"), t -> {},
                meta -> meta.put(QuantizedModelFile.META_PACKED, shapes.replace("{", "{\"norm.weight\":[64,1],")));
        assertTrue(loadError(alien).getMessage().contains("'norm.weight' is listed in metadata 'vitq.packed_codes' but is not a weight"),
                loadError(alien).getMessage());
        Path notJson = rewrite(file, tmp.resolve("notjson.safetensors"), t -> {}, meta -> meta.put(QuantizedModelFile.META_PACKED, "{"));
        assertTrue(loadError(notJson).getMessage().contains("metadata 'vitq.packed_codes'): not JSON"), loadError(notJson).getMessage());
        Path badDim = rewrite(file, tmp.resolve("baddim.safetensors"), t -> {},
                meta -> meta.put(QuantizedModelFile.META_PACKED, shapes.replace("[256,64]", "[256,-64]")));
        assertTrue(loadError(badDim).getMessage().contains("has dimension -64, expected a positive integer"), loadError(badDim).getMessage());
    }

    /**
     * Weights on a table of levels (format version 6): each weight's 4-bit index packed, the table in the plan;
     * read back as the fake-quantized weights, and every damaged case named.
     */
    @Test
    void levelledWeightsRoundTripAsPackedIndices() throws IOException {
        Weights source = RandomWeights.vit(MICRO, 7);
        Model model = spec("micro", MICRO).build(source);
        int[] twelve = Arrays.copyOfRange(io.vitq.testutil.MinMaxPlans.LEVELS16, 2, 14);   // fewer levels than 4 bits index
        Map<String, LinearQuant> ops = new LinkedHashMap<>();
        for (Linear l : model.linears())
            ops.put(l.id(), new LinearQuant(io.vitq.testutil.MinMaxPlans.levelledWeight(l, 4,
                    l.id().equals("blocks.0.mlp.fc1") ? twelve : io.vitq.testutil.MinMaxPlans.LEVELS16, 0.9f), null));
        QuantPlan plan = new QuantPlan(new PlanInfo("micro", "minmax", 4, 8), ops);
        Path file = tmp.resolve("levels.q.safetensors");
        Map<String, Linear> got = assertRoundTripOfFourBitTables(file, model, source, plan, "6");
        SafeTensors st = SafeTensors.read(file);
        for (Linear l : model.linears()) {
            float[] w = got.get(l.id()).weight();
            UniformOperand wq = plan.linear(l.id()).weight();
            for (int r = 0; r < l.out(); r++)
                for (int c = 0; c < l.in(); c++)
                    assertTrue(wq.levelIndex(Math.round(w[r * l.in() + c] / wq.scale(r))) >= 0, l.id() + " decodes to a level");
        }

        // damaged: an index past fc1's twelve levels, a version that does not say levels, the packing missing
        byte[] packed = new byte[256 * 32];
        st.get("blocks.0.mlp.fc1.weight").bytes().duplicate().get(packed);
        packed[32] = (byte) ((packed[32] & 0xF0) | 13);   // row 1, column 0: index 13 of 12 levels
        Path past = rewrite(file, tmp.resolve("past.safetensors"),
                t -> t.put("blocks.0.mlp.fc1.weight", SafeTensors.Entry.u8(packed, 256, 32)), meta -> {});
        String m = loadError(past).getMessage();
        assertTrue(m.contains("'blocks.0.mlp.fc1.weight' row 1: index 13 at column 0 is past its 12 levels"), m);
        Path v4 = rewrite(file, tmp.resolve("levelsv4.safetensors"), t -> {}, meta -> meta.put(QuantizedModelFile.META_VERSION, "4"));
        m = loadError(v4).getMessage();
        assertTrue(m.contains("format version 4 with a weight on a table of levels in metadata 'vitq.plan' (version 6 exactly then)"), m);
        Path unpacked = rewrite(file, tmp.resolve("unpacked.safetensors"), t -> {}, meta -> meta.remove(QuantizedModelFile.META_PACKED));
        m = loadError(unpacked).getMessage();
        assertTrue(m.contains("has a table of levels in its plan but is not listed in metadata 'vitq.packed_codes'"), m);
    }

    /**
     * Weights on a table of code pairs (format version 7): each pair of columns' 8-bit index packed, the table
     * in the plan; read back as the fake-quantized weights, and every damaged case named. One Linear keeps a
     * table of levels beside them.
     */
    @Test
    void pairedWeightsRoundTripAsPackedIndices() throws IOException {
        Weights source = RandomWeights.vit(MICRO, 8);
        Model model = spec("micro", MICRO).build(source);
        int[] flat = Arrays.copyOf(io.vitq.testutil.MinMaxPlans.PAIRS256.flat(), 2 * 200);   // fewer pairs than 8 bits index
        io.vitq.quant.CodePairs fewer = new io.vitq.quant.CodePairs(4, flat);
        Map<String, LinearQuant> ops = new LinkedHashMap<>();
        for (Linear l : model.linears())
            ops.put(l.id(), new LinearQuant(l.id().equals("head") ? io.vitq.testutil.MinMaxPlans.levelledWeight(l, 4,
                    io.vitq.testutil.MinMaxPlans.LEVELS16, 0.9f) : io.vitq.testutil.MinMaxPlans.pairedWeight(l,
                    l.id().equals("blocks.0.mlp.fc1") ? fewer : io.vitq.testutil.MinMaxPlans.PAIRS256, 0.9f), null));
        QuantPlan plan = new QuantPlan(new PlanInfo("micro", "minmax", 4, 8), ops);
        Path file = tmp.resolve("pairs.q.safetensors");
        Map<String, Linear> got = assertRoundTripOfFourBitTables(file, model, source, plan, "7");   // 32 indices of 8 bits a row
        SafeTensors st = SafeTensors.read(file);
        for (Linear l : model.linears()) {
            float[] w = got.get(l.id()).weight();
            UniformOperand wq = plan.linear(l.id()).weight();
            for (int r = 0; r < l.out() && wq.hasPairs(); r++)
                for (int c = 0; c < l.in(); c += 2)
                    assertTrue(wq.pairs().indexOf(Math.round(w[r * l.in() + c] / wq.scale(r)), Math.round(w[r * l.in() + c + 1] / wq.scale(r))) >= 0,
                            l.id() + " decodes to pairs");
        }

        // damaged: an index past fc1's 200 pairs, versions that do not say pairs, the packing missing
        byte[] packed = new byte[256 * 32];
        st.get("blocks.0.mlp.fc1.weight").bytes().duplicate().get(packed);
        packed[32 + 3] = (byte) 230;   // row 1, columns 6 and 7: index 230 of 200 pairs
        Path past = rewrite(file, tmp.resolve("past.safetensors"),
                t -> t.put("blocks.0.mlp.fc1.weight", SafeTensors.Entry.u8(packed, 256, 32)), meta -> {});
        String m = loadError(past).getMessage();
        assertTrue(m.contains("'blocks.0.mlp.fc1.weight' row 1: index 230 at columns 6 and 7 is past its 200 pairs"), m);
        Path v6 = rewrite(file, tmp.resolve("pairsv6.safetensors"), t -> {}, meta -> meta.put(QuantizedModelFile.META_VERSION, "6"));
        m = loadError(v6).getMessage();
        assertTrue(m.contains("format version 6 with a weight on a table of pairs in metadata 'vitq.plan' (version 7 exactly then)"), m);
        Path unpacked = rewrite(file, tmp.resolve("unpacked.safetensors"), t -> {}, meta -> meta.remove(QuantizedModelFile.META_PACKED));
        m = loadError(unpacked).getMessage();
        assertTrue(m.contains("has a table of pairs in its plan but is not listed in metadata 'vitq.packed_codes'"), m);
    }

    /**
     * Writes {@code plan}'s 4-bit model to {@code file} and loads it back: the format version, fc1's packed
     * U8 tensor (32 bytes a row of 64 weights), the plan, and every weight equal to its fake quant; returns
     * the loaded Linears by id.
     */
    private static Map<String, Linear> assertRoundTripOfFourBitTables(Path file, Model model, Weights source, QuantPlan plan,
                                                                    String version) throws IOException {
        QuantizedModelFile.write(file, model.spec(), source, plan);
        SafeTensors st = SafeTensors.read(file);
        assertEquals(version, st.metadata().get(QuantizedModelFile.META_VERSION));
        assertEquals(DType.U8, st.get("blocks.0.mlp.fc1.weight").dtype());
        assertArrayEquals(new int[] {256, 32}, st.get("blocks.0.mlp.fc1.weight").shape(), "64 weights of 4 bits a row: 32 bytes");
        ModelLoader.Loaded loaded = ModelLoader.load(file.toString(), null);
        assertEquals(plan, loaded.plan());
        Weights fq = fakeQuantized(source, model, plan, UnaryOperator.identity());
        Map<String, Linear> got = linears(loaded.model());
        for (Linear l : model.linears()) assertArrayEquals(fq.asMap().get(l.id() + ".weight").data(), got.get(l.id()).weight(), 0f, l.id());
        return got;
    }

    /** Only codes below 8 bits are packed: an 8-bit weight listed as packed is refused. */
    @Test
    void anEightBitWeightListedAsPackedIsRefused() throws IOException {
        Weights source = RandomWeights.vit(MICRO, 6);
        Model model = spec("micro", MICRO).build(source);
        Map<String, LinearQuant> ops = new LinkedHashMap<>();
        for (Linear l : model.linears()) {
            float max = ScaledRanges.maxAbsRows(l.id(), Granularity.PER_TENSOR, 1, l.weight(), l.out(), l.in())[0];
            ops.put(l.id(), new LinearQuant(l.id().equals("head") ? UniformOperand.perTensor(8, ScaleGrid.initScale(l.id(), max, 8))
                    : io.vitq.testutil.MinMaxPlans.asymmetricWeight(l, Granularity.PER_OUTPUT_CHANNEL, 6, 0.9f), null));
        }
        QuantPlan plan = new QuantPlan(new PlanInfo("micro", "minmax", 6, 8), ops);
        Path file = tmp.resolve("w6.q.safetensors");
        QuantizedModelFile.write(file, model.spec(), source, plan);
        SafeTensors st = SafeTensors.read(file);
        assertEquals(DType.I8, st.get("head.weight").dtype(), "8-bit codes fill their bytes: not packed");
        assertArrayEquals(new int[] {256, 48}, st.get("blocks.0.mlp.fc1.weight").shape(), "64 codes of 6 bits: 48 bytes");
        Weights fq = fakeQuantized(source, model, plan, UnaryOperator.identity());
        Map<String, Linear> got = linears(ModelLoader.load(file.toString(), null).model());
        for (Linear l : model.linears())
            assertArrayEquals(fq.asMap().get(l.id() + ".weight").data(), got.get(l.id()).weight(), 0f, l.id());
        String shapes = st.metadata().get(QuantizedModelFile.META_PACKED);
        Path eight = rewrite(file, tmp.resolve("eight.safetensors"), t -> {},
                meta -> meta.put(QuantizedModelFile.META_PACKED, shapes.replace("{", "{\"head.weight\":[10,64],")));
        assertTrue(loadError(eight).getMessage().contains("'head.weight' is listed as packed, but its plan gives it 8 bits"),
                loadError(eight).getMessage());
    }

    @Test
    void damagedFilesNameTheFileAndTheTensor() throws IOException {
        Weights source = RandomWeights.vit(MICRO, 9);
        Model model = spec("micro", MICRO).build(source);
        QuantPlan plan = handMadePlan(model, 1f);
        Path good = tmp.resolve("micro.q.safetensors");
        QuantizedModelFile.write(good, model.spec(), source, plan);
        Consumer<Map<String, String>> sameMeta = m -> {};

        Path noScale = rewrite(good, tmp.resolve("noscale.safetensors"), t -> t.remove("blocks.0.attn.qkv.weight_scale"), sameMeta);
        assertTrue(loadError(noScale).getMessage().contains("'blocks.0.attn.qkv.weight_scale' missing"));
        // the header alone (vitq inspect) refuses it too
        String h = assertThrows(CheckpointException.class, () -> QuantizedModelFile.readHeader(noScale)).getMessage();
        assertTrue(h.contains("'blocks.0.attn.qkv.weight_scale' missing"), h);

        Path noCodes = rewrite(good, tmp.resolve("nocodes.safetensors"), t -> t.remove("head.weight"), sameMeta);
        assertTrue(loadError(noCodes).getMessage().contains("'head.weight' missing"));
        h = assertThrows(CheckpointException.class, () -> QuantizedModelFile.readHeader(noCodes)).getMessage();
        assertTrue(h.contains("'head.weight' missing"), h);

        float[] asFloats = SafeTensors.read(good).get("blocks.0.mlp.fc1.weight").toFloats();
        Path f32Codes = rewrite(good, tmp.resolve("f32codes.safetensors"),
                t -> t.put("blocks.0.mlp.fc1.weight", SafeTensors.Entry.f32(asFloats, 256, 64)), sameMeta);
        String m = loadError(f32Codes).getMessage();
        assertTrue(m.contains("'blocks.0.mlp.fc1.weight' is F32, expected I8"), m);

        short[] wide = new short[256 * 64];
        Path i16Codes = rewrite(good, tmp.resolve("i16codes.safetensors"),
                t -> t.put("blocks.0.mlp.fc1.weight", SafeTensors.Entry.i16(wide, 256, 64)), sameMeta);
        assertTrue(loadError(i16Codes).getMessage().contains("'blocks.0.mlp.fc1.weight' is I16, expected I8"));

        short[] outOfRange = new short[256 * 64];
        outOfRange[7] = 600; // beyond the 10-bit codes' 511
        Path range = rewrite(good, tmp.resolve("range.safetensors"),
                t -> t.put("blocks.1.mlp.fc1.weight", SafeTensors.Entry.i16(outOfRange, 256, 64)), sameMeta);
        m = loadError(range).getMessage();
        assertTrue(m.contains("'blocks.1.mlp.fc1.weight'") && m.contains("code 600 at index 7"), m);

        Path badScale = rewrite(good, tmp.resolve("badscale.safetensors"),
                t -> t.put("head.weight_scale", SafeTensors.Entry.f32(new float[] {1f}, 1)), sameMeta);
        assertTrue(loadError(badScale).getMessage().contains("'head.weight_scale' differs from the scales"));

        Path shortScale = rewrite(good, tmp.resolve("shortscale.safetensors"),
                t -> t.put("blocks.0.attn.qkv.weight_scale", SafeTensors.Entry.f32(new float[] {1f, 1f}, 2)), sameMeta);
        m = loadError(shortScale).getMessage();
        assertTrue(m.contains("'blocks.0.attn.qkv.weight_scale' is F32 [2], expected F32 [3]"), m);

        byte[] tooFew = new byte[100 * 64];
        Path misshapen = rewrite(good, tmp.resolve("misshapen.safetensors"),
                t -> t.put("blocks.0.mlp.fc2.weight", SafeTensors.Entry.i8(tooFew, 100, 64)), sameMeta);
        m = loadError(misshapen).getMessage();
        assertTrue(m.contains("'blocks.0.mlp.fc2.weight'") && m.contains("[100, 64]"), m);

        // a plan that does not fit the model: an op the model does not have
        QuantPlan alien = plan.with("blocks.7.attn.matmul1", plan.op("blocks.0.attn.matmul1"));
        Path misfit = rewrite(good, tmp.resolve("misfit.safetensors"), t -> {},
                meta -> meta.put("vitq.plan", QuantPlanJson.toJson(alien)));
        m = loadError(misfit).getMessage();
        assertTrue(m.contains("blocks.7.attn.matmul1: no such op"), m);

        Path future = rewrite(good, tmp.resolve("future.safetensors"), t -> {}, meta -> meta.put("vitq.format_version", "3"));
        assertTrue(loadError(future).getMessage().contains("version 3"));

        // the model's spec: required from version 2, complete, consistent with the name
        Path noSpec = rewrite(good, tmp.resolve("nospec.safetensors"), t -> {}, meta -> meta.remove("vitq.model_spec"));
        assertTrue(loadError(noSpec).getMessage().contains("metadata 'vitq.model_spec' missing"), loadError(noSpec).getMessage());
        Path badSpec = rewrite(good, tmp.resolve("badspec.safetensors"), t -> {},
                meta -> meta.put("vitq.model_spec", meta.get("vitq.model_spec").replace("\"num_heads\":1,", "")));
        m = loadError(badSpec).getMessage();
        assertTrue(m.contains("vitq.model_spec") && m.contains("'num_heads' missing"), m);
        Path renamed = rewrite(good, tmp.resolve("renamed.safetensors"), t -> {}, meta -> meta.put("vitq.model", "other"));
        m = loadError(renamed).getMessage();
        assertTrue(m.contains("'vitq.model' is 'other' but 'vitq.model_spec' names 'micro'"), m);
        // a version 1 file (no spec) loads only under a zoo name, whose architecture it then takes
        Path v1 = rewrite(good, tmp.resolve("v1.safetensors"), t -> {}, meta -> {
            meta.put("vitq.format_version", "1");
            meta.remove("vitq.model_spec");
        });
        m = loadError(v1).getMessage();
        assertTrue(m.contains("format version 1 names 'micro', which is not a zoo name"), m);

        Path badJson = rewrite(good, tmp.resolve("badjson.safetensors"), t -> {}, meta -> meta.put("vitq.plan", "{"));
        assertTrue(loadError(badJson).getMessage().contains("vitq.plan"));

        CheckpointException notQuantized = assertThrows(CheckpointException.class,
                () -> QuantizedModelFile.readHeader(TestData.VIT_TINY));
        assertTrue(notQuantized.getMessage().contains("not a vitq quantized model"), notQuantized.getMessage());
    }

    @Test
    void aPlanForAnotherModelIsRefusedBeforeWriting() {
        Weights source = RandomWeights.vit(MICRO, 10);
        Model model = spec("micro", MICRO).build(source);
        QuantPlan plan = handMadePlan(model, 1f).with("blocks.5.attn.proj", new LinearQuant(UniformOperand.perTensor(8, 1f), null));
        Path out = tmp.resolve("never.safetensors");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QuantizedModelFile.write(out, model.spec(), source, plan));
        assertTrue(e.getMessage().contains("blocks.5.attn.proj: no such op"), e.getMessage());
        assertFalse(Files.exists(out));
    }
}
