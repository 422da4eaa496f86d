package io.vitq.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vitq.data.Preprocessing;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every zoo entry against timm's own account of that name ({@code src/test/resources/zoo/timm_zoo.json},
 * written by {@code make_zoo_fixture.py} with timm 1.0.29): the architecture {@code timm.create_model}
 * builds and the eval transform of the name's pretrained config, including the resize size timm's
 * {@code create_transform} computes. The class count is not compared: the zoo's 1000 is a placeholder
 * that every checkpoint's head replaces.
 */
class ModelZooTest {

    static JsonNode fixture() throws IOException {
        try (InputStream in = ModelZooTest.class.getResourceAsStream("/zoo/timm_zoo.json")) {
            assertNotNull(in, "zoo/timm_zoo.json on the test class path");
            return new ObjectMapper().readTree(in);
        }
    }

    @Test
    void theZooNamesAreTheFixturesNames() throws IOException {
        Set<String> timm = new TreeSet<>();
        for (JsonNode m : fixture().get("models")) timm.add(m.get("name").asText());
        Set<String> zoo = ModelZoo.entries().stream().map(ModelZoo.Entry::name).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(timm, zoo, "a zoo name needs timm's account in timm_zoo.json (make_zoo_fixture.py), and the other way round");
    }

    @Test
    void everyEntryIsWhatTimmBuilds() throws IOException {
        List<String> differences = new ArrayList<>();
        for (JsonNode m : fixture().get("models")) {
            String name = m.get("name").asText();
            ModelZoo.Entry e = ModelZoo.get(name);
            if (e == null) continue; // theZooNamesAreTheFixturesNames reports it
            JsonNode a = m.get("architecture");
            List<String> d = switch (e.architecture()) {
                case ViTConfig c -> vitDifferences(c, a);
                case SwinConfig c -> swinDifferences(c, a);
            };
            d.addAll(transformDifferences(e.input(), m.get("transform")));
            for (String s : d) differences.add(name + ": " + s);
        }
        assertEquals(List.of(), differences);
    }

    /**
     * {@code vitq bench} measures a zoo name without its checkpoint on {@link RandomWeights}: those must be
     * a strict checkpoint of every variant the zoo holds (LayerScale, no class token, fc_norm, norm_pre, ...).
     * One block (Swin: one per stage) keeps the huge models small; the names do not depend on the depth.
     */
    @Test
    void randomWeightsBuildEveryZooArchitecture() {
        List<String> failures = new ArrayList<>();
        Set<Architecture> built = new java.util.HashSet<>(); // the tags of one architecture share their weights
        for (ModelZoo.Entry e : ModelZoo.entries()) {
            Architecture shallow = switch (e.architecture()) {
                case ViTConfig c -> new ViTConfig(c.imgSize(), c.patch(), c.inChans(), c.dim(), 1, c.heads(), c.mlpHidden(),
                        c.numClasses(), c.prefixTokens(), c.eps(), c.qkvBias(), c.pooling(), c.fcNorm(), c.posEmbedPrefix(),
                        c.layerScale(), c.preNorm(), c.rotation());
                case SwinConfig c -> new SwinConfig(c.imgSize(), c.patch(), c.inChans(), c.embedDim(),
                        ones(c.depths().length), c.heads(), c.window(), c.mlpRatio(), c.numClasses(), c.eps(), c.qkvBias());
            };
            if (!built.add(shallow)) continue;
            try {
                new ModelSpec(e.name(), shallow, e.input()).build(RandomWeights.of(shallow, 1));
            } catch (RuntimeException ex) {
                failures.add(e.name() + ": " + ex.getMessage());
            }
        }
        assertEquals(List.of(), failures);
    }

