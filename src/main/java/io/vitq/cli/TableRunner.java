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
        String model = l.model().name();
        // the data must suit this model before any calibration (and even when every cell is stored)
        if (checkedClasses.add(l.model().numClasses()))
            Inputs.checkLabels(data, images, l.model().numClasses());
        String settings = settings(l, cfg, mixed);
        CellStore.Cell done = store.get(model, setting, bits);
        if (done != null && done.settings() != null && !done.settings().equals(settings)) {
            System.err.printf(Locale.ROOT, "vitq: %s, %s %s: the results file's cell was measured with other settings; "
                    + "measuring again%n  stored: %s%n  now:    %s%n", model, setting, bits, done.settings(), settings);
            done = null;
        }
        if (done != null && !(done.sizeMb() > 0)) done = withSize(l.model(), done); // written before sizes were kept
        if (done != null) {
            System.err.printf(Locale.ROOT, "vitq: %s, %s %s: %.2f %% (from the results file%s)%n", model, setting, bits,
                    done.top1(), done.settings() == null ? "; written before settings were kept, so not checked against them" : "");
            return done;
        }
        double calibSeconds = 0;
        EvalResult r;
        QuantPlan plan = null;
        if (cfg == null) {
            r = EvalCommand.evaluate(l, null, false, data, limit, batch);
        } else {
            io.vitq.eval.Pipeline.Calibration c = QuantizeCommand.calibrate(l, calib, cfg, mixed, null);
            calibSeconds = c.timing().total() + c.reparamSeconds();
            plan = c.plan();
            r = EvalCommand.evaluate(c.model(), plan, false, data, limit, batch);
        }
        CellStore.Cell cell = new CellStore.Cell(model, setting, bits, r.top1(), r.top5(), r.images(), calibSeconds,
                plan == null ? "float" : plan.info().options().toString(), sizeMb(l.model(), plan), settings);
        store.put(cell);
        System.err.printf(Locale.ROOT, "vitq: %s, %s %s: top-1 %.2f %%%n", model, setting, bits, cell.top1());
        return cell;
    }

    /**
     * What a cell is measured with beyond its key: the checkpoint (its files' SHA-256, so another
     * checkpoint under the same model name is measured again), evaluation images, calibration images
     * and every calibration setting.
     */
    private String settings(ModelLoader.Loaded l, CalibConfig cfg, io.vitq.calib.mp.MpTarget mixed) {
        String id = identities.computeIfAbsent(l.files(), f -> l.identity().substring(0, 16));
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
}
