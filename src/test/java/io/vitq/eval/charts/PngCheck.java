package io.vitq.eval.charts;

import io.vitq.io.AtomicFileTest;
import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads a chart back as an image and checks that it is one: a PNG of the expected size with something drawn. */
public final class PngCheck {
    private PngCheck() {}

    /** @return the image, after checking its size, file size, colours and ink */
    public static BufferedImage assertChart(Path png, int width, int height) throws IOException {
        assertTrue(Files.isRegularFile(png), png + " written");
        AtomicFileTest.assertNoTemporaryFiles(png.toAbsolutePath().getParent());
        byte[] head = Files.readAllBytes(png);
        assertTrue(head.length > 8 && (head[0] & 0xff) == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G', "PNG signature");
        assertTrue(Files.size(png) > 10_000, png + ": " + Files.size(png) + " bytes, too small for a drawn chart");
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, png + " decodes");
        assertEquals(width, img.getWidth(), "width");
        assertEquals(height, img.getHeight(), "height");
        Set<Integer> colours = new HashSet<>();
        long ink = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                if (rgb != 0xffffff) ink++;
            }
        }
        double inked = (double) ink / ((long) width * height);
        assertTrue(colours.size() >= 16, png + ": " + colours.size() + " colours; a chart has text, lines and series colours");
        assertTrue(inked > 0.01 && inked < 0.7, png + ": " + Math.round(100 * inked) + " % of the pixels drawn");
        return img;
    }

    /** True when some pixel in the rectangle has (about) the colour {@code rgb}: a series was drawn. */
    public static boolean hasColour(BufferedImage img, int rgb) {
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if (near(img.getRGB(x, y), rgb)) return true;
            }
        }
        return false;
    }

    /**
     * True when some pixel of colour {@code top} has colour {@code under} within {@code reach} pixels on both
     * its left and its right in the same row: {@code top} was drawn over an area of {@code under} (a line
     * over a bar), not under it.
     */
    public static boolean drawnOver(BufferedImage img, int top, int under, int reach) {
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = reach; x < img.getWidth() - reach; x++) {
                if (!near(img.getRGB(x, y), top)) continue;
                boolean left = false, right = false;
                for (int d = 1; d <= reach; d++) {
                    left |= near(img.getRGB(x - d, y), under);
                    right |= near(img.getRGB(x + d, y), under);
                }
                if (left && right) return true;
            }
        }
        return false;
    }

    private static boolean near(int argb, int rgb) {
        int c = argb & 0xffffff;
        return Math.abs((c >> 16) - (rgb >> 16)) < 8 && Math.abs(((c >> 8) & 0xff) - ((rgb >> 8) & 0xff)) < 8
                && Math.abs((c & 0xff) - (rgb & 0xff)) < 8;
    }
}
