package io.vitq.io;

import io.vitq.model.ModelException;
import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hugging Face cache as huggingface_hub leaves it after timm's {@code create_model(...,
 * pretrained=True)}: {@code models--timm--NAME/blobs/<sha256>}, {@code snapshots/<commit>/config.json}
 * and {@code model.safetensors} as relative symbolic links into the blobs, {@code refs/main} naming
 * the commit. The weights are the timm fixture {@code hf/timm_vit_hd32} (a micro ViT written by timm).
 */
class HubCacheTest {
    static final Path FIXTURE = TestData.resource("hf/timm_vit_hd32");

    @TempDir
    Path tmp;

    /** Lays out {@code repoId} in {@code cache} with the fixture's files, config.json's architecture replaced. */
    static Path repo(Path cache, String repoId, String architecture, String commit, boolean refsMain) throws Exception {
        Path repo = cache.resolve(ModelLoader.HubCache.folderName(repoId));
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snap = Files.createDirectories(repo.resolve("snapshots").resolve(commit));
        String config = Files.readString(FIXTURE.resolve("config.json"))
                .replace("\"architecture\": \"vit_tiny_patch16_224\"", "\"architecture\": \"" + architecture + "\"");
        link(blobs, snap, "config.json", config.getBytes(StandardCharsets.UTF_8));
        link(blobs, snap, "model.safetensors", Files.readAllBytes(FIXTURE.resolve("model.safetensors")));
        if (refsMain) {
            Files.createDirectories(repo.resolve("refs"));
            Files.writeString(repo.resolve("refs/main"), commit);
        }
        return snap;
    }

    private static void link(Path blobs, Path snap, String name, byte[] bytes) throws Exception {
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        Files.write(blobs.resolve(sha), bytes);
        Files.createSymbolicLink(snap.resolve(name), Path.of("../../blobs/" + sha));
    }

    /** Pure path resolution: the home and variables are folders under a temporary root, nothing is read. */
    @Test
    void cacheLocationFollowsHuggingFaceHub(@org.junit.jupiter.api.io.TempDir Path root) {
        String h = root.resolve("h").toString(), x = root.resolve("x").toString(), c = root.resolve("c").toString(),
                y = root.resolve("y").toString();
        assertEquals(root.resolve("h/.cache/huggingface/hub"), ModelLoader.HubCache.location(Map.of(), h));
        assertEquals(root.resolve("x/hub"), ModelLoader.HubCache.location(Map.of("HF_HOME", x), h));
        assertEquals(root.resolve("c/huggingface/hub"), ModelLoader.HubCache.location(Map.of("XDG_CACHE_HOME", c), h));
        assertEquals(root.resolve("y"), ModelLoader.HubCache.location(Map.of("HF_HOME", x, "HF_HUB_CACHE", y), h));
        assertEquals("models--timm--vit_small_patch16_224.augreg_in21k_ft_in1k",
                ModelLoader.HubCache.folderName("timm/vit_small_patch16_224.augreg_in21k_ft_in1k"));
        assertTrue(ModelLoader.HubCache.isRepoId("timm/vit_small_patch16_224.augreg_in21k_ft_in1k"));
        assertTrue(ModelLoader.HubCache.isRepoId("facebook/deit-tiny-patch16-224"));
        assertTrue(!ModelLoader.HubCache.isRepoId("vit_small_patch16_224") && !ModelLoader.HubCache.isRepoId("a/b/c")
                && !ModelLoader.HubCache.isRepoId("../x") && !ModelLoader.HubCache.isRepoId(root.resolve("abs/path").toString()));
    }

    @Test
    void snapshotByRefsMainOrTheOnlyOne() throws Exception {
        Path cache = tmp.resolve("hub");
        Path snap = repo(cache, "timm/vit_tiny_patch16_224.micro", "vit_tiny_patch16_224", "c0ffee", true);
        // a second, older snapshot: refs/main decides
        repo(cache, "timm/vit_tiny_patch16_224.micro", "vit_tiny_patch16_224", "0ld", false);
        assertEquals(snap, ModelLoader.HubCache.snapshot(cache, "timm/vit_tiny_patch16_224.micro"));
        Files.delete(cache.resolve("models--timm--vit_tiny_patch16_224.micro/refs/main"));
        ModelException e = assertThrows(ModelException.class, () -> ModelLoader.HubCache.snapshot(cache, "timm/vit_tiny_patch16_224.micro"));
        assertTrue(e.getMessage().contains("2 snapshots and no refs/main"), e.getMessage());
        ModelException missing = assertThrows(ModelException.class, () -> ModelLoader.HubCache.snapshot(cache, "timm/nope"));
        assertTrue(missing.getMessage().contains("not in the Hugging Face cache") && missing.getMessage().contains("never downloads"),
                missing.getMessage());
    }

