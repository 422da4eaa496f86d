package io.vitq.cli;

import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The commands take a Hugging Face model folder as --model, in both layouts. */
class ModelFolderCliTest {
    @TempDir
    Path tmp;

    /** The fixture images in the order make_hf_fixtures.py ran them (io.ModelFolderTest's). */
    private static final String[] IMAGES = {"small_23x31.png", "square_40x40.png", "tall_50x77.png", "wide_97x61.png"};

    /** A copy of fixture folder {@code name} under the temporary directory, as {@code to}. */
    private Path copyOf(String name, String to) throws IOException {
        Path dir = tmp.resolve(to);
        Files.createDirectories(dir);
        try (var files = Files.list(Path.of(folder(name)))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        return dir;
    }

    static String folder(String name) { return TestData.resource("hf/" + name).toString(); }

    /** The four fixture images labelled 0..3 (every micro model has at least 5 classes). */
    private Path list() throws IOException {
        Path images = TestData.resource("hf/images");
        String text = "small_23x31.png 0\nsquare_40x40.png 1\ntall_50x77.png 2\nwide_97x61.png 3\n";
        Path l = tmp.resolve("list.txt");
        Files.writeString(l, text.replaceAll("(?m)^", images + "/"));
        return l;
    }

    @ParameterizedTest
    @ValueSource(strings = {"timm_vit_hd32", "hf_vit", "hf_deit_teacher", "hf_deit", "hf_swin"})
    void evalTakesAFolder(String name) throws IOException {
        CliTest.Run r = run("eval", "--model", folder(name), "--data", list().toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("| " + name + " |") && r.out().contains("| 4 |"), r.out());
        assertTrue(r.err().contains("model folder in"), r.err());
    }

    @Test
    void predictUsesTheConfigsClassNames() {
        CliTest.Run r = run("predict", "--model", folder("hf_vit"), TestData.resource("hf/images/wide_97x61.png").toString());
        assertEquals(0, r.exit(), r.err());
        for (String n : new String[] {"tench", "goldfish", "shark", "ray", "hen"}) assertTrue(r.out().contains(n), r.out());
        CliTest.Run t = run("predict", "--model", folder("timm_vit_hd32"), TestData.resource("hf/images/wide_97x61.png").toString());
        assertEquals(0, t.exit(), t.err());
        assertEquals(6, t.out().lines().count(), t.out()); // the image and its top 5 of 10 classes
        assertTrue(t.out().lines().skip(1).noneMatch(line -> line.matches(".*\\bclass \\d+$")), "named: " + t.out());
    }

    /** predict --inputs / --logits write what the library computed (hf_vit's expected.safetensors, transformers 5.18). */
    @Test
    void predictWritesInputsAndLogitsAsNumpyArrays() throws IOException {
        var expected = io.vitq.io.SafeTensors.read(Path.of(folder("hf_vit")).resolve("expected.safetensors")).tensors();
        String[] args = {"predict", "--model", folder("hf_vit"), "--inputs", tmp.resolve("x.npy").toString(),
                "--logits", tmp.resolve("logits.npy").toString()};
        java.util.List<String> all = new java.util.ArrayList<>(java.util.List.of(args));
        for (String image : IMAGES) all.add(TestData.resource("hf/images/" + image).toString());
        CliTest.Run r = run(all.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        float[] x = npy(tmp.resolve("x.npy"), "(4, 3, 32, 32)"), logits = npy(tmp.resolve("logits.npy"), "(4, 5)");
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected.get("pixel_values").toFloats(), x);   // PIL's resize, bit for bit
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected.get("logits").toFloats(), logits, 1e-4f);
        // in batches of 3 (3 + 1 images): the same classes printed, the same arrays written
        all.set(4, tmp.resolve("x3.npy").toString());
        all.set(6, tmp.resolve("logits3.npy").toString());
        all.addAll(3, java.util.List.of("--batch", "3"));
        CliTest.Run batched = run(all.toArray(String[]::new));
        assertEquals(0, batched.exit(), batched.err());
        assertEquals(r.out(), batched.out());
        org.junit.jupiter.api.Assertions.assertArrayEquals(x, npy(tmp.resolve("x3.npy"), "(4, 3, 32, 32)"));
        org.junit.jupiter.api.Assertions.assertArrayEquals(logits, npy(tmp.resolve("logits3.npy"), "(4, 5)"));
        assertTrue(batched.err().contains("predict (images) 3/4") || batched.err().contains("predict (images) 4/4"), batched.err());
        assertUserError(run("predict", "--model", folder("hf_vit"), "--logits", tmp.resolve("no/such/dir/l.npy").toString(),
                TestData.resource("hf/images/" + IMAGES[0]).toString()), 1, "--logits", "does not exist");
        // a file inside the model folder is an input too, never overwritten (on a copy: the fixture stays safe if it were)
        Path copy = copyOf("hf_vit", "hf_vit_copy");
        byte[] weights = Files.readAllBytes(copy.resolve("model.safetensors"));
        assertUserError(run("predict", "--model", copy.toString(), "--logits", copy.resolve("model.safetensors").toString(),
                TestData.resource("hf/images/" + IMAGES[0]).toString()), 1, "--logits", "is also the input --model");
        org.junit.jupiter.api.Assertions.assertArrayEquals(weights, Files.readAllBytes(copy.resolve("model.safetensors")));
        // and so is every image, not only the last one named
        assertUserError(run("predict", "--model", copy.toString(), "--inputs", TestData.resource("hf/images/" + IMAGES[0]).toString(),
                TestData.resource("hf/images/" + IMAGES[0]).toString(), TestData.resource("hf/images/" + IMAGES[1]).toString()),
                1, "--inputs", "is also the input IMAGE");
    }

