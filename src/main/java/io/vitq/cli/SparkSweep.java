package io.vitq.cli;

import io.vitq.calib.CalibConfig;
import io.vitq.eval.EvalResult;
import io.vitq.eval.EvalShards;
import io.vitq.eval.Pipeline;
import io.vitq.io.ModelLoader;
import io.vitq.quant.QuantPlan;
import io.vitq.quant.QuantPlanJson;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code sweep --spark}: the cells the results file lacks, measured on Spark, all at once. Each cell
 * is a calibration task followed by its evaluation's shards; a cell is recorded when its last shard
 * is in, so a sweep that stops leaves only finished cells behind and its rerun resumes from them.
 * The table itself is then printed by the ordinary sweep from the results file.
 */
final class SparkSweep {
    private SparkSweep() {}

    /** Cells measured at the same time (driver threads, each waiting for its own Spark jobs). */
    private static final int CONCURRENT_CELLS = 8;

    /**
     * A cell to measure with the strings that rebuild it on a worker; {@code identity} is the SHA-256 of
     * the checkpoint the driver loaded, which the worker's must match.
     */
    record Job(TableRunner.Pending pending, String model, String identity, String method, String bits) {}

    /** A calibration's result as a worker returns it. */
    record Calibrated(String planJson, double seconds, String note, double sizeMb) implements Serializable {}

    /** The calibration of one cell, as {@link TableRunner#cell} calibrates it. */
    record CalibrationTask(String[] args, String model, String identity, String method, String bits)
            implements ClusterTask<Calibrated> {
        @Override
        public Calibrated run() {
            SweepCommand sweep = (SweepCommand) WorkerArgs.parse(args);
            ModelLoader.Loaded l = CheckpointIdentity.check(ModelLoader.load(model, null), identity, "--models " + model);
            BitsOption b = BitsOption.parse(bits);
            CalibConfig cfg = sweep.calibOptions.config(method, b);
            Pipeline.Calibration c = Pipeline.calibrate(l, sweep.calibOptions.calibPath(), sweep.calibOptions.calibSize, cfg,
                    b.mixed(), null, sweep.calibOptions.msaNorm(), Pipeline.Progresses.NONE);
            return new Calibrated(QuantPlanJson.toJson(c.plan()), c.timing().total() + c.reparamSeconds(),
                    c.plan().info().options().toString(), TableRunner.sizeMb(l.model(), c.plan()));
        }
    }

    /** One shard of a cell's evaluation: the float model ({@code planJson} null) or the calibrated plan. */
    record EvalTask(String[] args, String model, String identity, String planJson, EvalShards.Range shard)
            implements ClusterTask<EvalResult> {
        @Override
        public EvalResult run() {
            SweepCommand sweep = (SweepCommand) WorkerArgs.parse(args);
            ModelLoader.Loaded l = CheckpointIdentity.check(ModelLoader.load(model, null), identity, "--models " + model);
            QuantPlan plan = planJson == null ? null : QuantPlanJson.parse(planJson, "the plan of " + model);
            TableOptions t = sweep.table;
            return EvalCommand.evaluate(l, plan, null, false, t.data, t.limit, shard, t.batch, Pipeline.Progresses.NONE);
        }
    }

    static String[] append(String[] args, String... more) {
        String[] r = java.util.Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, r, args.length, more.length);
        return r;
    }

    static void measure(SparkOptions spark, TableRunner runner, List<Job> jobs, String[] workerArgs) throws IOException {
        if (jobs.isEmpty()) return;
        List<EvalShards.Range> shards = EvalShards.ranges(runner.images(), runner.batch(), spark.shardImages());
        System.err.printf(Locale.ROOT, "vitq: %d cell%s to measure on Spark, each evaluated in %d shard%s%n", jobs.size(),
                jobs.size() == 1 ? "" : "s", shards.size(), shards.size() == 1 ? "" : "s");
        try (SparkEngine engine = SparkEngine.start(spark, "vitq sweep")) {
            ExecutorService pool = Executors.newFixedThreadPool(Math.min(jobs.size(), CONCURRENT_CELLS));
            List<Future<?>> cells = new ArrayList<>();
            for (Job j : jobs) cells.add(pool.submit(() -> {
                measure(engine, runner, j, shards, workerArgs);
                return null;
            }));
            pool.shutdown();
            RuntimeException failed = null;
            for (Future<?> f : cells) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    // the other cells go on and are recorded; the first failure is reported at the end
                    if (failed == null) failed = e.getCause() instanceof RuntimeException r ? r
                            : new Main.UserException("--spark: " + e.getCause().getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new Main.UserException("--spark: interrupted");
                }
            }
            if (failed != null) throw failed;
        }
    }

    private static void measure(SparkEngine engine, TableRunner runner, Job j, List<EvalShards.Range> shards,
                                String[] workerArgs) throws IOException {
        TableRunner.Pending p = j.pending();
        String what = p.model() + ", " + p.setting() + " " + p.bits();
        Calibrated c = p.cfg() == null ? null
                : engine.run("calibrate " + what, List.of(new CalibrationTask(workerArgs, j.model(), j.identity(), j.method(), j.bits()))).get(0);
        long start = System.nanoTime();
        List<EvalTask> tasks = shards.stream().map(r -> new EvalTask(workerArgs, j.model(), j.identity(), c == null ? null : c.planJson(), r)).toList();
        EvalResult r = EvalShards.merge(engine.run("evaluate " + what, tasks), runner.data().toString(),
                (System.nanoTime() - start) / 1e9);
        if (c == null) runner.record(p, r, 0, "float", TableRunner.sizeMb(p.loaded().model(), null));
        else runner.record(p, r, c.seconds(), c.note(), c.sizeMb());
    }
}
