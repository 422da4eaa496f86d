package io.vitq.io;

import io.vitq.data.EvalTransform;
import io.vitq.data.ImageDecoder;
import io.vitq.data.Interpolation;
import io.vitq.data.Preprocessing;
import io.vitq.model.Model;
import io.vitq.model.ModelException;
import io.vitq.model.SwinConfig;
import io.vitq.model.ViTConfig;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hugging Face model folders (src/test/resources/hf, made by make_hf_fixtures.py with timm 1.0 and
 * transformers 5) load to the models the libraries run: the same preprocessed input (bit for bit
 * where the library resizes with PIL, within one 8-bit step where transformers' default processor
 * resizes with torchvision) and logits within 1e-4.
 */
class ModelFolderTest {
    static final String[] IMAGES = {"small_23x31.png", "square_40x40.png", "tall_50x77.png", "wide_97x61.png"};

    @TempDir
    Path tmp;

    static Path folder(String name) { return TestData.resource("hf/" + name); }

    /** expected.safetensors of a folder: pixel_values, pixel_values_fast (transformers), logits. */
    static Map<String, RawTensor> expected(String name) {
        return SafeTensors.read(folder(name).resolve("expected.safetensors")).tensors();
    }

    /** The fixture images through the model's own eval transform, as a batch. */
    static float[] preprocess(Model m) {
        EvalTransform t = new EvalTransform(m.preprocessing());
        float[] x = new float[IMAGES.length * t.imageFloats()];
        for (int i = 0; i < IMAGES.length; i++) {
            t.apply(ImageDecoder.decode(TestData.resource("hf/images/" + IMAGES[i])), x, i * t.imageFloats());
        }
        return x;
    }

