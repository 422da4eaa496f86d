package io.vitq.cli;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.data.CalibrationSet;
import io.vitq.io.ModelLoader;
import io.vitq.io.QuantizedModelFile;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.vitq.cli.CliTest.MODEL;
import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code vitq quantize} end to end on the shipped ViT-Ti with a few calibration images and a
 * short search (the full settings are measured in docs/RESULTS.md and docs/CALIBRATION_TIME.md, not
 * here): the files it writes, the round trip of the quantized model file, and its one-line errors.
 */
class QuantizeCommandTest {
    static final String CALIB = TestData.demo("calib/calib32.txt").toString();
    static final String VAL = TestData.demo("val/dataset.txt").toString();

    /**
     * {@code vitq quantize} of the test model on two calibration images with a short search (4
     * candidates, 1 round) and {@code options}; asserts it succeeded.
     */
    static CliTest.Run quickQuantize(String... options) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("quantize", "--model", MODEL, "--calib", CALIB,
                "--calib-size", "2", "--candidates", "4", "--rounds", "1"));
        args.addAll(java.util.List.of(options));
        CliTest.Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        return r;
    }

    /** How many of the plan's ops are Linears (with {@code asymmetricOnly}: whose weight has zero points). */
    static long linears(QuantPlan p, boolean asymmetricOnly) {
        return p.ops().values().stream()
                .filter(o -> o instanceof io.vitq.quant.LinearQuant lq && (!asymmetricOnly || lq.weight().asymmetric())).count();
    }

    @Test
    void quantizeWritesModelAndPlanThatEvalAndInspectRead(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q.safetensors"), plan = tmp.resolve("plan.json");
        CliTest.Run r = run("quantize", "--model", MODEL, "--calib", CALIB, "--calib-size", "4", "--candidates", "8",
                "--rounds", "2", "--bits", "w6a6", "-o", q.toString(), "--plan", plan.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("calibration: ") && r.out().contains("float forward+backward"), r.out());
        assertTrue(r.out().contains("plan: vit_tiny_patch16_224, ptq4vit, W6A6, metric hessian"), r.out());
        assertTrue(Files.size(q) < Files.size(TestData.VIT_TINY) / 3.5, "quantized file is at most 1/3.5 of the float one");
        assertEquals(QuantPlanJson.read(plan), QuantizedModelFile.readHeader(q).plan());

        // the saved file and the float model with the plan evaluate identically, image by image
        Path a = tmp.resolve("a.csv"), b = tmp.resolve("b.csv");
        CliTest.Run ea = run("eval", "--model", q.toString(), "--data", VAL, "--limit", "12", "--batch", "6",
                "--predictions", a.toString(), "--compare-fp");
        CliTest.Run eb = run("eval", "--model", MODEL, "--plan", plan.toString(), "--data", VAL, "--limit", "12",
                "--batch", "6", "--predictions", b.toString());
        assertEquals(0, ea.exit(), ea.err());
        assertEquals(0, eb.exit(), eb.err());
        assertEquals(Files.readString(b), Files.readString(a));
        assertTrue(ea.out().contains("agreement with the float model (the file's decoded weights; its top-1 "), ea.out());
        assertTrue(ea.out().contains("% (Wilson score, 12 labelled images)") && ea.out().contains("images right at top-1 in float only: "),
                ea.out());
        // --float-model: the file against the checkpoint it was made from = the plan on that checkpoint against it
        CliTest.Run ef = run("eval", "--model", q.toString(), "--data", VAL, "--limit", "12", "--batch", "6", "--compare-fp",
                "--float-model", MODEL);
        CliTest.Run ep0 = run("eval", "--model", MODEL, "--plan", plan.toString(), "--data", VAL, "--limit", "12",
                "--batch", "6", "--compare-fp");
        assertEquals(0, ef.exit(), ef.err());
        assertEquals(0, ep0.exit(), ep0.err());
        String cmpFile = ef.out().substring(ef.out().indexOf("): top-1 ")), cmpPlan = ep0.out().substring(ep0.out().indexOf("): top-1 "));
        assertEquals(cmpPlan, cmpFile, ef.out() + ep0.out());
        assertNotEquals(ea.out().substring(ea.out().indexOf("): top-1 ")), cmpFile, "the decoded weights are another float model");
        assertTrue(ef.out().contains("agreement with the float model (vit_tiny_patch16_224 from " + MODEL + "; its top-1 "), ef.out());
        assertUserError(run("eval", "--model", q.toString(), "--data", VAL, "--float-model", MODEL), 1, "--float-model", "--compare-fp");
        assertUserError(run("eval", "--model", q.toString(), "--data", VAL, "--compare-fp", "--float-model", q.toString()), 1,
                "--float-model", "quantized");
        assertFalse(eb.err().contains("no entry"), eb.err());
        // a plan without an op still runs (that op in float), with a note naming it
        QuantPlan full = QuantPlanJson.read(plan);
        java.util.Map<String, io.vitq.quant.OpQuant> ops = new java.util.LinkedHashMap<>(full.ops());
        ops.remove("blocks.3.attn.matmul2");
        Path partial = tmp.resolve("partial.json");
        QuantPlanJson.write(new QuantPlan(full.info(), ops), partial);
        CliTest.Run ep = run("eval", "--model", MODEL, "--plan", partial.toString(), "--data", VAL, "--limit", "2");
        assertEquals(0, ep.exit(), ep.err());
        assertTrue(ep.err().contains("no entry for 1 of the model's ops, which run in float: blocks.3.attn.matmul2"), ep.err());

        Path pi = q.resolveSibling("int.csv"), pc = q.resolveSibling("codes.csv");
        CliTest.Run ei = run("eval", "--model", q.toString(), "--data", VAL, "--limit", "12", "--batch", "6", "--integer",
                "--predictions", pi.toString());
        assertEquals(0, ei.exit(), ei.err());
        assertTrue(ei.out().contains("| vit_tiny_patch16_224 |") && ei.err().contains("twin") && ei.err().contains(" ops): "), ei.out() + ei.err());
        // the code-product fake quant rounds as the integers do: the same top-5 and probabilities, to the last digit
        CliTest.Run ec = run("eval", "--model", q.toString(), "--data", VAL, "--limit", "12", "--batch", "6",
                "--products", "codes", "--predictions", pc.toString());
        assertEquals(0, ec.exit(), ec.err());
        assertEquals(Files.readString(pi), Files.readString(pc));

        CliTest.Run in = run("inspect", q.toString());
        assertEquals(0, in.exit(), in.err());
        assertTrue(in.out().contains("blocks.11.mlp.fc2") && in.out().contains("twin-gelu"), in.out());
    }

    /** A search size beyond any use is refused before the model loads, not as an array error minutes later. */
    @Test
    void searchSizesAreBounded(@TempDir Path tmp) throws Exception {
        String plan = tmp.resolve("p.json").toString();
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--candidates", "2147483647", "--plan", plan),
                1, "--candidates 2147483647", "at most 100000");
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--rounds", "5000", "--plan", plan),
                1, "--rounds 5000", "at most 1000");
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--candidates", "0", "--plan", plan),
                1, "--candidates", "positive");
        assertTrue(Files.notExists(tmp.resolve("p.json")));
    }

    /** Acceptance 5 of issue 4, in process: the loaded file's logits equal the calibrated plan's, bit for bit. */
    @Test
    void mixedPrecisionReportsEveryPhase(@TempDir Path tmp) throws Exception {
        Path plan = tmp.resolve("mp.json");
        CliTest.Run r = quickQuantize("--method", "vtptq", "--bits", "mp8", "--mp-msa-norm", "output", "--plan", plan.toString());
        assertTrue(r.out().contains("nuclear norms (SVD)") && r.out().contains("unit errors"), r.out());
        assertTrue(r.out().contains("of which bias correction"), r.out());
        assertTrue(r.out().contains("plan: vit_tiny_patch16_224, vtptq, MP8,"), "its bits vary by unit: not named W8A8: " + r.out());
        assertTrue(Files.readString(plan).contains("nuclear norm of the output feature"), "the plan names the norm");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--bits", "mp8", "--mp-msa-norm", "svd",
                "--plan", tmp.resolve("x.json").toString()), 1, "--mp-msa-norm", "svd", "scores, softmax or output");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--bits", "w8a8", "--no-mixed-precision",
                "--plan", tmp.resolve("x.json").toString()), 1, "--no-mixed-precision", "mp6 or mp8");
        Path fixed = tmp.resolve("fixed.json");
        CliTest.Run f = quickQuantize("--method", "vtptq", "--bits", "mp8", "--no-mixed-precision", "--plan", fixed.toString());
        assertTrue(f.out().contains("plan: vit_tiny_patch16_224, vtptq, W8A8,"), f.out());
        assertTrue(!f.out().contains("nuclear norms") && Files.readString(fixed).contains("\"weightBits\": 8")
                && !Files.readString(fixed).contains("mixed_precision"), f.out());
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--bits", "mp8", "--sequential",
                "--plan", tmp.resolve("x.json").toString()), 1, "--sequential", "parallel");
    }

    /**
     * {@code --reparam-norms}: the plan carries the folds and applies to the float checkpoint, the
     * quantized file carries the folded tensors; both evaluate identically, and the file's integers
     * equal its code products.
     */
    @Test
    void reparameterisedNormsReachEveryConsumer(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q.safetensors"), plan = tmp.resolve("plan.json");
        CliTest.Run r = quickQuantize("--bits", "w4a4", "--per-channel-weights", "--reparam-norms", "-o", q.toString(),
                "--plan", plan.toString());
        assertTrue(r.out().contains("LayerNorm reparameterisation") && r.out().contains("folds: 24 LayerNorm -> Linear"), r.out());
        QuantPlan p = QuantPlanJson.read(plan);
        assertEquals(24, p.folds().size());
        QuantPlan stored = QuantizedModelFile.readHeader(q).plan();
        assertTrue(stored.folds().isEmpty() && stored.info().options().containsKey("folded"), stored.info().options().toString());
        assertEquals(p.ops(), stored.ops());

        assertFileAndPlanAgree(tmp, q, plan);
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--reparam-norms", "--plan",
                tmp.resolve("x.json").toString()), 1, "--reparam-norms", "basePTQ and ptq4vit");
    }

    /**
     * {@code --asymmetric-weights}: every searched weight has a zero point per output channel in the
     * plan and the file, the plan on the float checkpoint evaluates as the file does, the file's
     * integers equal its code products; 8-bit weights and VT-PTQ are refused with a message.
     */
    @Test
    void asymmetricWeightsReachEveryConsumer(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q.safetensors"), plan = tmp.resolve("plan.json");
        quickQuantize("--bits", "w4a8", "--per-channel-weights", "--asymmetric-weights", "-o", q.toString(), "--plan", plan.toString());
        QuantPlan p = QuantPlanJson.read(plan);
        assertEquals(linears(p, false), linears(p, true), "every Linear weight has zero points");
        assertTrue(p.info().options().containsKey("weight_zero_points"), p.info().options().toString());
        assertEquals(p.ops(), QuantizedModelFile.readHeader(q).plan().ops());
        assertFileAndPlanAgree(tmp, q, plan);
        assertUserError(run("quantize", "--model", MODEL, "--bits", "w8a8", "--asymmetric-weights", "--plan",
                tmp.resolve("x.json").toString()), 1, "--asymmetric-weights", "W8A8", "at most 7 bits");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--bits", "w6a6", "--asymmetric-weights", "--plan",
                tmp.resolve("x.json").toString()), 1, "--asymmetric-weights", "VT-PTQ");
        assertUserError(run("quantize", "--model", MODEL, "--method", "repq", "--bits", "w4a4", "--asymmetric-weights", "--plan",
                tmp.resolve("x.json").toString()), 1, "--asymmetric-weights", "repq");
    }

    /**
     * {@code --method vitq} has asymmetric weights below 8 weight bits (docs/LOWBIT.md 1.1);
     * {@code --symmetric-weights} takes them away, and is refused where there is nothing to take.
     */
    @Test
    void vitqWeightsAreAsymmetricBelowEightBitsUnlessSymmetricIsAsked(@TempDir Path tmp) throws Exception {
        for (boolean symmetric : new boolean[]{false, true}) {
            Path plan = tmp.resolve("plan" + symmetric + ".json");
            if (symmetric) quickQuantize("--method", "vitq", "--bits", "w6a8", "--symmetric-weights", "--plan", plan.toString());
            else quickQuantize("--method", "vitq", "--bits", "w6a8", "--plan", plan.toString());
            QuantPlan p = QuantPlanJson.read(plan);
            assertEquals(symmetric ? 0 : linears(p, false), linears(p, true), symmetric ? "--symmetric-weights" : "vitq's default");
            assertEquals(!symmetric, p.info().options().containsKey("weight_zero_points"), p.info().options().toString());
        }
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w8a8", "--symmetric-weights", "--plan",
                tmp.resolve("x.json").toString()), 1, "--symmetric-weights", "W8A8", "symmetric weights already");
        assertUserError(run("quantize", "--model", MODEL, "--method", "ptq4vit", "--bits", "w4a8", "--symmetric-weights", "--plan",
                tmp.resolve("x.json").toString()), 1, "--symmetric-weights", "ptq4vit");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a8", "--symmetric-weights",
                "--asymmetric-weights", "--plan", tmp.resolve("x.json").toString()), 1, "give one");
        assertUserError(run("quantize", "--model", MODEL, "--method", "repq", "--bits", "w4a4", "--symmetric-weights", "--plan",
                tmp.resolve("x.json").toString()), 1, "--symmetric-weights", "repq");
    }

    /**
     * {@code --method vitq} below 6 activation bits calibrates the ViT with rotated qkv and fc1 inputs
     * (docs/LOWBIT.md 2.1) instead of folding them; the plan says so and rotates the checkpoint it is
     * applied to. {@code --no-rotate-inputs} gives the folds back; the options are refused where they
     * would change nothing or conflict.
     */
    /**
     * vitq at W4A8 fits a table of 256 code pairs per Linear (docs/LOWBIT.md section 1.3): every Linear's
     * weight in the file is paired (version 7); {@code --weight-table levels} gives 16 levels per Linear
     * (version 6), {@code --weight-table uniform} the uniform grid, and the tables can be added to other
     * methods below 8 bits; conflicting uses are refused.
     */
    @Test
    void vitqFitsWeightPairsAtW4A8(@TempDir Path tmp) throws Exception {
        CalibConfig.WeightTable pairs = CalibConfig.WeightTable.PAIRS, uniform = CalibConfig.WeightTable.UNIFORM;
        assertTrue(CalibConfig.vitq(4, 8).tableAt(4) == pairs && CalibConfig.vitq(4, 8).tableAt(8) == uniform
                && CalibConfig.vitq(4, 4).tableAt(4) == uniform && CalibConfig.vitq(6, 6).tableAt(6) == uniform
                && CalibConfig.ptq4vit(4, 8).tableAt(4) == uniform, "pairs at W4A8 in vitq only");
        Path file = tmp.resolve("pairs.safetensors");
        quickQuantize("--method", "vitq", "--bits", "w4a8", "-o", file.toString());
        assertEquals(Integer.toString(QuantizedModelFile.PAIRS_VERSION),
                io.vitq.io.SafeTensors.read(file).metadata().get(QuantizedModelFile.META_VERSION));
        QuantPlan p = QuantizedModelFile.readHeader(file).plan();
        for (var e : p.ops().entrySet())
            if (e.getValue() instanceof io.vitq.quant.LinearQuant l) {
                assertTrue(l.weight().hasPairs() && l.weight().pairs().size() <= 256 && l.weight().bits() == 4, e.getKey() + ": " + l.weight());
            }
        assertTrue(p.info().options().get(CalibConfig.WEIGHT_TABLE).contains("pairs"), p.info().options().toString());
        Path levels = tmp.resolve("levels.safetensors");
        quickQuantize("--method", "vitq", "--bits", "w4a8", "--weight-table", "levels", "-o", levels.toString());
        assertEquals(Integer.toString(QuantizedModelFile.LEVELS_VERSION),
                io.vitq.io.SafeTensors.read(levels).metadata().get(QuantizedModelFile.META_VERSION));
        QuantPlan lp = QuantizedModelFile.readHeader(levels).plan();
        assertTrue(lp.linear("blocks.0.attn.qkv").weight().hasLevels() && lp.linear("blocks.0.attn.qkv").weight().levels().length <= 16,
                lp.linear("blocks.0.attn.qkv").weight().toString());
        assertTrue(lp.info().options().get(CalibConfig.WEIGHT_TABLE).contains("levels"), lp.info().options().toString());
        Path ptq = tmp.resolve("ptq.json");
        quickQuantize("--method", "ptq4vit", "--bits", "w4a8", "--weight-table", "pairs", "--plan", ptq.toString());
        assertTrue(QuantPlanJson.read(ptq).linear("blocks.0.attn.qkv").weight().hasPairs(), "--weight-table pairs on ptq4vit");
        String x = tmp.resolve("x.json").toString();
        assertUserError(run("quantize", "--model", MODEL, "--method", "ptq4vit", "--bits", "w8a8", "--weight-table", "levels", "--plan", x),
                1, "--weight-table levels", "below 8 bits");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a8", "--weight-table", "pairs", "-o", x),
                1, "--weight-table pairs", "has them already");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w6a6", "--weight-table", "uniform", "--plan", x),
                1, "--weight-table uniform", "uniform weights already");
        assertUserError(run("quantize", "--model", MODEL, "--method", "ptq4vit", "--bits", "w4a8", "--weight-table", "triples",
                "--plan", x), 1, "--weight-table", "expected uniform, levels or pairs", "triples");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--bits", "w4a8", "--weight-table", "levels", "--plan", x),
                1, "--weight-table levels", "VT-PTQ");
        assertUserError(run("quantize", "--model", MODEL, "--method", "repq", "--bits", "w4a8", "--weight-table", "pairs", "--plan", x),
                1, "--weight-table", "repq");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a8", "--no-gptq", "--bias-correction",
                "--plan", x), 1, "--bias-correction", "--weight-table uniform");
        assertUserError(run("quantize", "--model", MODEL, "--method", "ptq4vit", "--bits", "w4a8", "--weight-table", "pairs",
                "--bias-correction", "--plan", x), 1, "--weight-table pairs and --bias-correction");
        assertFalse(java.nio.file.Files.exists(Path.of(x)), "nothing written on a refusal");
    }

    @Test
    void vitqRotatesItsInputsBelowSixActivationBits(@TempDir Path tmp) throws Exception {
        assertTrue(CalibConfig.vitq(4, 5).rotateInputs() && !CalibConfig.vitq(4, 5).reparamNorms()
                && !CalibConfig.vitq(4, 6).rotateInputs(), "rotated below 6 activation bits");
        assertEquals(io.vitq.model.RotatedInputs.NORMED, CalibConfig.vitq(4, 4).rotation());
        assertEquals(io.vitq.model.RotatedInputs.ALL, CalibConfig.vitq(4, 8).rotation(), "every block input at W4A8");
        assertEquals(io.vitq.model.RotatedInputs.ALL, CalibConfig.vitq(5, 8).rotation());
        for (int[] wa : new int[][] {{6, 8}, {8, 8}, {6, 6}, {4, 6}})
            assertEquals(io.vitq.model.RotatedInputs.NONE, CalibConfig.vitq(wa[0], wa[1]).rotation(), "W" + wa[0] + "A" + wa[1]);
        Path rotated = tmp.resolve("rotated.json"), folded = tmp.resolve("folded.json");
        CliTest.Run r = quickQuantize("--method", "vitq", "--bits", "w6a4", "--plan", rotated.toString());
        assertTrue(r.out().contains("input rotation: qkv and fc1 inputs"), "the summary names the rotation: " + r.out());
        QuantPlan p = QuantPlanJson.read(rotated);
        assertTrue(p.info().options().containsKey(io.vitq.quant.PlanInfo.INPUT_ROTATION), p.info().options().toString());
        assertTrue(p.folds().isEmpty());
        assertTrue(io.vitq.io.Reparameterization.rotatesInputs(io.vitq.io.Reparameterization.apply(ModelLoader.load(MODEL, null), p)
                .model()), "the plan rotates the checkpoint it is applied to");
        quickQuantize("--method", "vitq", "--bits", "w6a4", "--no-rotate-inputs", "--plan", folded.toString());
        QuantPlan f = QuantPlanJson.read(folded);
        assertTrue(!f.info().options().containsKey(io.vitq.quant.PlanInfo.INPUT_ROTATION) && f.folds().size() == 24,
                "--no-rotate-inputs: the folds");
        // W4A8: every block Linear's input rotated, fc2's uniform; the quantized file is version 5 (7 with the weight pairs)
        Path all = tmp.resolve("all.safetensors"), none = tmp.resolve("none.json");
        r = quickQuantize("--method", "vitq", "--bits", "w4a8", "--weight-table", "uniform", "-o", all.toString());
        assertTrue(r.out().contains("input rotation: qkv, proj, fc1 and fc2 inputs"), "the summary names the rotation: " + r.out());
        assertEquals(Integer.toString(QuantizedModelFile.ROTATED_ALL_VERSION),
                io.vitq.io.SafeTensors.read(all).metadata().get(QuantizedModelFile.META_VERSION));
        assertEquals("uniform", QuantizedModelFile.readHeader(all).plan().linear("blocks.0.mlp.fc2").input().quantizerName());
        quickQuantize("--method", "vitq", "--bits", "w4a8", "--no-rotate-inputs", "--no-gptq", "--plan", none.toString());
        QuantPlan n = QuantPlanJson.read(none);
        assertTrue(!n.info().options().containsKey(io.vitq.quant.PlanInfo.INPUT_ROTATION) && n.folds().isEmpty(),
                "--no-rotate-inputs at W4A8: nothing rotated, nothing folded");
        assertEquals("twin-gelu", n.linear("blocks.0.mlp.fc2").input().quantizerName());
        String x = tmp.resolve("x.json").toString();
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a4", "--rotate-inputs", "--plan", x),
                1, "--rotate-inputs", "rotates them already");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w8a8", "--no-rotate-inputs", "--plan", x),
                1, "--no-rotate-inputs", "does not rotate");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a8", "--rotate-inputs=all", "--plan", x),
                1, "--rotate-inputs all", "rotates them already");
        assertUserError(run("quantize", "--model", MODEL, "--method", "ptq4vit", "--bits", "w4a8", "--rotate-inputs=some", "--plan", x),
                1, "--rotate-inputs some", "expected normed (qkv and fc1) or all");
        assertUserError(run("quantize", "--model", MODEL, "--method", "ptq4vit", "--bits", "w4a4", "--rotate-inputs",
                "--reparam-norms", "--plan", x), 1, "--reparam-norms", "give one");
        assertUserError(run("quantize", "--model", MODEL, "--method", "repq", "--bits", "w4a4", "--rotate-inputs", "--plan", x),
                1, "--rotate-inputs", "repq");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--bits", "w4a4", "--rotate-inputs", "--plan", x),
                1, "--rotate-inputs", "VT-PTQ");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a4", "--reparam-norms", "--plan", x),
                1, "--reparam-norms");
    }

    /**
     * {@code --gelu-codebook}: every fc2 input is a fitted codebook in the plan and the quantized
     * file; both evaluate identically, and the file's integers equal its code products.
     */
    @Test
    void geluCodebookReachesEveryConsumer(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q.safetensors"), plan = tmp.resolve("plan.json");
        CliTest.Run r = quickQuantize("--bits", "w4a4", "--gelu-codebook", "-o", q.toString(), "--plan", plan.toString());
        QuantPlan p = QuantPlanJson.read(plan);
        long codebooks = p.ops().entrySet().stream().filter(e -> e.getKey().endsWith("mlp.fc2")
                && ((io.vitq.quant.LinearQuant) e.getValue()).input() instanceof io.vitq.quant.CodebookOperand).count();
        assertEquals(12, codebooks, "every fc2 input: " + r.out());
        assertTrue(r.out().contains("codebook/"), r.out());
        assertEquals(p.ops(), QuantizedModelFile.readHeader(q).plan().ops());
        assertFileAndPlanAgree(tmp, q, plan);
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--gelu-codebook", "--plan",
                tmp.resolve("x.json").toString()), 1, "--gelu-codebook", "basePTQ and ptq4vit");
        assertUserError(run("quantize", "--model", MODEL, "--gelu-codebook", "--gelu-grid", "linear", "--plan",
                tmp.resolve("x.json").toString()), 1, "--gelu-grid", "replaces");
        assertUserError(run("quantize", "--model", MODEL, "--gelu-codebook", "log2", "--plan",
                tmp.resolve("x.json").toString()), 1, "--gelu-codebook log2", "fitted or adalog");
        // AdaLog's levels: codebooks too, other levels
        Path adalog = tmp.resolve("adalog.json");
        quickQuantize("--bits", "w4a4", "--gelu-codebook", "adalog", "--plan", adalog.toString());
        QuantPlan pa = QuantPlanJson.read(adalog);
        io.vitq.quant.OperandQuant fitted = ((io.vitq.quant.LinearQuant) p.ops().get("blocks.0.mlp.fc2")).input(),
                logLevels = ((io.vitq.quant.LinearQuant) pa.ops().get("blocks.0.mlp.fc2")).input();
        assertTrue(logLevels instanceof io.vitq.quant.CodebookOperand && !logLevels.equals(fitted), logLevels + " vs " + fitted);
        assertTrue(pa.info().options().get("gelu_input").contains("AdaLog"), pa.info().options().toString());
    }

    /**
     * {@code --log-softmax}: every matmul2's probabilities are log-sqrt2 in the plan and the
     * quantized file, with RepQ-ViT's δ (one of the three percentiles, below the largest probability);
     * both evaluate identically, the file's integers (4 bits) equal its code products, and it exports
     * to ONNX. Refused with VT-PTQ and beside --softmax-mode.
     */
    @Test
    void logSoftmaxReachesEveryConsumer(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q.safetensors"), plan = tmp.resolve("plan.json");
        CliTest.Run r = quickQuantize("--bits", "w8a4", "--log-softmax", "-o", q.toString(), "--plan", plan.toString());
        QuantPlan p = QuantPlanJson.read(plan);
        var logs = p.ops().entrySet().stream().filter(e -> e.getKey().endsWith("attn.matmul2"))
                .map(e -> ((io.vitq.quant.MatmulQuant) e.getValue()).a()).toList();
        assertEquals(12, logs.size());
        for (var o : logs) {
            assertTrue(o instanceof io.vitq.quant.LogSqrt2Operand l && l.bits() == 4 && l.delta() > 0 && l.delta() <= 1, o.toString());
        }
        assertTrue(r.out().contains("log-sqrt2/per-tensor 12"), r.out());
        assertTrue(p.info().options().get("softmax_output").contains("log-sqrt2"), p.info().options().toString());
        assertEquals("off", p.info().options().get("twin_softmax"));
        assertEquals(p.ops(), QuantizedModelFile.readHeader(q).plan().ops());
        assertFileAndPlanAgree(tmp, q, plan);
        Path onnx = tmp.resolve("q.onnx");
        CliTest.Run ex = run("export", q.toString(), "-o", onnx.toString());
        assertEquals(0, ex.exit(), ex.err());
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--log-softmax", "--plan",
                tmp.resolve("x.json").toString()), 1, "--log-softmax", "basePTQ, ptq4vit and vitq");
        assertUserError(run("quantize", "--model", MODEL, "--log-softmax", "--softmax-mode", "quirk", "--plan",
                tmp.resolve("x.json").toString()), 1, "--softmax-mode", "replaces");
    }

    /**
     * {@code --method repq}: no search; per-channel weights, asymmetric Linear inputs (folded ones for
     * qkv and fc1), per-tensor q, k, v, log-sqrt2 probabilities; file and plan agree, integers equal
     * code products. Search options are refused, naming each.
     */
    @Test
    void repqSetsEveryScaleByItsRule(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q.safetensors"), plan = tmp.resolve("plan.json");
        CliTest.Run r = run("quantize", "--model", MODEL, "--calib", CALIB, "--calib-size", "2", "--method", "repq",
                "--bits", "w4a4", "-o", q.toString(), "--plan", plan.toString());
        assertEquals(0, r.exit(), r.err());
        QuantPlan p = QuantPlanJson.read(plan);
        assertEquals("repq", p.info().method());
        assertTrue(p.info().metric().contains("percentile"), p.info().metric());
        assertEquals(24, p.folds().size(), "qkv and fc1 of 12 blocks folded");
        p.ops().forEach((id, op) -> {
            if (op instanceof io.vitq.quant.LinearQuant l) {
                assertEquals(io.vitq.quant.Granularity.PER_OUTPUT_CHANNEL, l.weight().granularity(), id);
                assertTrue(id.equals("patch_embed.proj") ? l.input() == null : l.input() instanceof io.vitq.quant.AsymmetricOperand, id);
            } else if (op instanceof io.vitq.quant.MatmulQuant m) {
                assertTrue(id.endsWith("matmul2") ? m.a() instanceof io.vitq.quant.LogSqrt2Operand
                        : m.a() instanceof io.vitq.quant.UniformOperand u && u.granularity() == io.vitq.quant.Granularity.PER_TENSOR, id);
            }
        });
        assertFileAndPlanAgree(tmp, q, plan);
        assertUserError(run("quantize", "--model", MODEL, "--method", "repq", "--candidates", "4", "--gptq", "--plan",
                tmp.resolve("x.json").toString()), 1, "--candidates, --gptq: method repq searches nothing", "drop them");
    }

    /**
     * {@code --method adalog}: AdaLog's quantizer on every matmul2's probabilities (scale 1, no shift)
     * and every fc2 input (GELU's shift), the MSE metric, folds at W4A4 (weights and activations of
     * one width) and none at W4A8; the file predicts what the plan does, exports to ONNX, and runs in
     * integers (AdaLog's grid form) as its code-product fake quant does. The quantizer options it
     * replaces are refused.
     */
    @Test
    void adalogPutsItsLogQuantizersWhereAdaLogDoes(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("q.safetensors"), plan = tmp.resolve("plan.json");
        CliTest.Run r = run("quantize", "--model", MODEL, "--calib", CALIB, "--calib-size", "2", "--method", "adalog",
                "--candidates", "4", "--rounds", "1", "--bits", "w4a4", "-o", q.toString(), "--plan", plan.toString());
        assertEquals(0, r.exit(), r.err());
        QuantPlan p = QuantPlanJson.read(plan);
        assertEquals("adalog", p.info().method());
        assertEquals("mse", p.info().metric());
        assertEquals(24, p.folds().size(), "qkv and fc1 of 12 blocks folded at W4A4");
        int[] seen = new int[2];
        p.ops().forEach((id, op) -> {
            if (id.endsWith("attn.matmul2")) {
                io.vitq.quant.OperandQuant a = ((io.vitq.quant.MatmulQuant) op).a();
                assertTrue(a instanceof io.vitq.quant.AdaLogOperand l && l.scale() == 1f && l.shift() == 0f && l.bits() == 4
                        && l.q() >= 10 && l.q() <= 137, id + " " + a);
                seen[0]++;
            } else if (id.endsWith("mlp.fc2")) {
                io.vitq.quant.OperandQuant x = ((io.vitq.quant.LinearQuant) op).input();
                assertTrue(x instanceof io.vitq.quant.AdaLogOperand l && l.shift() == io.vitq.quant.AdaLogOperand.GELU_SHIFT
                        && l.bits() == 4, id + " " + x);
                seen[1]++;
            } else if (op instanceof io.vitq.quant.LinearQuant l) {
                assertEquals(io.vitq.quant.Granularity.PER_OUTPUT_CHANNEL, l.weight().granularity(), id);
            }
        });
        assertEquals(12, seen[0]);
        assertEquals(12, seen[1]);
        assertEquals(p.ops(), QuantizedModelFile.readHeader(q).plan().ops());
        Path a = tmp.resolve("a.csv"), b = tmp.resolve("b.csv");
        evalEight(new String[] {"--model", q.toString(), "--predictions", a.toString()},
                new String[] {"--model", MODEL, "--plan", plan.toString(), "--predictions", b.toString()});
        assertEquals(Files.readString(b), Files.readString(a), "the plan on the float checkpoint = the quantized file");
        // integer execution runs AdaLog's quantizers on their grid form: the predictions of the code-product fake quant
        Path ci = tmp.resolve("int.csv"), cc = tmp.resolve("codes.csv");
        evalEight(new String[] {"--model", q.toString(), "--integer", "--predictions", ci.toString()},
                new String[] {"--model", q.toString(), "--products", "codes", "--predictions", cc.toString()});
        assertEquals(Files.readString(cc), Files.readString(ci), "integer execution = the code-product fake quant");
        CliTest.Run ex = run("export", q.toString(), "-o", tmp.resolve("q.onnx").toString());
        assertEquals(0, ex.exit(), ex.err());

        assertTrue(!CalibConfig.adalog(4, 8).reparamNorms() && CalibConfig.adalog(6, 6).reparamNorms(),
                "AdaLog folds only when weights and activations have one width");
        // vitq below 6 activation bits is AdaLog's quantizers; the codebook (integer form) given explicitly replaces them
        CalibOptions o = new CalibOptions();
        o.calibSize = 32;
        o.geluCodebook = "fitted";
        CalibConfig codebook = o.config("vitq", new BitsOption(4, 4, null));
        assertTrue(!codebook.adaLog() && codebook.geluCodebook() == CalibConfig.GeluLevels.FITTED, codebook.toString());
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a4", "--softmax-mode", "quirk", "--plan",
                tmp.resolve("x.json").toString()), 1, "--softmax-mode quirk: method vitq at W4A4 replaces the twin quantizers");
        assertUserError(run("quantize", "--model", MODEL, "--method", "adalog", "--gelu-codebook", "fitted", "--plan",
                tmp.resolve("x.json").toString()), 1, "--gelu-codebook: method adalog at W8A8");
        assertUserError(run("quantize", "--model", MODEL, "--method", "adalog", "--log-softmax", "--plan",
                tmp.resolve("x.json").toString()), 1, "--log-softmax: method adalog");
    }

    /**
     * {@code eval --plan P} without {@code --model} evaluates the model P was made for, not the
     * default ViT-Ti: here a DeiT-S plan, whose weights are not on the search path, so the error
     * names that model.
     */
    @Test
    void aPlanWithoutModelLoadsThePlansModel(@TempDir Path tmp) throws Exception {
        Path plan = tmp.resolve("deit_small.json");
        QuantPlanJson.write(new QuantPlan(new io.vitq.quant.PlanInfo("deit_small_patch16_224", "by hand", 8, 8), java.util.Map.of()), plan);
        CliTest.Run r = run("eval", "--plan", plan.toString(), "--data", VAL, "--limit", "2");
        assertUserError(r, 1, "no weights found for 'deit_small_patch16_224'");
        assertTrue(r.err().contains("--model deit_small_patch16_224, the model --plan"), r.err());
    }

    /**
     * On the first 8 demo images: the quantized file {@code q} predicts what {@code plan} on the float
     * checkpoint predicts, and the file's integer execution what its code products predict.
     */
    private static void assertFileAndPlanAgree(Path tmp, Path q, Path plan) throws java.io.IOException {
        Path a = tmp.resolve("a.csv"), b = tmp.resolve("b.csv"), i = tmp.resolve("i.csv"), c = tmp.resolve("c.csv");
        evalEight(new String[] {"--model", q.toString(), "--predictions", a.toString()},
                new String[] {"--model", MODEL, "--plan", plan.toString(), "--predictions", b.toString()},
                new String[] {"--model", q.toString(), "--integer", "--predictions", i.toString()},
                new String[] {"--model", q.toString(), "--products", "codes", "--predictions", c.toString()});
        assertEquals(Files.readString(b), Files.readString(a), "the plan on the float checkpoint = the quantized file");
        assertEquals(Files.readString(c), Files.readString(i), "integers = code products");
    }

    /**
     * vitq at 6 activation bits keeps the calibration whose logits on the calibration images are
     * closer to the float model's: the plan names both mean KLs, and each equals what 'eval
     * --compare-fp' measures on those images for that candidate calibrated alone.
     */
    @Test
    void vitqAtSixBitsKeepsTheQuantizersCloserToFloat(@TempDir Path tmp) throws Exception {
        String[] small = {"quantize", "--model", MODEL, "--calib", CALIB, "--calib-size", "4", "--candidates", "4", "--rounds", "1",
                "--method", "vitq", "--bits", "w6a6"};
        Path chosen = tmp.resolve("chosen.json"), twins = tmp.resolve("twins.json"), adaLog = tmp.resolve("adalog.json");
        CliTest.Run r = run(concat(small, "--plan", chosen.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("twin quantizers (1 of 2)") && r.err().contains("AdaLog's quantizers (2 of 2)"), r.err());
        assertTrue(r.out().contains("kept: ") && r.out().contains("on the 4 calibration images, against "), r.out());
        String why = QuantPlanJson.read(chosen).info().options().get(CalibConfig.QUANTIZER_CHOICE);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "^(AdaLog's quantizers|twin quantizers), .*mean KL\\(float \\|\\| quantized\\) ([0-9.]+) on the 4 calibration images, "
                        + "against ([0-9.]+) with (the twins|AdaLog's quantizers)$").matcher(why == null ? "" : why);
        assertTrue(m.matches(), why);
        boolean adaLogKept = m.group(1).startsWith("AdaLog");
        // each candidate alone: a quantizer or metric given explicitly decides
        assertEquals(0, run(concat(small, "--metric", "hessian", "--plan", twins.toString())).exit());
        assertEquals(0, run(concat(small, "--adalog-quantizers", "--metric", "mse", "--plan", adaLog.toString())).exit());
        assertEquals(null, QuantPlanJson.read(twins).info().options().get(CalibConfig.QUANTIZER_CHOICE));
        String klTwins = evalKl(twins), klAdaLog = evalKl(adaLog);
        assertEquals(adaLogKept ? klAdaLog : klTwins, m.group(2), "the kept one's KL, as eval measures it");
        assertEquals(adaLogKept ? klTwins : klAdaLog, m.group(3), "the other's");
        assertEquals(QuantPlanJson.read(adaLogKept ? adaLog : twins).ops(), QuantPlanJson.read(chosen).ops(), "the kept plan is that candidate's");
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** The mean KL 'eval --compare-fp' prints for the plan on the first 4 calibration images. */
    private static String evalKl(Path plan) {
        CliTest.Run e = run("eval", "--model", MODEL, "--plan", plan.toString(), "--data", CALIB, "--limit", "4", "--compare-fp");
        assertEquals(0, e.exit(), e.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("mean KL\\(float \\|\\| quantized\\) ([0-9.]+)").matcher(e.out());
        assertTrue(m.find(), e.out());
        return m.group(1);
    }

    /** {@code vitq eval} with each option list on the first 8 demo images, each run successful. */
    private static void evalEight(String[]... options) {
        for (String[] o : options) {
            String[] all = java.util.stream.Stream.of(new String[] {"eval"}, o, new String[] {"--data", VAL, "--limit", "8", "--batch", "4"})
                    .flatMap(java.util.Arrays::stream).toArray(String[]::new);
            CliTest.Run e = run(all);
            assertEquals(0, e.exit(), e.err());
        }
    }

    /**
     * {@code --method vitq --gptq} (per-channel weights, folds, GPTQ): the rounded weights live in the
     * quantized file (where GPTQ was chosen, its codes differ from rounding the folded weights to
     * nearest), the file's integers equal its code products, and the scales-only plan is refused on
     * the float checkpoint.
     */
    @Test
    void gptqWeightsAreInTheQuantizedFile(@TempDir Path tmp) throws Exception {
        Path q = tmp.resolve("g.safetensors"), plan = tmp.resolve("g.json");
        // the metric given: the twins (with their integer form), not the choice vitq makes at 6 activation bits
        CliTest.Run r = quickQuantize("--bits", "w4a6", "--method", "vitq", "--gptq", "--metric", "hessian", "-o", q.toString(),
                "--plan", plan.toString());
        assertTrue(r.out().contains("of which GPTQ") && r.out().contains("scales only"), r.out());
        QuantPlan p = QuantPlanJson.read(plan);
        assertTrue(p.info().options().get(CalibConfig.WEIGHT_ROUNDING).startsWith("gptq"), p.info().options().toString());
        assertEquals("vitq", p.info().method());
        assertEquals(24, p.folds().size(), "below 8 activation bits vitq folds the post-LayerNorm inputs");
        assertEquals("per-output-channel", p.info().options().get("linear_weights"));
        assertTrue(!CalibConfig.vitq(4, 8).reparamNorms() && CalibConfig.vitq(4, 6).reparamNorms(), "at 8 bits it does not");
        assertTrue(!CalibConfig.vitq(4, 6).adaLog() && CalibConfig.vitq(4, 6).metric() == io.vitq.calib.Metric.HESSIAN
                && CalibConfig.vitq(4, 5).adaLog() && CalibConfig.vitq(4, 5).metric() == io.vitq.calib.Metric.MSE
                && CalibConfig.vitq(4, 5).geluCodebook() == null, "AdaLog's quantizers and metric below 6 activation bits");
        assertTrue(CalibConfig.vitq(6, 6).chooseQuantizers() && CalibConfig.vitq(4, 6).chooseQuantizers()
                && !CalibConfig.vitq(4, 5).chooseQuantizers() && !CalibConfig.vitq(8, 7).chooseQuantizers()
                && !CalibConfig.vitq(8, 8).chooseQuantizers() && !CalibConfig.adalog(6, 6).chooseQuantizers(),
                "vitq chooses between the twins and AdaLog's quantizers at 6 activation bits");
        assertTrue(((io.vitq.quant.LinearQuant) p.ops().get("blocks.0.mlp.fc2")).input() instanceof io.vitq.quant.TwinGeluOperand);
        assertTrue(CalibConfig.vitq(4, 8).gptq() && CalibConfig.vitq(3, 3).gptq() && !CalibConfig.vitq(6, 6).gptq()
                && !CalibConfig.vitq(8, 8).gptq() && CalibConfig.vitq(4, 4).perChannelWeights(), "vitq rounds with GPTQ below 6 weight bits");
        assertTrue(CalibConfig.vitq(7, 8).asymmetricWeights() && CalibConfig.vitq(3, 3).asymmetricWeights()
                && !CalibConfig.vitq(8, 8).asymmetricWeights(), "vitq's weights are asymmetric below 8 bits");

        // ops whose cross-validated choice was GPTQ hold other codes than rounding to nearest gives, the others the same
        ModelLoader.Loaded fp = io.vitq.io.Reparameterization.apply(ModelLoader.load(MODEL, null), p), file = QuantizedModelFile.load(q);
        int gptqOps = 0;
        for (int k = 0; k < fp.model().linears().size(); k++) {
            io.vitq.model.Linear before = fp.model().linears().get(k), after = file.model().linears().get(k);
            io.vitq.quant.LinearQuant lq = file.plan().linear(before.id());
            String damp = lq.info().get("gptq_damp");
            assertTrue(damp != null, before.id() + ": the plan names GPTQ's choice");
            io.vitq.quant.UniformOperand w = lq.weight();
            int differ = 0;
            for (int j = 0; j < before.out(); j++)
                for (int c = 0; c < before.in(); c++) {
                    int si = w.granularity().scaleIndexOfRow(j, before.out(), w.scales().length);
                    float s = w.scales()[si];
                    io.vitq.quant.UniformQuantizer uq = w.quantizer(si);   // the row's own code range (asymmetric)
                    if (uq.code(after.weight()[j * before.in() + c], s) != uq.code(before.weight()[j * before.in() + c], s)) differ++;
                }
            if (damp.startsWith("none")) assertEquals(0, differ, before.id() + ": rounded to nearest");
            else {
                gptqOps++;
                assertTrue(differ > before.out() * before.in() / 50, before.id() + ": " + differ + " codes moved by GPTQ (" + damp + ")");
            }
        }
        assertTrue(gptqOps > 0, "GPTQ chosen for some ops");

        Path i = tmp.resolve("i.csv"), c = tmp.resolve("c.csv");
        evalEight(new String[] {"--model", q.toString(), "--integer", "--predictions", i.toString()},
                new String[] {"--model", q.toString(), "--products", "codes", "--predictions", c.toString()});
        assertEquals(Files.readString(c), Files.readString(i), "integers = code products");
        assertUserError(run("eval", "--model", MODEL, "--plan", plan.toString(), "--data", VAL, "--limit", "2"), 1,
                "--plan", "GPTQ", "quantized model file that 'vitq quantize -o FILE' wrote");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--gptq", "--plan",
                tmp.resolve("x.json").toString()), 1, "--gptq", "basePTQ and ptq4vit");
        assertUserError(run("quantize", "--model", MODEL, "--gptq", "--sequential", "-o",
                tmp.resolve("x.safetensors").toString()), 1, "--gptq", "--sequential");
        assertUserError(run("quantize", "--model", MODEL, "--gptq", "--plan", tmp.resolve("x.json").toString()), 1,
                "--gptq", "add -o FILE");
        // vitq below 6 weight bits rounds with GPTQ unless told not to
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a8", "--plan", tmp.resolve("x.json").toString()),
                1, "method vitq at W4A8 rounds the weights with GPTQ", "add -o FILE", "--no-gptq");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a8", "--sequential", "-o",
                tmp.resolve("x.safetensors").toString()), 1, "--sequential", "add --no-gptq");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w6a6", "--no-gptq", "--plan",
                tmp.resolve("x.json").toString()), 1, "--no-gptq", "to nearest already");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a8", "--gptq", "--no-gptq", "--plan",
                tmp.resolve("x.json").toString()), 1, "--gptq and --no-gptq");
        CalibOptions off = new CalibOptions();
        off.calibSize = 32;
        off.noGptq = true;
        assertTrue(!off.config("vitq", new BitsOption(4, 8, null)).gptq(), "--no-gptq turns vitq's GPTQ off");
    }

    @Test
    void savedFileGivesTheSameLogitsAsRightAfterCalibration(@TempDir Path tmp) throws Exception {
        ModelLoader.Loaded fp = ModelLoader.load(MODEL, null);
        CalibrationSet set = CalibrationSet.load(Path.of(CALIB), 3, fp.model().preprocessing());
        QuantPlan plan = Calibrator.calibrate(fp.model(), set.images(), null,
                CalibConfig.basePtq(8, 8).withSearch(6, 1), "test", null).plan();
        Path q = tmp.resolve("q.safetensors");
        QuantizedModelFile.write(q, fp.model().spec(), fp.weights(), plan);
        ModelLoader.Loaded loaded = ModelLoader.load(q.toString(), null);
        assertTrue(loaded.quantized());
        Tensor x = CalibrationSet.load(Path.of(VAL), 4, fp.model().preprocessing()).images();
        // first forwards, bit for bit: the kernels round the same in every JIT tier (JitTiersTest)
        float[] right = fp.model().forward(x, new FakeQuantExecutor(plan, fp.model())).data();
        float[] saved = loaded.model().forward(x, loaded.executor()).data();
        assertArrayEquals(right, saved);
    }

    @Test
    void badOptionsAreOneLineErrors(@TempDir Path tmp) throws java.io.IOException {
        String out = tmp.resolve("plan.json").toString(); // every case below writes only a plan
        assertUserError(run("quantize", "--model", MODEL, "--bits", "w9"), 1, "--bits", "wXaY");
        assertUserError(run("quantize", "--model", MODEL, "--method", "magic", "--plan", out), 1, "--method", "magic");
        assertUserError(run("quantize", "--model", MODEL), 1, "-o FILE");
        assertUserError(run("quantize", "--model", MODEL, "--metric", "l7", "--plan", out), 1, "--metric", "l7");
        assertUserError(run("quantize", "--model", MODEL, "--rounds", "0", "--plan", out), 1, "--rounds");
        assertUserError(run("quantize", "--model", MODEL, "--calib", tmp.resolve("nope.txt").toString(), "--plan", out), 1, "nope.txt");
        assertUserError(run("quantize", "--model", MODEL, "--calib", CALIB, "--calib-size", "33", "--plan", out), 1, "33");
        assertUserError(run("quantize", "--model", MODEL, "-o", tmp.resolve("no/dir/q.st").toString()), 1, "does not exist");
        assertFalse(Files.exists(Path.of(out)), "nothing written after an error");
        assertUserError(run("eval", "--model", MODEL, "--data", VAL, "--compare-fp"), 1, "--compare-fp");
        assertUserError(run("eval", "--model", MODEL, "--data", VAL, "--integer"), 1, "--integer");
        assertUserError(run("eval", "--model", MODEL, "--data", VAL, "--products", "codes"), 1, "--products");
        assertUserError(run("eval", "--model", MODEL, "--data", VAL, "--products", "exact"), 1, "dequantized or codes");
        assertUserError(run("eval", "--model", MODEL, "--data", VAL, "--plan", tmp.resolve("p.json").toString()), 1, "p.json");
        // another method's options would be ignored: refused, naming the option
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--softmax-mode", "quirk", "--plan", out), 1,
                "--softmax-mode", "vtptq");
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--gelu-grid", "power-of-two", "--plan", out),
                1, "--gelu-grid", "basePTQ");
        assertUserError(run("quantize", "--model", MODEL, "--no-twin-gelu", "--gelu-grid", "power-of-two", "--plan", out),
                1, "--gelu-grid", "--no-twin-gelu");
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--labels", "--plan", out), 1, "--labels", "cosine");
        // a label outside the model's classes, named with its list (before: "target 1000 of image 0 is not in [0, 1000)")
        Path image = TestData.demo("calib").resolve("images/n01440764_tench.JPEG").toAbsolutePath();
        Path list = Files.writeString(tmp.resolve("labels.txt"), image + "\t1000\n");
        assertUserError(run("quantize", "--model", MODEL, "--calib", list.toString(), "--calib-size", "1", "--labels", "--plan", out),
                1, list + ": calibration image 1 has label 1000, outside the model's 1000 classes");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--mp-msa-norm", "output", "--plan", out), 1,
                "--mp-msa-norm", "mp6 or mp8");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--theta", "Infinity", "--plan", out), 1, "--theta");
        assertUserError(run("quantize", "--model", MODEL, "--op-bits", "head=w99a8", "--plan", out), 1, "--op-bits head=w99a8");
        assertUserError(run("quantize", "--model", MODEL, "--op-bits", "head=mp6", "--plan", out), 1, "--op-bits head=mp6", "wXaY");
        CliTest.Run emptyBits = run("quantize", "--model", MODEL, "--op-bits", "head=", "--plan", out);
        assertUserError(emptyBits, 1, "vitq: error: --op-bits head=: ");
        assertFalse(emptyBits.err().contains("--bits"), emptyBits.err()); // the option given, not --bits
        CliTest.Run noActivation = run("quantize", "--model", MODEL, "--op-bits", "head=w9", "--plan", out);
        assertUserError(noActivation, 1, "--op-bits head=w9: expected wXaY");
        assertFalse(noActivation.err().contains("mp6"), noActivation.err()); // an op cannot take what --bits can
        // a pattern given twice (the last one won before), one that matches nothing, and a weight width for attention products
        // only (ignored before, while the plan's options recorded it)
        assertUserError(run("quantize", "--model", MODEL, "--op-bits", "head=w8a8", "--op-bits", "head=w4a4", "--plan", out), 1,
                "--op-bits head=w4a4", "given twice");
        assertUserError(run("quantize", "--model", MODEL, "--calib", CALIB, "--calib-size", "2", "--op-bits", "nohead=w8a8",
                "--plan", out), 1, "--op-bits nohead", "matches no op");
        assertUserError(run("quantize", "--model", MODEL, "--calib", CALIB, "--calib-size", "2", "--op-bits",
                "blocks.0.attn.matmul*=w4a6", "--plan", out), 1, "blocks.0.attn.matmul1, ...", "no weights", "write w8a6");
        // an ablation switch of a twin the method does not have
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--no-twin-gelu", "--plan", out), 1,
                "--no-twin-gelu", "vtptq");
        assertUserError(run("quantize", "--model", MODEL, "--method", "repq", "--bits", "w4a4", "--no-twin-gelu", "--plan", out), 1,
                "--no-twin-gelu", "repq");
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--no-twin-softmax", "--plan", out), 1,
                "--no-twin-softmax", "basePTQ");
        // ... or of a twin that another quantizer replaces, or that vitq's W6A6 choice may discard (all accepted, and ignored, before)
        assertUserError(run("quantize", "--model", MODEL, "--gelu-codebook", "--no-twin-gelu", "--plan", out), 1,
                "--no-twin-gelu", "--gelu-codebook");
        assertUserError(run("quantize", "--model", MODEL, "--adalog-quantizers", "--no-twin-gelu", "--plan", out), 1,
                "--no-twin-gelu", "--adalog-quantizers");
        assertUserError(run("quantize", "--model", MODEL, "--log-softmax", "--no-twin-softmax", "--plan", out), 1,
                "--no-twin-softmax", "--log-softmax");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w4a4", "--no-twin-softmax", "--plan", out), 1,
                "--no-twin-softmax", "method vitq at W4A4", "AdaLog");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vitq", "--bits", "w6a6", "--no-twin-gelu", "--plan", out), 1,
                "--no-twin-gelu", "chooses", "--metric hessian");
        // metric and method that do not fit together, and overrides that mixed precision would drop
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--metric", "cosine", "--plan", out), 1,
                "--metric", "pearson");
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--metric", "pearson", "--plan", out), 1,
                "--metric", "vtptq");
        assertUserError(run("quantize", "--model", MODEL, "--method", "ptq4vit", "--qkv-per-matrix", "--plan", out), 1,
                "--qkv-per-matrix", "vtptq only");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--per-channel-weights", "--plan", out), 1,
                "--per-channel-weights", "basePTQ and ptq4vit");
        // another method's option is refused whatever its value, not only a non-default one
        assertUserError(run("quantize", "--model", MODEL, "--method", "ptq4vit", "--ranking-norm", "bogus", "--plan", out), 1,
                "--ranking-norm", "vtptq only");
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--ranking-norm", "mean", "--plan", out), 1,
                "--ranking-norm", "vtptq only");
        assertUserError(run("quantize", "--model", MODEL, "--method", "basePTQ", "--softmax-mode", "clean", "--plan", out), 1,
                "--softmax-mode clean", "no twin softmax");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--bits", "mp8", "--mp-msa-norm", "attention",
                "--plan", out), 1, "--mp-msa-norm attention", "now called softmax");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--mp-msa-norm", "scores", "--plan", out), 1,
                "--mp-msa-norm scores", "mp6 or mp8");
        assertUserError(run("quantize", "--model", MODEL, "--method", "vtptq", "--bits", "mp8", "--op-bits", "head=w8a8",
                "--plan", out), 1, "--op-bits", "mixed precision");
        assertUserError(run("sweep", "--methods", "foo", "--data", VAL, "--results", tmp.resolve("r.json").toString()), 1,
                "--methods foo");
        assertFalse(Files.exists(Path.of(out)), "nothing written after an error");
    }
}
