package io.vitq.model;

import java.util.Locale;

/**
 * What a model expects as input: timm's eval-transform settings (resize the shorter side to
 * floor(size / cropPct) with the given interpolation, centre crop, normalise with mean/std).
 */
public record InputSpec(int size, double cropPct, String interpolation, float[] mean, float[] std) {
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};
    public static final float[] INCEPTION_MEAN = {0.5f, 0.5f, 0.5f};
    public static final float[] INCEPTION_STD = {0.5f, 0.5f, 0.5f};

    /** timm's default crop_pct: 0.9 at 224, 1.0 at 384 and above for these families. */
    public static InputSpec of(int size, boolean inceptionNorm) {
        return new InputSpec(size, size >= 384 ? 1.0 : 0.9, "bicubic",
                inceptionNorm ? INCEPTION_MEAN : IMAGENET_MEAN, inceptionNorm ? INCEPTION_STD : IMAGENET_STD);
    }

    public int resizeSize() { return (int) Math.floor(size / cropPct); }

    public String describe() {
        return String.format(Locale.ROOT, "%s resize to %d, centre crop %d (crop_pct %.3f), mean (%.3f, %.3f, %.3f), std (%.3f, %.3f, %.3f)",
                interpolation, resizeSize(), size, cropPct, mean[0], mean[1], mean[2], std[0], std[1], std[2]);
    }
}
