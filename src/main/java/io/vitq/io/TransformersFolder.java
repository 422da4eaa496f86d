package io.vitq.io;

import io.vitq.data.Interpolation;
import io.vitq.data.Preprocessing;
import io.vitq.model.Architecture;
import io.vitq.model.ModelSpec;
import io.vitq.model.SwinConfig;
import io.vitq.model.ViTConfig;
import io.vitq.model.Weights;
import io.vitq.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face transformers model folder: {@code config.json} (a {@code model_type} and the
 * {@code architectures} class), the weights under transformers' names, the eval transform in
 * {@code preprocessor_config.json}. Supported classes: {@code ViTForImageClassification},
 * {@code DeiTForImageClassification}, {@code DeiTForImageClassificationWithTeacher} (class and
 * distillation logits averaged) and {@code SwinForImageClassification}.
 *
 * <p>The tensors are renamed to timm's names, which are vitq's op ids (so plans and
 * {@code --op-bits} patterns are the same whichever layout a model came in): the separate
 * {@code query}, {@code key} and {@code value} Linears become the fused {@code attn.qkv} (rows q, k,
 * v, as timm stores them), Swin's patch merging moves from the end of stage s to the start of stage
 * s + 1. A config key that is absent takes the transformers config class's default, as
 * {@code from_pretrained} does.
 */
final class TransformersFolder {
    private TransformersFolder() {}

    /** The transformers classes vitq builds, and the model_type each belongs to. */
    private static final Map<String, String> CLASSES = Map.of(
            "ViTForImageClassification", "vit",
            "DeiTForImageClassification", "deit",
            "DeiTForImageClassificationWithTeacher", "deit",
            "SwinForImageClassification", "swin");

    /** True when {@code config} is a transformers config (it has a {@code model_type} or {@code architectures}). */
    static boolean matches(ConfigJson config) {
        return config.has("model_type") || config.has("architectures");
    }

    /** The spec and the weights under timm's names. */
    record Result(ModelSpec spec, Weights weights) {}

    static Result read(Path dir, ConfigJson config, Map<String, RawTensor> raw, String source, ModelOverrides options) {
        String cls = architectureClass(config);
        String type = config.string("model_type", CLASSES.get(cls));
        if (!type.equals(CLASSES.get(cls))) {
            throw config.error("'model_type' is '" + type + "' but 'architectures' names " + cls);
        }
        String act = config.string("hidden_act", "gelu");
        if (!act.equals("gelu")) {
            throw config.error("'hidden_act' is '" + act + "'; vitq implements the exact (erf) GELU, 'gelu'");
        }
        List<String> labels = labels(config);
        Renamed r = type.equals("swin") ? renameSwin(raw) : renameVit(raw, type + ".", cls);
        Architecture a = type.equals("swin") ? swinConfig(config, r.tensors) : vitConfig(config, cls, r.tensors);
        Preprocessing p = preprocessing(dir, a.imgSize(), options);
        Weights w = new Weights(source, r.tensors, r.origins);
        return new Result(new ModelSpec(dir.getFileName().toString(), a, p,
                labels.size() == a.numClasses() ? labels : List.of()), w);
    }

    private static String architectureClass(ConfigJson config) {
        var n = config.raw("architectures");
        if (n == null || !n.isArray() || n.isEmpty()) {
            throw config.error("no 'architectures': the transformers class is not named (vitq builds "
                    + String.join(", ", CLASSES.keySet().stream().sorted().toList()) + ")");
        }
        if (n.size() != 1) throw config.error("architectures", "must name one class", n);
        String cls = n.get(0).asText();
        if (!CLASSES.containsKey(cls)) {
            throw config.error("'architectures' is " + cls + "; vitq builds the image classifiers "
                    + String.join(", ", CLASSES.keySet().stream().sorted().toList()));
        }
        return cls;
    }

