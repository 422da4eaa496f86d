package io.vitq.io;

import com.fasterxml.jackson.databind.JsonNode;
import io.vitq.data.Interpolation;
import io.vitq.data.Preprocessing;
import io.vitq.model.Architecture;
import io.vitq.model.ModelSpec;
import io.vitq.model.ModelZoo;
import io.vitq.model.SwinConfig;
import io.vitq.model.ViTConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A timm model folder as the Hugging Face Hub holds it (written by timm's {@code push_to_hub} /
 * {@code save_for_hf}): {@code config.json} with {@code architecture} (a timm model name),
 * {@code num_classes}, optional {@code model_args} that override the named architecture,
 * {@code pretrained_cfg} (the eval transform) and optional {@code label_names}; the weights under
 * timm's own names.
 *
 * <p>Read as timm's {@code create_model(architecture, pretrained_cfg=..., **model_args)} and
 * {@code resolve_data_config} would: a {@code pretrained_cfg} key that is absent takes timm's default
 * (bicubic, crop_pct 0.875, crop_mode center, ImageNet mean/std), since that is what timm uses. A
 * config with none of them (no {@code pretrained_cfg}, none of its keys at the top level) says
 * nothing of the transform: timm would take its defaults for all of it, vitq asks for it on the
 * command line instead. A
 * {@code model_args} key that changes the architecture in a way vitq does not implement is refused.
 */
final class TimmHubConfig {
    /** model_args that do not change an eval forward (dropout rates, initialisation). */
    private static final Set<String> EVAL_NO_OPS = Set.of("drop_rate", "pos_drop_rate", "patch_drop_rate",
            "proj_drop_rate", "attn_drop_rate", "drop_path_rate", "weight_init", "fix_init", "pretrained_strict",
            "dynamic_img_size", "strict_img_size");

    /** The pretrained_cfg keys of the eval transform ({@link #preprocessing}). */
    private static final List<String> TRANSFORM_KEYS = List.of("input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std");

    private TimmHubConfig() {}

    /** True when {@code config} is timm's (it names an {@code architecture}). */
    static boolean matches(ConfigJson config) {
        return config.has("architecture");
    }

    /**
     * The spec: the zoo architecture named by {@code architecture} with {@code model_args} and
     * {@code num_classes} applied, and the eval transform of {@code pretrained_cfg}.
     *
     * @param name    the model's name (the folder's)
     * @param options the eval transform when the config has none
     */
    static ModelSpec spec(ConfigJson config, String name, ModelOverrides options) {
        String archName = config.string("architecture", null);
        ModelZoo.Entry entry = ModelZoo.get(archName);
        if (entry == null) {
            throw config.error("'architecture' is '" + archName + "', which vitq does not implement (timm names vitq"
                    + " builds: 'vitq models')");
        }
        ConfigJson args = config.object("model_args");
        Architecture a = entry.architecture();
        if (args != null) a = apply(a, args);
        if (config.has("num_classes")) a = withClasses(a, positive(config, "num_classes", config.integer("num_classes", 0)));
        String pool = config.string("global_pool", null);
        String expectedPool = a instanceof ViTConfig v && v.pooling() != ViTConfig.Pooling.AVERAGE ? "token" : "avg";
        if (pool != null && !pool.equals(expectedPool)) {
            throw config.error("'global_pool' is '" + pool + "', but " + archName + (args != null ? " with these model_args" : "")
                    + " pools by '" + expectedPool + "'");
        }
        // timm's old form keeps the pretrained_cfg keys at the top level; with neither, nothing says the transform
        ConfigJson pre = config.object("pretrained_cfg");
        Preprocessing p = !hasTransform(config)
                ? options.preprocessingWhereMissing(a.imgSize(), config.where() + ": no 'pretrained_cfg' (nor any of its keys "
                        + String.join(", ", TRANSFORM_KEYS) + " at the top level), so the eval transform is not given; add the"
                        + " model's pretrained_cfg, or")
                : preprocessing(pre != null ? pre : config, a.imgSize());
        return new ModelSpec(name, a, p, labelNames(config, a.numClasses()));
    }

    /** Whether the config gives an eval transform: a pretrained_cfg, or (timm's old form) any of its keys at the top level. */
    static boolean hasTransform(ConfigJson config) {
        return config.has("pretrained_cfg") || TRANSFORM_KEYS.stream().anyMatch(config::has);
    }

    private static Architecture apply(Architecture a, ConfigJson args) {
        List<String> unknown = new ArrayList<>();
        Architecture out = switch (a) {
            case ViTConfig c -> vitArgs(c, args, unknown);
            case SwinConfig c -> swinArgs(c, args, unknown);
        };
        if (!unknown.isEmpty()) {
            throw args.error("model_args " + unknown + " change the architecture in a way vitq does not implement");
        }
        return out;
    }