    private static int[] ones(int n) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }

    private static List<String> vitDifferences(ViTConfig c, JsonNode a) {
        List<String> d = new ArrayList<>();
        check(d, "family", "vit", a.get("family").asText());
        check(d, "img_size", a.get("img_size").asInt(), c.imgSize());
        check(d, "patch", a.get("patch").asInt(), c.patch());
        check(d, "in_chans", a.get("in_chans").asInt(), c.inChans());
        check(d, "dim", a.get("dim").asInt(), c.dim());
        check(d, "depth", a.get("depth").asInt(), c.depth());
        check(d, "heads", a.get("heads").asInt(), c.heads());
        check(d, "mlp_hidden", a.get("mlp_hidden").asInt(), c.mlpHidden());
        check(d, "eps", (float) a.get("eps").asDouble(), c.eps());
        check(d, "qkv_bias", a.get("qkv_bias").asBoolean(), c.qkvBias());
        check(d, "prefix_tokens", a.get("prefix_tokens").asInt(), c.prefixTokens());
        ViTConfig.Pooling pooling = switch (a.get("pooling").asText()) {
            case "token" -> ViTConfig.Pooling.CLASS_TOKEN;
            case "avg" -> ViTConfig.Pooling.AVERAGE;
            case "class_and_distillation" -> ViTConfig.Pooling.CLASS_AND_DISTILLATION;
            default -> throw new AssertionError("pooling " + a.get("pooling"));
        };
        check(d, "pooling", pooling, c.pooling());
        check(d, "fc_norm", a.get("fc_norm").asBoolean(), c.fcNorm());
        check(d, "pos_embed_prefix", a.get("pos_embed_prefix").asBoolean(), c.posEmbedPrefix());
        check(d, "layer_scale", a.get("layer_scale").asBoolean(), c.layerScale());
        check(d, "pre_norm", a.get("pre_norm").asBoolean(), c.preNorm());
        check(d, "rotation", RotatedInputs.NONE, c.rotation());
        return d;
    }

    private static List<String> swinDifferences(SwinConfig c, JsonNode a) {
        List<String> d = new ArrayList<>();
        check(d, "family", "swin", a.get("family").asText());
        check(d, "img_size", a.get("img_size").asInt(), c.imgSize());
        check(d, "patch", a.get("patch").asInt(), c.patch());
        check(d, "in_chans", a.get("in_chans").asInt(), c.inChans());
        check(d, "embed_dim", a.get("embed_dim").asInt(), c.embedDim());
        check(d, "depths", ints(a.get("depths")), List.of(box(c.depths())));
        check(d, "heads", ints(a.get("heads")), List.of(box(c.heads())));
        check(d, "window", a.get("window").asInt(), c.window());
        check(d, "mlp_ratio", a.get("mlp_ratio").asDouble(), c.mlpRatio());
        check(d, "eps", (float) a.get("eps").asDouble(), c.eps());
        check(d, "qkv_bias", a.get("qkv_bias").asBoolean(), c.qkvBias());
        return d;
    }

    private static List<String> transformDifferences(Preprocessing p, JsonNode t) {
        List<String> d = new ArrayList<>();
        JsonNode size = t.get("input_size");
        check(d, "input_size", List.of(3, p.inputSize(), p.inputSize()), ints(size));
        Preprocessing.Resize resize = switch (t.get("crop_mode").asText()) {
            case "center" -> Preprocessing.Resize.SHORTER_SIDE;
            case "squash" -> Preprocessing.Resize.SQUASH;
            default -> throw new AssertionError("crop_mode " + t.get("crop_mode"));
        };
        check(d, "crop_mode", resize, p.resize());
        check(d, "resize_size", t.get("resize_size").asInt(), p.resizeSize());
        check(d, "interpolation", t.get("interpolation").asText(), p.interpolation().name().toLowerCase(Locale.ROOT));
        check(d, "convention", Preprocessing.Convention.TIMM, p.convention());
        check(d, "mean", floats(t.get("mean")), List.of(box(p.mean())));
        check(d, "std", floats(t.get("std")), List.of(box(p.std())));
        return d;
    }

    private static void check(List<String> d, String what, Object timm, Object zoo) {
        if (!timm.equals(zoo)) d.add(what + " is " + zoo + " in the zoo, " + timm + " in timm");
    }

    private static List<Integer> ints(JsonNode a) {
        List<Integer> l = new ArrayList<>();
        a.forEach(n -> l.add(n.asInt()));
        return l;
    }

    private static List<Float> floats(JsonNode a) {
        List<Float> l = new ArrayList<>();
        a.forEach(n -> l.add((float) n.asDouble()));
        return l;
    }

    private static Integer[] box(int[] a) {
        Integer[] b = new Integer[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }

    private static Float[] box(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }

    /** The test can fail: an entry that differs from timm in one field is reported by name and field. */
    @Test
    void aDifferenceIsReported() throws IOException {
        JsonNode m = fixture().get("models").get(0);
        ViTConfig c = (ViTConfig) ModelZoo.get(m.get("name").asText()).architecture();
        assertEquals(List.of(), vitDifferences(c, m.get("architecture")));
        List<String> d = vitDifferences(c.withHeads(c.heads() * 2), m.get("architecture"));
        assertEquals(1, d.size(), d.toString());
        assertTrue(d.get(0).startsWith("heads is " + c.heads() * 2 + " in the zoo"), d.get(0));
        Preprocessing p = ModelZoo.get(m.get("name").asText()).input();
        Preprocessing other = new Preprocessing(p.inputSize(), p.resize(), p.resizeSize() + 1, p.interpolation(), p.convention(),
                p.rescale(), p.mean(), p.std());
        assertEquals(1, transformDifferences(other, m.get("transform")).size());
    }
}
