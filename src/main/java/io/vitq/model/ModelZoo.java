package io.vitq.model;

import io.vitq.data.Preprocessing;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Known timm model names: architecture and the eval preprocessing timm uses for them.
 * Weights are never downloaded; a checkpoint file supplies them.
 */
public final class ModelZoo {

    /** Builds a model of this entry's architecture from checkpoint weights. */
    @FunctionalInterface
    public interface Builder {
        Model build(Entry entry, Weights w);
    }

    public record Entry(String name, String family, String summary, Preprocessing input, Builder builder) {
        public Model build(Weights w) { return builder.build(this, w); }
    }

    private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();
    /** The ViT/DeiT entries' architectures, for models built without a checkpoint (random weights, speed only). */
    private static final Map<String, ViTConfig> VIT_SHAPES = new LinkedHashMap<>();

    static {
        vit("vit_tiny_patch16_224", 224, 16, 192, 12, 3, true, "ViT-Ti/16 (AugReg)");
        vit("vit_small_patch32_224", 224, 32, 384, 12, 6, true, "ViT-S/32 (AugReg)");
        vit("vit_small_patch16_224", 224, 16, 384, 12, 6, true, "ViT-S/16 (AugReg)");
        vit("vit_base_patch16_224", 224, 16, 768, 12, 12, true, "ViT-B/16 (AugReg)");
        vit("vit_base_patch16_384", 384, 16, 768, 12, 12, true, "ViT-B/16 @384 (AugReg)");
        vit("deit_tiny_patch16_224", 224, 16, 192, 12, 3, false, "DeiT-Ti");
        vit("deit_small_patch16_224", 224, 16, 384, 12, 6, false, "DeiT-S");
        vit("deit_base_patch16_224", 224, 16, 768, 12, 12, false, "DeiT-B");
        vit("deit_base_patch16_384", 384, 16, 768, 12, 12, false, "DeiT-B @384");
        vit("deit_tiny_distilled_patch16_224", 224, 16, 192, 12, 3, false, "DeiT-Ti distilled");
        vit("deit_small_distilled_patch16_224", 224, 16, 384, 12, 6, false, "DeiT-S distilled");
        vit("deit_base_distilled_patch16_224", 224, 16, 768, 12, 12, false, "DeiT-B distilled");
        vit("deit_base_distilled_patch16_384", 384, 16, 768, 12, 12, false, "DeiT-B distilled @384");
        SwinTransformer.registerZoo();
    }

    private ModelZoo() {}

    private static void vit(String name, int img, int patch, int dim, int depth, int heads, boolean augreg,
                            String summary) {
        boolean distilled = name.contains("distilled");
        ViTConfig expected = ViTConfig.of(img, patch, dim, depth, heads).withDistillation(distilled);
        VIT_SHAPES.put(name, expected);
        register(new Entry(name, "vit", summary, Preprocessing.timm(img, augreg), (e, w) -> {
            ViTConfig found = VisionTransformer.inferConfig(w, heads);
            checkSame(e.name(), w, "image size", expected.imgSize(), found.imgSize());
            checkSame(e.name(), w, "patch size", expected.patch(), found.patch());
            checkSame(e.name(), w, "embed dim", expected.dim(), found.dim());
            checkSame(e.name(), w, "depth", expected.depth(), found.depth());
            checkSame(e.name(), w, "prefix tokens", expected.prefixTokens(), found.prefixTokens());
            return VisionTransformer.load(e.name(), found, e.input(), w);
        }));
    }

    private static void checkSame(String model, Weights w, String what, int expected, int found) {
        if (expected != found) {
            throw new ModelException(w.source() + ": checkpoint has " + what + " " + found + ", but " + model
                    + " has " + expected);
        }
    }

    /** Adds an entry (other model families register theirs here). */
    public static synchronized void register(Entry e) {
        ENTRIES.put(e.name(), e);
    }

    public static synchronized Entry get(String name) {
        return ENTRIES.get(name);
    }

    public static synchronized List<Entry> entries() {
        return Collections.unmodifiableList(new ArrayList<>(ENTRIES.values()));
    }

    /** The architecture of a ViT/DeiT zoo entry, or null for other names and families. */
    public static synchronized ViTConfig vitShape(String name) {
        return VIT_SHAPES.get(name);
    }

    /** The longest zoo name that starts {@code fileName} (e.g. "vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"). */
    public static synchronized Entry matchFileName(String fileName) {
        Entry best = null;
        for (Entry e : ENTRIES.values()) {
            if (fileName.startsWith(e.name()) && (best == null || e.name().length() > best.name().length())) best = e;
        }
        return best;
    }
}
