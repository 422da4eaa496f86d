package io.vitq.eval.charts;

import io.vitq.eval.EvalResult;
import io.vitq.eval.FpComparison;
import io.vitq.eval.Prediction;
import io.vitq.eval.TopK;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.testutil.MinMaxPlans;
import io.vitq.testutil.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The three charts drawn from made-up results, read back as images. */
class ChartsTest {
    @TempDir
    Path tmp;

    @Test
    void sweepDrawsOneLinePerMethodAndTheFloatReference() throws Exception {
        Path png = tmp.resolve("sweep.png");
        Charts.sweep(png, "vit_tiny_patch16_224: top-1 against model size", List.of(
                new Charts.SweepPoint("m", "basePTQ", "W8A8", 5.72, 80.5), new Charts.SweepPoint("m", "basePTQ", "W6A6", 4.29, 62.6),
                new Charts.SweepPoint("m", "ptq4vit", "W8A8", 5.72, 82.5), new Charts.SweepPoint("m", "ptq4vit", "W6A6", 4.29, 78.1)),
                List.of(new Charts.FloatPoint("m", 22.87, 82.6)));
        BufferedImage img = PngCheck.assertChart(png, Charts.SWEEP_WIDTH, Charts.SWEEP_HEIGHT);
        assertTrue(PngCheck.hasColour(img, 0x1f77b4) && PngCheck.hasColour(img, 0xd62728), "both methods' colours drawn");
    }

    /** The README's sweep: PTQ4ViT W8A8 half a point under float, where a label above the point sat across the float line. */
    @Test
    void aBitsLabelThatTheFloatLineWouldCrossMovesOffIt() throws Exception {
        List<Charts.SweepPoint> points = List.of(
                new Charts.SweepPoint("m", "basePTQ", "W8A8", 5.72, 80.5), new Charts.SweepPoint("m", "basePTQ", "W6A6", 4.29, 57.5),
                new Charts.SweepPoint("m", "ptq4vit", "W8A8", 5.72, 82.0), new Charts.SweepPoint("m", "ptq4vit", "W6A6", 4.29, 78.5));
        var chart = Charts.sweepChart("sweep", points, List.of(new Charts.FloatPoint("m", 22.87, 82.5)));
        var r = (SweepLabels.BitsRenderer) chart.getXYPlot().getRenderer();
        // series in the points' order (basePTQ, ptq4vit), items by size (W6A6, W8A8)
        assertTrue(r.side(1, 1) != SweepLabels.Side.ABOVE, "ptq4vit W8A8's label off the float line: " + r.side(1, 1));
        assertEquals(SweepLabels.Side.BELOW, r.side(0, 0), "basePTQ's steep line rises through the space above its W6A6 point");
        for (int[] si : new int[][] {{0, 1}, {1, 0}})
            assertEquals(SweepLabels.Side.ABOVE, r.side(si[0], si[1]), "nothing in the way of the others' labels");
        var marker = (org.jfree.chart.plot.ValueMarker) chart.getXYPlot().getRangeMarkers(org.jfree.chart.ui.Layer.FOREGROUND).iterator().next();
        assertEquals(SweepLabels.Place.ABOVE_LEFT, SweepLabels.Place.of(marker), "nothing near the line's left end");
        PngCheck.assertChart(writeSweep(points, 82.5), Charts.SWEEP_WIDTH, Charts.SWEEP_HEIGHT);
    }

    /** A low-bit point just above the float line at its left end (quantized scoring above float): the caption moves off it. */
    @Test
    void theFloatCaptionLeavesAPointAtTheLinesEnd() {
        List<Charts.SweepPoint> points = List.of(new Charts.SweepPoint("m", "vitq", "W4A8", 2.9, 82.8),
                new Charts.SweepPoint("m", "vitq", "W8A8", 5.72, 70.0));
        var chart = Charts.sweepChart("sweep", points, List.of(new Charts.FloatPoint("m", 22.87, 82.5)));
        var marker = (org.jfree.chart.plot.ValueMarker) chart.getXYPlot().getRangeMarkers(org.jfree.chart.ui.Layer.FOREGROUND).iterator().next();
        assertEquals(SweepLabels.Place.BELOW_LEFT, SweepLabels.Place.of(marker), "above the left end is where W4A8 and its label are");
    }

