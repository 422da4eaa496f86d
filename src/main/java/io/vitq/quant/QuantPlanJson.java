package io.vitq.quant;

import io.vitq.io.AtomicFile;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes {@link QuantPlan} as human-readable JSON:
 * <pre>
 * { "format": "vitq-quant-plan", "version": 1,
 *   "model": "vit_small_patch16_224", "method": "ptq4vit", "weightBits": 8, "activationBits": 8,
 *   "metric": "hessian", "calibration": "...", "created": "...", "vitqVersion": "...", "options": {..},
 *   "ops": {
 *     "patch_embed.proj": { "kind": "linear",
 *         "weight": { "quantizer": "uniform", "bits": 8, "granularity": "per-output-channel", "scales": [ .. ] },
 *         "input": null },
 *     "blocks.0.attn.matmul2": { "kind": "matmul",
 *         "a": { "quantizer": "twin-softmax", "bits": 8, "split": 0.0625, "mode": "clean" },
 *         "b": { "quantizer": "uniform", "bits": 8, "granularity": "per-head", "scales": [ .. ] } },
 *     "blocks.0.mlp.fc2": { "kind": "linear", "weight": { .. },
 *         "input": { "quantizer": "twin-gelu", "bits": 8, "positiveStep": .., "negativeStep": .. } } },
 *   "folds": [ { "norm": "blocks.0.norm1", "linear": "blocks.0.attn.qkv", "bits": 4,
 *                "scales": [ .. ], "zeroPoints": [ .. ] } ] }
 * </pre>
 * {@code folds} (optional, {@link NormFold}) are the LayerNorm → Linear reparameterisations the plan's
 * ops assume.
 * Ops are written in the plan's (forward) order. Floats are written as the shortest decimal that
 * identifies them ({@link Float#toString}) and read back with {@link Float#parseFloat} from the
 * exact decimal text, so every scale survives a round trip bit for bit (no detour through double).
 * An operand that is null or absent stays float. Reading is strict: unknown or missing fields and
 * wrong types are {@link PlanFormatException}s naming the file and the field.
 */
public final class QuantPlanJson {
    public static final String FORMAT = "vitq-quant-plan";
    public static final int VERSION = 1;

    private static final ObjectMapper READER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final JsonFactory FACTORY = new JsonFactory();

    private QuantPlanJson() {}

    // ---------------------------------------------------------------- writing

    /**
     * Writes the plan to {@code file} atomically ({@link AtomicFile}): no half-written plan.
     */
    public static void write(QuantPlan plan, Path file) throws IOException {
        String json = toJson(plan);
        AtomicFile.write(file, tmp -> Files.writeString(tmp, json, StandardCharsets.UTF_8));
    }

    public static String toJson(QuantPlan plan) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.setPrettyPrinter(new DefaultPrettyPrinter().withSeparators(
                    Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER)));
            PlanInfo info = plan.info();
            g.writeStartObject();
            g.writeStringField("format", FORMAT);
            g.writeNumberField("version", VERSION);
            g.writeStringField("model", info.model());
            g.writeStringField("method", info.method());
            g.writeNumberField("weightBits", info.weightBits());
            g.writeNumberField("activationBits", info.activationBits());
            optional(g, "metric", info.metric());
            optional(g, "calibration", info.calibration());
            optional(g, "created", info.created());
            optional(g, "vitqVersion", info.vitqVersion());
            if (!info.options().isEmpty()) writeStrings(g, "options", info.options());
            g.writeObjectFieldStart("ops");
            for (Map.Entry<String, OpQuant> e : plan.ops().entrySet()) {
                g.writeObjectFieldStart(e.getKey());
                g.writeStringField("kind", e.getValue().kind());
                switch (e.getValue()) {
                    case LinearQuant l -> {
                        writeOperand(g, "weight", l.weight());
                        writeOperand(g, "input", l.input());
                        float[] bias = l.bias();
                        if (bias != null) {
                            g.writeArrayFieldStart("bias");
                            for (float b : bias) g.writeNumber(b);
                            g.writeEndArray();
                        }
                    }
                    case MatmulQuant m -> {
                        writeOperand(g, "a", m.a());
                        writeOperand(g, "b", m.b());
                    }
                }
                if (!e.getValue().info().isEmpty()) writeStrings(g, "info", e.getValue().info());
                g.writeEndObject();
            }
            g.writeEndObject();
            if (!plan.folds().isEmpty()) {
                g.writeArrayFieldStart("folds");
                for (NormFold f : plan.folds()) {
                    g.writeStartObject();
                    g.writeStringField("norm", f.norm());
                    g.writeStringField("linear", f.linear());
                    g.writeNumberField("bits", f.bits());
                    g.writeArrayFieldStart("scales");
                    for (float v : f.scales()) g.writeNumber(v);
                    g.writeEndArray();
                    g.writeArrayFieldStart("zeroPoints");
                    for (int z : f.zeroPoints()) g.writeNumber(z);
                    g.writeEndArray();
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return out + "\n";
    }

    private static void optional(JsonGenerator g, String name, String value) throws IOException {
        if (value != null) g.writeStringField(name, value);
    }

    private static void writeStrings(JsonGenerator g, String name, Map<String, String> map) throws IOException {
        g.writeObjectFieldStart(name);
        for (Map.Entry<String, String> e : map.entrySet()) g.writeStringField(e.getKey(), e.getValue());
        g.writeEndObject();
    }

    private static void writeOperand(JsonGenerator g, String name, OperandQuant o) throws IOException {
        if (o == null) {
            g.writeNullField(name);
            return;
        }
        g.writeObjectFieldStart(name);
        g.writeStringField("quantizer", o.quantizerName());
        g.writeNumberField("bits", o.bits());
        o.writeJson(g);
        g.writeEndObject();
    }

    // ---------------------------------------------------------------- reading

    /** Reads a plan file; content errors are {@link PlanFormatException}s naming the file and field. */
    public static QuantPlan read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new PlanFormatException(file + ": not a plan (binary data, not UTF-8 JSON text)", e);
        }
        return parse(text, file.toString());
    }

    /**
     * The parser's complaint without Jackson's advice on its own features ("enable
     * JsonReadFeature... to allow") or its source locator, which the message gives already.
     */
    static String jsonProblem(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (m == null) return "unreadable";
        m = m.lines().findFirst().orElse(m);
        m = m.replaceAll("\\s*\\(start marker at \\[.*?\\]\\)", "").replaceAll(":?\\s*enable `?[A-Za-z]+Feature\\..*$", "");
        return m.strip();
    }

    /** Parses plan JSON; {@code source} names it in error messages (a file name). */
    public static QuantPlan parse(String json, String source) {
        JsonNode root;
        try {
            root = READER.readTree(json);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new PlanFormatException(source + ": not valid JSON" + where + ": " + jsonProblem(e), e);
        }
        Reader r = new Reader(source);
        if (root == null || !root.isObject()) throw r.error("", "expected a JSON object");
        r.onlyFields(root, "", Set.of("format", "version", "model", "method", "weightBits", "activationBits", "metric",
                "calibration", "created", "vitqVersion", "options", "ops", "folds"));
        String format = r.string(root, "", "format", true);
        if (!FORMAT.equals(format)) throw r.error("format", "expected \"" + FORMAT + "\", got \"" + format + "\"");
        int version = r.integer(root, "", "version");
        if (version != VERSION) throw r.error("version", "this vitq reads version " + VERSION + ", got " + version);
        PlanInfo info = r.wrap("", () -> new PlanInfo(r.string(root, "", "model", true), r.string(root, "", "method", true),
                r.integer(root, "", "weightBits"), r.integer(root, "", "activationBits"),
                r.string(root, "", "metric", false), r.string(root, "", "calibration", false),
                r.string(root, "", "created", false), r.string(root, "", "vitqVersion", false),
                r.strings(root, "", "options")));
        JsonNode opsNode = root.get("ops");
        if (opsNode == null || !opsNode.isObject()) throw r.error("ops", "expected an object of op id → quantization");
        LinkedHashMap<String, OpQuant> ops = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = opsNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            ops.put(e.getKey(), r.op(e.getValue(), "ops[\"" + e.getKey() + "\"]"));
        }
        List<NormFold> folds = new ArrayList<>();
        JsonNode foldsNode = root.get("folds");
        if (foldsNode != null && !foldsNode.isNull()) {
            if (!foldsNode.isArray()) throw r.error("folds", "expected an array of LayerNorm -> Linear folds");
            for (int i = 0; i < foldsNode.size(); i++) folds.add(r.fold(foldsNode.get(i), "folds[" + i + "]"));
        }
        return r.wrap(folds.isEmpty() ? "ops" : "folds", () -> new QuantPlan(info, ops, folds));
    }

    /** Tree walking with the file name and field path at hand for messages. */
    private record Reader(String source) {
        PlanFormatException error(String path, String what) {
            return new PlanFormatException(source + ": " + (path.isEmpty() ? "" : path + ": ") + what);
        }

        <T> T wrap(String path, java.util.function.Supplier<T> make) {
            try {
                return make.get();
            } catch (IllegalArgumentException e) {
                throw new PlanFormatException(source + ": " + (path.isEmpty() ? "" : path + ": ") + e.getMessage(), e);
            }
        }

        static String join(String path, String field) { return path.isEmpty() ? field : path + "." + field; }

        void onlyFields(JsonNode obj, String path, Set<String> allowed) {
            for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!allowed.contains(f)) throw error(join(path, f), "unknown field (expected one of " + new java.util.TreeSet<>(allowed) + ")");
            }
        }

        String string(JsonNode obj, String path, String field, boolean required) {
            JsonNode n = obj.get(field);
            if (n == null || n.isNull()) {
                if (required) throw error(join(path, field), "missing");
                return null;
            }
            if (!n.isTextual()) throw error(join(path, field), "expected a string, got " + n.getNodeType().name().toLowerCase());
            return n.textValue();
        }

        int integer(JsonNode obj, String path, String field) {
            JsonNode n = obj.get(field);
            if (n == null || n.isNull()) throw error(join(path, field), "missing");
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw error(join(path, field), "expected an integer, got " + n);
            return n.intValue();
        }

        float number(JsonNode n, String path) {
            if (n == null || n.isNull()) throw error(path, "missing");
            if (!n.isNumber()) throw error(path, "expected a number, got " + n);
            // the decimal text is exact (BigDecimal), so one correctly rounded parse gives the written float
            return Float.parseFloat(n.numberValue().toString());
        }

        Map<String, String> strings(JsonNode obj, String path, String field) {
            JsonNode n = obj.get(field);
            if (n == null || n.isNull()) return Map.of();
            String p = join(path, field);
            if (!n.isObject()) throw error(p, "expected an object of strings");
            LinkedHashMap<String, String> m = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isTextual()) throw error(join(p, e.getKey()), "expected a string, got " + e.getValue());
                m.put(e.getKey(), e.getValue().textValue());
            }
            return m;
        }

        OpQuant op(JsonNode n, String path) {
            if (!n.isObject()) throw error(path, "expected an object");
            String kind = string(n, path, "kind", true);
            Map<String, String> info;
            switch (kind) {
                case "linear" -> {
                    onlyFields(n, path, Set.of("kind", "weight", "input", "bias", "info"));
                    OperandQuant w = operand(n, path, "weight");
                    if (w == null) throw error(join(path, "weight"), "missing");
                    if (!(w instanceof UniformOperand uw))
                        throw error(join(path, "weight"), "weights use the uniform quantizer, got " + w.quantizerName());
                    OperandQuant in = operand(n, path, "input");
                    float[] bias = null;
                    JsonNode bn = n.get("bias");
                    if (bn != null && !bn.isNull()) {
                        if (!bn.isArray() || bn.isEmpty()) throw error(join(path, "bias"), "expected a non-empty array of numbers");
                        bias = new float[bn.size()];
                        for (int i = 0; i < bias.length; i++) bias[i] = number(bn.get(i), join(path, "bias") + "[" + i + "]");
                    }
                    info = strings(n, path, "info");
                    float[] b = bias;
                    return wrap(path, () -> new LinearQuant(uw, in, b, info));
                }
                case "matmul" -> {
                    onlyFields(n, path, Set.of("kind", "a", "b", "info"));
                    OperandQuant a = operand(n, path, "a"), b = operand(n, path, "b");
                    info = strings(n, path, "info");
                    return wrap(path, () -> new MatmulQuant(a, b, info));
                }
                default -> throw error(join(path, "kind"), "expected \"linear\" or \"matmul\", got \"" + kind + "\"");
            }
        }

        NormFold fold(JsonNode n, String path) {
            if (n == null || !n.isObject()) throw error(path, "expected an object");
            PlanFields f = new PlanFields(source, n, path);
            f.only(Set.of("norm", "linear", "bits", "scales", "zeroPoints"));
            String norm = f.string("norm"), linear = f.string("linear");
            int bits = f.integer("bits");
            float[] scales = f.scales("scales");
            JsonNode zn = n.get("zeroPoints");
            if (zn == null || !zn.isArray() || zn.isEmpty()) throw error(join(path, "zeroPoints"), "expected a non-empty array of integers");
            int[] z = new int[zn.size()];
            for (int i = 0; i < z.length; i++) {
                JsonNode v = zn.get(i);
                if (!v.isIntegralNumber() || !v.canConvertToInt())
                    throw error(join(path, "zeroPoints") + "[" + i + "]", "expected an integer, got " + v);
                z[i] = v.intValue();
            }
            return f.build(() -> new NormFold(norm, linear, bits, scales, z));
        }

        OperandQuant operand(JsonNode parent, String parentPath, String field) {
            JsonNode n = parent.get(field);
            String path = join(parentPath, field);
            if (n == null || n.isNull()) return null;
            if (!n.isObject()) throw error(path, "expected an object or null");
            return OperandQuant.fromJson(new PlanFields(source, n, path));
        }
    }
}
