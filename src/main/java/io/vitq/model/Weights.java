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
    /** For tensors renamed from another layout (transformers): the names they have in the file. */
    private final Map<String, String> origins;
    private final Set<String> used = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public Weights(String source, Map<String, Tensor> tensors) {
        this(source, tensors, Map.of());
    }

    /** @param origins for some names, the name (or names) the tensor has in the file, shown in messages */
    public Weights(String source, Map<String, Tensor> tensors, Map<String, String> origins) {
        this.source = source;
        this.tensors = new LinkedHashMap<>(tensors);
        this.origins = Map.copyOf(origins);
    }

    public String source() { return source; }

    /** {@code 'name'}, followed by the file's own name for a renamed tensor. */
    public String describe(String name) {
        String o = origins.get(name);
        return "'" + name + "'" + (o == null ? "" : " (" + o + " in the file)");
    }

    /** The name a tensor has in the file (itself unless it was renamed from another layout). */
    public String origin(String name) { return origins.getOrDefault(name, name); }

    public Set<String> names() { return tensors.keySet(); }

    public boolean has(String name) { return tensors.containsKey(name); }

    public int[] shape(String name) { return require(name).shape(); }

    /** The tensor {@code name}, which must have exactly {@code expected} shape. */
    public Tensor get(String name, int... expected) {
        Tensor t = require(name);
        if (!t.hasShape(expected)) {
            throw new ModelException(source + ": tensor " + describe(name) + " has shape " + t.shapeString()
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
        if (t == null) throw new ModelException(source + ": missing tensor " + describe(name));
        if (used.add(name)) {
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                if (!Float.isFinite(d[i]))
                    throw new ModelException(source + ": tensor " + describe(name) + " holds " + d[i] + " at index " + i
                            + " (weights must be finite)");
            }
        }
        return t;
    }

    /** A new view with {@code from} renamed to {@code to} for every key starting with {@code from}. */
    public Weights renamePrefix(String from, String to) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        tensors.forEach((k, v) -> m.put(k.startsWith(from) ? to + k.substring(from.length()) : k, v));
        return new Weights(source, m, origins);
    }

    /** Names never read by the model builder (reported so that a wrong architecture does not pass silently). */
    public java.util.List<String> unused() {
        return tensors.keySet().stream().filter(k -> !used.contains(k)).toList();
    }

    /**
     * Buffers that the model definitions recompute instead of reading (Swin's relative-position
     * index and shift mask): timm's own checkpoint filter drops them, so they are never "left over".
     */
    public static boolean isRecomputedBuffer(String name) {
        return name.endsWith(".relative_position_index") || name.endsWith(".attn_mask");
    }

    /**
     * Strict loading, like timm's {@code strict=True}: every tensor must have been read by the model
     * builder, apart from {@linkplain #isRecomputedBuffer recomputed buffers}.
     *
     * @param model what was built, for the message
     */
    public void requireAllUsed(String model) {
        java.util.List<String> left = unused().stream().filter(k -> !isRecomputedBuffer(k)).toList();
        if (left.isEmpty()) return;
        java.util.List<String> shown = left.subList(0, Math.min(6, left.size())).stream().map(this::describe).toList();
        throw new ModelException(source + ": " + left.size() + " tensor(s) that " + model + " does not have: "
                + String.join(", ", shown) + (left.size() > shown.size() ? ", ..." : "")
                + " (vitq loads checkpoints strictly: a checkpoint of another architecture or variant is refused"
                + " rather than run without these weights)");
    }

    public Map<String, Tensor> asMap() { return java.util.Collections.unmodifiableMap(tensors); }
}