    /** Two W8A8 points a few pixels apart at one size, both under the float line: their labels on two sides. */
    @Test
    void labelsOfPointsTogetherTakeDifferentSides() {
        List<Charts.SweepPoint> points = List.of(new Charts.SweepPoint("m", "vitq", "W4A8", 2.9, 82.8),
                new Charts.SweepPoint("m", "vitq", "W8A8", 5.72, 82.4), new Charts.SweepPoint("m", "ptq4vit", "W6A6", 4.29, 78.1),
                new Charts.SweepPoint("m", "ptq4vit", "W8A8", 5.72, 82.46));
        var r = (SweepLabels.BitsRenderer) Charts.sweepChart("sweep", points, List.of(new Charts.FloatPoint("m", 22.87, 82.62)))
                .getXYPlot().getRenderer();
        assertTrue(r.side(0, 1) != SweepLabels.Side.ABOVE && r.side(1, 1) != SweepLabels.Side.ABOVE, "neither across the float line");
        assertTrue(r.side(0, 1) != r.side(1, 1), "not on the same side: " + r.side(0, 1));
    }

    /** Two models' float lines a few pixels apart: neither caption lies across the other line. */
    @Test
    void aFloatCaptionDoesNotCrossAnotherFloatLine() {
        List<Charts.SweepPoint> points = List.of(new Charts.SweepPoint("a", "ptq4vit", "W8A8", 5.72, 70.0),
                new Charts.SweepPoint("b", "ptq4vit", "W8A8", 5.72, 60.0), new Charts.SweepPoint("a", "ptq4vit", "W6A6", 4.29, 50.0));
        var chart = Charts.sweepChart("sweep", points, List.of(new Charts.FloatPoint("a", 22.87, 82.5), new Charts.FloatPoint("b", 22.1, 82.9)));
        var markers = new ArrayList<org.jfree.chart.plot.ValueMarker>();
        for (Object m : chart.getXYPlot().getRangeMarkers(org.jfree.chart.ui.Layer.FOREGROUND)) markers.add((org.jfree.chart.plot.ValueMarker) m);
        assertEquals(SweepLabels.Place.BELOW_LEFT, SweepLabels.Place.of(markers.get(0)), "82.5's caption under its line: 82.9's runs above it");
        assertEquals(SweepLabels.Place.ABOVE_LEFT, SweepLabels.Place.of(markers.get(1)));
    }

    /** Not a number (a cell that failed) and no float line: drawn, nothing placed for what is not drawn. */
    @Test
    void aSweepWithANanCellOrNoFloatLineStillDraws() throws Exception {
        List<Charts.SweepPoint> points = List.of(new Charts.SweepPoint("m", "vitq", "W4A4", 2.9, Double.NaN),
                new Charts.SweepPoint("m", "vitq", "W8A8", 5.72, 82.0));
        Charts.sweepChart("nan", points, List.of(new Charts.FloatPoint("m", 22.87, Double.NaN)));
        Charts.sweepChart("no float", points, List.of());
        Path png = tmp.resolve("nan.png");
        Charts.sweep(png, "nan", points, List.of());
        PngCheck.assertChart(png, Charts.SWEEP_WIDTH, Charts.SWEEP_HEIGHT);
    }

    private Path writeSweep(List<Charts.SweepPoint> points, double floatTop1) throws Exception {
        Path png = tmp.resolve("sweep-labels.png");
        Charts.sweep(png, "labels", points, List.of(new Charts.FloatPoint("m", 22.87, floatTop1)));
        return png;
    }

    @Test
    void sweepOfOneBitSettingHasASizeAxisOfPositiveWidth() throws Exception {
        List<Charts.SweepPoint> one = List.of(new Charts.SweepPoint("m", "basePTQ", "W8A8", 5.72, 80.5));
        var x = Charts.sweepChart("one cell", one, List.of(new Charts.FloatPoint("m", 22.87, 82.6))).getXYPlot().getDomainAxis();
        assertTrue(x.getRange().getLowerBound() < 5.72 && x.getRange().getUpperBound() > 5.72
                && x.getRange().getLength() >= 1.0, "a degenerate axis labels every tick 5.72: " + x.getRange());
        Path png = tmp.resolve("one.png");
        Charts.sweep(png, "one cell", one, List.of());
        PngCheck.assertChart(png, Charts.SWEEP_WIDTH, Charts.SWEEP_HEIGHT);
    }

