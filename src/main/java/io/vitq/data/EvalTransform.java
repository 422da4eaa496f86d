package io.vitq.data;

import java.nio.file.Path;

/**
 * An eval transform ({@link Preprocessing}) on PIL-exact images, reproduced step by step: timm's
 * torchvision {@code Resize}, {@code CenterCrop}, {@code ToTensor} and {@code Normalize}, or the same
 * steps as Hugging Face transformers' PIL image processors compute them. The output is CHW float32,
 * written into a caller's array so that a batch tensor [B,3,S,S] is filled in place. Thread-safe
 * (holds no mutable state).
 */
public final class EvalTransform {
    private final Preprocessing config;
    private final float[] mean, std;

    public EvalTransform(Preprocessing config) {
        this.config = config;
        this.mean = config.mean();
        this.std = config.std();
    }

    public Preprocessing config() { return config; }

    /** Number of floats one image produces: 3 * inputSize * inputSize. */
    public int imageFloats() {
        int s = config.inputSize();
        return 3 * s * s;
    }

    /** Decodes {@code path} and writes its preprocessed CHW values to {@code out[offset ...]}. */
    public void load(Path path, float[] out, int offset) {
        RgbImage image = ImageDecoder.decode(path);
        if (config.resize() == Preprocessing.Resize.SHORTER_SIDE) {
            String tooLarge = checkResizable(image.width(), image.height(), config.resizeSize());
            if (tooLarge != null) throw new ImageLoadException(path, tooLarge);
        }
        apply(image, out, offset);
    }

    /**
     * Null if the shorter-side resize of a {@code w x h} image fits in memory as one 8-bit RGB image
     * (under 2^31 bytes), else why not: a very thin image (say 20000 x 1) grows by the resize factor
     * on its long side too.
     */
    static String checkResizable(int w, int h, int size) {
        int shorter = Math.min(w, h), longer = Math.max(w, h);
        double newLong = Math.floor((double) size * longer / shorter);
        if (shorter == size || newLong * size * 3 < Integer.MAX_VALUE - 64) return null;
        return "image of " + w + " x " + h + " pixels: its aspect ratio is too extreme to resize the shorter side to "
                + size + " (the longer would be " + (long) newLong + " pixels)";
    }

    /** Preprocesses a decoded image into a new array of {@link #imageFloats()} values. */
    public float[] apply(RgbImage image) {
        float[] out = new float[imageFloats()];
        apply(image, out, 0);
        return out;
    }

    /** Preprocesses a decoded image into {@code out[offset ... offset + imageFloats())}. */
    public void apply(RgbImage image, float[] out, int offset) {
        if (offset < 0 || offset + imageFloats() > out.length) {
            throw new IllegalArgumentException("output array of " + out.length + " floats has no room for "
                    + imageFloats() + " at offset " + offset);
        }
        toTensor(resizeAndCrop(image), out, offset);
    }

    /** The resized and centre-cropped 8-bit image (what PIL holds before ToTensor). */
    public RgbImage resizeAndCrop(RgbImage image) {
        int size = config.resizeSize();
        RgbImage resized = config.resize() == Preprocessing.Resize.SHORTER_SIDE
                ? resizeShorterSide(image, size, config.interpolation())
                : PilResize.resize(image, size, size, config.interpolation());
        return config.convention() == Preprocessing.Convention.TIMM
                ? centerCrop(resized, config.inputSize())
                : centerCropTransformers(resized, config.inputSize());
    }

    /**
     * torchvision 0.11 {@code F.resize(img, size)} with an int size: the shorter side becomes
     * {@code size}, the longer {@code int(size * long / short)} (truncated); no-op if the shorter
     * side already has that size.
     */
    static RgbImage resizeShorterSide(RgbImage image, int size, Interpolation filter) {
        int w = image.width(), h = image.height();
        String tooLarge = checkResizable(w, h, size);
        if (tooLarge != null) throw new IllegalArgumentException(tooLarge);
        int shorter = Math.min(w, h), longer = Math.max(w, h);
        if (shorter == size) return image;
        int newLong = (int) ((double) ((long) size * longer) / shorter);
        int newW = w <= h ? size : newLong, newH = w <= h ? newLong : size;
        return PilResize.resize(image, newW, newH, filter);
    }

