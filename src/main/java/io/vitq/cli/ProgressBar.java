package io.vitq.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar on stderr: redrawn in place on a terminal, a line every 10 % otherwise (logs, CI),
 * so that long runs always show that they are alive.
 */
public final class ProgressBar implements io.vitq.eval.Pipeline.Progress {
    private final String label;
    private final int total;
    private final PrintStream out;
    private final boolean interactive;
    private final long start = System.nanoTime();
    private int lastDecile = -1;
    private long lastDraw;
    /** The first report with items done: the estimate's rate starts after it, since the first items carry the warm-up. */
    private int firstDone = -1;
    private double firstSecs;

    public ProgressBar(String label, int total) {
        this(label, total, System.err, System.console() != null && !"true".equals(System.getenv("CI")));
    }

    /** Bars on stderr whose label names the unit they count, e.g. "calibrate ptq4vit W8A8 (ops)". */
    public static io.vitq.eval.Pipeline.Progresses counting(String unit) {
        return (label, total) -> new ProgressBar(label + " (" + unit + ")", total);
    }

    ProgressBar(String label, int total, PrintStream out, boolean interactive) {
        this.label = label;
        this.total = Math.max(total, 1);
        this.out = out;
        this.interactive = interactive;
    }

    @Override
    public synchronized void update(int done) {
        long now = System.nanoTime();
        double secs = (now - start) / 1e9;
        if (firstDone < 0 && done > 0) {
            firstDone = done;
            firstSecs = secs;
        }
        if (interactive) {
            if (done < total && now - lastDraw < 100_000_000L) return;
            lastDraw = now;
            int width = 30, filled = (int) ((long) width * done / total);
            out.printf(Locale.ROOT, "\r%s [%s%s] %d/%d %s%s   ", label, "#".repeat(filled), " ".repeat(width - filled),
                    done, total, pace(done, secs), eta(done, secs));
            out.flush();
        } else {
            int decile = (int) (10L * done / total);
            if (decile == lastDecile) return;
            lastDecile = decile;
            // a line per tenth of the work, with its exact share (32/200 is 16 %, not the tenth's 10 %)
            out.printf(Locale.ROOT, "%s %d/%d (%d%%) %s %.0fs%s%n", label, done, total, (int) (100L * done / total), pace(done, secs), secs,
                    eta(done, secs));
        }
    }

    /** Items per second, or seconds per item when items take longer than a second (slow steps would read 0.0/s). */
    static String pace(int done, double secs) {
        if (done <= 0) return "-";
        double rate = done / Math.max(secs, 1e-9);
        return rate >= 1 ? String.format(Locale.ROOT, "%.1f/s", rate) : String.format(Locale.ROOT, "%.0f s each", secs / done);
    }

    /**
     * " ETA 42s" while some items remain, else empty: the rate of the items done since the first
     * report, as the first items carry the warm-up (a first calibration op at 10 s gave "ETA 724s"
     * for a 77 s job; a first batch of 32 images the like); none until a second report.
     */
    private String eta(int done, double secs) {
        if (firstDone < 0 || done <= firstDone || done >= total) return "";
        return String.format(Locale.ROOT, " ETA %.0fs", (secs - firstSecs) / (done - firstDone) * (total - done));
    }

    @Override
    public synchronized void close() {
        if (interactive) out.println();
    }
}