    @Test
    void planDrawsOpsAndForMixedPrecisionTheUnits() throws Exception {
        QuantPlan plan = MinMaxPlans.plan(TinyModels.VIT, MinMaxPlans.maxima(TinyModels.VIT, TinyModels.IMAGES),
                MinMaxPlans.Spec.ptq4vit(false));
        Path fixed = tmp.resolve("fixed.png");
        Charts.plan(fixed, "tiny: bits and scales", plan);
        BufferedImage withTwins = PngCheck.assertChart(fixed, Charts.PLAN_WIDTH, Charts.PLAN_OPS_HEIGHT);
        // the twins' series (green) is drawn, and left out of the legend, only where the plan has twins
        Path uniform = tmp.resolve("uniform.png");
        Charts.plan(uniform, "tiny: uniform", MinMaxPlans.plan(TinyModels.VIT, MinMaxPlans.maxima(TinyModels.VIT, TinyModels.IMAGES),
                MinMaxPlans.Spec.uniform()));
        assertTrue(PngCheck.hasColour(withTwins, 0x2ca02c), "the twins' steps");
        assertFalse(PngCheck.hasColour(PngCheck.assertChart(uniform, Charts.PLAN_WIDTH, Charts.PLAN_OPS_HEIGHT), 0x2ca02c),
                "no twin quantizer in the plan, none in the legend");
        // every kind has a scale range to draw: codebook Linear inputs and log-sqrt2 probabilities too
        Path kinds = tmp.resolve("kinds.png");
        Charts.plan(kinds, "tiny: codebook and log-sqrt2", MinMaxPlans.withLogSoftmax(MinMaxPlans.withCodebookInputs(plan), 4, 0.5f));
        PngCheck.assertChart(kinds, Charts.PLAN_WIDTH, Charts.PLAN_OPS_HEIGHT);
        Path adaLog = tmp.resolve("adalog.png");   // AdaLog's levels: q = 137 at 6 bits underflows the smallest to zero gaps
        Charts.plan(adaLog, "tiny: AdaLog", MinMaxPlans.withAdaLog(plan, 6, 137, 16, 2f));
        PngCheck.assertChart(adaLog, Charts.PLAN_WIDTH, Charts.PLAN_OPS_HEIGHT);

        Map<String, String> options = new LinkedHashMap<>(plan.info().options());
        options.put("mixed_precision", "mp8, units from [6, 7, 8, 9, 10] bits");
        options.put("unit_bits", "blocks.0.attn=9, blocks.0.mlp=6, blocks.1.attn=10, blocks.1.mlp=7");
        options.put("unit_nuclear_norms", "blocks.0.attn=12000, blocks.0.mlp=900, blocks.1.attn=21000, blocks.1.mlp=1600");
        options.put("size_mb", "5.72");
        PlanInfo i = plan.info();
        QuantPlan mp = plan.withInfo(new PlanInfo(i.model(), i.method(), 8, 8, i.metric(), i.calibration(), i.created(),
                i.vitqVersion(), options));
        Path mixed = tmp.resolve("mixed.png");
        Charts.plan(mixed, "tiny MP8", mp);
        BufferedImage img = PngCheck.assertChart(mixed, Charts.PLAN_WIDTH, Charts.PLAN_OPS_HEIGHT + Charts.PLAN_UNITS_HEIGHT);
        assertTrue(PngCheck.hasColour(img, 0x9ecae1), "the nuclear-norm bars are drawn");
        // blocks.1.attn's 10 bits sit below the top of its bar (the tallest): the bits line is drawn over the bars
        assertTrue(PngCheck.drawnOver(img, 0xd62728, 0x9ecae1, 12), "the chosen bits drawn over the bars, not hidden by them");
        assertEquals(Map.of("a", "1", "b.c", "2.5e+03"), Charts.keyValues("a=1, b.c=2.5e+03"));
    }

    @Test
    void agreementBinsTheImagesByTheFloatModelsConfidence() throws Exception {
        List<Prediction> preds = new ArrayList<>();
        List<TopK> ref = new ArrayList<>();
        int agree = 0, fpRight = 0, qRight = 0;
        for (int i = 0; i < 60; i++) {
            float conf = 0.2f + 0.8f * i / 60; // confidence grows with i
            boolean same = i % 5 != 0 || i > 40; // disagreements at low confidence only
            int fpClass = i % 7, qClass = same ? fpClass : fpClass + 1, label = i % 3 == 0 ? fpClass + 1 : fpClass;
            ref.add(new TopK(new int[] {fpClass, 9}, new float[] {conf, 1 - conf}));
            preds.add(new Prediction("img" + i, label, new TopK(new int[] {qClass, 9}, new float[] {conf, 1 - conf})));
            if (same) agree++;
            if (fpClass == label) fpRight++;
            if (qClass == label) qRight++;
        }
        EvalResult r = new EvalResult("m", "data", 60, 60, qRight, qRight, 1, 1, 8, 1, preds,
                new FpComparison(60, agree, 0.01, fpRight, ref));
        Path png = tmp.resolve("agreement.png");
        Charts.agreement(png, "m against float", "float", r);
        PngCheck.assertChart(png, Charts.AGREEMENT_WIDTH, Charts.AGREEMENT_HEIGHT);
        assertEquals(0, Charts.bin(0.1));
        assertEquals(5, Charts.bin(0.995));
        assertEquals(5, Charts.bin(1.0));
        EvalResult noRef = new EvalResult("m", "data", 60, 60, 1, 1, 1, 1, 8, 1, preds, new FpComparison(60, agree, 0.01));
        assertThrows(IllegalArgumentException.class, () -> Charts.agreement(tmp.resolve("x.png"), "x", "float", noRef));
    }
}
