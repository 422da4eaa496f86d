package io.vitq.cli;

import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** {@code --spark}: run a table's cells or an evaluation's shards as Apache Spark tasks. */
public final class SparkOptions {
    /** Images per evaluation task when {@code --shard-images} is not given. */
    static final int DEFAULT_SHARD_IMAGES = 256;

    @Option(names = "--spark", arity = "0..1", fallbackValue = "local[*]", paramLabel = "MASTER",
            description = "Run on Apache Spark: local[*] (this machine; the default when no master is given), "
                    + "spark://HOST:PORT (a standalone cluster), or any master Spark accepts (yarn, k8s://...). Calibrations "
                    + "and evaluation shards are Spark tasks; models, images and plans must be at paths every worker sees.")
    String master;

    @Option(names = "--spark-conf", paramLabel = "KEY=VALUE",
            description = "A Spark setting for this run, e.g. spark.executor.memory=8g (repeatable).")
    List<String> conf = new ArrayList<>();

    @Option(names = "--shard-images", paramLabel = "N",
            description = "With --spark: images per evaluation task, in whole batches (default " + DEFAULT_SHARD_IMAGES + ").")
    Integer shardImages;

    boolean enabled() { return master != null; }

    int shardImages() { return shardImages == null ? DEFAULT_SHARD_IMAGES : shardImages; }

    /** Refuses Spark settings without {@code --spark} and malformed ones, before any work. */
    void check() {
        if (!enabled()) {
            if (!conf.isEmpty()) throw new Main.UserException("--spark-conf applies to a run on Spark; add --spark [MASTER]");
            if (shardImages != null) throw new Main.UserException("--shard-images applies to a run on Spark; add --spark [MASTER]");
            return;
        }
        if (master.isBlank()) throw new Main.UserException("--spark: empty master; give local[*], spark://HOST:PORT, yarn or k8s://...");
        if (shardImages != null) Inputs.checkPositive("--shard-images", shardImages);
        for (String kv : conf) {
            int eq = kv.indexOf('=');
            if (eq <= 0 || eq == kv.length() - 1)
                throw new Main.UserException("--spark-conf " + kv + ": expected KEY=VALUE, e.g. spark.executor.memory=8g");
        }
    }
}
