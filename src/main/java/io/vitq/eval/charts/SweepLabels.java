package io.vitq.eval.charts;

import org.jfree.chart.ChartRenderingInfo;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYDataset;

import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Where the sweep chart's texts go, so that none is drawn across a float line or over another text.
 * A point's bits label stands above the point unless another side (below, right, left) costs less:
 * a float line through the label (a W8A8 point half a point under float) or leaving the plot cost
 * most, then a series' line through it, then the area it shares with other points and labels. Each
 * label moves to its cheapest side given the others', for at most four rounds. Each float line's
 * caption takes the first of four places, above or below the line at its left or right end, that no
 * other float line crosses and that holds no point, bits label or earlier caption. Measured in pixels
 * on the laid-out chart: one rendering pass gives the data area.
 */
final class SweepLabels {
    /** The bits labels' font, and the float captions'. */
    static final Font BITS_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11), CAPTION_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    /** Pixels between a point and its label (JFreeChart's item label offset, 2, twice), and around a marker's shape. */
    private static final double LABEL_GAP = 4, MARKER = 4, CAPTION_GAP = 3;
    /** What a label pays for a float line through it, or for leaving the plot: more than any overlap of boxes. */
    private static final double CROSSED = 1e6, CLIPPED = 1e7;
    /** What a label pays for a series' line through it: as much as 100 square pixels of another label. */
    private static final double SEGMENT = 100;

    private SweepLabels() {}

    /** Where a point's bits label stands, in the order tried when the places cost the same. */
    enum Side {
        ABOVE(ItemLabelAnchor.OUTSIDE12, TextAnchor.BOTTOM_CENTER), BELOW(ItemLabelAnchor.OUTSIDE6, TextAnchor.TOP_CENTER),
        RIGHT(ItemLabelAnchor.OUTSIDE3, TextAnchor.CENTER_LEFT), LEFT(ItemLabelAnchor.OUTSIDE9, TextAnchor.CENTER_RIGHT);

        final ItemLabelPosition position;

        Side(ItemLabelAnchor anchor, TextAnchor text) { position = new ItemLabelPosition(anchor, text); }

        /** The label's box for a point at pixel (px, py), w x h pixels. */
        Rectangle2D box(double px, double py, double w, double h) {
            return switch (this) {
                case ABOVE -> new Rectangle2D.Double(px - w / 2, py - LABEL_GAP - h, w, h);
                case BELOW -> new Rectangle2D.Double(px - w / 2, py + LABEL_GAP, w, h);
                case RIGHT -> new Rectangle2D.Double(px + LABEL_GAP, py - h / 2, w, h);
                case LEFT -> new Rectangle2D.Double(px - LABEL_GAP - w, py - h / 2, w, h);
            };
        }
    }

    /** The sweep's renderer: each point's bits label on the side {@link #place} chose, above by default. */
    static final class BitsRenderer extends XYLineAndShapeRenderer {
        private final Map<Long, Side> sides = new HashMap<>();

        BitsRenderer() { super(true, true); }

        void side(int series, int item, Side s) { sides.put(((long) series << 32) | item, s); }

        Side side(int series, int item) { return sides.getOrDefault(((long) series << 32) | item, Side.ABOVE); }

        @Override
        public ItemLabelPosition getPositiveItemLabelPosition(int series, int item) { return side(series, item).position; }
    }

    /** The four places of a float line's caption, in the order they are tried. */
    enum Place {
        ABOVE_LEFT(RectangleAnchor.TOP_LEFT, TextAnchor.BOTTOM_LEFT), BELOW_LEFT(RectangleAnchor.BOTTOM_LEFT, TextAnchor.TOP_LEFT),
        ABOVE_RIGHT(RectangleAnchor.TOP_RIGHT, TextAnchor.BOTTOM_RIGHT), BELOW_RIGHT(RectangleAnchor.BOTTOM_RIGHT, TextAnchor.TOP_RIGHT);

        final RectangleAnchor anchor;
        final TextAnchor text;

        Place(RectangleAnchor anchor, TextAnchor text) {
            this.anchor = anchor;
            this.text = text;
        }

        boolean above() { return this == ABOVE_LEFT || this == ABOVE_RIGHT; }

        boolean left() { return this == ABOVE_LEFT || this == BELOW_LEFT; }

        static Place of(ValueMarker m) {
            for (Place p : values()) if (p.anchor == m.getLabelAnchor() && p.text == m.getLabelTextAnchor()) return p;
            throw new IllegalArgumentException("a marker placed by other means");
        }
    }

    /**
     * Places the bits labels of {@code r}'s points ({@code bits.apply(series)} gives a series' labels by
     * item) and the captions of the float lines {@code floats} (range markers of {@code c}'s plot, their
     * labels set) on the chart as it is drawn at {@code width x height}. A JDK that cannot draw text
     * leaves the defaults: labels above, captions above the left end.
     */
    static void place(JFreeChart c, int width, int height, BitsRenderer r, IntFunction<String[]> bits, List<ValueMarker> floats) {
        Rectangle2D area;
        FontMetrics bitsMetrics, captionMetrics;
        try {
            ChartRenderingInfo info = new ChartRenderingInfo();
            c.createBufferedImage(width, height, info);
            area = info.getPlotInfo().getDataArea();
            Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
            bitsMetrics = g.getFontMetrics(BITS_FONT);
            captionMetrics = g.getFontMetrics(CAPTION_FONT);
            g.dispose();
        } catch (InternalError | UnsatisfiedLinkError | NoClassDefFoundError e) {
            return;
        }
        XYPlot plot = c.getXYPlot();
        XYDataset data = plot.getDataset();
        double labelHeight = bitsMetrics.getAscent() + bitsMetrics.getDescent();
        List<Point> at = new ArrayList<>();
        List<Rectangle2D> taken = new ArrayList<>();      // the markers' shapes, then the labels' boxes
        for (int s = 0; s < data.getSeriesCount(); s++) {
            String[] labels = bits.apply(s);
            for (int i = 0; i < data.getItemCount(s); i++) {
                double px = plot.getDomainAxis().valueToJava2D(data.getXValue(s, i), area, plot.getDomainAxisEdge());
                double py = plot.getRangeAxis().valueToJava2D(data.getYValue(s, i), area, plot.getRangeAxisEdge());
                if (!Double.isFinite(px) || !Double.isFinite(py)) continue;   // not drawn: its label stays above
                taken.add(new Rectangle2D.Double(px - MARKER, py - MARKER, 2 * MARKER, 2 * MARKER));
                at.add(new Point(s, i, px, py, bitsMetrics.stringWidth(labels[i])));
            }
        }
        List<double[]> segments = new ArrayList<>();   // each series' line, point to point, in pixels
        for (int p = 1; p < at.size(); p++) {
            Point u = at.get(p - 1), v = at.get(p);
            if (u.series == v.series) segments.add(new double[] {u.px, u.py, v.px, v.py});
        }
        double[] lines = floats.stream().mapToDouble(m -> lineY(plot, area, m)).filter(Double::isFinite).toArray();
        // each label on its cheapest side given the others' (all above at first), rounds until none moves (at most four)
        Side[] side = new Side[at.size()];
        Arrays.fill(side, Side.ABOVE);
        for (int round = 0, moved = 1; round < 4 && moved > 0; round++) {
            moved = 0;
            for (int p = 0; p < at.size(); p++) {
                Side best = side[p];
                double bestCost = Double.POSITIVE_INFINITY;
                for (Side sd : Side.values()) {
                    Rectangle2D box = at.get(p).label(sd, labelHeight);
                    double cost = cost(box, area, lines, Double.NaN, taken);
                    for (double[] g : segments) if (box.intersectsLine(g[0], g[1], g[2], g[3])) cost += SEGMENT;
                    for (int o = 0; o < at.size(); o++)
                        if (o != p) cost += area(box.createIntersection(at.get(o).label(side[o], labelHeight)));
                    if (cost < bestCost) {
                        best = sd;
                        bestCost = cost;
                    }
                }
                if (best != side[p]) moved++;
                side[p] = best;
            }
        }
        for (int p = 0; p < at.size(); p++) {
            r.side(at.get(p).series, at.get(p).item, side[p]);
            taken.add(at.get(p).label(side[p], labelHeight));
        }
        double captionHeight = captionMetrics.getAscent() + captionMetrics.getDescent();
        for (ValueMarker m : floats) {
            double y = lineY(plot, area, m), w = captionMetrics.stringWidth(m.getLabel());
            if (!Double.isFinite(y)) continue;
            Place best = null;
            Rectangle2D bestBox = null;
            double bestOverlap = Double.POSITIVE_INFINITY;
            for (Place p : Place.values()) {   // the first free place, else the one least covered
                double x = p.left() ? area.getMinX() + CAPTION_GAP : area.getMaxX() - CAPTION_GAP - w;
                Rectangle2D box = new Rectangle2D.Double(x, p.above() ? y - CAPTION_GAP - captionHeight : y + CAPTION_GAP, w, captionHeight);
                double overlap = cost(box, area, lines, y, taken);
                if (best == null || overlap < bestOverlap) {
                    best = p;
                    bestBox = box;
                    bestOverlap = overlap;
                }
                if (overlap == 0) break;
            }
            taken.add(bestBox);
            m.setLabelAnchor(best.anchor);
            m.setLabelTextAnchor(best.text);
        }
    }

    /** A point in pixels, and its bits label's width. */
    private record Point(int series, int item, double px, double py, double width) {
        Rectangle2D label(Side s, double height) { return s.box(px, py, width, height); }
    }

    /**
     * What a text's box costs where it stands: leaving the plot {@code area}, each float line at a pixel
     * row of {@code lines} but its own ({@code own}; NaN for a bits label) running through it, and the
     * area it shares with the boxes {@code taken}.
     */
    private static double cost(Rectangle2D box, Rectangle2D area, double[] lines, double own, List<Rectangle2D> taken) {
        double cost = area.contains(box) ? 0 : CLIPPED;
        for (double y : lines) if (y != own && crosses(box, y)) cost += CROSSED;
        for (Rectangle2D t : taken) cost += area(box.createIntersection(t));
        return cost;
    }

    private static double lineY(XYPlot plot, Rectangle2D area, ValueMarker m) {
        return plot.getRangeAxis().valueToJava2D(m.getValue(), area, plot.getRangeAxisEdge());
    }

    /** The horizontal line at pixel row y runs through the box (or touches it). */
    private static boolean crosses(Rectangle2D box, double y) { return y >= box.getMinY() - 1 && y <= box.getMaxY() + 1; }

    private static double area(Rectangle2D r) { return r.isEmpty() ? 0 : r.getWidth() * r.getHeight(); }
}
