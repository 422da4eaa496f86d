package io.vitq.data;

import javax.imageio.ImageReader;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Decodes PNG bytes to the RGB PIL gives for {@code Image.open(f).convert("RGB")}. The JDK's reader
 * inflates and unfilters; we take the raw samples from its raster (no gamma or ICC handling,
 * like PIL) and map them to 8 bits the way PIL's PNG raw modes and {@code convert} do:
 * <ul>
 *   <li>gray below 8 bits: scaled to 0..255 (PIL's "1", "L;2", "L;4" unpackers);</li>
 *   <li>16-bit gray: PIL opens it as a 32-bit integer image ("I") and {@code convert("RGB")}
 *       <em>clips</em> values to 255 (so most of a 16-bit gray image turns white);</li>
 *   <li>16-bit gray+alpha, RGB, RGBA: PIL keeps the high byte of each sample;</li>
 *   <li>palette: looked up in the palette;</li>
 *   <li>alpha and tRNS transparency: dropped, no compositing.</li>
 * </ul>
 * The colour type comes from the IHDR chunk rather than the raster, because the JDK turns a
 * tRNS colour key into an extra alpha band that PIL does not have.
 */
final class PngDecoder {
    private static final int GRAY = 0, RGB = 2, PALETTE = 3, GRAY_ALPHA = 4, RGBA = 6;

    private PngDecoder() {}

    static RgbImage decode(byte[] bytes, Path name) {
        if (bytes.length < 33 || bytes[12] != 'I' || bytes[13] != 'H' || bytes[14] != 'D' || bytes[15] != 'R') {
            throw new ImageLoadException(name, "corrupt PNG (no IHDR chunk)");
        }
        int colorType = bytes[25] & 0xff;
        BufferedImage image = read(bytes, name);
        Raster raster = image.getRaster();
        int w = raster.getWidth(), h = raster.getHeight();
        int bits = raster.getSampleModel().getSampleSize(0);
        RgbImage out = RgbImage.blank(w, h);
        byte[] rgb = out.rgb();
        int bands = colorType == RGB || colorType == RGBA ? 3 : 1;
        int[] row = new int[w * raster.getNumBands()];
        int stride = raster.getNumBands();
        IndexColorModel palette = colorType == PALETTE ? paletteOf(image, name) : null;
        for (int y = 0; y < h; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, w, 1, row);
            for (int x = 0; x < w; x++) {
                int o = 3 * (y * w + x), s = x * stride;
                if (palette != null) {
                    int index = row[s];
                    rgb[o] = (byte) palette.getRed(index);
                    rgb[o + 1] = (byte) palette.getGreen(index);
                    rgb[o + 2] = (byte) palette.getBlue(index);
                } else if (bands == 3) {
                    rgb[o] = (byte) to8Bits(row[s], bits, false);
                    rgb[o + 1] = (byte) to8Bits(row[s + 1], bits, false);
                    rgb[o + 2] = (byte) to8Bits(row[s + 2], bits, false);
                } else {
                    byte v = (byte) to8Bits(row[s], bits, colorType == GRAY);
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = v;
                }
            }
        }
        return out;
    }

    /** One sample of {@code bits} bits to 8 bits, PIL style (see the class comment). */
    private static int to8Bits(int v, int bits, boolean plainGray) {
        if (bits == 8) return v;
        if (bits == 16) return plainGray ? Math.min(v, 255) : v >> 8;
        if (bits < 8) return v * 255 / ((1 << bits) - 1);
        throw new IllegalStateException("unexpected PNG sample size " + bits);
    }

    private static IndexColorModel paletteOf(BufferedImage image, Path name) {
        if (image.getColorModel() instanceof IndexColorModel icm) return icm;
        throw new ImageLoadException(name, "palette PNG decoded without a palette");
    }

    private static BufferedImage read(byte[] bytes, Path name) {
        ImageReader reader = ImageReaders.jdkReader("png", name);
        try (MemoryCacheImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            return reader.read(0);
        } catch (IOException | RuntimeException e) {
            throw new ImageLoadException(name, "cannot decode PNG (" + ImageReaders.describe(e) + ")", e);
        } finally {
            reader.dispose();
        }
    }
}