    /** {@code id2label} as a list ordered by class index (empty when absent). */
    private static List<String> labels(ConfigJson config) {
        ConfigJson m = config.object("id2label");
        if (m == null) return List.of();
        List<String> keys = m.keys();
        String[] names = new String[keys.size()];
        for (String k : keys) {
            int i;
            try {
                i = Integer.parseInt(k);
            } catch (NumberFormatException e) {
                throw config.error("id2label", "must map class indices to names", config.raw("id2label"));
            }
            if (i < 0 || i >= names.length) throw config.error("id2label", "must cover classes 0.." + (names.length - 1), config.raw("id2label"));
            names[i] = m.string(k, "");
        }
        return List.of(names);
    }

    // ---------------------------------------------------------------- architectures

    private static ViTConfig vitConfig(ConfigJson c, String cls, Map<String, Tensor> t) {
        int dim = c.integer("hidden_size", 768), depth = c.integer("num_hidden_layers", 12);
        int heads = c.integer("num_attention_heads", 12), hidden = c.integer("intermediate_size", 3072);
        int img = c.integer("image_size", 224), patch = c.integer("patch_size", 16), chans = c.integer("num_channels", 3);
        float eps = (float) c.number("layer_norm_eps", 1e-12);
        boolean deit = cls.startsWith("DeiT");
        int classes = classes(c, t, "head.weight");
        var pooling = cls.equals("DeiTForImageClassificationWithTeacher") ? ViTConfig.Pooling.CLASS_AND_DISTILLATION
                : ViTConfig.Pooling.CLASS_TOKEN;
        try {
            return new ViTConfig(img, patch, chans, dim, depth, heads, hidden, classes, deit ? 2 : 1, eps,
                    c.bool("qkv_bias", true), pooling);
        } catch (io.vitq.model.ModelException e) {
            throw c.error(e.getMessage());
        }
    }

    private static SwinConfig swinConfig(ConfigJson c, Map<String, Tensor> t) {
        if (c.bool("use_absolute_embeddings", false)) throw c.error("'use_absolute_embeddings' is true; vitq implements Swin without it");
        int[] depths = c.integers("depths", new int[] {2, 2, 6, 2}), heads = c.integers("num_heads", new int[] {3, 6, 12, 24});
        try {
            return new SwinConfig(c.integer("image_size", 224), c.integer("patch_size", 4), c.integer("num_channels", 3),
                    c.integer("embed_dim", 96), depths, heads, c.integer("window_size", 7), c.number("mlp_ratio", 4.0),
                    classes(c, t, "head.fc.weight"), (float) c.number("layer_norm_eps", 1e-5), c.bool("qkv_bias", true));
        } catch (io.vitq.model.ModelException e) {
            throw c.error(e.getMessage());
        }
    }

    /** The class count: {@code id2label}'s size, which must agree with the classifier's rows. */
    private static int classes(ConfigJson c, Map<String, Tensor> t, String head) {
        Tensor h = t.get(head);
        int rows = h == null ? -1 : h.dim(0);
        ConfigJson m = c.object("id2label");
        if (m == null) {
            if (rows < 0) throw c.error("no 'id2label' and no classifier tensor: the class count is unknown");
            return rows;
        }
        int n = m.keys().size();
        if (rows >= 0 && rows != n) {
            throw c.error("'id2label' has " + n + " classes, but the classifier has " + rows + " rows");
        }
        return n;
    }

    // ---------------------------------------------------------------- preprocessing

