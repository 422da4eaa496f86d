package io.vitq.cli;

import io.vitq.io.ModelLoader;
import io.vitq.io.SafeTensors;
import io.vitq.model.Model;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.testutil.IntegerDumpCheck;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.vitq.cli.CliTest.MODEL;
import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vitq dump} on the embedded ViT-Ti with a committed PTQ4ViT W8A8 plan, and its errors. */
class DumpCommandTest {
    static final String PLAN = TestData.resource("quant/ptq4vit_w8a8_pow2gelu_vit_tiny.json").toString();
    static final String IMAGE = TestData.demo("val/data/ILSVRC2012_val_00000347.JPEG").toString();

    @TempDir
    Path tmp;

    /** Acceptance: every op of ViT-Ti at W8A8 recomputed from the dump equals the runtime's, bit for bit. */
    @Test
    void vitTinyDumpRecomputesBitForBit() throws Exception {
        Path out = tmp.resolve("codes.safetensors");
        long t0 = System.nanoTime();
        CliTest.Run r = run("dump", "--model", MODEL, "--plan", PLAN, "--images", IMAGE, "-o", out.toString());
        double secs = (System.nanoTime() - t0) / 1e9;
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("dump of 1 image, 73 ops in integers"), r.out());
        System.out.printf("vitq dump, ViT-Ti W8A8, 1 image: %.1f s, %.1f MB (%s)%n", secs, Files.size(out) / 1e6, r.out().strip());
        IntegerDumpCheck.Counts c = IntegerDumpCheck.verify(out);
        assertEquals(49, c.linears(), "qkv, proj, fc1, fc2 of 12 blocks and the head (the patch embedding's input is the float image)");
        assertEquals(24, c.matmuls());
        System.out.printf("  recomputed from the codes: %d sums, %d outputs, all bit for bit%n", c.sums(), c.outputs());

        // the dumped logits are the integer runtime's (layout GELU codes) on that image
        Model m = ModelLoader.load("vit_tiny_patch16_224", TestData.VIT_TINY).model();
        QuantPlan plan = QuantPlanJson.read(Path.of(PLAN));
        float[] expected = m.forward(Inputs.preprocess(List.of(Path.of(IMAGE)), m.preprocessing()),
                new IntegerExecutor(plan, m, new IntegerExecutor.Options(IntegerExecutor.TwinForm.AUTO, true))).data();
        SafeTensors st = SafeTensors.read(out);
        float[] logits = new float[st.get("logits").numel()];
        st.get("logits").bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(logits);
        assertArrayEquals(expected, logits);
        assertEquals("vit_tiny_patch16_224", st.metadata().get("model"));
        assertTrue(st.metadata().get("image_paths").contains("ILSVRC2012_val_00000347.JPEG"));
    }

    @Test
    void opsAndLeaveOutFromTheCommandLine() throws Exception {
        Path out = tmp.resolve("some.safetensors");
        CliTest.Run r = run("dump", "--model", MODEL, "--plan", PLAN, "--data", TestData.demo("val/dataset.txt").toString(),
                "--limit", "2", "--ops", "blocks.11.*", "--leave-out", "weights,accumulators", "-o", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("dump of 2 images, 6 ops in integers"), r.out());
        SafeTensors st = SafeTensors.read(out);
        assertTrue(st.has("blocks.11.mlp.fc2.input") && st.has("blocks.11.attn.matmul2.output"));
        assertFalse(st.has("blocks.11.mlp.fc2.weight") || st.has("blocks.11.mlp.fc2.acc"));
        assertEquals(2, st.get("blocks.11.mlp.fc2.input").shape()[0], "images first");
    }

    @Test
    void userErrors() {
        Path out = tmp.resolve("x.safetensors");
        assertUserError(run("dump", "--model", MODEL, "--images", IMAGE, "-o", out.toString()), 1, "is not quantized", "--plan");
        assertUserError(run("dump", "--model", MODEL, "--plan", PLAN, "--images", IMAGE, "--limit", "3", "-o", out.toString()), 1,
                "--limit applies to --data");
        assertUserError(run("dump", "--model", MODEL, "--plan", PLAN, "--images", IMAGE, "--leave-out", "scales", "-o", out.toString()),
                1, "--leave-out scales");
        assertUserError(run("dump", "--model", MODEL, "--plan", PLAN, "--images", IMAGE, "--ops", "nothing.*", "-o", out.toString()),
                1, "--ops nothing.*", "matches no op that runs in integers");
        assertUserError(run("dump", "--model", MODEL, "--plan", PLAN, "--images", IMAGE, "-o", tmp.resolve("no/x.safetensors").toString()),
                1, "--output", "does not exist");
        assertUserError(run("dump", "--model", MODEL, "--plan", PLAN, "-o", out.toString()), 2, "--images", "--data");
        assertUserError(run("dump", "--model", MODEL, "--plan", PLAN, "--images", IMAGE, "-o", IMAGE), 1, "refusing to overwrite");
        assertUserError(run("dump", "--model", MODEL, "--plan", PLAN, "--images", IMAGE, "-o", MODEL), 1, "refusing to overwrite");
        assertUserError(run("dump", "--model", MODEL, "--plan", PLAN, "--images", IMAGE, "-o", tmp.resolve("x.npy").toString()), 1,
                "--output", "x.npy: named as a NumPy .npy file", "*.safetensors");
        assertUserError(run("predict", "--model", MODEL, IMAGE, "--logits", tmp.resolve("l.csv").toString()), 1,
                "--logits", "named as a CSV file", "*.npy");
        assertUserError(run("quantize", "--model", MODEL, "-o", tmp.resolve("q.onnx").toString()), 1, "--output", "*.safetensors");
        assertFalse(Files.exists(tmp.resolve("x.npy")) || Files.exists(tmp.resolve("l.csv")) || Files.exists(tmp.resolve("q.onnx")));
        assertFalse(Files.exists(out), "nothing written");
    }

    /** The output is checked before the model loads: no loader note ahead of the refusal. */
    @Test
    void outputCheckedBeforeTheModelLoads() throws Exception {
        Path q = ExportCommandTest.quantizedFile(tmp);
        CliTest.Run r = run("dump", "--model", q.toString(), "--images", IMAGE, "-o", tmp.resolve("no/x.safetensors").toString());
        assertUserError(r, 1, "--output", "does not exist");
        assertFalse(r.err().contains("note:"), r.err());
        assertUserError(run("dump", "--model", q.toString(), "--images", IMAGE, "-o", q.toString()), 1, "refusing to overwrite");
    }
}