    /**
     * timm's {@code VisionTransformer} keyword arguments over the named architecture. The pooling
     * options resolve as timm resolves them: {@code global_pool} 'token' or 'avg' ('avg' with
     * {@code class_token=False} for the GAP models), {@code fc_norm} null meaning "after the pooling
     * exactly when it averages" (unless the named architecture pins it, as the GAP models pin
     * False), {@code init_values} a number for LayerScale, {@code no_embed_class} for DeiT-3's
     * position embedding. Strict loading then checks every resulting tensor against the checkpoint.
     */
    private static ViTConfig vitArgs(ViTConfig c, ConfigJson args, List<String> unknown) {
        int img = c.imgSize(), patch = c.patch(), chans = c.inChans(), dim = c.dim(), depth = c.depth(), heads = c.heads();
        int classes = c.numClasses();
        double mlpRatio = (double) c.mlpHidden() / c.dim();
        boolean qkvBias = c.qkvBias(), classToken = c.prefixTokens() >= 1, posPrefix = c.posEmbedPrefix(), layerScale = c.layerScale();
        boolean avg = c.pooling() == ViTConfig.Pooling.AVERAGE, fcNorm = c.fcNorm(), preNorm = c.preNorm();
        Boolean fcNormArg = null;
        for (String k : args.keys()) {
            switch (k) {
                case "img_size" -> img = squareSize(args, k);
                case "patch_size" -> patch = squareSize(args, k);
                case "in_chans" -> chans = args.integer(k, chans);
                case "num_classes" -> classes = args.integer(k, classes);
                case "embed_dim" -> dim = args.integer(k, dim);
                case "depth" -> depth = args.integer(k, depth);
                case "num_heads" -> heads = args.integer(k, heads);
                case "mlp_ratio" -> mlpRatio = args.number(k, mlpRatio);
                case "qkv_bias" -> qkvBias = args.bool(k, qkvBias);
                case "class_token" -> classToken = args.bool(k, classToken);
                case "global_pool" -> {
                    String pool = args.string(k, "token");
                    if (pool.equals("token") || pool.equals("avg")) avg = pool.equals("avg");
                    else unknown.add(k + "=" + pool);
                }
                case "fc_norm" -> fcNormArg = args.bool(k, false); // keys() leaves out nulls (timm's "decide by the pooling")
                case "no_embed_class" -> posPrefix = !args.bool(k, !posPrefix);
                case "init_values" -> layerScale = args.number(k, 0) != 0; // timm: LayerScale if init_values
                case "pre_norm" -> preNorm = args.bool(k, preNorm); // norm_pre, and (as timm does) no patch-embedding bias
                case "qk_norm", "dynamic_img_pad" -> require(args, k, args.bool(k, false), false, unknown);
                case "proj_bias" -> require(args, k, args.bool(k, true), true, unknown);
                case "reg_tokens" -> require(args, k, args.integer(k, 0), 0, unknown);
                default -> { if (!EVAL_NO_OPS.contains(k)) unknown.add(k); }
            }
        }
        if (!unknown.isEmpty()) return c;
        if (c.distilled() && (!classToken || avg)) throw args.error("a distilled DeiT reads its class and distillation tokens:"
                + " model_args cannot remove the class token or pool by average");
        if (!classToken && !avg) throw args.error("class_token=False needs global_pool='avg' (timm refuses it too)");
        if (fcNormArg != null) fcNorm = fcNormArg;
        else if (c.pooling() != ViTConfig.Pooling.AVERAGE) fcNorm = avg; // timm's default; the GAP entries pin fc_norm=False
        ViTConfig.Pooling pooling = avg ? ViTConfig.Pooling.AVERAGE : c.pooling();
        return new ViTConfig(img, patch, chans, dim, depth, heads, (int) (dim * mlpRatio), classes,
                c.distilled() ? 2 : classToken ? 1 : 0, c.eps(), qkvBias, pooling, fcNorm, posPrefix, layerScale).withPreNorm(preNorm);
    }