    /**
     * The eval transform of {@code preprocessor_config.json} (transformers' PIL image processors, ViT
     * or DeiT); without that file, the one {@code options} give in full, or an error naming both ways.
     */
    static Preprocessing preprocessing(Path dir, int imgSize, ModelOverrides options) {
        Path f = dir.resolve("preprocessor_config.json");
        if (!Files.isRegularFile(f)) {
            return options.preprocessingWhereMissing(imgSize, dir + ": no preprocessor_config.json, so the eval transform"
                    + " is not given; add the model's preprocessor_config.json, or");
        }
        ConfigJson c = ConfigJson.read(f);
        String type = c.string("image_processor_type", c.string("feature_extractor_type", null));
        if (type == null) throw c.error("no 'image_processor_type': which image processor the model uses is not said");
        String base = type.replaceFirst("(Fast|Pil)$", "");
        boolean deit = switch (base) {
            case "ViTImageProcessor", "ViTFeatureExtractor" -> false;
            case "DeiTImageProcessor", "DeiTFeatureExtractor" -> true;
            default -> throw c.error("'image_processor_type' is " + type
                    + "; vitq reproduces the ViT and DeiT image processors (ViTImageProcessor, DeiTImageProcessor)");
        };
        if (!c.bool("do_resize", true)) throw c.error("'do_resize' is false: images of every size would reach the model");
        int[] size = size(c, "size", deit ? 256 : 224);
        boolean crop = c.bool("do_center_crop", deit);
        int[] cropSize = crop ? size(c, "crop_size", 224) : null;
        Interpolation interp = switch (c.integer("resample", deit ? 3 : 2)) {
            case 0 -> Interpolation.NEAREST;
            case 2 -> Interpolation.BILINEAR;
            case 3 -> Interpolation.BICUBIC;
            default -> throw c.error("resample", "must be 0 (nearest), 2 (bilinear) or 3 (bicubic), which vitq reproduces",
                    c.raw("resample"));
        };
        Preprocessing.Resize mode = size[0] < 0 ? Preprocessing.Resize.SHORTER_SIDE : Preprocessing.Resize.SQUASH;
        int resize = Math.abs(size[1]);
        int out = crop ? cropSize[1] : resize;
        if (!crop && mode == Preprocessing.Resize.SHORTER_SIDE) {
            throw c.error("resizes the shortest edge to " + resize + " without a centre crop: the images would not be square");
        }
        if (out != imgSize) throw c.error("makes " + out + "x" + out + " images, but the model takes " + imgSize + "x" + imgSize);
        double rescale = c.bool("do_rescale", true) ? c.number("rescale_factor", 1.0 / 255) : 1.0;
        float[] mean = {0.5f, 0.5f, 0.5f}, std = {0.5f, 0.5f, 0.5f}; // IMAGENET_STANDARD_MEAN / STD
        if (c.bool("do_normalize", true)) {
            mean = c.channels("image_mean", mean);
            std = c.channels("image_std", std);
        } else {
            mean = new float[3];
            std = new float[] {1, 1, 1};
        }
        try {
            return new Preprocessing(out, mode, resize, interp, Preprocessing.Convention.TRANSFORMERS, rescale, mean, std);
        } catch (IllegalArgumentException e) {
            throw c.error(e.getMessage());
        }
    }

    /**
     * A size entry as {kind, side}: {@code {"height": h, "width": w}} (square only) or an int
     * (square, as the ViT and DeiT processors read it) give {+1, side}; {@code {"shortest_edge": s}}
     * gives {-1, s}.
     */
    private static int[] size(ConfigJson c, String key, int dflt) {
        if (!c.has(key)) return new int[] {1, dflt};
        var n = c.raw(key);
        if (n.isInt()) return new int[] {1, positive(c, key, n.asInt())};
        ConfigJson s = c.object(key);
        if (s.has("shortest_edge") && s.keys().size() == 1) return new int[] {-1, positive(c, key, s.integer("shortest_edge", 0))};
        int h = s.integer("height", -1), w = s.integer("width", -1);
        if (h < 0 || w < 0 || s.keys().size() != 2) throw c.error(key, "must be {height, width} or {shortest_edge}", n);
        if (h != w) throw c.error(key, "is " + h + "x" + w + "; vitq takes square images", n);
        return new int[] {1, positive(c, key, h)};
    }

    private static int positive(ConfigJson c, String key, int v) {
        if (v <= 0) throw c.error(key, "must be positive", c.raw(key));
        return v;
    }

    // ---------------------------------------------------------------- tensor names

    /** Tensors under timm's names, and for each renamed one the name(s) it has in the file. */
    private record Renamed(Map<String, Tensor> tensors, Map<String, String> origins) {}

    /** transformers → timm names in a ViT/DeiT encoder layer (after {@code <prefix>encoder.layer.N.}). */
    private static final Map<String, String> VIT_LAYER = Map.of(
            "layernorm_before", "norm1",
            "attention.output.dense", "attn.proj",
            "layernorm_after", "norm2",
            "intermediate.dense", "mlp.fc1",
            "output.dense", "mlp.fc2");

