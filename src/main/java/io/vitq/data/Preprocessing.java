package io.vitq.data;

import java.util.Arrays;
import java.util.Locale;

/**
 * An eval transform, exactly as the library the model comes from runs it: resize (PIL, antialiased),
 * centre crop to {@code inputSize x inputSize}, convert to float and normalise per channel.
 *
 * <ul>
 *   <li>{@link Convention#TIMM}: timm's {@code transforms_imagenet_eval} on torchvision's PIL ops:
 *       {@code Resize}, {@code CenterCrop} (offsets {@code round((side - crop) / 2)}, zero padding
 *       {@code (crop - side) // 2} first), {@code ToTensor} ({@code byte / 255} in float32),
 *       {@code Normalize}.</li>
 *   <li>{@link Convention#TRANSFORMERS}: Hugging Face transformers' PIL image processors (ViT, DeiT):
 *       {@code resize} with PIL, {@code center_crop} (offsets {@code (side - crop) // 2}, padding
 *       {@code ceil((crop - side) / 2)} first), {@code rescale} ({@code float64(byte) * factor} cast to
 *       float32), {@code normalize}.</li>
 * </ul>
 * Both normalise as {@code (x - mean) / std} in float32, with {@code mean} and {@code std} as float32.
 *
 * @param resize     {@link Resize#SHORTER_SIDE}: the shorter side becomes {@code resizeSize}, the longer
 *                   {@code int(resizeSize * long / short)}; {@link Resize#SQUASH}: both sides become
 *                   {@code resizeSize} (aspect ratio not kept)
 * @param rescale    the factor of the transformers convention (its {@code rescale_factor}, 1 when it does
 *                   not rescale); 1/255 for timm, whose division is fixed
 */
public record Preprocessing(int inputSize, Resize resize, int resizeSize, Interpolation interpolation,
                            Convention convention, double rescale, float[] mean, float[] std) {

    /** How the image is resized before the centre crop. */
    public enum Resize { SHORTER_SIDE, SQUASH }

    /** Whose crop rounding and float conversion the transform reproduces. */
    public enum Convention { TIMM, TRANSFORMERS }

    /** timm's {@code IMAGENET_DEFAULT_MEAN / STD}. */
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};
    /** timm's {@code IMAGENET_INCEPTION_MEAN / STD} (used by the AugReg ViTs). */
    public static final float[] INCEPTION_MEAN = {0.5f, 0.5f, 0.5f};
    public static final float[] INCEPTION_STD = {0.5f, 0.5f, 0.5f};

    public Preprocessing {
        if (inputSize <= 0) throw new IllegalArgumentException("input size must be positive, got " + inputSize);
        if (resizeSize <= 0) throw new IllegalArgumentException("resize size must be positive, got " + resizeSize);
        if (resize == null || interpolation == null || convention == null)
            throw new IllegalArgumentException("resize, interpolation and convention are required");
        if (!(rescale > 0 && rescale < Double.POSITIVE_INFINITY))
            throw new IllegalArgumentException("rescale factor must be a positive number, got " + rescale);
        if (convention == Convention.TIMM && rescale != 1.0 / 255)
            throw new IllegalArgumentException("timm's ToTensor always divides by 255");
        if (mean == null || mean.length != 3 || std == null || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 values each");
        }
        for (float m : mean) if (!Float.isFinite(m)) throw new IllegalArgumentException("mean must be finite: " + Arrays.toString(mean));
        for (float s : std) if (!(s > 0 && Float.isFinite(s))) throw new IllegalArgumentException("std must be positive: " + Arrays.toString(std));
        mean = mean.clone();
        std = std.clone();
    }

    /**
     * timm's eval transform in its default {@code crop_mode='center'}: resize the shorter side to
     * {@code floor(inputSize / cropPct)}, centre-crop {@code inputSize}.
     */
    public Preprocessing(int inputSize, double cropPct, Interpolation interpolation, float[] mean, float[] std) {
        this(inputSize, Resize.SHORTER_SIDE, timmResizeSize(inputSize, cropPct), interpolation, Convention.TIMM,
                1.0 / 255, mean, std);
    }

    /** timm's eval transform with {@code crop_mode} "center" or "squash" (the only two vitq reproduces). */
    public static Preprocessing timm(int inputSize, double cropPct, String cropMode, Interpolation interpolation,
                                     float[] mean, float[] std) {
        Resize r = switch (cropMode) {
            case "center" -> Resize.SHORTER_SIDE;
            case "squash" -> Resize.SQUASH;
            default -> throw new IllegalArgumentException("crop_mode '" + cropMode + "' (vitq reproduces center and squash)");
        };
        return new Preprocessing(inputSize, r, timmResizeSize(inputSize, cropPct), interpolation, Convention.TIMM,
                1.0 / 255, mean, std);
    }

    /** timm's {@code math.floor(img_size / crop_pct)}. */
    public static int timmResizeSize(int inputSize, double cropPct) {
        if (!(cropPct > 0 && cropPct <= 4)) throw new IllegalArgumentException("crop_pct must be in (0, 4], got " + cropPct);
        return (int) Math.floor(inputSize / cropPct);
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

    /** The same transform with other normalisation statistics. */
    public Preprocessing withNormalization(float[] newMean, float[] newStd) {
        return new Preprocessing(inputSize, resize, resizeSize, interpolation, convention, rescale, newMean, newStd);
    }

    public Preprocessing withInterpolation(Interpolation i) {
        return new Preprocessing(inputSize, resize, resizeSize, i, convention, rescale, mean, std);
    }

    /** The same transform at another crop ratio: the resize becomes {@code floor(inputSize / cropPct)} (timm's rule). */
    public Preprocessing withCropPct(double cropPct) {
        return new Preprocessing(inputSize, resize, timmResizeSize(inputSize, cropPct), interpolation, convention, rescale,
                mean, std);
    }

    /** The same transform for another input size, resizing to {@code floor(size / cropPct)}. */
    public Preprocessing withInputSize(int size, double cropPct) {
        return new Preprocessing(size, resize, timmResizeSize(size, cropPct), interpolation, convention, rescale, mean, std);
    }

    @Override public float[] mean() { return mean.clone(); }

    @Override public float[] std() { return std.clone(); }

    /** One line for logs and reports. */
    public String describe() {
        String r = resize == Resize.SHORTER_SIDE ? "resize shorter side to " + resizeSize
                : "resize to " + resizeSize + "x" + resizeSize;
        String crop = resize == Resize.SQUASH && resizeSize == inputSize ? "" : " -> centre crop " + inputSize;
        String scale = convention == Convention.TIMM ? "" : String.format(Locale.ROOT, ", rescale x %s (transformers)",
                rescale == 1.0 / 255 ? "1/255" : Double.toString(rescale));
        return String.format(Locale.ROOT, "%s (%s, PIL)%s%s, mean %s, std %s", r, interpolation.timmName(), crop, scale,
                Arrays.toString(mean), Arrays.toString(std));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && p.inputSize == inputSize && p.resize == resize && p.resizeSize == resizeSize
                && p.interpolation == interpolation && p.convention == convention && Double.compare(p.rescale, rescale) == 0
                && Arrays.equals(p.mean, mean) && Arrays.equals(p.std, std);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(inputSize, resize, resizeSize, interpolation, convention, rescale)
                + Arrays.hashCode(mean) * 7 + Arrays.hashCode(std);
    }

    @Override
    public String toString() { return "Preprocessing[" + describe() + "]"; }
}
