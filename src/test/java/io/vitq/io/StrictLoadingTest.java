package io.vitq.io;

import io.vitq.data.Interpolation;
import io.vitq.data.Preprocessing;
import io.vitq.model.Model;
import io.vitq.model.ModelException;
import io.vitq.model.RandomWeights;
import io.vitq.model.SwinCheckpoint;
import io.vitq.model.SwinConfig;
import io.vitq.model.ViTConfig;
import io.vitq.model.Weights;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading is exact or refused: nothing that changes results is guessed (the head count and the
 * preprocessing of a bare checkpoint file), and every tensor must fit the architecture (a missing,
 * left-over or inconsistent tensor is an error naming it), as timm's {@code strict=True}.
 */
class StrictLoadingTest {
    @TempDir
    Path tmp;

    /** A DeiT-style micro ViT with head dim 32: a 64-dim guess would run it with one head, silently wrong. */
    static final ViTConfig HEAD_DIM_32 = new ViTConfig(32, 8, 3, 64, 2, 2, 128, 10, 1, 1e-6f);

    static final ModelOverrides IMAGENET_EVAL = new ModelOverrides(null, null, null, null, Preprocessing.IMAGENET_MEAN,
            Preprocessing.IMAGENET_STD, 0.875, Interpolation.BILINEAR);

