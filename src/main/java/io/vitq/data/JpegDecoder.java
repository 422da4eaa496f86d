package io.vitq.data;

import javax.imageio.ImageReader;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes JPEG bytes to the RGB PIL gives for {@code Image.open(f).convert("RGB")}.
 *
 * <p>The entropy decoding, IDCT (islow) and fancy chroma upsampling come from the JDK's reader
 * (libjpeg 6b), which agree bit for bit with the libjpeg-turbo inside PIL for the usual
 * 4:2:0 / 4:2:2 / 4:4:4 files; for 4:4:0 ("h1v2") chroma, which 6b replicates and libjpeg-turbo
 * smooths, {@link JpegUpsampling} redoes libjpeg-turbo's filter. We read the <em>raster</em>, which is the
 * raw components with no colour conversion: that sidesteps the JDK's ICC colour management and its
 * "Unsupported Image Type" on CMYK, and lets {@link JpegHeader} pick the colour space by
 * libjpeg-turbo's rule and {@link JpegColor} convert with libjpeg's integer tables.
 */
final class JpegDecoder {
    private JpegDecoder() {}

    static RgbImage decode(byte[] bytes, Path name) {
        JpegHeader header;
        JpegHeader.ColorSpace space;
        try {
            header = JpegHeader.parse(bytes);
            space = header.colorSpace();
        } catch (IllegalArgumentException e) {
            throw new ImageLoadException(name, e.getMessage());
        }
        Raster raster = readRaster(bytes, name);
        int w = raster.getWidth(), h = raster.getHeight(), bands = raster.getNumBands();
        if (bands != header.components() || raster.getTransferType() != DataBuffer.TYPE_BYTE) {
            throw new ImageLoadException(name, "unsupported JPEG (" + bands + " bands of transfer type "
                    + raster.getTransferType() + ", header says " + header.components() + " components)");
        }
        byte[] raw = (byte[]) raster.getDataElements(raster.getMinX(), raster.getMinY(), w, h, null);
        JpegUpsampling.matchLibjpegTurbo(raw, w, h, header);
        RgbImage out = RgbImage.blank(w, h);
        byte[] rgb = out.rgb();
        int pixels = w * h;
        switch (space) {
            case GRAYSCALE -> {
                for (int p = 0; p < pixels; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = raw[p];
            }
            case YCBCR -> JpegColor.yccToRgb(raw, rgb, pixels);
            case RGB -> System.arraycopy(raw, 0, rgb, 0, rgb.length);
            case CMYK -> JpegColor.fourComponentToRgb(raw, rgb, pixels, false);
            case YCCK -> JpegColor.fourComponentToRgb(raw, rgb, pixels, true);
        }
        return out;
    }

    private static Raster readRaster(byte[] bytes, Path name) {
        ImageReader reader = ImageReaders.jdkReader("jpeg", name);
        List<String> warnings = new ArrayList<>();
        try (MemoryCacheImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            Raster raster = reader.readRaster(0, null);
            // libjpeg pads a truncated file with grey and only warns (the JDK's source manager
            // says "Truncated File - Missing EOI marker", then the entropy decoder hits that fake
            // EOI). PIL refuses such files ("image file is truncated"), so we do too rather than
            // evaluate a half-grey image. A file lacking only its final EOI decodes fully.
            boolean missingEoi = warnings.stream().anyMatch(w -> w.contains("Missing EOI"));
            boolean dataCut = warnings.stream().anyMatch(w -> w.contains("premature end of data segment"));
            boolean endOfFile = warnings.stream().anyMatch(w -> w.contains("Premature end of JPEG file"));
            if (endOfFile || (missingEoi && dataCut)) {
                throw new ImageLoadException(name, "truncated JPEG (" + String.join("; ", warnings) + ")");
            }
            return raster;
        } catch (IOException | RuntimeException e) {
            if (e instanceof ImageLoadException ile) throw ile;
            throw new ImageLoadException(name, "cannot decode JPEG (" + ImageReaders.describe(e) + ")", e);
        } finally {
            reader.dispose();
        }
    }
}
