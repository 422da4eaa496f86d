package io.vitq.cli;

import io.vitq.eval.charts.Charts;
import io.vitq.eval.charts.PngCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.vitq.cli.CliTest.MODEL;
import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static io.vitq.cli.QuantizeCommandTest.CALIB;
import static io.vitq.cli.QuantizeCommandTest.VAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --plot} of sweep, inspect and eval: the PNG each writes, read back; the option's errors. */
class PlotCommandsTest {
    static final String[] SHORT = {"--calib", CALIB, "--calib-size", "2", "--candidates", "4", "--rounds", "1"};

    static Path quantize(Path tmp, String method, String bits) {
        Path q = tmp.resolve(method + "-" + bits + ".safetensors");
        String[] head = {"quantize", "--model", MODEL, "--method", method, "--bits", bits, "-o", q.toString()};
        String[] a = new String[head.length + SHORT.length];
        System.arraycopy(head, 0, a, 0, head.length);
        System.arraycopy(SHORT, 0, a, head.length, SHORT.length);
        CliTest.Run r = run(a);
        assertEquals(0, r.exit(), r.err());
        return q;
    }

    @Test
    void inspectAndEvalDrawTheirCharts(@TempDir Path tmp) throws Exception {
        Path q = quantize(tmp, "basePTQ", "w8a8");
        Path plan = tmp.resolve("plan.png");
        CliTest.Run in = run("inspect", q.toString(), "--plot", plan.toString());
        assertEquals(0, in.exit(), in.err());
        assertTrue(in.out().contains("| blocks.0.attn.qkv |"), "the table is printed as before");
        PngCheck.assertChart(plan, Charts.PLAN_WIDTH, Charts.PLAN_OPS_HEIGHT);

        Path agreement = tmp.resolve("agreement.png");
        CliTest.Run ev = run("eval", "--model", q.toString(), "--data", VAL, "--limit", "12", "--batch", "6", "--compare-fp",
                "--plot", agreement.toString());
        assertEquals(0, ev.exit(), ev.err());
        PngCheck.assertChart(agreement, Charts.AGREEMENT_WIDTH, Charts.AGREEMENT_HEIGHT);

        // mistakes: one line, nothing written
        Path none = tmp.resolve("none.png");
        assertUserError(run("eval", "--model", q.toString(), "--data", VAL, "--limit", "2", "--plot", none.toString()), 1,
                "--plot", "--compare-fp");
        assertUserError(run("inspect", q.toString(), "--plot", tmp.resolve("plan.jpg").toString()), 1, "--plot", "PNG");
        assertUserError(run("inspect", q.toString(), "--plot", tmp.resolve("no/dir/p.png").toString()), 1, "--plot", "does not exist");
        // a folder, even one named *.png, is said to be a folder (before: "name the file *.png")
        Path folder = Files.createDirectory(tmp.resolve("charts.png"));
        assertUserError(run("inspect", q.toString(), "--plot", folder.toString()), 1, "--plot " + folder, "is a directory");
        assertUserError(run("inspect", q.toString(), "--plot", tmp.toString()), 1, "--plot " + tmp, "is a directory");
        assertFalse(Files.exists(none) || Files.exists(tmp.resolve("plan.jpg")));
    }

    /** A mixed-precision file keeps every unit's nuclear norm; inspect draws them with the chosen bits. */
    @Test
    void mixedPrecisionPlanShowsUnitNormsAndBits(@TempDir Path tmp) throws Exception {
        Path q = quantize(tmp, "vtptq", "mp8");
        CliTest.Run js = run("inspect", q.toString(), "--json");
        assertEquals(0, js.exit(), js.err());
        assertTrue(js.out().contains("unit_nuclear_norms") && js.out().contains("blocks.11.mlp="), js.out());
        Path png = tmp.resolve("mp.png");
        CliTest.Run in = run("inspect", q.toString(), "--plot", png.toString());
        assertEquals(0, in.exit(), in.err());
        var img = PngCheck.assertChart(png, Charts.PLAN_WIDTH, Charts.PLAN_OPS_HEIGHT + Charts.PLAN_UNITS_HEIGHT);
        assertTrue(PngCheck.hasColour(img, 0x9ecae1), "nuclear-norm bars");
    }

    /** The sweep chart from stored cells (written without settings, so reused as they are: no calibration here). */
    @Test
    void sweepDrawsTopOneAgainstSize(@TempDir Path tmp) throws Exception {
        Path results = tmp.resolve("cells.json");
        String cell = "\"vit_tiny_patch16_224 | %s | %s\" : { \"model\" : \"vit_tiny_patch16_224\", \"setting\" : \"%s\", "
                + "\"bits\" : \"%s\", \"top1\" : %s, \"top5\" : 90.0, \"images\" : 6, \"calibSeconds\" : 1.0, \"note\" : \"old\" }";
        Files.writeString(results, "{ " + String.join(", ",
                String.format(cell, "float", "FP32", "float", "FP32", "83.0"),
                String.format(cell, "basePTQ", "W8A8", "basePTQ", "W8A8", "80.0"),
                String.format(cell, "basePTQ", "W6A6", "basePTQ", "W6A6", "62.0"),
                String.format(cell, "ptq4vit", "W8A8", "ptq4vit", "W8A8", "82.5"),
                String.format(cell, "ptq4vit", "W6A6", "ptq4vit", "W6A6", "78.0")) + " }");
        Path png = tmp.resolve("sweep.png");
        CliTest.Run r = run("sweep", "--models", MODEL, "--methods", "basePTQ,ptq4vit", "--bits", "w8a8,w6a6", "--data", VAL,
                "--limit", "6", "--results", results.toString(), "--plot", png.toString());
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.err().contains("calibrate "), "every cell came from the results file");
        var img = PngCheck.assertChart(png, Charts.SWEEP_WIDTH, Charts.SWEEP_HEIGHT);
        assertTrue(PngCheck.hasColour(img, 0x1f77b4) && PngCheck.hasColour(img, 0xd62728), "one colour per method");
        Path same = tmp.resolve("same.png");
        assertUserError(run("sweep", "--models", MODEL, "--data", VAL, "--results", same.toString(), "--plot", same.toString()),
                1, "--plot", "--results");
        assertFalse(Files.exists(same));
    }
}
