package io.vitq.cli;

import io.vitq.calib.CalibConfig;
import io.vitq.calib.Calibrator;
import io.vitq.eval.EvalResult;
import io.vitq.io.ModelLoader;
import io.vitq.calib.mp.ModelSize;
import io.vitq.quant.QuantPlan;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Measures the cells of a results table (sweep, ablation): the float model, or a calibration
 * followed by a fake-quant evaluation; finished cells come from the {@link CellStore} instead of
 * being measured again.
 */
final class TableRunner {
    private final CalibOptions calib;
    private final Path data;
    private final Integer limit;
    private final int batch;
    private final CellStore store;
    /** The evaluation images, listed once to check their labels against each model. */
    private final io.vitq.data.Dataset images;
    private final java.util.Set<Integer> checkedClasses = new java.util.HashSet<>();
    /** Each checkpoint's content hash, computed once per run. */
    private final java.util.Map<java.util.List<Path>, String> identities = new java.util.HashMap<>();

    TableRunner(CalibOptions calib, Path data, io.vitq.data.Dataset images, Integer limit, int batch, CellStore store) {
        this.calib = calib;
        this.images = images;
        this.data = data;
        this.limit = limit;
        this.batch = batch;
        this.store = store;
    }

    /** The number of images every cell is evaluated on. */
    int imageCount() { return images.size(); }

    /** The float model's accuracy ({@code cfg} null) or a quantized setting's. */
    CellStore.Cell cell(ModelLoader.Loaded l, String setting, String bits, CalibConfig cfg) throws IOException {
        return cell(l, setting, bits, cfg, null);
    }

    /** @param mixed a mixed-precision target for {@code cfg} (VT-PTQ), or null */
    CellStore.Cell cell(ModelLoader.Loaded l, String setting, String bits, CalibConfig cfg,
                        io.vitq.calib.mp.MpTarget mixed) throws IOException {
        Pending p = pending(l, setting, bits, cfg, mixed);
        CellStore.Cell done = stored(p, true);
        if (done != null) return done;
        double calibSeconds = 0;
        EvalResult r;
        QuantPlan plan = null;
        if (cfg == null) {
            r = EvalCommand.evaluate(l, null, false, data, limit, batch);
        } else {
            io.vitq.eval.Pipeline.Calibration c = QuantizeCommand.calibrate(l, calib, cfg, mixed, null, System.err,
                    "vitq: " + p.model() + ", " + p.setting() + " " + p.bits() + ": ");
            calibSeconds = c.timing().total() + c.reparamSeconds();
            plan = c.plan();
            r = EvalCommand.evaluate(c.model(), plan, false, data, limit, batch);
        }
        return record(p, r, calibSeconds, plan == null ? "float" : plan.info().options().toString(), sizeMb(l.model(), plan));
    }

    /**
     * One cell of the table with everything it is measured with; {@code cfg} null for the float model.
     *
     * @param settings what else the cell depends on (see {@link #settings}); a stored cell counts only with the same
     */
    record Pending(ModelLoader.Loaded loaded, String setting, String bits, CalibConfig cfg,
                   io.vitq.calib.mp.MpTarget mixed, String settings) {
        String model() { return loaded.model().name(); }
    }

    /** The cell {@code cell} would measure; the evaluation data are checked against the model here. */
    Pending pending(ModelLoader.Loaded l, String setting, String bits, CalibConfig cfg, io.vitq.calib.mp.MpTarget mixed) {
        // the data must suit this model before any calibration (and even when every cell is stored)
        if (checkedClasses.add(l.model().numClasses()))
            Inputs.checkLabels(data, images, l.model().numClasses());
        return new Pending(l, setting, bits, cfg, mixed, settings(l, cfg, mixed));
    }

    /**
     * The results file's cell for {@code p} when it was measured with the same settings, else null.
     *
     * @param report print where a stored cell comes from (or why it is measured again)
     */
    CellStore.Cell stored(Pending p, boolean report) {
        String model = p.model(), setting = p.setting(), bits = p.bits();
        CellStore.Cell done = store.get(model, setting, bits);
        if (done != null && done.settings() != null && !done.settings().equals(p.settings())) {
            if (report) System.err.printf(Locale.ROOT, "vitq: %s, %s %s: the results file's cell was measured with other settings; "
                    + "measuring again%n  stored: %s%n  now:    %s%n", model, setting, bits, done.settings(), p.settings());
            return null;
        }
        if (done != null && !(done.sizeMb() > 0)) done = withSize(p.loaded().model(), done); // written before sizes were kept
        if (done != null && report && !measuredHere.contains(CellStore.key(model, setting, bits))) {
            System.err.printf(Locale.ROOT, "vitq: %s, %s %s: %.2f %% (from the results file%s)%n", model, setting, bits,
                    done.top1(), done.settings() == null ? "; written before settings were kept, so not checked against them" : "");
        }
        return done;
    }

