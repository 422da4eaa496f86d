package io.vitq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vitq.quant.TwinSoftmaxQuantizer.Mode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantPlanJsonTest {
    @TempDir
    Path dir;

    /** Floats that a naive double detour or a short decimal format would break. */
    static final float[] HARD = {0.1f, 1f / 3, Float.MIN_VALUE, 2 * Float.MIN_VALUE, 1.2345e-40f, Float.MIN_NORMAL,
            Math.nextDown(Float.MIN_NORMAL), Float.MAX_VALUE, 3.4028233e38f, 1e-45f, 16777217f, 0.3f, 7e-3f,
            Math.nextUp(1f), Math.nextDown(1f), 1.0000001e-10f, 123456.79f, 0x1p-126f, 0x1.fffffep-3f};

    /** A small ViT-like plan with every operand kind, forward order, overrides and metadata. */
    static QuantPlan samplePlan(SplittableRandom r) {
        PlanInfo info = new PlanInfo("vit_tiny_patch16_224", "ptq4vit", 8, 8, "hessian", "calib32 seed 3",
                "2025-01-02T03:04:05Z", "0.1.0", Map.of("alpha", "0.01", "rounds", "3"));
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        ops.put("patch_embed.proj", new LinearQuant(new UniformOperand(8, Granularity.PER_OUTPUT_CHANNEL, randomScales(r, 192)), null));
        ops.put("blocks.0.attn.qkv", new LinearQuant(new UniformOperand(8, Granularity.ROW_BLOCKS, HARD.clone()),
                UniformOperand.perTensor(8, 0.1f), Map.of("metric", "hessian", "score", "-1.5e-9")));
        ops.put("blocks.0.attn.matmul1", new MatmulQuant(new UniformOperand(8, Granularity.PER_HEAD, randomScales(r, 3)),
                new UniformOperand(8, Granularity.PER_HEAD, randomScales(r, 3))));
        ops.put("blocks.0.attn.matmul2", new MatmulQuant(new TwinSoftmaxOperand(8, 0x1p-7f, Mode.CLEAN),
                new UniformOperand(8, Granularity.PER_HEAD, randomScales(r, 3))));
        ops.put("blocks.0.attn.proj", new LinearQuant(UniformOperand.perTensor(6, 3e-3f), UniformOperand.perTensor(8, 0.07f)));
        ops.put("blocks.0.mlp.fc1", new LinearQuant(UniformOperand.perTensor(8, 1e-3f), UniformOperand.perTensor(8, 0.02f)));
        ops.put("blocks.0.mlp.fc2", new LinearQuant(UniformOperand.perTensor(8, 2e-3f),
                TwinGeluOperand.withDefaultNegativeStep(8, 0.0271f)));
        ops.put("blocks.1.attn.matmul2", new MatmulQuant(new TwinSoftmaxOperand(6, 1f, Mode.REFERENCE_QUIRK), null));
        ops.put("blocks.1.mlp.fc2", new LinearQuant(UniformOperand.perTensor(8, 2e-3f),
                TwinGeluOperand.withDefaultNegativeStep(8, Math.scalb(TwinGeluQuantizer.defaultNegativeStep(8), 5))));
        ops.put("head", new LinearQuant(UniformOperand.perTensor(8, 4e-3f), UniformOperand.perTensor(8, 0.05f)));
        return new QuantPlan(info, ops);
    }

    static float[] randomScales(SplittableRandom r, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = Float.intBitsToFloat(r.nextInt(1, 0x7f800000)); // any positive finite float
        return s;
    }

    @Test
    void roundTripIsBitExactAndKeepsTheOrder() {
        QuantPlan plan = samplePlan(new SplittableRandom(11));
        String json = QuantPlanJson.toJson(plan);
        QuantPlan back = QuantPlanJson.parse(json, "plan.json");
        assertEquals(plan, back);
        assertEquals(plan.opIds(), back.opIds());
        assertEquals(json, QuantPlanJson.toJson(back));
        float[] hard = ((LinearQuant) back.op("blocks.0.attn.qkv")).weight().scales();
        for (int i = 0; i < HARD.length; i++)
            assertEquals(Float.floatToRawIntBits(HARD[i]), Float.floatToRawIntBits(hard[i]), "scale " + HARD[i]);
        // scales are plain numbers, op ids are keys, written in forward order
        assertTrue(json.contains("0.1,") || json.contains("0.1 ") || json.contains("[ 0.1"), json);
        assertTrue(json.indexOf("\"patch_embed.proj\"") < json.indexOf("\"blocks.0.attn.qkv\""));
        assertTrue(json.indexOf("\"blocks.1.mlp.fc2\"") < json.indexOf("\"head\""));
    }

    @Test
    void manyRandomFloatsSurviveBitExactly() {
        SplittableRandom r = new SplittableRandom(12);
        for (int round = 0; round < 20; round++) {
            float[] s = randomScales(r, 500);
            QuantPlan plan = new QuantPlan(new PlanInfo("m", "minmax", 8, 8),
                    Map.of("head", new LinearQuant(new UniformOperand(8, Granularity.PER_OUTPUT_CHANNEL, s), null)));
            float[] back = QuantPlanJson.parse(QuantPlanJson.toJson(plan), "p").linear("head").weight().scales();
            for (int i = 0; i < s.length; i++) assertEquals(Float.floatToRawIntBits(s[i]), Float.floatToRawIntBits(back[i]));
        }
    }

    @Test
    void fileWriteAndRead() throws Exception {
        QuantPlan plan = samplePlan(new SplittableRandom(13));
        Path file = dir.resolve("plan.json");
        QuantPlanJson.write(plan, file);
        QuantPlanJson.write(plan, file); // overwrite
        assertEquals(plan, QuantPlanJson.read(file));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left behind");
        }
        // the default permissions of a new file here (createTempFile's would be owner-only)
        Path plain = Files.writeString(dir.resolve("plain.txt"), "x");
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(file));
    }

    @Test
    void accessorsAndOverrides() {
        QuantPlan plan = samplePlan(new SplittableRandom(14));
        assertNull(plan.linear("patch_embed.proj").input());
        assertEquals(Granularity.PER_HEAD, ((UniformOperand) plan.matmul("blocks.0.attn.matmul1").a()).granularity());
        assertThrows(IllegalArgumentException.class, () -> plan.linear("blocks.0.attn.matmul1"));
        assertThrows(IllegalArgumentException.class, () -> plan.matmul("nope"));
        QuantPlan changed = plan.with("blocks.0.mlp.fc1", new LinearQuant(UniformOperand.perTensor(4, 1e-3f), UniformOperand.perTensor(4, 0.02f)));
        assertEquals(plan.opIds(), changed.opIds(), "replacing keeps the position");
        assertEquals(4, changed.linear("blocks.0.mlp.fc1").weight().bits());
        assertEquals(changed, QuantPlanJson.parse(QuantPlanJson.toJson(changed), "p"));
        assertFalse(changed.equals(plan));
    }

    @Test
    void summaryCountsKindsQuantizersBitsAndOverrides() {
        String s = samplePlan(new SplittableRandom(15)).summary();
        assertTrue(s.contains("vit_tiny_patch16_224") && s.contains("W8A8") && s.contains("hessian"), s);
        assertTrue(s.contains("ops: 10 (7 linear, 1 of them with a float input; 3 matmul)"), s);
        assertTrue(s.contains("twin-softmax/clean 1") && s.contains("twin-softmax/quirk 1"), s);
        assertTrue(s.contains("twin-gelu/linear 1") && s.contains("twin-gelu/power-of-two 1"), s);
        assertTrue(s.contains("uniform/per-head 3") && s.contains("uniform/row-blocks 1"), s);
        assertTrue(s.contains("6-bit 2") && s.contains("8-bit 16"), s);
        assertTrue(s.contains("overrides: 2 ops (blocks.0.attn.proj, blocks.1.attn.matmul2)"), s);
    }

    @Test
    void operandsBuildTheirQuantizers() {
        QuantPlan plan = samplePlan(new SplittableRandom(16));
        TwinSoftmaxQuantizer sm = ((TwinSoftmaxOperand) plan.matmul("blocks.0.attn.matmul2").a()).quantizer();
        assertEquals(7, sm.shift());
        TwinGeluQuantizer g = ((TwinGeluOperand) plan.linear("blocks.1.mlp.fc2").input()).quantizer();
        assertTrue(g.isPowerOfTwo());
        assertEquals(5, g.shift());
        assertEquals(6, plan.linear("blocks.0.attn.proj").weight().quantizer().bits());
    }

    @Test
    void invalidCombinationsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new LinearQuant(new UniformOperand(8, Granularity.PER_HEAD, new float[3]), null));
        assertThrows(IllegalArgumentException.class, () -> new LinearQuant(UniformOperand.perTensor(8, 1f), new TwinSoftmaxOperand(8, 0.5f, Mode.CLEAN)));
        assertThrows(IllegalArgumentException.class, () -> new MatmulQuant(TwinGeluOperand.withDefaultNegativeStep(8, 0.1f), null));
        assertThrows(IllegalArgumentException.class, () -> new MatmulQuant(null, new TwinSoftmaxOperand(8, 0.5f, Mode.CLEAN)));
        assertThrows(IllegalArgumentException.class, () -> new MatmulQuant(new UniformOperand(8, Granularity.ROW_BLOCKS, new float[] {1, 1}), null));
        assertThrows(IllegalArgumentException.class, () -> new UniformOperand(8, Granularity.PER_TENSOR, new float[] {1, 2}));
        assertThrows(IllegalArgumentException.class, () -> UniformOperand.perTensor(8, 0f));
        assertThrows(IllegalArgumentException.class, () -> UniformOperand.perTensor(20, 1f));
    }

    private static String validJson() { return QuantPlanJson.toJson(samplePlan(new SplittableRandom(17))); }

    private static void assertMalformed(String json, String... mustContain) {
        PlanFormatException e = assertThrows(PlanFormatException.class, () -> QuantPlanJson.parse(json, "my-plan.json"));
        assertTrue(e.getMessage().startsWith("my-plan.json: "), e.getMessage());
        for (String s : mustContain) assertTrue(e.getMessage().contains(s), "'" + s + "' not in: " + e.getMessage());
        // the user's words, not the JSON library's (its feature names, source locators, Java types)
        for (String s : new String[] {"Feature", "REDACTED", "java.", "io.vitq"})
            assertFalse(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
    }

    @Test
    void malformedJsonNamesTheFileAndTheField() {
        String ok = validJson();
        assertMalformed("{ \"format\": ", "not valid JSON", "line 1");
        assertMalformed("[]", "expected a JSON object");
        assertMalformed(ok.substring(0, ok.length() / 2), "not valid JSON", "end-of-input");
        assertMalformed(ok.replaceFirst("\"scales\": \\[ [^,\\]]+", "\"scales\": [ NaN"), "not valid JSON", "NaN");
        assertMalformed(ok.replace("vitq-quant-plan", "something"), "format");
        assertMalformed(ok.replace("\"version\": 1", "\"version\": 7"), "version");
        assertMalformed(ok.replace("\"weightBits\": 8", "\"weightBits\": \"8\""), "weightBits", "integer");
        assertMalformed(ok.replace("\"weightBits\": 8", "\"weightBits\": 1"), "bits");
        assertMalformed(ok.replace("\"model\"", "\"modle\""), "modle", "unknown field");
        assertMalformed(ok.replaceFirst("\"scales\": \\[ [^,\\]]+", "\"scales\": [ -0.5"),
                "ops[\"patch_embed.proj\"].weight.scales[0]", "positive finite");
        assertMalformed(ok.replaceFirst("\"scales\": \\[ [^,\\]]+", "\"scales\": [ \"x\""),
                "ops[\"patch_embed.proj\"].weight.scales[0]", "number");
        assertMalformed(ok.replaceFirst("\"scales\": \\[ [^,\\]]+", "\"scales\": [ 1e999"),
                "ops[\"patch_embed.proj\"].weight.scales[0]");
        assertMalformed(ok.replace("\"per-head\"", "\"per-row\""), "granularity", "per-row");
        assertMalformed(ok.replace("\"split\": 0.0078125", "\"split\": 0.3"), "ops[\"blocks.0.attn.matmul2\"].a", "2^-m");
        assertMalformed(ok.replace("\"mode\": \"clean\"", "\"mode\": \"dirty\""), "ops[\"blocks.0.attn.matmul2\"].a.mode");
        assertMalformed(ok.replace("\"kind\": \"matmul\"", "\"kind\": \"conv\""), "kind", "conv");
        assertMalformed(ok.replaceFirst("\"quantizer\": \"twin-gelu\"", "\"quantizer\": \"twin\""), "ops[\"blocks.0.mlp.fc2\"].input.quantizer");
        assertMalformed(ok.replaceFirst("\"positiveStep\"", "\"positive\""), "ops[\"blocks.0.mlp.fc2\"].input.positive", "unknown field");
        assertMalformed(ok.replace("\"ops\": {", "\"ops\": { \"head_dist\": { \"kind\": \"linear\" },"), "ops[\"head_dist\"].weight", "missing");
        assertMalformed(ok.replace("\"ops\": {", "\"ops\": { \"head_dist\": 3,"), "ops[\"head_dist\"]", "expected an object");
        assertMalformed(ok.replaceFirst("\"kind\": \"linear\",", "\"kind\": \"linear\", \"kind\": \"linear\","), "not valid JSON", "kind");
        assertMalformed(ok.replaceFirst("\"input\": null", "\"input\": { \"quantizer\": \"twin-softmax\", \"bits\": 8, \"split\": 0.5, \"mode\": \"clean\" }"),
                "ops[\"patch_embed.proj\"]", "twin-softmax");
    }

    /**
     * Asymmetric weights: their zero points survive a round trip (and a symmetric weight writes
     * none); a zero point outside the codes, a count that does not match the scales, a width over 7
     * bits or zero points on an activation are refused naming the field.
     */
    @Test
    void asymmetricWeightsRoundTripAndBadZeroPointsNameTheField() {
        QuantPlan p = samplePlan(new SplittableRandom(19));
        LinearQuant proj = p.linear("blocks.0.attn.proj");
        QuantPlan asym = p.with("blocks.0.attn.proj", new LinearQuant(
                new UniformOperand(4, Granularity.ROW_BLOCKS, new float[] {0.01f, 0.02f, 0.03f}, new int[] {0, 9, 15}), proj.input()));
        String json = QuantPlanJson.toJson(asym);
        QuantPlan back = QuantPlanJson.parse(json, "plan.json");
        assertEquals(asym, back);
        assertArrayEquals(new int[] {0, 9, 15}, back.linear("blocks.0.attn.proj").weight().zeroPoints());
        assertNotEquals(p, back);
        assertEquals(1, json.split("zero_points", -1).length - 1, "only the asymmetric weight writes zero points");
        assertMalformed(json.replace("[ 0, 9, 15 ]", "[ 0, 9, 16 ]"), "ops[\"blocks.0.attn.proj\"].weight", "zero point 16 outside [0, 15]");
        assertMalformed(json.replace("[ 0, 9, 15 ]", "[ 0, 9 ]"), "ops[\"blocks.0.attn.proj\"].weight", "2 zero points for 3 scales");
        assertMalformed(json.replace("[ 0, 9, 15 ]", "[ 0, 9, -1 ]"), "ops[\"blocks.0.attn.proj\"].weight", "zero point -1");
        assertThrows(IllegalArgumentException.class,
                () -> new UniformOperand(8, Granularity.PER_OUTPUT_CHANNEL, new float[] {1f}, new int[] {3}), "8 bits");
        assertThrows(IllegalArgumentException.class, () -> new UniformOperand(4, Granularity.PER_HEAD, new float[] {1f}, new int[] {3}));
        assertThrows(IllegalArgumentException.class, () -> new LinearQuant(UniformOperand.perTensor(8, 1f),
                new UniformOperand(4, Granularity.PER_TENSOR, new float[] {1f}, new int[] {3})), "an activation");
    }

    /** The sample plan with blocks.0.mlp.fc1's input folded into blocks.0.norm2 (RepQ-ViT). */
    static QuantPlan foldedPlan() {
        QuantPlan p = samplePlan(new SplittableRandom(17));
        NormFold f = new NormFold("blocks.0.norm2", "blocks.0.mlp.fc1", 6, new float[] {0.02f, 0.05f, 1e-3f, HARD[1]},
                new int[] {3, -7, 70, 31});
        LinearQuant fc1 = p.linear(f.linear());
        return new QuantPlan(p.info(), p.with(f.linear(), new LinearQuant(fc1.weight(), f.input())).ops(), List.of(f));
    }

    @Test
    void foldsRoundTripAndMalformedFoldsNameTheirField() {
        QuantPlan plan = foldedPlan();
        assertEquals(24, plan.folds().get(0).input().zeroPoint(), "round(mean(3, -7, 70, 31)) = round(24.25)");
        String json = QuantPlanJson.toJson(plan);
        QuantPlan back = QuantPlanJson.parse(json, "plan.json");
        assertEquals(plan, back);
        assertEquals(json, QuantPlanJson.toJson(back));
        assertTrue(plan.summary().contains("folds: 1 LayerNorm -> Linear"), plan.summary());
        assertTrue(QuantPlanJson.toJson(plan.withoutFolds()).indexOf("folds") < 0);
        assertMalformed(json.replace("\"zeroPoints\": [ 3,", "\"zeroPoints\": [ 3.5,"), "folds[0].zeroPoints[0]", "integer");
        assertMalformed(json.replace("\"norm\": \"blocks.0.norm2\"", "\"nrom\": \"blocks.0.norm2\""), "folds[0].nrom", "unknown field");
        assertMalformed(json.replace("\"scales\": [ 0.02,", "\"scales\": [ -0.02,"), "folds[0].scales[0]", "positive finite");
        assertMalformed(json.replace("\"zeroPoints\": [ 3, -7, 70, 31 ]", "\"zeroPoints\": [ 3, -7, 70 ]"), "folds[0]", "one length");
        assertMalformed(json.replace("\"linear\": \"blocks.0.mlp.fc1\"", "\"linear\": \"blocks.0.attn.proj\""), "folds",
                "input quantizer must be the fold's");
        assertMalformed(json.replace("\"folds\": [", "\"folds\": 3, \"x\": ["), "unknown field");
    }

    @Test
    void sampleFileIsHumanReadable() {
        String json = validJson();
        assertTrue(json.contains("\"model\": \"vit_tiny_patch16_224\""), json);
        assertTrue(json.contains("\"blocks.0.mlp.fc2\": {"), json);
        assertTrue(json.contains("\"quantizer\": \"twin-gelu\""), json);
        assertTrue(json.lines().noneMatch(l -> l.strip().matches("[-0-9.eE+]+,?")), "scale arrays stay on one line");
        assertTrue(json.contains("\"scales\": [ 0.1, 0.33333334, 1.4E-45,"), json);
    }
}