    /**
     * torchvision 0.11 {@code F.center_crop}: offsets {@code int(round((side - crop) / 2.0))} with
     * Python's round-half-to-even; a side smaller than the crop is first zero-padded by
     * {@code (crop - side) // 2} before and the rest after, as torchvision does.
     */
    static RgbImage centerCrop(RgbImage image, int crop) {
        int w = image.width(), h = image.height();
        int padLeft = w < crop ? (crop - w) / 2 : 0, padTop = h < crop ? (crop - h) / 2 : 0;
        int paddedW = Math.max(w, crop), paddedH = Math.max(h, crop);
        int left = (int) Math.rint((paddedW - crop) / 2.0) - padLeft;
        int top = (int) Math.rint((paddedH - crop) / 2.0) - padTop;
        if (left >= 0 && top >= 0 && left + crop <= w && top + crop <= h) return image.crop(left, top, crop, crop);
        RgbImage out = RgbImage.blank(crop, crop);
        for (int y = 0; y < crop; y++) {
            int sy = top + y;
            if (sy < 0 || sy >= h) continue;
            for (int x = 0; x < crop; x++) {
                int sx = left + x;
                if (sx < 0 || sx >= w) continue;
                System.arraycopy(image.rgb(), 3 * (sy * w + sx), out.rgb(), 3 * (y * crop + x), 3);
            }
        }
        return out;
    }

    /**
     * transformers' {@code center_crop}: offsets {@code (side - crop) // 2}; a side smaller than the
     * crop is first zero-padded by {@code ceil((crop - side) / 2)} before and the rest after.
     */
    static RgbImage centerCropTransformers(RgbImage image, int crop) {
        int w = image.width(), h = image.height();
        int top = Math.floorDiv(h - crop, 2), left = Math.floorDiv(w - crop, 2);
        if (top >= 0 && left >= 0) return image.crop(left, top, crop, crop);
        int padTop = h < crop ? (crop - h + 1) / 2 : 0, padLeft = w < crop ? (crop - w + 1) / 2 : 0;
        RgbImage out = RgbImage.blank(crop, crop);
        for (int y = 0; y < crop; y++) {
            // output row y is padded row (top + padTop + y) when the side was padded, image row (top + y) otherwise
            int sy = (h < crop ? 0 : top) + y - padTop;
            if (sy < 0 || sy >= h) continue;
            for (int x = 0; x < crop; x++) {
                int sx = (w < crop ? 0 : left) + x - padLeft;
                if (sx < 0 || sx >= w) continue;
                System.arraycopy(image.rgb(), 3 * (sy * w + sx), out.rgb(), 3 * (y * crop + x), 3);
            }
        }
        return out;
    }

    /**
     * To float, then {@code (x - mean) / std} in float32, HWC to CHW. timm's ToTensor divides by 255 in
     * float32; transformers' rescale multiplies in float64 and casts to float32.
     */
    private void toTensor(RgbImage image, float[] out, int offset) {
        int plane = image.width() * image.height();
        byte[] rgb = image.rgb();
        boolean timm = config.convention() == Preprocessing.Convention.TIMM;
        double factor = config.rescale();
        for (int c = 0; c < 3; c++) {
            float m = mean[c], s = std[c];
            int o = offset + c * plane;
            for (int p = 0; p < plane; p++) {
                int v = rgb[3 * p + c] & 0xff;
                float x = timm ? v / 255f : (float) (v * factor);
                out[o + p] = (x - m) / s;
            }
        }
    }
}