    /** Cells measured by this run (by {@link #record}): printed when measured, not again when the table reads them. */
    private final java.util.Set<String> measuredHere = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Stores the measured cell in the results file and reports it. */
    CellStore.Cell record(Pending p, EvalResult r, double calibSeconds, String note, double sizeMb) throws IOException {
        CellStore.Cell cell = new CellStore.Cell(p.model(), p.setting(), p.bits(), r.top1(), r.top5(), r.images(), calibSeconds,
                note, sizeMb, p.settings());
        store.put(cell);
        measuredHere.add(CellStore.key(p.model(), p.setting(), p.bits()));
        System.err.printf(Locale.ROOT, "vitq: %s, %s %s: top-1 %.2f %%%n", p.model(), p.setting(), p.bits(), cell.top1());
        return cell;
    }

    /** The checkpoint's SHA-256 (its files', in order), computed once per run. */
    String identity(ModelLoader.Loaded l) {
        return identities.computeIfAbsent(l.files(), f -> l.identity());
    }

    /** The evaluation images (the first --limit of --data). */
    io.vitq.data.Dataset images() { return images; }

    Path data() { return data; }

    int batch() { return batch; }

    /**
     * What a cell is measured with beyond its key: the checkpoint (its files' SHA-256, so another
     * checkpoint under the same model name is measured again), evaluation images, calibration images
     * and every calibration setting.
     */
    private String settings(ModelLoader.Loaded l, CalibConfig cfg, io.vitq.calib.mp.MpTarget mixed) {
        String id = identity(l).substring(0, 16);
        String s = "checkpoint sha256 " + id + "; data " + data.toAbsolutePath().normalize()
                + (limit != null ? " (first " + limit + ")" : "");
        if (cfg == null) return s;
        return s + "; calibration " + calib.calibPath().toAbsolutePath().normalize() + " (first " + calib.calibSize
                + "); " + cfg + (mixed == null ? "" : "; " + mixed.cliName() + " with the attention unit's norm " + calib.msaNorm());
    }

    /**
     * Model size the papers' way (all parameters x bits / 8, MB = 10^6 bytes): float 32 bits, a
     * mixed-precision plan its recorded size, otherwise the plan's weight bits.
     */
    static double sizeMb(io.vitq.model.Model m, QuantPlan plan) {
        if (plan == null) return uniformMb(m, 32);
        String mp = plan.info().options().get("size_mb");
        if (mp != null) return Double.parseDouble(mp);
        return uniformMb(m, plan.info().weightBits());
    }

    private static double uniformMb(io.vitq.model.Model m, int bits) {
        return ModelSize.mb(ModelSize.uniformBits(m.parameterCount(), bits));
    }

    /** A stored cell without a size: the float size, or the uniform size of its {@code WxAy} bits. */
    private static CellStore.Cell withSize(io.vitq.model.Model m, CellStore.Cell c) {
        java.util.regex.Matcher w = java.util.regex.Pattern.compile("W(\\d+)A\\d+").matcher(c.bits());
        int bits = c.setting().equals("float") ? 32 : w.matches() ? Integer.parseInt(w.group(1)) : -1;
        if (bits < 0) return c; // a mixed-precision cell always stores its size
        return new CellStore.Cell(c.model(), c.setting(), c.bits(), c.top1(), c.top5(), c.images(), c.calibSeconds(),
                c.note(), uniformMb(m, bits), c.settings());
    }

    static String pct(CellStore.Cell c) { return String.format(Locale.ROOT, "%.2f", c.top1()); }

    /** A cell's size as the tables print it, "(22.9 MB)": three significant digits, so a micro model's settings differ too. */
    static String mb(CellStore.Cell c) {
        double v = c.sizeMb();
        String f = v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : v >= 1 ? "%.2f" : "%.3f";
        return "(" + String.format(Locale.ROOT, f, v) + " MB)";
    }
}
