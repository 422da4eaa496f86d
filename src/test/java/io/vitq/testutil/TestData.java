package io.vitq.testutil;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locations of the repository's own test data and of the optional shared data folder. Every test
 * that reads the shared data finds it through {@link #sharedOrSkip}: {@code $VITQ_SHARED} when set,
 * otherwise {@code ../shared} beside the repository (as the README says), never a fixed path.
 */
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

    /** The shared folder: {@code env} ($VITQ_SHARED) when set and not blank, else {@code ../shared} beside {@code repo}. */
    static Path sharedRoot(String env, Path repo) {
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath().normalize();
        return repo.resolve("../shared").normalize();
    }

    /** The shared folder this test run uses (it may not exist). */
    public static Path sharedRoot() {
        return sharedRoot(System.getenv("VITQ_SHARED"), repo());
    }

    /**
     * {@code rel} inside the shared folder ({@code ../shared} or $VITQ_SHARED) when it exists;
     * otherwise the calling test is skipped with a visible message.
     */
    public static Path sharedOrSkip(String rel) {
        Path p = sharedRoot().resolve(rel);
        if (!Files.exists(p)) {
            String msg = "SKIPPED: shared data not found at " + p + " (set VITQ_SHARED to the shared folder)";
            System.out.println(msg);
            Assumptions.abort(msg);
        }
        return p;
    }

    public static final Path VIT_TINY = demo("models/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors");
}
