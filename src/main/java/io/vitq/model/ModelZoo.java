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

    /**
     * A timm model name with its architecture (1000 classes) and timm's eval transform for it.
     *
     * @param architecture the published model's; a checkpoint with a fine-tuned head keeps its own class count
     */
    public record Entry(String name, String summary, Architecture architecture, Preprocessing input) {
        public String family() { return architecture.family(); }

        /** The spec for checkpoint {@code w}: this architecture with {@code w}'s classes, checked against {@code w}'s shapes. */
        public ModelSpec specFor(Weights w) {
            Architecture a = switch (architecture) {
                case ViTConfig c -> c.withClasses(VisionTransformer.inferConfig(w, c.heads()).numClasses());
                case SwinConfig c -> c.withClasses(SwinTransformer.inferShapes(w).numClasses());
            };
            return new ModelSpec(name, checkShapes(name, a, w), input);
        }

        /** The model from checkpoint {@code w} (strict: see {@link ModelSpec#build}). */
        public Model build(Weights w) { return specFor(w).build(w); }
    }

    private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();

    /** OpenAI CLIP's normalisation (timm's {@code OPENAI_CLIP_MEAN / STD}). */
    private static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f}, CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    static {
        // ViT: AugReg, and the original release for ViT-L/32 @384 (the same transform: crop 0.9, 1.0 at 384; mean = std = 0.5)
        vit("vit_tiny_patch16_224", 224, 16, 192, 12, 3, true, "ViT-Ti/16 (AugReg)");
        vit("vit_tiny_patch16_384", 384, 16, 192, 12, 3, true, "ViT-Ti/16 @384 (AugReg)");
        vit("vit_small_patch32_224", 224, 32, 384, 12, 6, true, "ViT-S/32 (AugReg)");
        vit("vit_small_patch32_384", 384, 32, 384, 12, 6, true, "ViT-S/32 @384 (AugReg)");
        vit("vit_small_patch16_224", 224, 16, 384, 12, 6, true, "ViT-S/16 (AugReg)");
        vit("vit_small_patch16_384", 384, 16, 384, 12, 6, true, "ViT-S/16 @384 (AugReg)");
        vit("vit_base_patch32_224", 224, 32, 768, 12, 12, true, "ViT-B/32 (AugReg)");
        vit("vit_base_patch32_384", 384, 32, 768, 12, 12, true, "ViT-B/32 @384 (AugReg)");
        vit("vit_base_patch16_224", 224, 16, 768, 12, 12, true, "ViT-B/16 (AugReg)");
        vit("vit_base_patch16_384", 384, 16, 768, 12, 12, true, "ViT-B/16 @384 (AugReg)");
        vit("vit_base_patch8_224", 224, 8, 768, 12, 12, true, "ViT-B/8 (AugReg)");
        vit("vit_large_patch32_384", 384, 32, 1024, 24, 16, true, "ViT-L/32 @384 (original release)");
        vit("vit_large_patch16_224", 224, 16, 1024, 24, 16, true, "ViT-L/16 (AugReg)");
        vit("vit_large_patch16_384", 384, 16, 1024, 24, 16, true, "ViT-L/16 @384 (AugReg)");
        // Alibaba MIIL's ViT-B/16: no qkv bias, inputs in [0, 1] (mean 0, std 1), crop 0.875, bilinear
        register(new Entry("vit_base_patch16_224_miil", "ViT-B/16 (MIIL, in21k -> in1k)",
                new ViTConfig(224, 16, 3, 768, 12, 12, 3072, 1000, 1, 1e-6f, false, ViTConfig.Pooling.CLASS_TOKEN, false, true, false),
                new Preprocessing(224, 0.875, io.vitq.data.Interpolation.BILINEAR, new float[] {0, 0, 0}, new float[] {1, 1, 1})));
        vit("deit_tiny_patch16_224", 224, 16, 192, 12, 3, false, "DeiT-Ti");
        vit("deit_small_patch16_224", 224, 16, 384, 12, 6, false, "DeiT-S");
        vit("deit_base_patch16_224", 224, 16, 768, 12, 12, false, "DeiT-B");
        vit("deit_base_patch16_384", 384, 16, 768, 12, 12, false, "DeiT-B @384");
        vit("deit_tiny_distilled_patch16_224", 224, 16, 192, 12, 3, false, "DeiT-Ti distilled");
        vit("deit_small_distilled_patch16_224", 224, 16, 384, 12, 6, false, "DeiT-S distilled");
        vit("deit_base_distilled_patch16_224", 224, 16, 768, 12, 12, false, "DeiT-B distilled");
        vit("deit_base_distilled_patch16_384", 384, 16, 768, 12, 12, false, "DeiT-B distilled @384");
        // DeiT-3: LayerScale, the position embedding on the patch tokens only; at 224 the default tag
        // (fb_in1k) crops 0.9 and the in22k fine-tunes 1.0, so both tags are named; at 384 both crop 1.0
        deit3("deit3_small_patch16_224", 224, 16, 384, 12, 6, "DeiT-3-S");
        deit3("deit3_medium_patch16_224", 224, 16, 512, 12, 8, "DeiT-3-M");
        deit3("deit3_base_patch16_224", 224, 16, 768, 12, 12, "DeiT-3-B");
        deit3("deit3_large_patch16_224", 224, 16, 1024, 24, 16, "DeiT-3-L");
        deit3("deit3_huge_patch14_224", 224, 14, 1280, 32, 16, "DeiT-3-H/14");
        deit3("deit3_small_patch16_384", 384, 16, 384, 12, 6, "DeiT-3-S @384");
        deit3("deit3_base_patch16_384", 384, 16, 768, 12, 12, "DeiT-3-B @384");
        deit3("deit3_large_patch16_384", 384, 16, 1024, 24, 16, "DeiT-3-L @384");
        // global average pooling: no class token, the final norm before the mean (fc_norm=False), no
        // qkv bias, LayerScale; timm's sw_in12k_ft_in1k eval transforms (crop 0.95, mean = std = 0.5,
        // and at 384 the squash resize: the whole image to 404 x 404, then the centre crop)
        gap("vit_medium_patch16_gap_256", 256, "center", "ViT-M/16 GAP @256 (in12k -> in1k)");
        gap("vit_medium_patch16_gap_384", 384, "squash", "ViT-M/16 GAP @384 (in12k -> in1k)");
        // CLIP fine-tunes: timm's pre_norm (norm_pre after the position embedding, no patch-embedding bias),
        // LayerNorm eps 1e-5. Their tags differ in crop, resize and mean, so every ImageNet-1k tag is an entry
        // ("tag crop resize mean"); the first is timm's default, which the bare name takes too.
        clip("vit_base_patch16_clip_224", 224, 16, 768, 12, 12, "ViT-B/16 CLIP", "laion2b_ft_in12k_in1k 0.95 center openai",
                "openai_ft_in12k_in1k 0.95 center openai", "laion2b_ft_in1k 1.0 center openai", "openai_ft_in1k 0.9 center openai");
        clip("vit_base_patch16_clip_384", 384, 16, 768, 12, 12, "ViT-B/16 CLIP @384", "laion2b_ft_in12k_in1k 1.0 squash openai",
                "openai_ft_in12k_in1k 0.95 squash openai", "laion2b_ft_in1k 1.0 squash openai", "openai_ft_in1k 1.0 squash openai");
        clip("vit_base_patch32_clip_224", 224, 32, 768, 12, 12, "ViT-B/32 CLIP", "laion2b_ft_in12k_in1k 0.9 center openai",
                "openai_ft_in12k_in1k 0.9 center openai", "laion2b_ft_in1k 0.9 center openai", "openai_ft_in1k 0.9 center openai");
        clip("vit_base_patch32_clip_384", 384, 32, 768, 12, 12, "ViT-B/32 CLIP @384", "laion2b_ft_in12k_in1k 1.0 center openai",
                "openai_ft_in12k_in1k 0.95 squash openai");
        clip("vit_base_patch32_clip_448", 448, 32, 768, 12, 12, "ViT-B/32 CLIP @448", "laion2b_ft_in12k_in1k 1.0 center openai");
        clip("vit_large_patch14_clip_224", 224, 14, 1024, 24, 16, "ViT-L/14 CLIP", "laion2b_ft_in12k_in1k 1.0 center inception",
                "openai_ft_in12k_in1k 1.0 center openai", "laion2b_ft_in1k 1.0 center inception", "openai_ft_in1k 1.0 center openai");
        clip("vit_large_patch14_clip_336", 336, 14, 1024, 24, 16, "ViT-L/14 CLIP @336", "laion2b_ft_in12k_in1k 1.0 squash inception",
                "openai_ft_in12k_in1k 1.0 squash openai", "laion2b_ft_in1k 1.0 squash inception");
        clip("vit_huge_patch14_clip_224", 224, 14, 1280, 32, 16, "ViT-H/14 CLIP", "laion2b_ft_in12k_in1k 1.0 center openai",
                "laion2b_ft_in1k 1.0 center openai");
        clip("vit_huge_patch14_clip_336", 336, 14, 1280, 32, 16, "ViT-H/14 CLIP @336", "laion2b_ft_in12k_in1k 1.0 squash openai",
                "laion2b_ft_in1k 1.0 squash openai");
        int[] d6 = {2, 2, 6, 2}, d18 = {2, 2, 18, 2}, hT = {3, 6, 12, 24}, hB = {4, 8, 16, 32}, hL = {6, 12, 24, 48};
        swin("swin_tiny_patch4_window7_224", SwinConfig.of(224, 7, 96, d6, hT), "Swin-T");
        swin("swin_small_patch4_window7_224", SwinConfig.of(224, 7, 96, d18, hT), "Swin-S");
        swin("swin_base_patch4_window7_224", SwinConfig.of(224, 7, 128, d18, hB), "Swin-B (in22k -> in1k)");
        swin("swin_base_patch4_window12_384", SwinConfig.of(384, 12, 128, d18, hB), "Swin-B @384 (in22k -> in1k)");
        swin("swin_large_patch4_window7_224", SwinConfig.of(224, 7, 192, d18, hL), "Swin-L (in22k -> in1k)");
        swin("swin_large_patch4_window12_384", SwinConfig.of(384, 12, 192, d18, hL), "Swin-L @384 (in22k -> in1k)");
    }

    private ModelZoo() {}

    private static void vit(String name, int img, int patch, int dim, int depth, int heads, boolean augreg, String summary) {
        ViTConfig c = ViTConfig.of(img, patch, dim, depth, heads).withDistillation(name.contains("distilled"));
        register(new Entry(name, summary, c, Preprocessing.timm(img, augreg)));
    }

    /**
     * A DeiT-3 (timm's default tag fb_in1k); at 224 also its {@code .fb_in22k_ft_in1k} tag, which crops 1.0
     * where the default crops 0.9 (at 384 both crop 1.0, so the bare name serves both).
     */
    private static void deit3(String name, int img, int patch, int dim, int depth, int heads, String summary) {
        ViTConfig c = ViTConfig.of(img, patch, dim, depth, heads).withVariant(1, ViTConfig.Pooling.CLASS_TOKEN, false, false, true);
        register(new Entry(name, summary, c, deit3Transform(img, img < 384 ? 0.9 : 1.0)));
        if (img < 384) register(new Entry(name + ".fb_in22k_ft_in1k", summary + " (in22k -> in1k)", c, deit3Transform(img, 1.0)));
    }

    private static Preprocessing deit3Transform(int img, double cropPct) {
        return new Preprocessing(img, cropPct, io.vitq.data.Interpolation.BICUBIC, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD);
    }

    private static void gap(String name, int img, String cropMode, String summary) {
        register(new Entry(name, summary,
                new ViTConfig(img, 16, 3, 512, 12, 8, 2048, 1000, 0, 1e-6f, false, ViTConfig.Pooling.AVERAGE, false, true, true),
                Preprocessing.timm(img, 0.95, cropMode, io.vitq.data.Interpolation.BICUBIC, Preprocessing.INCEPTION_MEAN,
                        Preprocessing.INCEPTION_STD)));
    }

    /** A CLIP fine-tune under its bare name (the first tag's transform) and under each "tag crop resize mean" of {@code tags}. */
    private static void clip(String arch, int img, int patch, int dim, int depth, int heads, String summary, String... tags) {
        ViTConfig c = ViTConfig.of(img, patch, dim, depth, heads).withEps(1e-5f).withPreNorm(true);
        for (int i = 0; i < tags.length; i++) {
            String[] t = tags[i].split(" ");
            boolean openai = t[3].equals("openai");
            Preprocessing p = Preprocessing.timm(img, Double.parseDouble(t[1]), t[2], io.vitq.data.Interpolation.BICUBIC,
                    openai ? CLIP_MEAN : Preprocessing.INCEPTION_MEAN, openai ? CLIP_STD : Preprocessing.INCEPTION_STD);
            if (i == 0) register(new Entry(arch, summary + " (" + t[0] + ")", c, p));
            register(new Entry(arch + "." + t[0], summary + " (" + t[0] + ")", c, p));
        }
    }

    private static void swin(String name, SwinConfig c, String summary) {
        register(new Entry(name, summary, c, Preprocessing.timm(c.imgSize(), false)));
    }

    /**
     * {@code expected} when checkpoint {@code w}'s tensor shapes fit it (everything the shapes
     * determine: sizes, depths, heads of a Swin, qkv bias, distillation head), else an error naming
     * every difference.
     *
     * @param model the zoo name or config that {@code expected} comes from, for the message
     */
    public static Architecture checkShapes(String model, Architecture expected, Weights w) {
        List<String> d = switch (expected) {
            case ViTConfig c -> c.shapeDifferences(VisionTransformer.inferConfig(w, c.heads()));
            case SwinConfig c -> c.shapeDifferences(SwinTransformer.inferShapes(w));
        };
        if (!d.isEmpty()) {
            throw new ModelException(w.source() + ": the checkpoint does not fit " + model + ": it has " + String.join(", ", d));
        }
        return expected;
    }

    /** Adds an entry. */
    public static synchronized void register(Entry e) {
        ENTRIES.put(e.name(), e);
    }

    public static synchronized Entry get(String name) {
        return ENTRIES.get(name);
    }

    public static synchronized List<Entry> entries() {
        return Collections.unmodifiableList(new ArrayList<>(ENTRIES.values()));
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
