package io.vitq.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar on stderr: redrawn in place on a terminal, a line every 10 % otherwise (logs, CI),
 * so that long runs always show that they are alive.
 */
public final class ProgressBar implements AutoCloseable {
    private final String label;
    private final int total;
    private final PrintStream out;
    private final boolean interactive;
    private final long start = System.nanoTime();
    private int lastDecile = -1;
    private long lastDraw;

    public ProgressBar(String label, int total) {
        this(label, total, System.err, System.console() != null && !"true".equals(System.getenv("CI")));
    }

    ProgressBar(String label, int total, PrintStream out, boolean interactive) {
        this.label = label;
        this.total = Math.max(total, 1);
        this.out = out;
        this.interactive = interactive;
    }

    public synchronized void update(int done) {
        long now = System.nanoTime();
        double secs = (now - start) / 1e9;
        double rate = done / Math.max(secs, 1e-9);
        if (interactive) {
            if (done < total && now - lastDraw < 100_000_000L) return;
            lastDraw = now;
            int width = 30, filled = (int) ((long) width * done / total);
            String eta = done > 0 && done < total ? String.format(Locale.ROOT, " ETA %.0fs", (total - done) / rate) : "";
            out.printf(Locale.ROOT, "\r%s [%s%s] %d/%d %.1f/s%s   ", label, "#".repeat(filled), " ".repeat(width - filled),
                    done, total, rate, eta);
            out.flush();
        } else {
            int decile = (int) (10L * done / total);
            if (decile == lastDecile) return;
            lastDecile = decile;
            out.printf(Locale.ROOT, "%s %d/%d (%d%%) %.1f/s %.0fs%n", label, done, total, 10 * decile, rate, secs);
        }
    }

    @Override
    public synchronized void close() {
        if (interactive) out.println();
    }
}
