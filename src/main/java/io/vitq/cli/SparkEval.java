package io.vitq.cli;

import io.vitq.eval.EvalResult;
import io.vitq.eval.EvalShards;
import io.vitq.eval.Pipeline;
import io.vitq.model.Model;

import java.util.List;

/** {@code eval --spark}: the image list split into shards, each a Spark task, merged exactly. */
final class SparkEval {
    private SparkEval() {}

    /**
     * One shard, computed on a worker by the same command rebuilt from its arguments.
     *
     * @param identity the SHA-256 of the checkpoint the driver loaded, which the worker's must match
     */
    record ShardTask(String[] args, String identity, EvalShards.Range shard) implements ClusterTask<EvalResult> {
        @Override
        public EvalResult run() {
            return ((EvalCommand) WorkerArgs.parse(args)).shard(shard, identity);
        }
    }

    static EvalResult run(EvalCommand cmd, String[] workerArgs, io.vitq.io.ModelLoader.Loaded loaded) {
        Model model = loaded.model();
        io.vitq.data.Dataset ds = Pipeline.checkLabels(cmd.data, Pipeline.dataset(cmd.data, cmd.limit), model.numClasses());
        int images = ds.size();
        List<EvalShards.Range> ranges = EvalShards.ranges(ds, cmd.batch, cmd.spark.shardImages());
        String identity = loaded.identity();
        long start = System.nanoTime();
        try (SparkEngine engine = SparkEngine.start(cmd.spark, "vitq eval " + model.name())) {
            System.err.printf("vitq: evaluating %d images in %d shard%s on Spark%n", images, ranges.size(), ranges.size() == 1 ? "" : "s");
            List<EvalResult> parts;
            try (ProgressBar bar = new ProgressBar("eval " + model.name() + " (images of finished shards)", images)) {
                java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
                int per = ranges.get(0).size();
                parts = engine.run("eval " + model.name() + ": " + ranges.size() + " shards",
                        ranges.stream().map(r -> new ShardTask(workerArgs, identity, r)).toList(),
                        n -> bar.update(Math.min(images, done.addAndGet(n) * per)));
            }
            return EvalShards.merge(parts, cmd.data.toString(), (System.nanoTime() - start) / 1e9);
        }
    }
}
