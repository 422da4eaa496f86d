package io.vitq.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vitq.data.Interpolation;
import io.vitq.data.Preprocessing;
import io.vitq.model.Architecture;
import io.vitq.model.ModelException;
import io.vitq.model.ModelSpec;
import io.vitq.model.SwinConfig;
import io.vitq.model.RotatedInputs;
import io.vitq.model.ViTConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A {@link ModelSpec} as JSON, kept in a quantized model file so that it loads exactly as the model
 * it was made from, whatever that came from (zoo name, model folder, options). Every field is
 * written; reading requires every field.
 */
public final class ModelSpecJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelSpecJson() {}

    public static String toJson(ModelSpec s) {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", s.name());
        o.put("family", s.architecture().family());
        ObjectNode a = o.putObject("architecture");
        switch (s.architecture()) {
            case ViTConfig c -> {
                a.put("img_size", c.imgSize()).put("patch_size", c.patch()).put("in_chans", c.inChans())
                        .put("embed_dim", c.dim()).put("depth", c.depth()).put("num_heads", c.heads())
                        .put("mlp_hidden", c.mlpHidden()).put("num_classes", c.numClasses())
                        .put("prefix_tokens", c.prefixTokens()).put("eps", c.eps()).put("qkv_bias", c.qkvBias())
                        .put("pooling", c.pooling().name().toLowerCase(Locale.ROOT)).put("fc_norm", c.fcNorm())
                        .put("pos_embed_prefix", c.posEmbedPrefix()).put("layer_scale", c.layerScale());
                if (c.preNorm()) a.put("pre_norm", true); // absent: none (every file before it; version 8, which older readers refuse)
                // absent: not rotated (every file before it); true: qkv and fc1 (the first rotation, files of version 3
                // and 4); "all": every block Linear (version 5, which older readers refuse)
                if (c.rotation() == RotatedInputs.NORMED) a.put("rotated_inputs", true);
                else if (c.rotation() == RotatedInputs.ALL) a.put("rotated_inputs", "all");
            }
            case SwinConfig c -> {
                a.put("img_size", c.imgSize()).put("patch_size", c.patch()).put("in_chans", c.inChans())
                        .put("embed_dim", c.embedDim()).put("window_size", c.window()).put("mlp_ratio", c.mlpRatio())
                        .put("num_classes", c.numClasses()).put("eps", c.eps()).put("qkv_bias", c.qkvBias());
                ints(a.putArray("depths"), c.depths());
                ints(a.putArray("num_heads"), c.heads());
            }
        }
        Preprocessing p = s.preprocessing();
        ObjectNode q = o.putObject("preprocessing");
        q.put("input_size", p.inputSize()).put("resize", p.resize().name().toLowerCase(Locale.ROOT))
                .put("resize_size", p.resizeSize()).put("interpolation", p.interpolation().timmName())
                .put("convention", p.convention().name().toLowerCase(Locale.ROOT)).put("rescale", p.rescale());
        floats(q.putArray("mean"), p.mean());
        floats(q.putArray("std"), p.std());
        ArrayNode names = o.putArray("class_names");
        s.classNames().forEach(names::add);
        return o.toString();
    }

    /** @param where the file and metadata key, for messages */
    public static ModelSpec parse(String json, String where) {
        JsonNode o;
        try {
            o = JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new CheckpointException(where + ": not valid JSON");
        }
        try {
            JsonNode a = field(o, "architecture", where), q = field(o, "preprocessing", where);
            String family = text(o, "family", where);
            Architecture arch = switch (family) {
                case "vit" -> new ViTConfig(integer(a, "img_size", where), integer(a, "patch_size", where),
                        integer(a, "in_chans", where), integer(a, "embed_dim", where), integer(a, "depth", where),
                        integer(a, "num_heads", where), integer(a, "mlp_hidden", where), integer(a, "num_classes", where),
                        integer(a, "prefix_tokens", where), (float) number(a, "eps", where), bool(a, "qkv_bias", where),
                        ViTConfig.Pooling.valueOf(text(a, "pooling", where).toUpperCase(Locale.ROOT)), bool(a, "fc_norm", where),
                        bool(a, "pos_embed_prefix", where), bool(a, "layer_scale", where),
                        a.has("pre_norm") && bool(a, "pre_norm", where), rotation(a, where));
                case "swin" -> new SwinConfig(integer(a, "img_size", where), integer(a, "patch_size", where),
                        integer(a, "in_chans", where), integer(a, "embed_dim", where), integers(a, "depths", where),
                        integers(a, "num_heads", where), integer(a, "window_size", where), number(a, "mlp_ratio", where),
                        integer(a, "num_classes", where), (float) number(a, "eps", where), bool(a, "qkv_bias", where));
                default -> throw new CheckpointException(where + ": unknown model family '" + family + "'");
            };
            Preprocessing p = new Preprocessing(integer(q, "input_size", where),
                    Preprocessing.Resize.valueOf(text(q, "resize", where).toUpperCase(Locale.ROOT)),
                    integer(q, "resize_size", where), Interpolation.parse(text(q, "interpolation", where)),
                    Preprocessing.Convention.valueOf(text(q, "convention", where).toUpperCase(Locale.ROOT)),
                    number(q, "rescale", where), channels(q, "mean", where), channels(q, "std", where));
            List<String> names = new ArrayList<>();
            JsonNode n = field(o, "class_names", where);
            if (!n.isArray()) throw new CheckpointException(where + ": 'class_names' must be a list");
            n.forEach(e -> names.add(e.asText()));
            return new ModelSpec(text(o, "name", where), arch, p, names);
        } catch (IllegalArgumentException | ModelException e) {
            throw new CheckpointException(where + ": " + e.getMessage(), e);
        }
    }

    private static void ints(ArrayNode a, int[] v) { for (int x : v) a.add(x); }

    private static void floats(ArrayNode a, float[] v) { for (float x : v) a.add(x); }

    private static JsonNode field(JsonNode o, String k, String where) {
        JsonNode n = o.get(k);
        if (n == null || n.isNull()) throw new CheckpointException(where + ": '" + k + "' missing");
        return n;
    }

    private static String text(JsonNode o, String k, String where) {
        JsonNode n = field(o, k, where);
        if (!n.isTextual()) throw new CheckpointException(where + ": '" + k + "' must be a string");
        return n.asText();
    }

    private static int integer(JsonNode o, String k, String where) {
        JsonNode n = field(o, k, where);
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw new CheckpointException(where + ": '" + k + "' must be an integer");
        return n.asInt();
    }

    private static double number(JsonNode o, String k, String where) {
        JsonNode n = field(o, k, where);
        if (!n.isNumber()) throw new CheckpointException(where + ": '" + k + "' must be a number");
        return n.asDouble();
    }

    /** A ViT's {@code "rotated_inputs"}: absent or false, true (qkv and fc1), or "all" (every block Linear). */
    private static RotatedInputs rotation(JsonNode a, String where) {
        JsonNode n = a.get("rotated_inputs");
        if (n == null || n.isBoolean()) return n != null && n.asBoolean() ? RotatedInputs.NORMED : RotatedInputs.NONE;
        if (n.isTextual() && "all".equals(n.asText())) return RotatedInputs.ALL;
        throw new CheckpointException(where + ": 'rotated_inputs' must be true, false or \"all\", got " + n);
    }

    private static boolean bool(JsonNode o, String k, String where) {
        JsonNode n = field(o, k, where);
        if (!n.isBoolean()) throw new CheckpointException(where + ": '" + k + "' must be true or false");
        return n.asBoolean();
    }

    private static int[] integers(JsonNode o, String k, String where) {
        JsonNode n = field(o, k, where);
        if (!n.isArray()) throw new CheckpointException(where + ": '" + k + "' must be a list of integers");
        int[] v = new int[n.size()];
        for (int i = 0; i < v.length; i++) {
            if (!n.get(i).canConvertToInt()) throw new CheckpointException(where + ": '" + k + "' must be a list of integers");
            v[i] = n.get(i).asInt();
        }
        return v;
    }

    private static float[] channels(JsonNode o, String k, String where) {
        JsonNode n = field(o, k, where);
        if (!n.isArray() || n.size() != 3) throw new CheckpointException(where + ": '" + k + "' must be 3 numbers");
        return new float[] {(float) n.get(0).asDouble(), (float) n.get(1).asDouble(), (float) n.get(2).asDouble()};
    }
}