    @ParameterizedTest
    @ValueSource(strings = {"timm_vit_hd32", "timm_deit3", "timm_vit_gap", "timm_vit_avg_fc_norm", "timm_vit_clip", "hf_vit", "hf_deit_teacher",
            "hf_deit", "hf_swin"})
    void matchesTheLibrary(String name) {
        ModelLoader.Loaded l = ModelLoader.load(folder(name).toString(), null);
        Model m = l.model();
        Map<String, RawTensor> e = expected(name);
        float[] pixels = e.get("pixel_values").toFloats(), ours = preprocess(m);
        // PIL resizes in both: identical
        assertArrayEquals(pixels, ours, 0f, name + ": preprocessed input vs the library's PIL pipeline");
        if (e.containsKey("pixel_values_fast")) {
            // transformers' default processor resizes with torchvision's antialiased kernel: one 8-bit step at most
            float[] fast = e.get("pixel_values_fast").toFloats();
            float[] std = m.preprocessing().std();
            int plane = fast.length / IMAGES.length / 3;
            double worst = 0;
            int differ = 0;
            for (int i = 0; i < fast.length; i++) {
                double steps = Math.abs(fast[i] - ours[i]) * std[i / plane % 3] * 255;
                worst = Math.max(worst, steps);
                if (steps > 1e-3) differ++;
            }
            System.out.printf(Locale.ROOT, "%s: input vs transformers' torchvision processor: %d of %d values differ,"
                    + " at most %.4f 8-bit steps%n", name, differ, fast.length, worst);
            assertTrue(worst <= 1 + 1e-4, name + ": " + worst + " 8-bit steps from the torchvision processor's input");
        }
        int S = m.preprocessing().inputSize();
        float[] logits = m.forward(new Tensor(pixels, IMAGES.length, 3, S, S)).data();
        float[] ref = e.get("logits").toFloats();
        double max = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            max = Math.max(max, Math.abs(ref[i] - logits[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        System.out.printf(Locale.ROOT, "%s: logits max |diff| %.2e (logits up to %.2f)%n", name, max, scale);
        assertTrue(scale > 0.5, name + ": logits too small to test anything: " + scale);
        assertTrue(max <= 1e-4, name + ": logits differ from the library's by " + max);
    }

    /** The timm variants' architectures, as timm builds them from the architecture name and model_args. */
    @Test
    void timmVariantsReadTheirOptions() {
        ViTConfig deit3 = (ViTConfig) ModelLoader.load(folder("timm_deit3").toString(), null).model().spec().architecture();
        assertTrue(deit3.layerScale() && !deit3.posEmbedPrefix() && deit3.prefixTokens() == 1, deit3.toString());
        assertEquals(ViTConfig.Pooling.CLASS_TOKEN, deit3.pooling());
        ViTConfig gap = (ViTConfig) ModelLoader.load(folder("timm_vit_gap").toString(), null).model().spec().architecture();
        assertTrue(gap.layerScale() && gap.prefixTokens() == 0 && !gap.fcNorm() && !gap.qkvBias(), gap.toString());
        assertEquals(ViTConfig.Pooling.AVERAGE, gap.pooling());
        Model avg = ModelLoader.load(folder("timm_vit_avg_fc_norm").toString(), null).model();
        ViTConfig a = (ViTConfig) avg.spec().architecture();
        assertTrue(a.fcNorm() && a.prefixTokens() == 1 && !a.layerScale() && a.posEmbedPrefix(), a.toString());
        assertEquals(ViTConfig.Pooling.AVERAGE, a.pooling());
        assertEquals(0.95, 32.0 / ModelLoader.load(folder("timm_vit_gap").toString(), null).model().preprocessing().resizeSize(), 0.02);
        ViTConfig clip = (ViTConfig) ModelLoader.load(folder("timm_vit_clip").toString(), null).model().spec().architecture();
        assertTrue(clip.preNorm() && clip.eps() == 1e-5f && clip.prefixTokens() == 1 && !clip.layerScale(), clip.toString());
    }

    @Test
    void specsComeFromTheConfigFiles() {
        Model timm = ModelLoader.load(folder("timm_vit_hd32").toString(), null).model();
        assertEquals(new ViTConfig(32, 8, 3, 64, 2, 2, 256, 10, 1, 1e-6f), timm.spec().architecture());
        assertEquals(new Preprocessing(32, 0.875, Interpolation.BILINEAR, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD),
                timm.preprocessing());
        assertEquals("hammerhead", timm.spec().classNames().get(4));

        Model vit = ModelLoader.load(folder("hf_vit").toString(), null).model();
        assertEquals(new ViTConfig(32, 8, 3, 64, 2, 2, 128, 5, 1, 1e-12f), vit.spec().architecture());
        assertEquals(List.of("tench", "goldfish", "shark", "ray", "hen"), vit.spec().classNames());
        assertEquals(new Preprocessing(32, Preprocessing.Resize.SQUASH, 32, Interpolation.BILINEAR,
                Preprocessing.Convention.TRANSFORMERS, 1.0 / 255, Preprocessing.INCEPTION_MEAN, Preprocessing.INCEPTION_STD),
                vit.preprocessing());

        ViTConfig teacher = (ViTConfig) ModelLoader.load(folder("hf_deit_teacher").toString(), null).model().spec().architecture();
        assertEquals(ViTConfig.Pooling.CLASS_AND_DISTILLATION, teacher.pooling());
        ViTConfig deit = (ViTConfig) ModelLoader.load(folder("hf_deit").toString(), null).model().spec().architecture();
        assertEquals(2, deit.prefixTokens());
        assertEquals(ViTConfig.Pooling.CLASS_TOKEN, deit.pooling());

        Model swin = ModelLoader.load(folder("hf_swin").toString(), null).model();
        assertEquals(new SwinConfig(32, 4, 3, 16, new int[] {2, 2}, new int[] {2, 4}, 4, 4.0, 5, 1e-5f),
                swin.spec().architecture());
        assertEquals(36, ModelLoader.load(folder("hf_deit").toString(), null).model().preprocessing().resizeSize());
    }

    /** Op ids stay timm's whatever the layout, and the weights are the file's (q, k and v fused in order). */
    @Test
    void transformersNamesBecomeTimmOpIds() {
        ModelLoader.Loaded l = ModelLoader.load(folder("hf_vit").toString(), null);
        assertEquals("vit.encoder.layer.1.attention.attention.{query,key,value}.weight", l.weights().origin("blocks.1.attn.qkv.weight"));
        assertEquals("vit.encoder.layer.0.output.dense.weight", l.weights().origin("blocks.0.mlp.fc2.weight"));
        Map<String, RawTensor> raw = SafeTensors.read(folder("hf_vit").resolve("model.safetensors")).tensors();
        float[] qkv = l.weights().asMap().get("blocks.1.attn.qkv.weight").data();
        float[] k = raw.get("vit.encoder.layer.1.attention.attention.key.weight").toFloats();
        assertArrayEquals(k, java.util.Arrays.copyOfRange(qkv, k.length, 2 * k.length), 0f);
        Model swin = ModelLoader.load(folder("hf_swin").toString(), null).model();
        assertTrue(swin.linears().stream().anyMatch(x -> x.id().equals("layers.1.downsample.reduction")));
    }

    // ---------------------------------------------------------------- refusals

    private int copies;

    /** A fresh copy of fixture folder {@code name} to edit. */
    private Path copy(String name) throws IOException {
        Path dst = tmp.resolve(name + "_" + copies++);
        Files.createDirectories(dst);
        try (Stream<Path> s = Files.list(folder(name))) {
            for (Path p : s.toList()) Files.copy(p, dst.resolve(p.getFileName()));
        }
        return dst;
    }

    private static void edit(Path file, String from, String to) throws IOException {
        String s = Files.readString(file);
        assertTrue(s.contains(from), from + " in " + file);
        Files.writeString(file, s.replace(from, to));
    }

    private static String error(Path dir) {
        RuntimeException e = assertThrows(RuntimeException.class, () -> ModelLoader.load(dir.toString(), null));
        assertTrue(e instanceof ModelException || e instanceof CheckpointException, e.toString());
        return e.getMessage();
    }

    @Test
    void whatCannotBeBuiltExactlyIsRefused() throws IOException {
        Path vit = copy("hf_vit");
        edit(vit.resolve("config.json"), "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"gelu_new\"");
        assertTrue(error(vit).contains("'hidden_act' is 'gelu_new'"));

        Path deit = copy("hf_deit");
        Files.delete(deit.resolve("preprocessor_config.json"));
        assertTrue(error(deit).contains("no preprocessor_config.json"));

        Path lanczos = copy("hf_deit_teacher");
        edit(lanczos.resolve("preprocessor_config.json"), "\"resample\": 3", "\"resample\": 1");
        assertTrue(error(lanczos).contains("resample"));

        Path timm = copy("timm_vit_hd32");
        edit(timm.resolve("config.json"), "\"num_classes\": 10\n  },", "\"num_classes\": 10,\n    \"reg_tokens\": 4,"
                + " \"global_pool\": \"map\"\n  },");
        assertTrue(error(timm).contains("model_args [reg_tokens=4, global_pool=map]"), error(timm));

        // model_args vitq implements, but that the weights do not have: strict loading names the tensor
        Path layerScale = copy("timm_vit_hd32");
        edit(layerScale.resolve("config.json"), "\"num_classes\": 10\n  },", "\"num_classes\": 10,\n    \"init_values\": 1e-5\n  },");
        assertTrue(error(layerScale).contains("missing tensor 'blocks.0.ls1.gamma'"), error(layerScale));
        Path gap = copy("timm_vit_hd32");
        edit(gap.resolve("config.json"), "\"num_classes\": 10\n  },", "\"num_classes\": 10,\n    \"global_pool\": \"avg\"\n  },");
        assertTrue(error(gap).contains("'global_pool' is 'token', but vit_tiny_patch16_224 with these model_args pools by 'avg'"),
                error(gap));
        edit(gap.resolve("config.json"), "\"global_pool\": \"token\"", "\"global_pool\": \"avg\"");
        assertTrue(error(gap).contains("fc_norm"), error(gap));
        Path noToken = copy("timm_vit_hd32");
        edit(noToken.resolve("config.json"), "\"num_classes\": 10\n  },", "\"num_classes\": 10,\n    \"class_token\": false\n  },");
        assertTrue(error(noToken).contains("class_token=False needs global_pool='avg'"), error(noToken));

        Path other = copy("hf_swin");
        edit(other.resolve("config.json"), "\"SwinForImageClassification\"", "\"SwinModel\"");
        assertTrue(error(other).contains("'architectures' is SwinModel"));

        Path empty = tmp.resolve("empty");
        Files.createDirectories(empty);
        assertTrue(error(empty).contains("without config.json"));
        assertFalse(error(empty).contains("It holds"), error(empty));
        // a folder of bare timm weights: the error says how to load the file in it
        Path bare = tmp.resolve("deit_tiny_patch16_224.pipevit_lnq8");
        Files.createDirectories(bare);
        Files.write(bare.resolve("deit_tiny_patch16_224.pipevit_lnq8.safetensors"), new byte[0]);
        String hint = error(bare);
        assertTrue(hint.contains("It holds deit_tiny_patch16_224.pipevit_lnq8.safetensors: give the file (--model "
                + bare.resolve("deit_tiny_patch16_224.pipevit_lnq8.safetensors") + ")"), hint);
        assertTrue(hint.contains("(VITQ_MODELS=" + bare + " ... --model deit_tiny_patch16_224)"), hint);

        Path noWeights = copy("hf_vit");
        Files.delete(noWeights.resolve("model.safetensors"));
        assertTrue(error(noWeights).contains("no weights"));
    }

    /**
     * A folder whose config gives no eval transform (transformers without preprocessor_config.json,
     * timm without pretrained_cfg) is refused until all four transform options are given, and then
     * uses exactly those; nothing is taken from a library default.
     */
    @Test
    void aFolderWithoutItsTransformTakesItFromTheOptions() throws IOException {
        float[] mean = {0.5f, 0.5f, 0.5f}, std = {0.25f, 0.25f, 0.25f};
        ModelOverrides all = new ModelOverrides(null, null, null, null, mean, std, 0.9, Interpolation.BICUBIC);
        ModelOverrides meanOnly = new ModelOverrides(null, null, null, null, mean, null, null, null);
        Preprocessing given = new Preprocessing(32, 0.9, Interpolation.BICUBIC, mean, std);

        Path deit = copy("hf_deit");
        Files.delete(deit.resolve("preprocessor_config.json"));
        String e = error(deit);
        assertTrue(e.contains("no preprocessor_config.json") && e.contains("pass --mean R,G,B, --std R,G,B, --crop-pct P,"
                + " --interpolation bicubic|bilinear|nearest"), e);
        e = assertThrows(ModelException.class, () -> ModelLoader.load(deit.toString(), null, meanOnly)).getMessage();
        assertTrue(e.contains("pass --std R,G,B, --crop-pct P, --interpolation") && !e.contains("--mean"), e);
        assertEquals(given, ModelLoader.load(deit.toString(), null, all).model().preprocessing());

        Path timm = copy("timm_vit_hd32");
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(timm.resolve("config.json").toFile());
        config.remove("pretrained_cfg");
        json.writeValue(timm.resolve("config.json").toFile(), config);
        e = error(timm);
        assertTrue(e.contains("no 'pretrained_cfg'") && e.contains("pass --mean R,G,B"), e);
        assertEquals(given, ModelLoader.load(timm.toString(), null, all).model().preprocessing());
        // timm's old form: the transform's keys at the top level, the absent ones at timm's defaults
        config.put("interpolation", "bilinear");
        json.writeValue(timm.resolve("config.json").toFile(), config);
        assertEquals(new Preprocessing(32, 0.875, Interpolation.BILINEAR, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD),
                ModelLoader.load(timm.toString(), null).model().preprocessing());
    }

    /** Sharded weights (model.safetensors.index.json) load like one file; a shard's stray tensor is refused. */
    @Test
    void shardedWeights() throws IOException {
        Path dir = copy("hf_swin");
        Map<String, RawTensor> all = SafeTensors.read(dir.resolve("model.safetensors")).tensors();
        Files.delete(dir.resolve("model.safetensors"));
        Map<String, Tensor> a = new java.util.LinkedHashMap<>(), b = new java.util.LinkedHashMap<>();
        StringBuilder map = new StringBuilder();
        for (var e : all.entrySet()) {
            boolean first = e.getKey().startsWith("swin.embeddings") || e.getKey().contains("layers.0.");
            (first ? a : b).put(e.getKey(), new Tensor(e.getValue().toFloats(), e.getValue().shape()));
            map.append(map.isEmpty() ? "" : ",").append('"').append(e.getKey()).append("\": \"")
                    .append(first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors").append('"');
        }
        SafeTensors.writeF32(dir.resolve("model-00001-of-00002.safetensors"), a, Map.of());
        SafeTensors.writeF32(dir.resolve("model-00002-of-00002.safetensors"), b, Map.of());
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\": {}, \"weight_map\": {" + map + "}}");
        Model sharded = ModelLoader.load(dir.toString(), null).model();
        Model whole = ModelLoader.load(folder("hf_swin").toString(), null).model();
        Tensor x = new Tensor(expected("hf_swin").get("pixel_values").toFloats(), IMAGES.length, 3, 32, 32);
        assertArrayEquals(whole.forward(x).data(), sharded.forward(x).data(), 0f);

        b.put("extra.weight", Tensor.zeros(2));
        SafeTensors.writeF32(dir.resolve("model-00002-of-00002.safetensors"), b, Map.of());
        assertTrue(error(dir).contains("'extra.weight' is not in model.safetensors.index.json's weight_map"), error(dir));
    }

    @Test
    void cropSmallerThanTheModelIsRefused() throws IOException {
        Path deit = copy("hf_deit");
        edit(deit.resolve("preprocessor_config.json"), "\"height\": 32,\n    \"width\": 32", "\"height\": 24,\n    \"width\": 24");
        assertTrue(error(deit).contains("makes 24x24 images, but the model takes 32x32"), error(deit));
    }
}