    private static Renamed renameVit(Map<String, RawTensor> raw, String p, String cls) {
        Map<String, String> top = new LinkedHashMap<>();
        top.put(p + "embeddings.cls_token", "cls_token");
        top.put(p + "embeddings.distillation_token", "dist_token");
        top.put(p + "embeddings.position_embeddings", "pos_embed");
        top.put(p + "embeddings.patch_embeddings.projection.weight", "patch_embed.proj.weight");
        top.put(p + "embeddings.patch_embeddings.projection.bias", "patch_embed.proj.bias");
        top.put(p + "layernorm.weight", "norm.weight");
        top.put(p + "layernorm.bias", "norm.bias");
        if (cls.equals("DeiTForImageClassificationWithTeacher")) {
            top.put("cls_classifier.weight", "head.weight");
            top.put("cls_classifier.bias", "head.bias");
            top.put("distillation_classifier.weight", "head_dist.weight");
            top.put("distillation_classifier.bias", "head_dist.bias");
        } else {
            top.put("classifier.weight", "head.weight");
            top.put("classifier.bias", "head.bias");
        }
        Pattern layer = Pattern.compile(Pattern.quote(p) + "encoder\\.layer\\.(\\d+)\\.(.+)\\.(weight|bias)");
        Pattern qkv = Pattern.compile("attention\\.attention\\.(query|key|value)");
        return rename(raw, top, layer, qkv, m -> "blocks." + m.group(1) + ".", VIT_LAYER, "attn.qkv",
                // the pooler is part of ViTModel's checkpoints but not of the image classifiers
                k -> k.startsWith(p + "pooler.") || k.equals(p + "embeddings.mask_token"));
    }

    /** transformers → timm names in a Swin block (after {@code swin.encoder.layers.S.blocks.B.}). */
    private static final Map<String, String> SWIN_BLOCK = Map.of(
            "layernorm_before", "norm1",
            "attention.output.dense", "attn.proj",
            "layernorm_after", "norm2",
            "intermediate.dense", "mlp.fc1",
            "output.dense", "mlp.fc2");

    private static Renamed renameSwin(Map<String, RawTensor> raw) {
        Map<String, String> top = new LinkedHashMap<>();
        top.put("swin.embeddings.patch_embeddings.projection.weight", "patch_embed.proj.weight");
        top.put("swin.embeddings.patch_embeddings.projection.bias", "patch_embed.proj.bias");
        top.put("swin.embeddings.norm.weight", "patch_embed.norm.weight");
        top.put("swin.embeddings.norm.bias", "patch_embed.norm.bias");
        top.put("swin.layernorm.weight", "norm.weight");
        top.put("swin.layernorm.bias", "norm.bias");
        top.put("classifier.weight", "head.fc.weight");
        top.put("classifier.bias", "head.fc.bias");
        Pattern downsample = Pattern.compile("swin\\.encoder\\.layers\\.(\\d+)\\.downsample\\.(.+)");
        Pattern table = Pattern.compile("swin\\.encoder\\.layers\\.(\\d+)\\.blocks\\.(\\d+)\\.attention\\.self\\."
                + "(relative_position_bias_table|relative_position_index)");
        for (String k : raw.keySet()) {
            // transformers keeps the patch merging at the end of stage s; timm (vitq's ids) at the start of s + 1
            Matcher m = downsample.matcher(k);
            if (m.matches()) top.put(k, "layers." + (Integer.parseInt(m.group(1)) + 1) + ".downsample." + m.group(2));
            m = table.matcher(k);
            if (m.matches()) top.put(k, "layers." + m.group(1) + ".blocks." + m.group(2) + ".attn." + m.group(3));
        }
        Pattern block = Pattern.compile("swin\\.encoder\\.layers\\.(\\d+)\\.blocks\\.(\\d+)\\.(.+)\\.(weight|bias)");
        Pattern qkv = Pattern.compile("attention\\.self\\.(query|key|value)");
        return rename(raw, top, block, qkv, m -> "layers." + m.group(1) + ".blocks." + m.group(2) + ".", SWIN_BLOCK,
                "attn.qkv", k -> false);
    }

