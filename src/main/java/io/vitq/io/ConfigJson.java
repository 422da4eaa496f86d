package io.vitq.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One JSON object of a model folder's config file, read with typed accessors whose errors name the
 * file and the key ({@code config.json: 'hidden_size' must be an integer, got "768"}). A key that is
 * absent or JSON {@code null} takes the given default, which callers set to what the library itself
 * would use.
 */
final class ConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String where;
    private final ObjectNode node;

    private ConfigJson(String where, ObjectNode node) {
        this.where = where;
        this.node = node;
    }

    /** Reads {@code file}, which must hold one JSON object. */
    static ConfigJson read(Path file) {
        JsonNode n;
        try {
            n = JSON.readTree(Files.readString(file));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String at = e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
            throw new CheckpointException(file + ": not valid JSON" + at);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new CheckpointException(file + ": not a text file (expected JSON)");
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")", e);
        }
        if (!(n instanceof ObjectNode o)) throw new CheckpointException(file + ": expected a JSON object");
        return new ConfigJson(file.toString(), o);
    }

    /** The nested object {@code key}, or null when absent. */
    ConfigJson object(String key) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) return null;
        if (!(n instanceof ObjectNode o)) throw error(key, "must be an object", n);
        return new ConfigJson(where + " '" + key + "'", o);
    }

    String where() { return where; }

    boolean has(String key) {
        JsonNode n = node.get(key);
        return n != null && !n.isNull();
    }

    /** The keys present (not null), in file order. */
    List<String> keys() {
        List<String> l = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isNull()) l.add(e.getKey());
        }
        return l;
    }

    JsonNode raw(String key) { return node.get(key); }

    String string(String key, String dflt) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isTextual()) throw error(key, "must be a string", n);
        return n.asText();
    }

    int integer(String key, int dflt) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw error(key, "must be an integer", n);
        return n.asInt();
    }

    double number(String key, double dflt) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber()) throw error(key, "must be a number", n);
        return n.asDouble();
    }

    boolean bool(String key, boolean dflt) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isBoolean()) throw error(key, "must be true or false", n);
        return n.asBoolean();
    }

    int[] integers(String key, int[] dflt) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isArray()) throw error(key, "must be a list of integers", n);
        int[] v = new int[n.size()];
        for (int i = 0; i < v.length; i++) {
            JsonNode e = n.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) throw error(key, "must be a list of integers", n);
            v[i] = e.asInt();
        }
        return v;
    }

    /** Three numbers (a per-channel mean or std). */
    float[] channels(String key, float[] dflt) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) return dflt;
        if (n.isNumber()) return new float[] {(float) n.asDouble(), (float) n.asDouble(), (float) n.asDouble()};
        if (!n.isArray() || n.size() != 3) throw error(key, "must be 3 numbers (one per RGB channel)", n);
        float[] v = new float[3];
        for (int i = 0; i < 3; i++) {
            if (!n.get(i).isNumber()) throw error(key, "must be 3 numbers (one per RGB channel)", n);
            v[i] = (float) n.get(i).asDouble();
        }
        return v;
    }

    CheckpointException error(String key, String what, JsonNode value) {
        String v = value == null ? "nothing" : value.toString();
        if (v.length() > 80) v = v.substring(0, 77) + "...";
        return new CheckpointException(where + ": '" + key + "' " + what + ", got " + v);
    }

    CheckpointException error(String what) {
        return new CheckpointException(where + ": " + what);
    }
}
