package io.vitq.testutil;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one place tests find the shared data: ../shared beside the clone, or $VITQ_SHARED. */
class TestDataTest {
    /** Pure path resolution: the clone and $VITQ_SHARED are folders under a temporary root, nothing is read. */
    @Test
    void sharedIsBesideTheRepositoryUnlessVitqSharedIsSet(@org.junit.jupiter.api.io.TempDir Path root) {
        Path repo = root.resolve("some/where/clone");
        assertEquals(root.resolve("some/where/shared"), TestData.sharedRoot(null, repo));
        assertEquals(root.resolve("some/where/shared"), TestData.sharedRoot("  ", repo));
        assertEquals(root.resolve("data/vitq-shared"), TestData.sharedRoot(root.resolve("data/vitq-shared") + "/", repo));
        assertEquals(root.resolve("data/x"), TestData.sharedRoot(root + "/data/y/../x", repo));
    }

    @Test
    void theRunsSharedFolderFollowsTheWorkingDirectory() {
        if (System.getenv("VITQ_SHARED") == null || System.getenv("VITQ_SHARED").isBlank()) {
            assertEquals(TestData.repo().getParent().resolve("shared"), TestData.sharedRoot());
        }
        assertTrue(TestData.VIT_TINY.startsWith(TestData.repo()));
    }

    @Test
    void missingSharedFileSkips() {
        assertThrows(TestAbortedException.class, () -> TestData.sharedOrSkip("TestDataTest-expects-this-skip-" + System.nanoTime()));
    }
}
