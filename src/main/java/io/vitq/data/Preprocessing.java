package io.vitq.data;

import java.util.Arrays;
import java.util.Locale;

/**
 * The parameters of timm's eval transform ({@code timm.data.transforms_imagenet_eval}, timm 0.4.12):
 * resize the shorter side to {@code floor(inputSize / cropPct)}, centre-crop {@code inputSize},
 * scale to [0, 1], normalise per channel with {@code mean} and {@code std}.
 *
 * <p>{@code mean} and {@code std} are float32, as the {@code torch.tensor(mean)} timm builds.
 */
public record Preprocessing(int inputSize, double cropPct, Interpolation interpolation, float[] mean, float[] std) {

    /** timm's {@code IMAGENET_DEFAULT_MEAN / STD}. */
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};
    /** timm's {@code IMAGENET_INCEPTION_MEAN / STD} (used by the AugReg ViTs). */
    public static final float[] INCEPTION_MEAN = {0.5f, 0.5f, 0.5f};
    public static final float[] INCEPTION_STD = {0.5f, 0.5f, 0.5f};

    public Preprocessing {
        if (inputSize <= 0) throw new IllegalArgumentException("inputSize must be positive, got " + inputSize);
        if (!(cropPct > 0 && cropPct <= 4)) throw new IllegalArgumentException("cropPct must be in (0, 4], got " + cropPct);
        if (interpolation == null) throw new IllegalArgumentException("interpolation is required");
        if (mean == null || mean.length != 3 || std == null || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 values each");
        }
        for (float s : std) if (!(s > 0)) throw new IllegalArgumentException("std must be positive: " + Arrays.toString(std));
        mean = mean.clone();
        std = std.clone();
    }

    /** The setting of timm's ViT-Ti/16 AugReg (and the golden data): 224, crop 0.9, bicubic, mean = std = 0.5. */
    public static Preprocessing vitAugReg(int inputSize) {
        return new Preprocessing(inputSize, 0.9, Interpolation.BICUBIC, INCEPTION_MEAN, INCEPTION_STD);
    }

    /**
     * The eval setting timm uses for the ViT, DeiT and Swin families: bicubic, crop_pct 0.9 below 384
     * and 1.0 at 384 and above; inception mean/std (0.5) for the AugReg ViTs, ImageNet mean/std otherwise.
     */
    public static Preprocessing timm(int inputSize, boolean inceptionNorm) {
        return new Preprocessing(inputSize, inputSize >= 384 ? 1.0 : 0.9, Interpolation.BICUBIC,
                inceptionNorm ? INCEPTION_MEAN : IMAGENET_MEAN, inceptionNorm ? INCEPTION_STD : IMAGENET_STD);
    }

    /** timm's eval defaults for ImageNet models: crop 0.875, bilinear interpolation, ImageNet mean/std. */
    public static Preprocessing imagenetDefault(int inputSize) {
        return new Preprocessing(inputSize, 0.875, Interpolation.BILINEAR, IMAGENET_MEAN, IMAGENET_STD);
    }

    /** The shorter side after resizing: {@code int(math.floor(img_size / crop_pct))} as in timm. */
    public int resizeSize() {
        return (int) Math.floor(inputSize / cropPct);
    }

    @Override public float[] mean() { return mean.clone(); }

    @Override public float[] std() { return std.clone(); }

    /** One line for logs and reports. */
    public String describe() {
        return String.format(Locale.ROOT, "resize shorter side to %d (%s, PIL) -> centre crop %d (crop_pct %s), "
                        + "mean %s, std %s", resizeSize(), interpolation.timmName(), inputSize, cropPct,
                Arrays.toString(mean), Arrays.toString(std));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && p.inputSize == inputSize && Double.compare(p.cropPct, cropPct) == 0
                && p.interpolation == interpolation && Arrays.equals(p.mean, mean) && Arrays.equals(p.std, std);
    }

    @Override
    public int hashCode() {
        return ((inputSize * 31 + Double.hashCode(cropPct)) * 31 + interpolation.hashCode()) * 31
                + Arrays.hashCode(mean) * 7 + Arrays.hashCode(std);
    }

    @Override
    public String toString() { return "Preprocessing[" + describe() + "]"; }
}
