package io.vitq.cli;

import io.vitq.data.Preprocessing;
import io.vitq.io.QuantizedModelFile;
import io.vitq.model.AttentionOp;
import io.vitq.model.Linear;
import io.vitq.model.RandomWeights;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.model.Weights;
import io.vitq.quant.Granularity;
import io.vitq.quant.LinearQuant;
import io.vitq.quant.MatmulQuant;
import io.vitq.quant.OpQuant;
import io.vitq.quant.OperandQuant;
import io.vitq.quant.PlanInfo;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.quant.TwinGeluOperand;
import io.vitq.quant.TwinSoftmaxOperand;
import io.vitq.quant.TwinSoftmaxQuantizer;
import io.vitq.quant.UniformOperand;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vitq inspect}: the plan of a quantized model file as a summary and a table, or as JSON. */
class InspectCommandTest {
    @TempDir
    Path tmp;

    /** A micro ViT (1 head of dim 64, so the file rebuilds it) and a plan with every operand kind. */
    static final ViTConfig CFG = new ViTConfig(32, 8, 3, 64, 2, 1, 256, 10, 1, 1e-6f);

    /** In forward order, as calibration writes plans: each block's matmuls come between qkv and proj. */
    static QuantPlan plan(VisionTransformer m) {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        Map<String, AttentionOp> attention = new LinkedHashMap<>();
        for (AttentionOp a : m.attentionOps()) attention.put(a.matmul1Id().replace("matmul1", "qkv"), a);
        for (Linear l : m.linears()) {
            UniformOperand w = l.id().endsWith("attn.qkv") ? new UniformOperand(8, Granularity.ROW_BLOCKS, new float[] {1e-3f, 2e-3f, 3e-3f})
                    : l.id().equals("patch_embed.proj") ? new UniformOperand(8, Granularity.PER_OUTPUT_CHANNEL, ramp(l.out()))
                    : UniformOperand.perTensor(l.id().equals("blocks.1.mlp.fc1") ? 10 : 8, 5e-4f);
            OperandQuant in = l.id().equals("patch_embed.proj") ? null
                    : l.id().endsWith("mlp.fc2") ? TwinGeluOperand.withDefaultNegativeStep(8, 0.02f) : UniformOperand.perTensor(8, 0.05f);
            ops.put(l.id(), new LinearQuant(w, in));
            AttentionOp a = attention.get(l.id());
            if (a == null) continue;
            ops.put(a.matmul1Id(), new MatmulQuant(new UniformOperand(8, Granularity.PER_HEAD, new float[] {0.1f}),
                    new UniformOperand(8, Granularity.PER_HEAD, new float[] {0.2f})));
            ops.put(a.matmul2Id(), new MatmulQuant(new TwinSoftmaxOperand(8, 0x1p-4f, TwinSoftmaxQuantizer.Mode.CLEAN),
                    new UniformOperand(8, Granularity.PER_HEAD, new float[] {0.03f})));
        }
        return new QuantPlan(new PlanInfo("micro", "handmade", 8, 8), ops);
    }

    /** 0.001, 0.002, ... 0.001·n: min, median and max are known. */
    static float[] ramp(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = 0.001f * (i + 1);
        return f;
    }

    Path writeMicro(QuantPlan[] planOut) throws Exception {
        Weights w = RandomWeights.vit(CFG, 1);
        VisionTransformer m = VisionTransformer.load("micro", CFG, Preprocessing.timm(32, true), w);
        QuantPlan plan = plan(m);
        Path file = tmp.resolve("micro.w8.safetensors");
        QuantizedModelFile.write(file, m.spec(), w, plan);
        planOut[0] = plan;
        return file;
    }

