package io.vitq.model;

import io.vitq.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Named parameter tensors (timm state-dict keys) as the model definitions consume them.
 * The file formats live in {@code io}; this only checks names and shapes.
 */
public final class Weights {
    private final String source;
    private final Map<String, Tensor> tensors;
    private final Set<String> used = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public Weights(String source, Map<String, Tensor> tensors) {
        this.source = source;
        this.tensors = new LinkedHashMap<>(tensors);
    }

    public String source() { return source; }

    public Set<String> names() { return tensors.keySet(); }

    public boolean has(String name) { return tensors.containsKey(name); }

    public int[] shape(String name) { return require(name).shape(); }

    /** The tensor {@code name}, which must have exactly {@code expected} shape. */
    public Tensor get(String name, int... expected) {
        Tensor t = require(name);
        if (!t.hasShape(expected)) {
            throw new ModelException(source + ": tensor '" + name + "' has shape " + t.shapeString()
                    + ", expected " + Arrays.toString(expected));
        }
        return t;
    }

    public float[] data(String name, int... expected) { return get(name, expected).data(); }

    /**
     * The tensor {@code name}, checked once to hold only finite values: a NaN or infinity in a
     * weight makes every output NaN, and later errors (a quantizer's) could not name the tensor.
     */
    public Tensor require(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new ModelException(source + ": missing tensor '" + name + "'");
        if (used.add(name)) {
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                if (!Float.isFinite(d[i]))
                    throw new ModelException(source + ": tensor '" + name + "' holds " + d[i] + " at index " + i
                            + " (weights must be finite)");
            }
        }
        return t;
    }

    /** A new view with {@code from} renamed to {@code to} for every key starting with {@code from}. */
    public Weights renamePrefix(String from, String to) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        tensors.forEach((k, v) -> m.put(k.startsWith(from) ? to + k.substring(from.length()) : k, v));
        return new Weights(source, m);
    }

    /** Names never read by the model builder (reported so that a wrong architecture does not pass silently). */
    public java.util.List<String> unused() {
        return tensors.keySet().stream().filter(k -> !used.contains(k)).toList();
    }

    public Map<String, Tensor> asMap() { return java.util.Collections.unmodifiableMap(tensors); }
}
