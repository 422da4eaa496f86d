package io.vitq.quant;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * One JSON object of a plan file as a quantizer kind reads its own fields ({@link OperandQuant#fromJson}):
 * strict, and every error names the file and the field's path ({@code ops["blocks.0.mlp.fc2"].input.bits}).
 */
public final class PlanFields {
    private final String source;
    private final JsonNode node;
    private final String path;

    PlanFields(String source, JsonNode node, String path) {
        this.source = source;
        this.node = node;
        this.path = path;
    }

    String path(String field) { return path.isEmpty() ? field : path + "." + field; }

    public PlanFormatException error(String field, String what) {
        return new PlanFormatException(source + ": " + (field == null ? path : path(field)) + ": " + what);
    }

    /** Refuses fields other than these. */
    public void only(Set<String> fields) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!fields.contains(f)) throw error(f, "unknown field (expected one of " + new TreeSet<>(fields) + ")");
        }
    }

    public String string(String field) {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) throw error(field, "missing");
        if (!n.isTextual()) throw error(field, "expected a string, got " + n.getNodeType().name().toLowerCase());
        return n.textValue();
    }

    public int integer(String field) {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) throw error(field, "missing");
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw error(field, "expected an integer, got " + n);
        return n.intValue();
    }

    public float number(String field) { return number(node.get(field), path(field)); }

    /** A non-empty array of positive finite scales. */
    public float[] scales(String field) {
        JsonNode arr = node.get(field);
        if (arr == null || !arr.isArray() || arr.isEmpty()) throw error(field, "expected a non-empty array of numbers");
        float[] v = new float[arr.size()];
        for (int i = 0; i < v.length; i++) {
            String p = path(field) + "[" + i + "]";
            v[i] = number(arr.get(i), p);
            if (!QuantChecks.isValidScale(v[i]))
                throw new PlanFormatException(source + ": " + p + ": expected a positive finite scale, got " + arr.get(i));
        }
        return v;
    }

    /** True when the object has {@code field} (an optional one). */
    public boolean has(String field) { return node.has(field); }

    /** A non-empty array of integers. */
    public int[] integers(String field) {
        JsonNode arr = node.get(field);
        if (arr == null || !arr.isArray() || arr.isEmpty()) throw error(field, "expected a non-empty array of integers");
        int[] v = new int[arr.size()];
        for (int i = 0; i < v.length; i++) {
            JsonNode n = arr.get(i);
            if (!n.isIntegralNumber() || !n.canConvertToInt())
                throw new PlanFormatException(source + ": " + path(field) + "[" + i + "]: expected an integer, got " + n);
            v[i] = n.intValue();
        }
        return v;
    }

    private float number(JsonNode n, String p) {
        if (n == null || n.isNull()) throw new PlanFormatException(source + ": " + p + ": missing");
        if (!n.isNumber()) throw new PlanFormatException(source + ": " + p + ": expected a number, got " + n);
        // the decimal text is exact (BigDecimal), so one correctly rounded parse gives the written float
        return Float.parseFloat(n.numberValue().toString());
    }

    /** {@code make}'s result, its IllegalArgumentException (a constructor's check) named with this object's path. */
    public <T> T build(Supplier<T> make) {
        try {
            return make.get();
        } catch (IllegalArgumentException e) {
            throw new PlanFormatException(source + ": " + path + ": " + e.getMessage(), e);
        }
    }
}