    private static SwinConfig swinArgs(SwinConfig c, ConfigJson args, List<String> unknown) {
        SwinConfig out = c;
        for (String k : args.keys()) {
            switch (k) {
                case "img_size" -> out = out.withImgSize(squareSize(args, k));
                case "patch_size" -> out = new SwinConfig(out.imgSize(), squareSize(args, k), out.inChans(), out.embedDim(),
                        out.depths(), out.heads(), out.window(), out.mlpRatio(), out.numClasses(), out.eps(), out.qkvBias());
                case "in_chans" -> out = new SwinConfig(out.imgSize(), out.patch(), args.integer(k, 3), out.embedDim(),
                        out.depths(), out.heads(), out.window(), out.mlpRatio(), out.numClasses(), out.eps(), out.qkvBias());
                case "num_classes" -> out = out.withClasses(args.integer(k, out.numClasses()));
                case "embed_dim" -> out = new SwinConfig(out.imgSize(), out.patch(), out.inChans(), args.integer(k, 96),
                        out.depths(), out.heads(), out.window(), out.mlpRatio(), out.numClasses(), out.eps(), out.qkvBias());
                case "depths" -> out = new SwinConfig(out.imgSize(), out.patch(), out.inChans(), out.embedDim(),
                        args.integers(k, null), out.heads(), out.window(), out.mlpRatio(), out.numClasses(), out.eps(), out.qkvBias());
                case "num_heads" -> out = new SwinConfig(out.imgSize(), out.patch(), out.inChans(), out.embedDim(),
                        out.depths(), args.integers(k, null), out.window(), out.mlpRatio(), out.numClasses(), out.eps(), out.qkvBias());
                case "window_size" -> out = out.withWindow(squareSize(args, k));
                case "mlp_ratio" -> out = new SwinConfig(out.imgSize(), out.patch(), out.inChans(), out.embedDim(),
                        out.depths(), out.heads(), out.window(), args.number(k, 4.0), out.numClasses(), out.eps(), out.qkvBias());
                case "qkv_bias" -> out = new SwinConfig(out.imgSize(), out.patch(), out.inChans(), out.embedDim(),
                        out.depths(), out.heads(), out.window(), out.mlpRatio(), out.numClasses(), out.eps(), args.bool(k, true));
                case "ape", "always_partition" -> require(args, k, args.bool(k, false), false, unknown);
                case "patch_norm" -> require(args, k, args.bool(k, true), true, unknown);
                case "global_pool" -> require(args, k, args.string(k, "avg"), "avg", unknown);
                default -> { if (!EVAL_NO_OPS.contains(k)) unknown.add(k); }
            }
        }
        return out;
    }

    private static <T> void require(ConfigJson args, String key, T value, T supported, List<String> unknown) {
        if (!value.equals(supported)) unknown.add(key + "=" + value);
    }

    /** An int, or a list of two equal ints (timm accepts both for sizes). */
    private static int squareSize(ConfigJson c, String key) {
        JsonNode n = c.raw(key);
        if (n != null && n.isArray()) {
            int[] v = c.integers(key, null);
            if (v.length != 2 || v[0] != v[1]) throw c.error(key, "must be one size or two equal sizes (vitq takes square inputs)", n);
            return positive(c, key, v[0]);
        }
        return positive(c, key, c.integer(key, 0));
    }

    private static int positive(ConfigJson c, String key, int v) {
        if (v <= 0) throw c.error(key, "must be positive", c.raw(key));
        return v;
    }

    private static Architecture withClasses(Architecture a, int classes) {
        return switch (a) {
            case ViTConfig c -> c.withClasses(classes);
            case SwinConfig c -> c.withClasses(classes);
        };
    }

    /**
     * timm's {@code resolve_data_config} from {@code pretrained_cfg}: input_size (must be the model's),
     * interpolation (default bicubic), crop_pct (0.875), crop_mode (center), mean and std (ImageNet).
     */
    static Preprocessing preprocessing(ConfigJson pre, int imgSize) {
        int size = imgSize;
        if (pre.has("input_size")) {
            int[] s = pre.integers("input_size", null);
            if (s.length != 3 || s[1] != s[2]) throw pre.error("input_size", "must be [channels, size, size] (square)", pre.raw("input_size"));
            if (s[1] != imgSize) {
                throw pre.error("'input_size' " + s[1] + "x" + s[2] + " is not the model's image size " + imgSize);
            }
            size = s[1];
        }
        Interpolation interp;
        try {
            interp = Interpolation.parse(pre.string("interpolation", "bicubic"));
        } catch (IllegalArgumentException e) {
            throw pre.error("interpolation", "must be bicubic, bilinear or nearest", pre.raw("interpolation"));
        }
        double cropPct = pre.number("crop_pct", 0.875);
        String mode = pre.string("crop_mode", "center");
        try {
            return Preprocessing.timm(size, cropPct, mode, interp, pre.channels("mean", Preprocessing.IMAGENET_MEAN),
                    pre.channels("std", Preprocessing.IMAGENET_STD));
        } catch (IllegalArgumentException e) {
            throw pre.error(e.getMessage());
        }
    }

    /** {@code label_names}: a list, or an object from class index to name; empty when absent. */
    private static List<String> labelNames(ConfigJson config, int classes) {
        JsonNode n = config.raw("label_names");
        if (n == null || n.isNull()) return List.of();
        List<String> names = new ArrayList<>();
        if (n.isArray()) {
            for (JsonNode e : n) names.add(e.asText());
        } else if (n.isObject()) {
            String[] byIndex = new String[n.size()];
            for (var it = n.fields(); it.hasNext(); ) {
                var e = it.next();
                int i;
                try {
                    i = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw config.error("label_names", "must map class indices to names", n);
                }
                if (i < 0 || i >= byIndex.length) throw config.error("label_names", "must cover classes 0.." + (byIndex.length - 1), n);
                byIndex[i] = e.getValue().asText();
            }
            names = List.of(byIndex);
        } else {
            throw config.error("label_names", "must be a list or an object", n);
        }
        if (names.size() != classes) {
            throw config.error("'label_names' has " + names.size() + " names for " + classes + " classes");
        }
        return names;
    }
}