    /**
     * Renames every tensor: {@code top} by exact name; names matching {@code perLayer} (groups: the
     * layer's numbers, then the module path and weight|bias) by the layer prefix and {@code parts};
     * q/k/v Linears ({@code qkv} on the module path) fused into {@code fused}. A tensor matched by
     * nothing is kept under its own name, so strict loading reports it; {@code dropped} names
     * tensors the class does not use.
     */
    private static Renamed rename(Map<String, RawTensor> raw, Map<String, String> top, Pattern perLayer, Pattern qkv,
                                  java.util.function.Function<Matcher, String> layerPrefix, Map<String, String> parts,
                                  String fused, java.util.function.Predicate<String> dropped) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        Map<String, Tensor[]> qkvParts = new LinkedHashMap<>();   // "<layer prefix>|weight" -> q, k, v
        Map<String, String> qkvOrigin = new LinkedHashMap<>();
        for (var e : raw.entrySet()) {
            String k = e.getKey();
            RawTensor r = e.getValue();
            if (dropped.test(k)) continue;
            String name = top.get(k);
            Tensor t = tensorOf(k, r);
            if (name == null) {
                Matcher m = perLayer.matcher(k);
                if (m.matches()) {
                    int g = m.groupCount();
                    String module = m.group(g - 1), kind = m.group(g), prefix = layerPrefix.apply(m);
                    Matcher q = qkv.matcher(module);
                    if (q.matches()) {
                        int slot = switch (q.group(1)) { case "query" -> 0; case "key" -> 1; default -> 2; };
                        qkvParts.computeIfAbsent(prefix + fused + "." + kind, x -> new Tensor[3])[slot] = t;
                        qkvOrigin.merge(prefix + fused + "." + kind, k.replace(q.group(1), "{query,key,value}"), (a, b) -> a);
                        continue;
                    }
                    String part = parts.get(module);
                    if (part != null) name = prefix + part + "." + kind;
                }
            }
            if (name == null) {
                if (t != null) out.put(k, t);   // not a tensor of the class: strict loading names it
                continue;
            }
            if (t == null) continue;            // an integer buffer (relative_position_index): recomputed
            out.put(name, t);
            origins.put(name, k);
        }
        for (var e : qkvParts.entrySet()) {
            Tensor[] qkvT = e.getValue();
            String origin = qkvOrigin.get(e.getKey());
            for (int i = 0; i < 3; i++) {
                if (qkvT[i] == null) {
                    throw new CheckpointException(origin.replace("{query,key,value}", List.of("query", "key", "value").get(i))
                            + ": missing, while the other two of query, key and value are there");
                }
            }
            out.put(e.getKey(), concatRows(qkvT, origin));
            origins.put(e.getKey(), origin);
        }
        return new Renamed(out, origins);
    }

    /** A float tensor, or null for an integer one (index buffers). */
    private static Tensor tensorOf(String name, RawTensor r) {
        if (!r.dtype().isFloating()) {
            if (!Weights.isRecomputedBuffer(name)) {
                throw new CheckpointException("tensor '" + name + "' is " + r.dtype() + ", not a weight of the model");
            }
            return null;
        }
        return new Tensor(r.toFloats(), r.shape());
    }

    /** q, k and v ([D, D] weights or [D] biases) stacked as timm's fused qkv ([3D, D] or [3D]). */
    private static Tensor concatRows(Tensor[] parts, String origin) {
        int[] shape = parts[0].shape();
        for (Tensor t : parts) {
            if (!Arrays.equals(t.shape(), shape)) {
                throw new CheckpointException(origin + ": query, key and value have different shapes");
            }
        }
        int n = parts[0].size();
        float[] d = new float[3 * n];
        for (int i = 0; i < 3; i++) System.arraycopy(parts[i].data(), 0, d, i * n, n);
        int[] s = shape.clone();
        s[0] *= 3;
        return new Tensor(d, s);
    }

    static List<String> supported() { return new ArrayList<>(CLASSES.keySet()); }
}
