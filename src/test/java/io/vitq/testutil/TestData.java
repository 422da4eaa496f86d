package io.vitq.testutil;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locations of the repository's own test data and of the optional shared data folder. */
public final class TestData {
    private TestData() {}

    /** The repository root (tests run with the module directory as working directory). */
    public static Path repo() {
        return Path.of("").toAbsolutePath();
    }

    public static Path demo(String rel) {
        return repo().resolve("demo").resolve(rel);
    }

    public static Path resource(String rel) {
        return repo().resolve("src/test/resources").resolve(rel);
    }

    /** {@code ../shared} (or $VITQ_SHARED) when present; otherwise the calling test is skipped with a visible message. */
    public static Path sharedOrSkip(String rel) {
        String env = System.getenv("VITQ_SHARED");
        Path base = env != null ? Path.of(env) : repo().resolve("../shared").normalize();
        Path p = base.resolve(rel);
        if (!Files.exists(p)) {
            String msg = "SKIPPED: shared data not found at " + p + " (set VITQ_SHARED to the shared folder)";
            System.out.println(msg);
            Assumptions.abort(msg);
        }
        return p;
    }

    public static final Path VIT_TINY = demo("models/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors");
}