    /** The float32 data of an .npy file whose header gives {@code shape}. */
    private static float[] npy(Path f, String shape) throws IOException {
        byte[] b = Files.readAllBytes(f);
        int len = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        String header = new String(b, 10, len, java.nio.charset.StandardCharsets.US_ASCII);
        assertTrue(header.contains("'descr': '<f4'") && header.contains("'shape': " + shape), header);
        var buf = java.nio.ByteBuffer.wrap(b, 10 + len, b.length - 10 - len).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] v = new float[buf.remaining()];
        buf.get(v);
        return v;
    }

    @Test
    void infoShowsTheSourceNames() {
        CliTest.Run r = run("info", "--model", folder("hf_swin"), "--ops");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("layers.0.blocks.1.attn.qkv") && r.out().contains(
                "<- swin.encoder.layers.0.blocks.1.attention.self.{query,key,value}"), r.out());
        assertTrue(r.out().contains("layers.1.downsample.reduction") && r.out().contains("<- swin.encoder.layers.0.downsample.reduction"),
                r.out());
        assertTrue(r.out().contains("rescale x 1/255 (transformers)"), r.out());
        assertTrue(r.out().contains("class names:   5 from the model's config (tench, goldfish, ...)"), r.out());
        // a micro model's cost in MFLOPs (it read "0.00 GFLOPs"), and one window as one
        assertTrue(r.out().matches("(?s).*\\d+\\.\\d\\d MFLOPs per image.*"), r.out());
        assertTrue(r.out().contains("(1 window)") && !r.out().contains("(1 windows)"), r.out());
        assertTrue(run("info").out().contains("GFLOPs per image"), "ViT-Ti's 2.5 GFLOPs stay in GFLOPs");
    }

    @Test
    void optionsOverAFolderAndRefusals() {
        CliTest.Run r = run("info", "--model", folder("hf_vit"), "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("mean [0.485, 0.456, 0.406]"), r.out());
        assertUserError(run("info", "--model", folder("hf_vit"), "--img-size", "64"), 1, "--img-size 64");
        assertUserError(run("info", "--model", "vit_tiny_patch16_224", "--checkpoint", folder("hf_vit")), 1, "a folder",
                "--model");
        assertUserError(run("info", "--model", folder("hf_vit"), "--mean", "1,2"), 1, "--mean 1,2");
        CliTest.Run notes = run("info", "--model", folder("hf_vit"));
        assertTrue(notes.err().contains("architecture and preprocessing from its config"), notes.err());
    }

    /** Without preprocessor_config.json the transform comes from the four options, and the notes say so. */
    @Test
    void aFolderWithoutItsTransformNeedsTheOptions() throws IOException {
        Path dir = copyOf("hf_vit", "hf_vit");
        Files.delete(dir.resolve("preprocessor_config.json"));
        assertUserError(run("info", "--model", dir.toString()), 1, "no preprocessor_config.json", "--crop-pct P");
        CliTest.Run r = run("info", "--model", dir.toString(), "--mean", "0.5", "--std", "0.5", "--crop-pct", "1",
                "--interpolation", "bilinear");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("resize shorter side to 32 (bilinear, PIL) -> centre crop 32, mean [0.5, 0.5, 0.5]"), r.out());
        assertTrue(r.err().contains("architecture from its config, preprocessing from the options"), r.err());
        assertTrue(r.err().contains("options: --mean") && !r.err().contains("over the checkpoint's own settings"), r.err());
    }
}
