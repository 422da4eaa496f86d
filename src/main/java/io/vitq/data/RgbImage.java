package io.vitq.data;

/**
 * An 8-bit RGB image, pixels interleaved row by row ({@code r,g,b,r,g,b,...}), the layout of a
 * PIL "RGB" image. Bytes are unsigned: read them with {@code & 0xff}.
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb.length != 3L * width * height) {
            throw new IllegalArgumentException(width + "x" + height + " RGB image needs " + 3L * width * height
                    + " bytes, got " + rgb.length);
        }
    }

    /** A black image (all zeros) to be filled in. */
    public static RgbImage blank(int width, int height) {
        return new RgbImage(width, height, new byte[3 * width * height]);
    }

    /** Channel {@code c} (0 = red) of pixel ({@code x}, {@code y}), 0..255. */
    public int get(int x, int y, int c) {
        return rgb[3 * (y * width + x) + c] & 0xff;
    }

    /** The {@code w x h} window whose top-left corner is ({@code left}, {@code top}); must lie inside. */
    public RgbImage crop(int left, int top, int w, int h) {
        if (left < 0 || top < 0 || left + w > width || top + h > height) {
            throw new IllegalArgumentException("crop " + w + "x" + h + "+" + left + "+" + top
                    + " outside a " + width + "x" + height + " image");
        }
        RgbImage out = blank(w, h);
        for (int y = 0; y < h; y++) {
            System.arraycopy(rgb, 3 * ((top + y) * width + left), out.rgb, 3 * y * w, 3 * w);
        }
        return out;
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
