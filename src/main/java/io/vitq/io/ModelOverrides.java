package io.vitq.io;

import io.vitq.data.Interpolation;
import io.vitq.data.Preprocessing;
import io.vitq.model.Architecture;
import io.vitq.model.ModelException;
import io.vitq.model.ModelSpec;
import io.vitq.model.SwinConfig;
import io.vitq.model.SwinTransformer;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.model.Weights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The user's {@code --heads}, {@code --img-size}, {@code --patch-size}, {@code --window-size},
 * {@code --mean}, {@code --std}, {@code --crop-pct} and {@code --interpolation} (null when not
 * given): applied over what a zoo name or a model folder gives, and required where a bare
 * checkpoint file does not say what they set. What the tensors determine (a ViT's image and patch
 * size, a Swin's window and heads) can only be confirmed, not changed.
 */
public record ModelOverrides(Integer heads, Integer imgSize, Integer patchSize, Integer windowSize,
                             float[] mean, float[] std, Double cropPct, Interpolation interpolation) {

    public static final ModelOverrides NONE = new ModelOverrides(null, null, null, null, null, null, null, null);

    /** Values no model could take are refused here, for the command line and the Java API alike, by their options' names. */
    public ModelOverrides {
        positive("--heads", heads);
        positive("--img-size", imgSize);
        positive("--patch-size", patchSize);
        positive("--window-size", windowSize);
        if (cropPct != null && !(cropPct > 0 && cropPct <= 4))
            throw new IllegalArgumentException("--crop-pct must be in (0, 4], got " + cropPct);
        if (mean != null)
            for (float v : mean) if (!Float.isFinite(v)) throw new IllegalArgumentException("--mean " + list(mean) + ": must be finite");
        if (std != null)
            for (float v : std)
                if (!(v > 0 && Float.isFinite(v))) throw new IllegalArgumentException("--std " + list(std) + ": must be positive");
        mean = mean == null ? null : mean.clone();
        std = std == null ? null : std.clone();
    }

    private static void positive(String option, Integer value) {
        if (value != null && value <= 0) throw new IllegalArgumentException(option + " must be a positive number, got " + value);
    }

    public boolean isEmpty() { return equals(NONE); }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelOverrides m && java.util.Objects.equals(heads, m.heads) && java.util.Objects.equals(imgSize, m.imgSize)
                && java.util.Objects.equals(patchSize, m.patchSize) && java.util.Objects.equals(windowSize, m.windowSize)
                && Arrays.equals(mean, m.mean) && Arrays.equals(std, m.std) && java.util.Objects.equals(cropPct, m.cropPct)
                && interpolation == m.interpolation;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(heads, imgSize, patchSize, windowSize, cropPct, interpolation)
                + 31 * Arrays.hashCode(mean) + 7 * Arrays.hashCode(std);
    }

    /** The options given, as the user typed them (for notes), e.g. "--heads 4, --crop-pct 0.875". */
    public String describe() {
        List<String> l = new ArrayList<>();
        if (heads != null) l.add("--heads " + heads);
        if (imgSize != null) l.add("--img-size " + imgSize);
        if (patchSize != null) l.add("--patch-size " + patchSize);
        if (windowSize != null) l.add("--window-size " + windowSize);
        if (mean != null) l.add("--mean " + list(mean));
        if (std != null) l.add("--std " + list(std));
        if (cropPct != null) l.add("--crop-pct " + cropPct);
        if (interpolation != null) l.add("--interpolation " + interpolation.timmName());
        return String.join(", ", l);
    }

    private static String list(float[] v) {
        StringBuilder b = new StringBuilder();
        for (float x : v) b.append(b.isEmpty() ? "" : ",").append(x);
        return b.toString();
    }

    /** {@code base} with these options applied; {@code w} (the checkpoint) confirms what its shapes determine. */
    public ModelSpec apply(ModelSpec base, Weights w) {
        if (isEmpty()) return base;
        Architecture a = switch (base.architecture()) {
            case ViTConfig c -> vit(c);
            case SwinConfig c -> swin(c, w);
        };
        Preprocessing p = base.preprocessing();
        if (a.imgSize() != p.inputSize()) {
            if (cropPct == null) {
                throw new ModelException("--img-size " + imgSize + ": the eval transform was for " + p.inputSize() + "x"
                        + p.inputSize() + " images; give --crop-pct too, so that the resize for " + imgSize + " is defined");
            }
            p = p.withInputSize(a.imgSize(), cropPct);
        } else if (cropPct != null) {
            p = p.withCropPct(cropPct);
        }
        if (interpolation != null) p = p.withInterpolation(interpolation);
        if (mean != null || std != null) p = p.withNormalization(mean != null ? mean : p.mean(), std != null ? std : p.std());
        return new ModelSpec(base.name(), a, p, base.classNames());
    }

    private ViTConfig vit(ViTConfig c) {
        if (windowSize != null) throw new ModelException("--window-size: a Swin option; this model is a ViT");
        if (imgSize != null && imgSize != c.imgSize()) {
            throw new ModelException("--img-size " + imgSize + ": the checkpoint's pos_embed (" + c.tokens() + " tokens, patch "
                    + c.patch() + ") is for " + c.imgSize() + "x" + c.imgSize() + " images; vitq does not resample position embeddings");
        }
        if (patchSize != null && patchSize != c.patch()) {
            throw new ModelException("--patch-size " + patchSize + ": the checkpoint's patch_embed.proj.weight has patch " + c.patch());
        }
        if (heads == null) return c;
        if (heads <= 0 || c.dim() % heads != 0) {
            throw new ModelException("--heads " + heads + ": the embed dim " + c.dim() + " is not divisible by it");
        }
        return c.withHeads(heads);
    }

    private SwinConfig swin(SwinConfig c, Weights w) {
        if (heads != null) {
            throw new ModelException("--heads: a Swin's head counts are given by its relative_position_bias_table shapes ("
                    + Arrays.toString(c.heads()) + ")");
        }
        if (patchSize != null && patchSize != c.patch()) {
            throw new ModelException("--patch-size " + patchSize + ": the checkpoint's patch_embed.proj.weight has patch " + c.patch());
        }
        if (windowSize != null && windowSize != c.window()) {
            throw new ModelException("--window-size " + windowSize + ": the checkpoint's relative_position_bias_table is for window "
                    + c.window());
        }
        if (imgSize == null || imgSize == c.imgSize()) return c;
        try {
            return c.withImgSize(imgSize);
        } catch (ModelException e) {
            throw new ModelException("--img-size " + imgSize + ": " + e.getMessage());
        }
    }

    /**
     * The spec of a bare checkpoint file (timm names, no config): architecture from the tensor
     * shapes with what they do not store taken from these options; refused, naming every missing
     * option, when one is not given.
     */
    public ModelSpec forBareCheckpoint(String name, Weights w, Path file) {
        boolean vit = w.has("patch_embed.proj.weight") && w.has("blocks.0.norm1.weight");
        boolean swin = !vit && SwinTransformer.looksLikeSwin(w);
        if (!vit && !swin) {
            throw new ModelException(w.source() + ": not a ViT/DeiT/Swin checkpoint with timm key names (no"
                    + " 'patch_embed.proj.weight' with 'blocks.0.*' or 'layers.0.blocks.0.*' tensors)");
        }
        List<String> missing = new ArrayList<>();
        if (vit && heads == null) missing.add("--heads N (the attention head count)");
        if (swin && imgSize == null) missing.add("--img-size S (the input size)");
        List<String> transform = missingPreprocessing();
        missing.addAll(transform);
        if (!missing.isEmpty()) {
            List<String> unknown = new ArrayList<>();
            if (vit && heads == null) unknown.add("its head count");
            if (swin && imgSize == null) unknown.add("its input size");
            if (!transform.isEmpty()) unknown.add("its preprocessing");
            String what = String.join(" or ", unknown);
            throw new BareCheckpointException(what, file + ": a checkpoint file alone does not say " + what
                    + "; pass " + String.join(", ", missing) + ". Or name its architecture: --model ZOO_NAME --checkpoint "
                    + file + " ('vitq models'), or load a Hugging Face model folder (config.json beside the"
                    + " weights, timm or transformers layout)");
        }
        Architecture a = vit ? checkedVit(w) : SwinTransformer.inferConfig(w, imgSize);
        Preprocessing p = new Preprocessing(a.imgSize(), cropPct, interpolation, mean, std);
        return apply(new ModelSpec(name, a, p), w);
    }

    /**
     * The eval transform of these options alone, for a model folder whose config gives none
     * ({@code reason} says so, naming the file, and ends where "pass OPTIONS" follows): all four of --mean, --std, --crop-pct and
     * --interpolation are needed, since a transform half given would be half guessed.
     */
    public Preprocessing preprocessingWhereMissing(int imgSize, String reason) {
        List<String> missing = missingPreprocessing();
        if (!missing.isEmpty()) throw new ModelException(reason + " pass " + String.join(", ", missing));
        return new Preprocessing(imgSize, cropPct, interpolation, mean, std);
    }

    /** The preprocessing options not given, as the help names them. */
    private List<String> missingPreprocessing() {
        List<String> missing = new ArrayList<>();
        if (mean == null) missing.add("--mean R,G,B");
        if (std == null) missing.add("--std R,G,B");
        if (cropPct == null) missing.add("--crop-pct P");
        if (interpolation == null) missing.add("--interpolation bicubic|bilinear|nearest");
        return missing;
    }

    private ViTConfig checkedVit(Weights w) {
        if (w.shape("patch_embed.proj.weight")[0] % heads != 0) {
            throw new ModelException("--heads " + heads + ": the embed dim " + w.shape("patch_embed.proj.weight")[0]
                    + " is not divisible by it");
        }
        return VisionTransformer.inferConfig(w, heads);
    }

    /** Parses {@code --interpolation}; null for null. */
    public static Interpolation parseInterpolation(String value) {
        if (value == null) return null;
        try {
            return Interpolation.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--interpolation " + value + ": expected bicubic, bilinear or nearest");
        }
    }

    /** Parses {@code --mean} / {@code --std}: three comma-separated numbers, or one for all channels. */
    public static float[] parseChannels(String option, String value) {
        String[] parts = value.split(",");
        if (parts.length != 1 && parts.length != 3) {
            throw new IllegalArgumentException(option + " " + value + ": expected R,G,B (three numbers) or one number");
        }
        float[] v = new float[3];
        for (int i = 0; i < 3; i++) {
            String s = parts[parts.length == 1 ? 0 : i].trim();
            try {
                v[i] = Float.parseFloat(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " " + value + ": '" + s + "' is not a number");
            }
            if (!Float.isFinite(v[i])) throw new IllegalArgumentException(option + " " + value + ": must be finite");
        }
        return v;
    }

    /**
     * A checkpoint file that does not say what the model needs (heads, input size, preprocessing);
     * its message names the command line's options, which a caller without them can replace.
     */
    public static final class BareCheckpointException extends ModelException {
        private final String unknown;

        BareCheckpointException(String unknown, String message) {
            super(message);
            this.unknown = unknown;
        }

        /** What it does not say, e.g. "its head count or its preprocessing". */
        public String unknown() { return unknown; }
    }
}
