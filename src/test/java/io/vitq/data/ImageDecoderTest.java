package io.vitq.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decoding against PIL: each fixture in data/decode/ comes with the bytes Pillow 9.4 (with
 * libjpeg-turbo 2.1) returns for {@code Image.open(f).convert("RGB")}; see make_fixtures.py.
 */
class ImageDecoderTest {

    @ParameterizedTest
    @ValueSource(strings = {
            "ycc420.jpg", "ycc422.jpg", "ycc444.jpg", "ycc440.jpg", "progressive.jpg", "gray.jpg", "adobe_rgb.jpg",
            "nojfif_444.jpg", "adobe_cmyk.jpg", "adobe_ycck.jpg",
            "gray1.png", "gray2.png", "gray4.png", "gray8.png", "gray8_trns.png", "gray16.png", "gray16_trns.png",
            "la8.png", "la16.png", "rgb8.png", "rgb8_trns.png", "rgb16.png", "rgba8.png", "rgba16.png",
            "palette4.png", "palette8_trns.png"})
    void decodesLikePil(String name) {
        Path file = TestData.resource("decode/" + name);
        byte[] expected = TestData.bytes(TestData.resource("decode/" + name.replaceAll("\\.(jpg|png)$", ".rgb")));
        RgbImage image = ImageDecoder.decode(file);
        assertEquals(expected.length, image.rgb().length, "size " + image.width() + "x" + image.height());
        int[] diff = TestData.compare(expected, image.rgb());
        assertEquals(0, diff[0], name + ": " + diff[0] + " bytes differ from PIL, max by " + diff[1]);
    }

    @Test
    void grayJpegIsReplicatedToThreeChannels() {
        RgbImage image = ImageDecoder.decode(TestData.resource("decode/gray.jpg"));
        assertEquals(33, image.width());
        assertEquals(25, image.height());
        for (int p = 0; p < image.width() * image.height(); p++) {
            assertEquals(image.rgb()[3 * p], image.rgb()[3 * p + 1]);
            assertEquals(image.rgb()[3 * p], image.rgb()[3 * p + 2]);
        }
    }

    @Test
    void formatComesFromMagicBytesNotExtension(@TempDir Path dir) throws IOException {
        Path pngNamedJpg = dir.resolve("actually_png.jpg");
        Files.copy(TestData.resource("decode/rgb8.png"), pngNamedJpg);
        Path jpgNamedPng = dir.resolve("actually_jpeg.png");
        Files.copy(TestData.resource("decode/ycc420.jpg"), jpgNamedPng);
        assertArrayEquals(ImageDecoder.decode(TestData.resource("decode/rgb8.png")).rgb(), ImageDecoder.decode(pngNamedJpg).rgb());
        assertArrayEquals(ImageDecoder.decode(TestData.resource("decode/ycc420.jpg")).rgb(), ImageDecoder.decode(jpgNamedPng).rgb());
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("x.jpg");
        ImageLoadException e = assertThrows(ImageLoadException.class, () -> ImageDecoder.decode(missing));
        assertEquals(missing + ": cannot read (No such file)", e.getMessage());
        assertEquals(missing, e.path());
    }

    @Test
    void otherFormatsAreRejectedByName(@TempDir Path dir) throws IOException {
        Path gif = dir.resolve("x.jpg");
        Files.write(gif, "GIF89a....".getBytes());
        ImageLoadException e = assertThrows(ImageLoadException.class, () -> ImageDecoder.decode(gif));
        assertEquals(gif + ": not a JPEG or PNG image", e.getMessage());
        Path empty = dir.resolve("empty.png");
        Files.write(empty, new byte[0]);
        assertEquals(empty + ": not a JPEG or PNG image",
                assertThrows(ImageLoadException.class, () -> ImageDecoder.decode(empty)).getMessage());
    }

    @Test
    void truncatedJpegIsAnErrorAsInPil() {
        byte[] jpeg = TestData.bytes(TestData.resource("decode/ycc420.jpg"));
        byte[] truncated = Arrays.copyOf(jpeg, jpeg.length * 2 / 3);
        ImageLoadException e = assertThrows(ImageLoadException.class,
                () -> ImageDecoder.decode(truncated, Path.of("cut.jpg")));
        assertTrue(e.getMessage().startsWith("cut.jpg: truncated JPEG"), e.getMessage());
    }

    @Test
    void corruptJpegAndPngAreNamed() {
        byte[] jpeg = TestData.bytes(TestData.resource("decode/ycc420.jpg"));
        byte[] headerOnly = Arrays.copyOf(jpeg, 40);
        assertTrue(assertThrows(ImageLoadException.class, () -> ImageDecoder.decode(headerOnly, Path.of("bad.jpg")))
                .getMessage().startsWith("bad.jpg: "));
        byte[] garbage = jpeg.clone();
        for (int i = 200; i < garbage.length; i += 7) garbage[i] = (byte) 0xFF;
        // libjpeg may recover from corrupt entropy data (then PIL also decodes it); it must not crash differently.
        try {
            ImageDecoder.decode(garbage, Path.of("garbage.jpg"));
        } catch (ImageLoadException e) {
            assertTrue(e.getMessage().startsWith("garbage.jpg: "), e.getMessage());
        }
        byte[] png = TestData.bytes(TestData.resource("decode/rgb8.png"));
        byte[] cutPng = Arrays.copyOf(png, png.length - 40);
        ImageLoadException e = assertThrows(ImageLoadException.class, () -> ImageDecoder.decode(cutPng, Path.of("cut.png")));
        assertTrue(e.getMessage().startsWith("cut.png: cannot decode PNG"), e.getMessage());
    }

    @Test
    void cmykChannelsFollowPilFormula() {
        // PIL: R = nk - C*nk/255 (rounded), nk = 255 - K, where C,K are the inverted (Adobe) file bytes.
        byte[] raw = {(byte) (255 - 100), (byte) (255 - 50), (byte) (255 - 20), (byte) (255 - 30)};
        byte[] rgb = new byte[3];
        JpegColor.fourComponentToRgb(raw, rgb, 1, false);
        assertArrayEquals(new byte[] {(byte) 137, (byte) 181, (byte) 207}, rgb); // PIL: CMYK(100,50,20,30) -> RGB
    }
}