    @Test
    void printsTheSummaryAndOneRowPerOperandInForwardOrder() throws Exception {
        QuantPlan[] plan = new QuantPlan[1];
        Path file = writeMicro(plan);
        CliTest.Run r = run("inspect", file.toString());
        assertEquals(0, r.exit(), r.err());
        String out = r.out();
        assertTrue(out.startsWith("file: " + file), out);
        assertTrue(out.contains("model micro"), out);
        assertTrue(out.contains(plan[0].summary()), out);
        assertTrue(out.contains("| op | kind | operand | quantizer | bits | granularity | scales | values |"), out);
        assertTrue(out.contains("| blocks.0.attn.qkv | linear | weight | uniform | 8 | row-blocks | 3 | 0.001, 0.002, 0.003 |"), out);
        assertTrue(out.contains("| patch_embed.proj | linear | weight | uniform | 8 | per-output-channel | 64 | "
                + "min 0.001 / median 0.032 / max 0.064 (64 scales) |"), out);
        assertTrue(out.contains("| patch_embed.proj | linear | input | float | - | - | - | - |"), out);
        assertTrue(out.contains("| blocks.1.mlp.fc1 | linear | weight | uniform | 10 | per-tensor | 1 | 0.0005 |"), out);
        assertTrue(out.contains("| blocks.0.mlp.fc2 | linear | input | twin-gelu | 8 | per-tensor | 2 | positive 0.02, negative "), out);
        assertTrue(out.contains("| blocks.0.attn.matmul2 | matmul | a | twin-softmax (clean) | 8 | per-tensor | 2 | small "), out);
        assertTrue(out.contains("| blocks.1.attn.matmul1 | matmul | b | uniform | 8 | per-head | 1 | 0.2 |"), out);
        long rows = out.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| op ")).count();
        assertEquals(2L * plan[0].ops().size(), rows, "two operand rows per op");
        int pe = out.indexOf("| patch_embed.proj |"), qkv = out.indexOf("| blocks.0.attn.qkv |"),
                mm = out.indexOf("| blocks.0.attn.matmul2 |"), proj = out.indexOf("| blocks.0.attn.proj |"),
                b1 = out.indexOf("| blocks.1.attn.qkv |"), head = out.indexOf("| head |");
        assertTrue(pe < qkv && qkv < mm && mm < proj && proj < b1 && b1 < head, "forward order");
    }

    @Test
    void jsonIsThePlanExactly() throws Exception {
        QuantPlan[] plan = new QuantPlan[1];
        Path file = writeMicro(plan);
        CliTest.Run r = run("inspect", "--json", file.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(QuantPlanJson.toJson(plan[0]), r.out());
        assertEquals(plan[0], QuantPlanJson.parse(r.out(), "stdout"));
    }

    /**
     * A file whose LayerNorms are folded into its tensors prints a plan without the folds: it
     * describes the file, and on the float checkpoint it is refused rather than run unfolded.
     */
    @Test
    void aFoldedFilesPlanIsNotAppliedToTheFloatCheckpoint() throws Exception {
        Path file = tmp.resolve("folded.safetensors"), json = tmp.resolve("folded.json");
        CliTest.Run q = run("quantize", "--model", CliTest.MODEL, "--calib", QuantizeCommandTest.CALIB, "--calib-size", "2",
                "--candidates", "4", "--rounds", "1", "--method", "vitq", "--bits", "w6a6", "-o", file.toString());
        assertEquals(0, q.exit(), q.err());
        CliTest.Run r = run("inspect", "--json", file.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("the LayerNorm folds are in " + file + "'s tensors"), r.err());
        Files.writeString(json, r.out());
        assertUserError(run("eval", "--model", CliTest.MODEL, "--plan", json.toString(), "--data", QuantizeCommandTest.VAL,
                "--limit", "2"), 1, "--plan", "folds are in a quantized model file's tensors", "vitq quantize --plan");
        CliTest.Run onFile = run("eval", "--model", file.toString(), "--data", QuantizeCommandTest.VAL, "--limit", "2");
        assertEquals(0, onFile.exit(), onFile.err());
    }

    @Test
    void otherCommandsLoadTheQuantizedFile() throws Exception {
        Path file = writeMicro(new QuantPlan[1]);
        CliTest.Run r = run("info", "--model", file.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("quantized:     handmade W8A8, 14 ops"), r.out());
        assertTrue(r.err().contains("quantized model (handmade, W8A8)") && r.err().contains("1 at 10 bits"), r.err());
    }

    @Test
    void missingFileOrFloatCheckpointIsAOneLineError() throws Exception {
        assertUserError(run("inspect", "/nonexistent/model.safetensors"), 1, "/nonexistent/model.safetensors");
        assertUserError(run("inspect", CliTest.MODEL), 1, CliTest.MODEL, "not a vitq quantized model");
        Path text = Files.writeString(tmp.resolve("notes.safetensors"), "not a model");
        assertUserError(run("inspect", text.toString()), 1, text.toString(), "not a vitq quantized model");
        assertUserError(run("inspect", "src/test/resources/quant/ptq4vit_w8a8_vit_tiny.json"), 1, "a plan JSON", "--plan");
        assertEquals(2, run("inspect").exit(), "the file is required");
    }
}
