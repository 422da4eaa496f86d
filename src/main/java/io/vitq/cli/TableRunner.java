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

    TableRunner(CalibOptions calib, Path data, Integer limit, int batch, CellStore store) {
        this.calib = calib;
        this.data = data;
        this.limit = limit;
        this.batch = batch;
        this.store = store;
    }

    /** The float model's accuracy ({@code cfg} null) or a quantized setting's. */
    CellStore.Cell cell(ModelLoader.Loaded l, String setting, String bits, CalibConfig cfg) throws IOException {
        return cell(l, setting, bits, cfg, null);
    }

    /** @param mixed a mixed-precision target for {@code cfg} (VT-PTQ), or null */
    CellStore.Cell cell(ModelLoader.Loaded l, String setting, String bits, CalibConfig cfg,
                        io.vitq.calib.mp.MpTarget mixed) throws IOException {
        String model = l.model().name();
        CellStore.Cell done = store.get(model, setting, bits);
        if (done != null) {
            System.err.printf(Locale.ROOT, "vitq: %s, %s %s: %.2f %% (from the results file)%n", model, setting, bits, done.top1());
            return done;
        }
        double calibSeconds = 0;
        EvalResult r;
        QuantPlan plan = null;
        if (cfg == null) {
            r = EvalCommand.evaluate(l, null, false, data, limit, batch);
        } else {
            Calibrator.Result c = QuantizeCommand.calibrate(l, calib, cfg, mixed, null);
            calibSeconds = c.timing().total();
            plan = c.plan();
            r = EvalCommand.evaluate(l, plan, false, data, limit, batch);
        }
        CellStore.Cell cell = new CellStore.Cell(model, setting, bits, r.top1(), r.top5(), r.images(), calibSeconds,
                plan == null ? "float" : plan.info().options().toString(), sizeMb(l.model(), plan));
        store.put(cell);
        System.err.printf(Locale.ROOT, "vitq: %s, %s %s: top-1 %.2f %%%n", model, setting, bits, cell.top1());
        return cell;
    }

    /**
     * Model size the papers' way (all parameters x bits / 8, MB = 10^6 bytes): float 32 bits, a
     * mixed-precision plan its recorded size, otherwise the plan's weight bits.
     */
    static double sizeMb(io.vitq.model.Model m, QuantPlan plan) {
        long params = m.parameterCount();
        if (plan == null) return ModelSize.mb(ModelSize.uniformBits(params, 32));
        String mp = plan.info().options().get("size_mb");
        if (mp != null) return Double.parseDouble(mp);
        return ModelSize.mb(ModelSize.uniformBits(params, plan.info().weightBits()));
    }

    static String pct(CellStore.Cell c) { return String.format(Locale.ROOT, "%.2f", c.top1()); }
}
