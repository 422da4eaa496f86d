package io.vitq.eval.charts;

import io.vitq.io.AtomicFile;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.StandardChartTheme;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Renders charts to PNG without a display (Java2D, {@code java.awt.headless=true}), one chart or
 * several stacked in one image; the file is written to a temporary name and renamed.
 */
final class Png {
    static {
        // before any AWT class is loaded: no display is needed or looked for
        System.setProperty("java.awt.headless", "true");
    }

    private Png() {}

    /** A chart and its share of the image's height. */
    record Panel(JFreeChart chart, int height) {}

    /** Applies the project's look: white background, a sans-serif font that every JDK has. */
    static JFreeChart styled(JFreeChart c) {
        StandardChartTheme theme = (StandardChartTheme) StandardChartTheme.createJFreeTheme();
        theme.setExtraLargeFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        theme.setLargeFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        theme.setRegularFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        theme.setSmallFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        theme.setPlotBackgroundPaint(Color.WHITE);
        theme.setChartBackgroundPaint(Color.WHITE);
        theme.setDomainGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        theme.setRangeGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        theme.apply(c);
        return c;
    }

    /** Writes the panels stacked top to bottom into one PNG of {@code width} x the sum of their heights. */
    static void write(Path file, int width, List<Panel> panels) throws IOException {
        int height = panels.stream().mapToInt(Panel::height).sum();
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            int y = 0;
            for (Panel p : panels) {
                p.chart().draw(g, new Rectangle2D.Double(0, y, width, p.height()));
                y += p.height();
            }
        } catch (InternalError | UnsatisfiedLinkError | NoClassDefFoundError e) {
            // a JDK without fonts or font libraries cannot draw text
            throw new IOException(file + ": cannot draw the chart (" + e.getMessage() + "); a headless JDK needs fontconfig"
                    + " and a font, e.g. apt-get install fontconfig fonts-dejavu-core", e);
        } finally {
            g.dispose();
        }
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null && !Files.isDirectory(dir)) throw new IOException(file + ": directory " + dir + " does not exist");
        AtomicFile.write(abs, tmp -> {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                if (!javax.imageio.ImageIO.write(img, "png", out)) throw new IOException(file + ": no PNG writer in this JDK");
            }
        });
    }
}