    @Test
    void aBareZooNameTakesTheOnlyTagAndRefusesToChooseBetweenSeveral() throws Exception {
        Path cache = tmp.resolve("hub");
        assertTrue(ModelLoader.HubCache.snapshotForZooName(cache, "vit_small_patch16_224").isEmpty());
        Path a = repo(cache, "timm/vit_small_patch16_224.augreg_in21k_ft_in1k", "vit_small_patch16_224", "aaa", true);
        assertEquals(a, ModelLoader.HubCache.snapshotForZooName(cache, "vit_small_patch16_224").orElseThrow());
        // another model whose name starts alike is not a tag of it
        repo(cache, "timm/vit_small_patch16_224_x.t", "vit_small_patch16_224", "bbb", true);
        assertEquals(a, ModelLoader.HubCache.snapshotForZooName(cache, "vit_small_patch16_224").orElseThrow());
        repo(cache, "timm/vit_small_patch16_224.augreg_in1k", "vit_small_patch16_224", "ccc", true);
        ModelException e = assertThrows(ModelException.class,
                () -> ModelLoader.HubCache.snapshotForZooName(cache, "vit_small_patch16_224"));
        assertTrue(e.getMessage().contains("timm/vit_small_patch16_224.augreg_in1k, timm/vit_small_patch16_224.augreg_in21k_ft_in1k"),
                e.getMessage());
        var repos = ModelLoader.HubCache.list(cache);
        assertEquals(List.of("timm/vit_small_patch16_224.augreg_in1k", "timm/vit_small_patch16_224.augreg_in21k_ft_in1k",
                "timm/vit_small_patch16_224_x.t"), repos.stream().map(ModelLoader.HubCache.Repo::id).toList());
        assertTrue(repos.get(0).describe().contains("timm layout, architecture vit_small_patch16_224"), repos.get(0).describe());
    }

    /**
     * The user's view: with {@code HF_HOME} pointing at the cache, {@code vitq info --model timm/NAME}
     * and a bare zoo name load the cached weights, {@code vitq models} lists them, and a name that is
     * not cached is one line that says nothing is downloaded. Run as a separate JVM so that the
     * environment variable is the real one.
     */
    @Test
    void foundByNameThroughHfHome() throws Exception {
        Path hfHome = tmp.resolve("hf");
        Path snap = repo(hfHome.resolve("hub"), "timm/vit_small_patch16_224.vitq_micro", "vit_small_patch16_224", "f00d", true);

        Cmd info = vitq(hfHome, "info", "--model", "timm/vit_small_patch16_224.vitq_micro");
        assertEquals(0, info.exit, info.err);
        assertTrue(info.out.contains("vit_small_patch16_224.vitq_micro"), info.out);
        assertTrue(info.err.contains("weights from the Hugging Face cache: " + snap), info.err);
        assertTrue(info.out.contains("10"), info.out); // its 10 classes

        Cmd bare = vitq(hfHome, "info", "--model", "vit_small_patch16_224");
        assertEquals(0, bare.exit, bare.err);
        assertTrue(bare.err.contains("weights from the Hugging Face cache: " + snap), bare.err);

        Cmd models = vitq(hfHome, "models");
        assertEquals(0, models.exit, models.err);
        assertTrue(models.out.contains("timm/vit_small_patch16_224.vitq_micro") && models.out.contains("timm layout"), models.out);
        assertTrue(models.out.contains("HF cache: " + snap), models.out);

        Cmd absent = vitq(hfHome, "info", "--model", "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k");
        assertEquals(1, absent.exit, absent.err);
        assertTrue(absent.err.contains("not in the Hugging Face cache") && absent.err.lines().count() == 1, absent.err);
    }

    record Cmd(int exit, String out, String err) {}

    static Cmd vitq(Path hfHome, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), "io.vitq.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(TestData.repo().toFile());
        Map<String, String> env = pb.environment();
        for (String k : List.of("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "VITQ_MODELS")) env.remove(k);
        env.put("HF_HOME", hfHome.toString());
        Path out = Files.createTempFile("vitq-out", ".txt"), err = Files.createTempFile("vitq-err", ".txt");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("vitq " + String.join(" ", args) + ": no exit within 120 s");
            }
            String e = Files.readString(err).lines().filter(l -> !l.contains("Using incubator modules"))
                    .reduce("", (x, y) -> x + y + "\n");
            return new Cmd(p.exitValue(), Files.readString(out), e);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
