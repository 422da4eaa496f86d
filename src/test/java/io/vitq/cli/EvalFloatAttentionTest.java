package io.vitq.cli;

import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vitq.testutil.TestData;
import io.vitq.eval.EvalResult;
import io.vitq.io.ModelLoader;
import io.vitq.quant.QuantPlan;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vitq eval --float-attention}: the plan without its attention quantizers (the model that
 * {@code vitq export --float-attention} writes), against that reduced plan evaluated in-process and
 * against the whole plan; in integers equal to its code products.
 */
class EvalFloatAttentionTest {
    private static final Path PLAN = Path.of("src/test/resources/quant/ptq4vit_w8a8_vit_tiny.json");
    private static final int IMAGES = 8;

    /** Each image's top-5 classes and probabilities as {@code --predictions} writes them (its own writer). */
    private static List<String> rows(EvalResult r, Path tmp) throws Exception {
        Path csv = Files.createTempFile(tmp, "expected", ".csv");
        io.vitq.eval.Reports.writePredictions(csv, r);
        return rows(csv);
    }

    /** The CSV's rows without the path and label columns. */
    private static List<String> rows(Path csv) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(csv).subList(1, IMAGES + 1)) {
            int second = line.indexOf(',', line.indexOf(',') + 1);
            out.add(line.substring(second));
        }
        return out;
    }

    private static CliTest.Run eval(Path predictions, String... extra) {
        List<String> args = new ArrayList<>(List.of("eval", "--model", CliTest.MODEL, "--plan", PLAN.toString(), "--data",
                TestData.demo("val/dataset.txt").toString(), "--limit", Integer.toString(IMAGES), "--batch", "4",
                "--predictions", predictions.toString()));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    @Test
    void evaluatesThePlanWithoutItsAttentionQuantizers(@TempDir Path tmp) throws Exception {
        Path reduced = tmp.resolve("reduced.csv"), whole = tmp.resolve("whole.csv");
        CliTest.Run r = eval(reduced, "--float-attention");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("attention float"), r.out());
        assertEquals(0, eval(whole).exit());

        ModelLoader.Loaded l = ModelLoader.load(CliTest.MODEL, null);
        QuantPlan plan = Plans.read(PLAN, l.model());
        EvalResult expected = EvalCommand.evaluate(l, plan.withoutMatmuls(), false, TestData.demo("val/dataset.txt"), IMAGES, 4);
        assertEquals(rows(expected, tmp), rows(reduced));
        // the attention quantizers move the probabilities: the flag changed the model
        assertNotEquals(rows(whole), rows(reduced));
        assertEquals(rows(EvalCommand.evaluate(l, plan, false, TestData.demo("val/dataset.txt"), IMAGES, 4), tmp), rows(whole));
    }

    @Test
    void integersEqualTheReducedPlansCodeProducts(@TempDir Path tmp) throws Exception {
        Path integer = tmp.resolve("integer.csv"), codes = tmp.resolve("codes.csv");
        assertEquals(0, eval(integer, "--float-attention", "--integer").exit());
        assertEquals(0, eval(codes, "--float-attention", "--products", "codes").exit());
        assertEquals(rows(codes), rows(integer));
        // and the flag took effect on both paths: the whole plan's integers differ
        Path whole = tmp.resolve("whole.csv");
        assertEquals(0, eval(whole, "--integer").exit());
        assertNotEquals(rows(whole), rows(integer));
    }

    @Test
    void saysSoWhenThePlanHasNoAttentionQuantizers(@TempDir Path tmp) throws Exception {
        ModelLoader.Loaded l = ModelLoader.load(CliTest.MODEL, null);
        Path linearsOnly = tmp.resolve("linears.json");
        io.vitq.quant.QuantPlanJson.write(Plans.read(PLAN, l.model()).withoutMatmuls(), linearsOnly);
        CliTest.Run r = run("eval", "--model", CliTest.MODEL, "--plan", linearsOnly.toString(), "--data",
                TestData.demo("val/dataset.txt").toString(), "--limit", "2", "--float-attention");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("the plan quantizes no attention product"), r.err());
        assertTrue(!eval(tmp.resolve("p.csv"), "--float-attention").err().contains("quantizes no attention"));
    }

    @Test
    void refusesAFloatModel() {
        assertUserError(run("eval", "--model", CliTest.MODEL, "--data", TestData.demo("val/dataset.txt").toString(),
                "--float-attention"), 1, "--float-attention", "quantized model");
    }
}
