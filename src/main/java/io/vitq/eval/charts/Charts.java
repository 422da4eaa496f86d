package io.vitq.eval.charts;

import io.vitq.eval.EvalResult;
import io.vitq.eval.FpComparison;
import io.vitq.eval.Pipeline;
import io.vitq.eval.Prediction;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.AsymmetricOperand;
import io.vitq.quant.CodebookOperand;
import io.vitq.quant.AdaLogOperand;
import io.vitq.quant.LogSqrt2Operand;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OpQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.UniformOperand;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The PNG charts of {@code vitq sweep --plot}, {@code vitq inspect --plot} and
 * {@code vitq eval --compare-fp --plot}, drawn with JFreeChart without a display. JFreeChart's
 * classes are loaded only when one of these methods runs, so commands without {@code --plot} do
 * not pay for them.
 */
public final class Charts {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** Image sizes in pixels. */
    public static final int SWEEP_WIDTH = 1000, SWEEP_HEIGHT = 620, PLAN_WIDTH = 1200, PLAN_OPS_HEIGHT = 760,
            PLAN_UNITS_HEIGHT = 420, AGREEMENT_WIDTH = 1000, AGREEMENT_HEIGHT = 620;

    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd),
            new Color(0xff7f0e), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf)};

    private Charts() {}

    // ---------------------------------------------------------------- sweep

    /** One quantized cell of a sweep: a method at a bit setting, its model size and top-1. */
    public record SweepPoint(String model, String method, String bits, double sizeMb, double top1) {}

    /** A model's float cell, drawn as a horizontal reference line. */
    public record FloatPoint(String model, double sizeMb, double top1) {}

    /**
     * Top-1 against model size: one line per (model and) method through its bit settings, labelled
     * with the bits; each model's float top-1 as a dashed horizontal line.
     */
    public static void sweep(Path png, String title, List<SweepPoint> points, List<FloatPoint> floats) throws IOException {
        Png.write(png, SWEEP_WIDTH, List.of(new Png.Panel(sweepChart(title, points, floats), SWEEP_HEIGHT)));
    }

    /** The chart {@link #sweep} writes. */
    static JFreeChart sweepChart(String title, List<SweepPoint> points, List<FloatPoint> floats) {
        boolean manyModels = floats.size() > 1 || points.stream().map(SweepPoint::model).distinct().count() > 1;
        Map<String, XYSeries> series = new LinkedHashMap<>();
        Map<String, String[]> labels = new LinkedHashMap<>();   // per series, the bits of each item
        for (SweepPoint p : points) {
            String key = manyModels ? p.model() + " · " + p.method() : p.method();
            XYSeries s = series.computeIfAbsent(key, k -> new XYSeries(k, true, true));
            s.add(p.sizeMb(), p.top1());
        }
        // item labels (the bits) in each series' sorted order
        for (var e : series.entrySet()) {
            String[] l = new String[e.getValue().getItemCount()];
            Arrays.fill(l, "");
            for (int i = 0; i < l.length; i++) {
                double x = e.getValue().getX(i).doubleValue(), y = e.getValue().getY(i).doubleValue();
                for (SweepPoint p : points) {
                    String key = manyModels ? p.model() + " · " + p.method() : p.method();
                    if (key.equals(e.getKey()) && p.sizeMb() == x && p.top1() == y) l[i] = p.bits();
                }
            }
            labels.put(e.getKey(), l);
        }
        XYSeriesCollection data = new XYSeriesCollection();
        series.values().forEach(data::addSeries);
        JFreeChart c = Png.styled(ChartFactory.createXYLineChart(title, "model size (MB, all parameters x bits / 8)", "top-1 %",
                data, PlotOrientation.VERTICAL, true, false, false));
        XYPlot plot = c.getXYPlot();
        SweepLabels.BitsRenderer r = new SweepLabels.BitsRenderer();
        List<String> keys = new ArrayList<>(series.keySet());
        for (int i = 0; i < keys.size(); i++) {
            r.setSeriesPaint(i, COLORS[i % COLORS.length]);
            r.setSeriesStroke(i, new BasicStroke(2f));
        }
        r.setDefaultItemLabelGenerator((d, s, item) -> labels.get(keys.get(s))[item]);
        r.setDefaultItemLabelsVisible(true);
        r.setDefaultItemLabelFont(SweepLabels.BITS_FONT);
        plot.setRenderer(r);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (SweepPoint p : points) {
            lo = Math.min(lo, p.top1());
            hi = Math.max(hi, p.top1());
        }
        List<ValueMarker> floatLines = new ArrayList<>();
        for (FloatPoint f : floats) {
            ValueMarker m = new ValueMarker(f.top1(), Color.DARK_GRAY, new BasicStroke(1.5f, BasicStroke.CAP_BUTT,
                    BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
            m.setLabel(String.format(Locale.ROOT, "%sfloat %.2f %% (%.1f MB)", manyModels ? f.model() + " " : "", f.top1(), f.sizeMb()));
            m.setLabelFont(SweepLabels.CAPTION_FONT);
            m.setLabelAnchor(RectangleAnchor.TOP_LEFT);
            m.setLabelTextAnchor(TextAnchor.BOTTOM_LEFT);
            plot.addRangeMarker(m);
            floatLines.add(m);
            lo = Math.min(lo, f.top1());
            hi = Math.max(hi, f.top1());
        }
        NumberAxis y = (NumberAxis) plot.getRangeAxis();
        if (lo <= hi) {
            double pad = Math.max(1, (hi - lo) * 0.08);
            y.setRange(Math.max(0, lo - pad), Math.min(100, hi + pad) + (hi + pad > 100 ? 0 : 0.5));
        }
        NumberAxis x = (NumberAxis) plot.getDomainAxis();
        x.setAutoRangeIncludesZero(false);
        double xLo = points.stream().mapToDouble(SweepPoint::sizeMb).min().orElse(0),
                xHi = points.stream().mapToDouble(SweepPoint::sizeMb).max().orElse(0);
        if (!points.isEmpty() && xHi - xLo < 1e-6) { // one size (one bit setting): an axis of zero width has no ticks
            double pad = Math.max(0.5, 0.1 * xLo);
            x.setRange(Math.max(0, xLo - pad), xHi + pad);
        }
        SweepLabels.place(c, SWEEP_WIDTH, SWEEP_HEIGHT, r, s -> labels.get(keys.get(s)), floatLines);
        return c;
    }

    // ---------------------------------------------------------------- plan

    /**
     * A plan op by op in forward order: the bits of each op's weight (or first operand) and input
     * (second operand), and its scales on a log axis (median, with the range of a per-channel,
     * per-head or row-block quantizer as an error bar; a twin quantizer's two steps). A
     * mixed-precision plan adds a panel with each unit's nuclear norm and chosen bits.
     */
    public static void plan(Path png, String title, QuantPlan plan) throws IOException {
        XYSeries wBits = new XYSeries("weight / first operand bits", false, true);
        XYSeries aBits = new XYSeries("input / second operand bits", false, true);
        YIntervalSeries wScale = new YIntervalSeries("weight scale (median, range)"),
                aScale = new YIntervalSeries("activation scale (median, range)"),
                twin = new YIntervalSeries("twin quantizer: the two steps");
        List<String> ids = new ArrayList<>();
        int i = 0;
        for (Map.Entry<String, OpQuant> e : plan.ops().entrySet()) {
            ids.add(e.getKey());
            OperandQuant first, second;
            boolean linear;
            switch (e.getValue()) {
                case LinearQuant l -> { first = l.weight(); second = l.input(); linear = true; }
                case MatmulQuant m -> { first = m.a(); second = m.b(); linear = false; }
            }
            if (first != null) {
                wBits.add(i, first.bits());
                addScale(linear ? wScale : aScale, twin, i, first);
            }
            if (second != null) {
                aBits.add(i + 0.15, second.bits());
                addScale(aScale, twin, i + 0.15, second);
            }
            i++;
        }
        NumberAxis opAxis = new NumberAxis("op, forward order (0 = " + (ids.isEmpty() ? "-" : ids.get(0)) + ", "
                + (ids.size() - 1) + " = " + (ids.isEmpty() ? "-" : ids.get(ids.size() - 1)) + ")");
        opAxis.setRange(-1, Math.max(1, ids.size()));
        opAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(opAxis);
        combined.setGap(12);

        XYSeriesCollection bits = new XYSeriesCollection();
        bits.addSeries(wBits);
        bits.addSeries(aBits);
        NumberAxis bitsAxis = new NumberAxis("bits");
        bitsAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        int maxBits = 2;
        for (OpQuant op : plan.ops().values()) for (OperandQuant o : op.operands()) maxBits = Math.max(maxBits, o.bits());
        bitsAxis.setRange(0, maxBits + 1);
        XYLineAndShapeRenderer br = new XYLineAndShapeRenderer(false, true);
        combined.add(new XYPlot(bits, null, bitsAxis, br), 1);

        YIntervalSeriesCollection scales = new YIntervalSeriesCollection();
        scales.addSeries(wScale);
        scales.addSeries(aScale);
        if (twin.getItemCount() > 0) scales.addSeries(twin);   // no legend entry for a quantizer the plan does not use
        LogAxis scaleAxis = new LogAxis("scale (step size), log");
        scaleAxis.setSmallestValue(1e-12);
        scaleAxis.setNumberFormatOverride(new java.text.DecimalFormat("0.#E0"));
        XYErrorRenderer er = new XYErrorRenderer();
        er.setDefaultLinesVisible(false);
        er.setDefaultShapesVisible(true);
        er.setDrawXError(false);
        combined.add(new XYPlot(scales, null, scaleAxis, er), 3);

        JFreeChart ops = Png.styled(new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, combined, true));
        // series colours after the theme, which resets them
        br.setSeriesPaint(0, COLORS[0]);
        br.setSeriesPaint(1, COLORS[1]);
        er.setSeriesPaint(0, COLORS[0]);
        er.setSeriesPaint(1, COLORS[1]);
        er.setSeriesPaint(2, COLORS[2]);
        er.setErrorPaint(new Color(0x888888));
        List<Png.Panel> panels = new ArrayList<>(List.of(new Png.Panel(ops, PLAN_OPS_HEIGHT)));
        JFreeChart units = unitsChart(plan);
        if (units != null) panels.add(new Png.Panel(units, PLAN_UNITS_HEIGHT));
        Png.write(png, PLAN_WIDTH, panels);
    }

    private static void addScale(YIntervalSeries uniform, YIntervalSeries twin, double x, OperandQuant o) {
        switch (o) {
            case UniformOperand u -> {
                float[] s = u.scales().clone();
                Arrays.sort(s);
                double med = s[(s.length - 1) / 2];
                if (med > 0) uniform.add(x, med, Math.max(s[0], 1e-12), s[s.length - 1]);
            }
            case AsymmetricOperand a -> uniform.add(x, a.scale(), a.scale(), a.scale());
            case CodebookOperand c -> {
                int[] l = c.levels();
                double[] gaps = new double[Math.max(0, l.length - 1)];
                for (int i = 1; i < l.length; i++) gaps[i - 1] = (double) (l[i] - l[i - 1]) * c.scale();
                addGaps(uniform, x, gaps);
            }
            case TwinSoftmaxOperand t -> {
                double a = t.quantizer().smallStep(), b = t.quantizer().largeStep();
                twin.add(x, Math.sqrt(a * b), Math.min(a, b), Math.max(a, b));
            }
            case TwinGeluOperand g -> {
                double a = g.negativeStep(), b = g.positiveStep();
                twin.add(x, Math.sqrt(a * b), Math.min(a, b), Math.max(a, b));
            }
            case AdaLogOperand l -> {
                float[] v = l.values();
                double[] gaps = new double[v.length - 1];
                for (int i = 1; i < v.length; i++) gaps[i - 1] = Math.abs((double) v[i - 1] - v[i]);
                addGaps(uniform, x, gaps);
            }
            case LogSqrt2Operand l -> {   // its steps run from the smallest level's to delta's (1 - 2^-1/2)
                double small = l.level(l.zeroCode() - 1), big = l.delta() - l.level(1);
                uniform.add(x, Math.sqrt(small * big), small, big);
            }
        }
    }

    /**
     * A non-uniform quantizer's steps between neighbouring levels, drawn as their median, smallest and
     * largest; zero gaps (levels that underflow to one value) are left out, and nothing is drawn without a gap.
     */
    private static void addGaps(YIntervalSeries uniform, double x, double[] gaps) {
        double[] g = Arrays.stream(gaps).filter(v -> v > 0).sorted().toArray();
        if (g.length > 0) uniform.add(x, g[(g.length - 1) / 2], g[0], g[g.length - 1]);
    }

    /** Mixed precision: each unit's nuclear norm (bars) and chosen bits (line, right axis); null for a fixed-bits plan. */
    private static JFreeChart unitsChart(QuantPlan plan) {
        Map<String, String> bits = keyValues(plan.info().options().get("unit_bits"));
        if (bits.isEmpty()) return null;
        Map<String, String> norms = keyValues(plan.info().options().get(Pipeline.UNIT_NUCLEAR_NORMS));
        DefaultCategoryDataset normData = new DefaultCategoryDataset(), bitData = new DefaultCategoryDataset();
        for (var e : bits.entrySet()) {
            String unit = e.getKey().replace("blocks.", "b").replace(".attn", " MSA").replace(".mlp", " MLP");
            bitData.addValue(Double.parseDouble(e.getValue()), "chosen bits (right axis)", unit);
            String n = norms.get(e.getKey());
            normData.addValue(n == null ? null : Double.valueOf(n), "nuclear norm (left axis)", unit);
        }
        String title = "mixed precision: each unit's nuclear norm and bits"
                + (norms.isEmpty() ? " (this file keeps no nuclear norms: quantized before they were stored)" : "")
                + (plan.info().options().containsKey("size_mb") ? ", " + plan.info().options().get("size_mb") + " MB" : "");
        CategoryAxis unitAxis = new CategoryAxis("unit");
        unitAxis.setCategoryLabelPositions(CategoryLabelPositions.UP_90);
        unitAxis.setTickLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        BarRenderer bars = new BarRenderer();
        CategoryPlot p = new CategoryPlot(normData, unitAxis, new NumberAxis("nuclear norm"), bars);
        NumberAxis bitsAxis = new NumberAxis("bits");
        bitsAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        double maxBits = 0;
        for (String v : bits.values()) maxBits = Math.max(maxBits, Double.parseDouble(v));
        bitsAxis.setRange(0, maxBits + 1);
        LineAndShapeRenderer lr = new LineAndShapeRenderer(true, true);
        p.setDataset(1, bitData);
        p.setRangeAxis(1, bitsAxis);
        p.mapDatasetToRangeAxis(1, 1);
        p.setRenderer(1, lr);
        // JFreeChart draws the last dataset first by default, which put the bits line under the taller bars
        p.setDatasetRenderingOrder(org.jfree.chart.plot.DatasetRenderingOrder.FORWARD);
        JFreeChart c = Png.styled(new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 14), p, true));
        c.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        bars.setSeriesPaint(0, new Color(0x9ecae1));
        bars.setShadowVisible(false);
        bars.setBarPainter(new org.jfree.chart.renderer.category.StandardBarPainter());
        lr.setSeriesPaint(0, COLORS[1]);
        lr.setSeriesStroke(0, new BasicStroke(2f));
        lr.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator());
        lr.setDefaultItemLabelsVisible(true);
        return c;
    }

    /** "a=1, b=2" -> {a: 1, b: 2}; empty for null. */
    static Map<String, String> keyValues(String s) {
        Map<String, String> m = new LinkedHashMap<>();
        if (s == null || s.isBlank()) return m;
        for (String part : s.split(",\\s*")) {
            int eq = part.lastIndexOf('=');
            if (eq > 0) m.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
        return m;
    }

    // ---------------------------------------------------------------- agreement

    /** Upper edges of the confidence bins (the float model's top-1 probability). */
    static final double[] CONFIDENCE_EDGES = {0.3, 0.5, 0.7, 0.9, 0.99, 1.0};

    /**
     * Where a quantized model departs from its float model: the images binned by the float model's
     * confidence (its top-1 probability), per bin the quantized model's top-1 agreement with the
     * float model and both models' top-1 accuracy, with the number of images under each bin.
     *
     * @param reference what the float model is, for the labels: "float", or "float (decoded weights)" for a
     *                  quantized file's weights run without quantization
     * @throws IllegalArgumentException when {@code r} has no per-image float predictions
     */
    public static void agreement(Path png, String title, String reference, EvalResult r) throws IOException {
        FpComparison c = r.comparison();
        if (c == null || c.reference().size() != r.predictions().size())
            throw new IllegalArgumentException("the evaluation has no per-image float predictions to compare with");
        int bins = CONFIDENCE_EDGES.length;
        int[] n = new int[bins], agree = new int[bins], labelled = new int[bins], fpRight = new int[bins], qRight = new int[bins];
        for (int i = 0; i < r.predictions().size(); i++) {
            Prediction q = r.predictions().get(i);
            var f = c.reference().get(i);
            int b = bin(f.probs()[0]);
            n[b]++;
            if (f.top1() == q.top().top1()) agree[b]++;
            if (q.label() >= 0) {
                labelled[b]++;
                if (f.top1() == q.label()) fpRight[b]++;
                if (q.top().top1() == q.label()) qRight[b]++;
            }
        }
        DefaultCategoryDataset d = new DefaultCategoryDataset();
        double lo = 0;
        for (int b = 0; b < bins; b++) {
            String cat = String.format(Locale.ROOT, "%.2f-%.2f (%d)", lo, CONFIDENCE_EDGES[b], n[b]);
            lo = CONFIDENCE_EDGES[b];
            d.addValue(n[b] == 0 ? null : 100.0 * agree[b] / n[b], "top-1 agreement with " + reference, cat);
            d.addValue(labelled[b] == 0 ? null : 100.0 * fpRight[b] / labelled[b], reference + " top-1", cat);
            d.addValue(labelled[b] == 0 ? null : 100.0 * qRight[b] / labelled[b], "quantized top-1", cat);
        }
        JFreeChart chart = Png.styled(ChartFactory.createBarChart(title,
                reference + " model's confidence (top-1 probability) bin (images)", "%", d, PlotOrientation.VERTICAL, true, false, false));
        CategoryPlot p = chart.getCategoryPlot();
        ((NumberAxis) p.getRangeAxis()).setRange(0, 108);
        BarRenderer br = (BarRenderer) p.getRenderer();
        br.setBarPainter(new org.jfree.chart.renderer.category.StandardBarPainter());
        br.setShadowVisible(false);
        br.setSeriesPaint(0, COLORS[0]);
        br.setSeriesPaint(1, new Color(0xaaaaaa));
        br.setSeriesPaint(2, COLORS[1]);
        br.setItemMargin(0.05);
        br.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new java.text.DecimalFormat("0")));
        br.setDefaultItemLabelsVisible(true);
        br.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        chart.addSubtitle(new org.jfree.chart.title.TextTitle(String.format(Locale.ROOT,
                "%d images: agreement %d/%d (%.2f %%), mean KL(float || quantized) %.4f; %s top-1 %.2f %%, quantized %.2f %%",
                r.images(), c.top1Agree(), c.images(), c.agreementPercent(), c.meanKl(), reference,
                r.labelled() == 0 ? Double.NaN : 100.0 * c.referenceTop1Correct() / r.labelled(), r.top1()),
                new Font(Font.SANS_SERIF, Font.PLAIN, 12)));
        Png.write(png, AGREEMENT_WIDTH, List.of(new Png.Panel(chart, AGREEMENT_HEIGHT)));
    }

    static int bin(double p) {
        for (int b = 0; b < CONFIDENCE_EDGES.length - 1; b++) if (p < CONFIDENCE_EDGES[b]) return b;
        return CONFIDENCE_EDGES.length - 1;
    }
}
