package io.vitq.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressBarTest {
    @Test
    void paceIsPerSecondForFastItemsAndSecondsEachForSlowOnes() {
        assertEquals("12.5/s", ProgressBar.pace(25, 2.0));
        assertEquals("1.0/s", ProgressBar.pace(3, 3.0));
        assertEquals("57 s each", ProgressBar.pace(8, 456.0));
        assertEquals("-", ProgressBar.pace(0, 5.0));
    }

    @Test
    void logModePrintsTheFirstItemThenOneLinePerTenthWithAnEstimate() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ProgressBar bar = new ProgressBar("work", 20, new PrintStream(buf, true, StandardCharsets.UTF_8), false)) {
            for (int i = 1; i <= 20; i++) bar.update(i);
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(11, lines.length, String.join("\n", lines));
        assertTrue(lines[0].startsWith("work 1/20 (5%) ") && !lines[0].contains("ETA"), "no estimate from the first item: " + lines[0]);
        assertTrue(lines[1].startsWith("work 2/20 (10%) ") && lines[1].contains(" ETA "), lines[1]);
        assertTrue(lines[10].startsWith("work 20/20 (100%) ") && !lines[10].contains("ETA"), lines[10]);
    }

    @Test
    void aLineShowsItsExactShareNotTheTenthsLowerBound() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ProgressBar bar = new ProgressBar("eval", 200, new PrintStream(buf, true, StandardCharsets.UTF_8), false)) {
            bar.update(32);
            bar.update(64);
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertTrue(lines[0].startsWith("eval 32/200 (16%) "), lines[0]);
        assertTrue(lines[1].startsWith("eval 64/200 (32%) "), lines[1]);
    }

    @Test
    void theEstimateLeavesTheFirstReportOut() throws InterruptedException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ProgressBar bar = new ProgressBar("images", 100, new PrintStream(buf, true, StandardCharsets.UTF_8), false)) {
            bar.update(0);        // the start of the step ...
            Thread.sleep(1500);   // ... a slow first batch (the warm-up) ...
            bar.update(20);
            bar.update(40);       // ... then 20 more at once: about 0 s for the other 60 (a rate from the start: 2 s)
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(3, lines.length, String.join("\n", lines));
        assertFalse(lines[0].contains("ETA"), "no estimate before any item: " + lines[0]);
        assertFalse(lines[1].contains("ETA"), "no estimate from the first report: " + lines[1]);
        assertTrue(lines[2].startsWith("images 40/100 (40%) ") && lines[2].endsWith(" ETA 0s"), lines[2]);
    }
}