    private Path save(String name, Weights w, Consumer<Map<String, Tensor>> edit) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>(w.asMap());
        edit.accept(m);
        Path f = tmp.resolve(name);
        SafeTensors.writeF32(f, m, Map.of());
        return f;
    }

    private static ModelOverrides withHeads(ModelOverrides o, int heads) {
        return new ModelOverrides(heads, o.imgSize(), o.patchSize(), o.windowSize(), o.mean(), o.std(), o.cropPct(),
                o.interpolation());
    }

    /** A zoo name finds its own checkpoints on the search path, not another model's or vitq's outputs named after it. */
    @Test
    void searchPathFilesAreTheZooNameThenATagAHashOrTheExtension() {
        String n = "vit_tiny_patch16_224";
        for (String f : new String[] {n + ".safetensors", n + ".augreg_in21k_ft_in1k.safetensors", n + "-a1311bcf.pth", n + ".bin"})
            assertTrue(ModelLoader.isCheckpointOf(n, f), f);
        for (String f : new String[] {n + "_ptq4vit_w8a8.safetensors", n + ".vitq", n + ".json", n, "x" + n + ".safetensors"})
            assertFalse(ModelLoader.isCheckpointOf(n, f), f);
        assertFalse(ModelLoader.isCheckpointOf("vit_base_patch16_224", "vit_base_patch16_224_miil.pth"));
    }

    @Test
    void bareCheckpointWithoutHeadsOrPreprocessingIsRefused() throws IOException {
        Path f = save("my_deit.safetensors", RandomWeights.vit(HEAD_DIM_32, 1), m -> {});
        ModelException e = assertThrows(ModelException.class, () -> ModelLoader.load(f.toString(), null));
        String m = e.getMessage();
        for (String s : new String[] {"--heads", "--mean", "--std", "--crop-pct", "--interpolation", "--model ZOO_NAME --checkpoint " + f,
                "Hugging Face model folder", "its head count or its preprocessing"}) {
            assertTrue(m.contains(s), s + " in: " + m);
        }
        // the preprocessing alone is not enough: the head count is still unknown
        ModelException heads = assertThrows(ModelException.class, () -> ModelLoader.load(f.toString(), null, IMAGENET_EVAL));
        assertTrue(heads.getMessage().contains("its head count;") && heads.getMessage().contains("--heads N"), heads.getMessage());
        assertFalse(heads.getMessage().contains("--mean"), heads.getMessage());
        // with everything given it loads exactly that
        ModelLoader.Loaded l = ModelLoader.load(f.toString(), null, withHeads(IMAGENET_EVAL, 2));
        assertEquals(HEAD_DIM_32, l.model().spec().architecture());
        assertEquals(new Preprocessing(32, 0.875, Interpolation.BILINEAR, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD),
                l.model().preprocessing());
        assertTrue(l.notes().stream().anyMatch(n -> n.startsWith("options: ") && n.contains("--heads 2") && n.contains("--crop-pct 0.875")),
                l.notes().toString());
        assertFalse(l.notes().stream().anyMatch(n -> n.contains("over the checkpoint's own settings")), "a bare file has no settings of its own");
    }

    /** The shipped ViT-Ti as a file of another name, with its zoo entry's settings as options: the same logits. */
    @Test
    void bareCheckpointWithOptionsEqualsTheZooModel() throws IOException {
        Path f = tmp.resolve("my_model.safetensors");
        java.nio.file.Files.copy(TestData.VIT_TINY, f);
        ModelOverrides augreg = new ModelOverrides(3, null, 16, null, Preprocessing.INCEPTION_MEAN, Preprocessing.INCEPTION_STD,
                0.9, Interpolation.BICUBIC);
        Model bare = ModelLoader.load(f.toString(), null, augreg).model();
        Model zoo = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        assertEquals("my_model", bare.name());
        assertEquals(zoo.spec().architecture(), bare.spec().architecture());
        assertEquals(zoo.preprocessing(), bare.preprocessing());
        Tensor x = randomImages(1, 224);
        assertArrayEquals(zoo.forward(x).data(), bare.forward(x).data(), 0f);
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        // the case of the issue: one bias deleted used to load as a layer without bias
        Path f = save("vit_tiny_patch16_224.no_bias.safetensors", ModelLoader.readWeights(TestData.VIT_TINY),
                m -> m.remove("blocks.5.attn.proj.bias"));
        ModelException e = assertThrows(ModelException.class, () -> ModelLoader.load(f.toString(), null));
        assertTrue(e.getMessage().contains("missing tensor 'blocks.5.attn.proj.bias'"), e.getMessage());
    }

    /** A feature extractor (timm's num_classes=0: the dino and mae weights) is refused as having no classifier, ViT and Swin. */
    @Test
    void aCheckpointWithoutItsClassifierIsRefusedAsSuch() throws IOException {
        Path vit = save("vit_tiny_patch16_224.dino.safetensors", ModelLoader.readWeights(TestData.VIT_TINY), m -> {
            m.remove("head.weight");
            m.remove("head.bias");
        });
        String e = assertThrows(ModelException.class, () -> ModelLoader.load(vit.toString(), null)).getMessage();
        assertTrue(e.contains(vit + ": no classifier ('head.weight' is missing): a feature extractor"), e);
        SwinConfig c = SwinConfig.of(56, 7, 16, new int[] {2, 2}, new int[] {1, 2}).withClasses(3);
        for (boolean legacy : new boolean[] {false, true}) {
            Path swin = save("swin" + legacy + ".safetensors", SwinCheckpoint.random(c, 5, legacy), m -> {
                m.remove(legacy ? "head.weight" : "head.fc.weight");
                m.remove(legacy ? "head.bias" : "head.fc.bias");
            });
            ModelOverrides opts = new ModelOverrides(null, 56, null, 7, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD,
                    0.9, Interpolation.BICUBIC);
            String s = assertThrows(ModelException.class, () -> ModelLoader.load(swin.toString(), null, opts)).getMessage();
            assertTrue(s.contains("no classifier ('head.fc.weight (or head.weight)' is missing)"), s);
        }
    }

    @Test
    void leftOverTensorsAreNamed() throws IOException {
        Weights w = RandomWeights.vit(HEAD_DIM_32, 2);
        // qk-norm and register tokens: timm ViT options vitq does not implement
        Path f = save("extra.safetensors", w, m -> {
            m.put("reg_token", Tensor.zeros(1, 4, 64));
            m.put("blocks.1.attn.q_norm.weight", Tensor.zeros(32));
        });
        ModelException e = assertThrows(ModelException.class, () -> ModelLoader.load(f.toString(), null, withHeads(IMAGENET_EVAL, 2)));
        String m = e.getMessage();
        assertTrue(m.contains("2 tensor(s)") && m.contains("'reg_token'") && m.contains("'blocks.1.attn.q_norm.weight'"), m);
        // a zoo name does not lift it
        Path g = save("vit_tiny_patch16_224.extra.safetensors", ModelLoader.readWeights(TestData.VIT_TINY),
                t -> t.put("head_dist.weight", Tensor.zeros(1000, 192)));
        assertTrue(assertThrows(ModelException.class, () -> ModelLoader.load(g.toString(), null)).getMessage()
                .contains("'head_dist.weight'"));
    }

    @Test
    void aBiasInOneBlockOnlyIsNamed() throws IOException {
        ViTConfig noBias = new ViTConfig(32, 8, 3, 64, 3, 2, 128, 10, 1, 1e-6f, false, ViTConfig.Pooling.CLASS_TOKEN);
        Weights w = RandomWeights.vit(noBias, 3);
        assertFalse(w.has("blocks.0.attn.qkv.bias"));
        // block 2 has a qkv bias where blocks 0 and 1 have none
        Path extra = save("one_bias.safetensors", w, m -> m.put("blocks.2.attn.qkv.bias", Tensor.zeros(192)));
        String m = assertThrows(ModelException.class, () -> ModelLoader.load(extra.toString(), null, withHeads(IMAGENET_EVAL, 2)))
                .getMessage();
        assertTrue(m.contains("'blocks.2.attn.qkv.bias' is a bias that this layer does not have"), m);
        // and the reverse: blocks with biases, one without
        Weights biased = RandomWeights.vit(HEAD_DIM_32, 4);
        Path missing = save("one_missing.safetensors", biased, t -> t.remove("blocks.1.attn.qkv.bias"));
        m = assertThrows(ModelException.class, () -> ModelLoader.load(missing.toString(), null, withHeads(IMAGENET_EVAL, 2)))
                .getMessage();
        assertTrue(m.contains("missing tensor 'blocks.1.attn.qkv.bias'"), m);
        // consistently without: loads, and the architecture says so
        Path none = save("no_bias.safetensors", w, t -> {});
        ModelLoader.Loaded l = ModelLoader.load(none.toString(), null, withHeads(IMAGENET_EVAL, 2));
        assertFalse(((ViTConfig) l.model().spec().architecture()).qkvBias());
    }

    @Test
    void swinBuffersAreNotLeftOversButOtherIntegerTensorsAre() throws IOException {
        SwinConfig c = SwinConfig.of(56, 7, 16, new int[] {2, 2}, new int[] {1, 2}).withClasses(3);
        Weights w = SwinCheckpoint.random(c, 5, true);
        Map<String, SafeTensors.Entry> entries = new LinkedHashMap<>();
        w.asMap().forEach((k, t) -> entries.put(k, SafeTensors.Entry.f32(t)));
        entries.put("layers.0.blocks.0.attn.relative_position_index", i64(49, 49));
        entries.put("layers.0.blocks.1.attn_mask", SafeTensors.Entry.f32(new float[4 * 49 * 49], 4, 49, 49));
        Path f = tmp.resolve("swin.safetensors");
        SafeTensors.write(f, entries, Map.of());
        ModelOverrides opts = new ModelOverrides(null, 56, null, 7, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD,
                0.9, Interpolation.BICUBIC);
        ModelLoader.Loaded l = ModelLoader.load(f.toString(), null, opts);
        assertEquals(c, l.model().spec().architecture());
        // a Swin file without --img-size: the input size is not stored, so it is asked for
        String m = assertThrows(ModelException.class, () -> ModelLoader.load(f.toString(), null,
                new ModelOverrides(null, null, null, null, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD, 0.9,
                        Interpolation.BICUBIC))).getMessage();
        assertTrue(m.contains("its input size") && m.contains("--img-size"), m);

        entries.put("layers.0.blocks.0.attn.step", i64(1));
        Path g = tmp.resolve("swin_step.safetensors");
        SafeTensors.write(g, entries, Map.of());
        m = assertThrows(CheckpointException.class, () -> ModelLoader.load(g.toString(), null, opts)).getMessage();
        assertTrue(m.contains("'layers.0.blocks.0.attn.step' is I64"), m);
    }

    @Test
    void optionsAreCheckedAgainstWhatTheTensorsDetermine() {
        String vit = "vit_tiny_patch16_224";
        Path ck = TestData.VIT_TINY;
        assertTrue(assertThrows(ModelException.class, () -> ModelLoader.load(vit, ck, opt(null, 384, null, null)))
                .getMessage().contains("--img-size 384"));
        assertTrue(assertThrows(ModelException.class, () -> ModelLoader.load(vit, ck, opt(null, null, 32, null)))
                .getMessage().contains("--patch-size 32"));
        assertTrue(assertThrows(ModelException.class, () -> ModelLoader.load(vit, ck, opt(null, null, null, 7)))
                .getMessage().contains("--window-size: a Swin option"));
        assertTrue(assertThrows(ModelException.class, () -> ModelLoader.load(vit, ck, opt(5, null, null, null)))
                .getMessage().contains("--heads 5"));
        // --heads over a zoo name is taken (a user who knows better), and said
        ModelLoader.Loaded six = ModelLoader.load(vit, ck, opt(6, null, null, null));
        assertEquals(6, ((ViTConfig) six.model().spec().architecture()).heads());
        assertTrue(six.notes().stream().anyMatch(n -> n.contains("--heads 6")), six.notes().toString());
    }

    private static ModelOverrides opt(Integer heads, Integer img, Integer patch, Integer window) {
        return new ModelOverrides(heads, img, patch, window, null, null, null, null);
    }

    private static SafeTensors.Entry i64(int... shape) {
        return new SafeTensors.Entry(DType.I64, shape, bb -> {
            bb.order(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < RawTensor.numel(shape); i++) bb.putLong(i);
        });
    }

    private static Tensor randomImages(int n, int size) {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[n * 3 * size * size];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return new Tensor(x, n, 3, size, size);
    }
}
