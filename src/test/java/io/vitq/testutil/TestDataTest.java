package io.vitq.testutil;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one place tests find the shared data: ../shared beside the clone, or $VITQ_SHARED. */
class TestDataTest {
    @Test
    void sharedIsBesideTheRepositoryUnlessVitqSharedIsSet() {
        Path repo = Path.of("/some/where/clone");
        assertEquals(Path.of("/some/where/shared"), TestData.sharedRoot(null, repo));
        assertEquals(Path.of("/some/where/shared"), TestData.sharedRoot("  ", repo));
        assertEquals(Path.of("/data/vitq-shared"), TestData.sharedRoot("/data/vitq-shared/", repo));
        assertEquals(Path.of("/data/x"), TestData.sharedRoot("/data/y/../x", repo));
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
