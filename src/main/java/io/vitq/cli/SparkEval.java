package io.vitq.cli;

import io.vitq.eval.EvalResult;
import io.vitq.eval.EvalShards;
import io.vitq.eval.Pipeline;
import io.vitq.model.Model;

import java.util.List;

/** {@code eval --spark}: the image list split into shards, each a Spark task, merged exactly. */
final class SparkEval {
    private SparkEval() {}

    /** One shard, computed on a worker by the same command rebuilt from its arguments. */
    record ShardTask(String[] args, EvalShards.Range shard) implements ClusterTask<EvalResult> {
        @Override
        public EvalResult run() {
            return ((EvalCommand) WorkerArgs.parse(args)).shard(shard);
        }
    }

    static EvalResult run(EvalCommand cmd, String[] workerArgs, Model model) {
        int images = Pipeline.checkLabels(cmd.data, Pipeline.dataset(cmd.data, cmd.limit), model.numClasses()).size();
        List<EvalShards.Range> ranges = EvalShards.ranges(images, cmd.batch, cmd.spark.shardImages());
        long start = System.nanoTime();
        try (SparkEngine engine = SparkEngine.start(cmd.spark, "vitq eval " + model.name())) {
            System.err.printf("vitq: evaluating %d images in %d shard%s on Spark%n", images, ranges.size(), ranges.size() == 1 ? "" : "s");
            List<EvalResult> parts;
            try (ProgressBar bar = new ProgressBar("eval " + model.name() + " (images of finished shards)", images)) {
                java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
                int per = ranges.get(0).size();
                parts = engine.run("eval " + model.name() + ": " + ranges.size() + " shards",
                        ranges.stream().map(r -> new ShardTask(workerArgs, r)).toList(),
                        n -> bar.update(Math.min(images, done.addAndGet(n) * per)));
            }
            return EvalShards.merge(parts, cmd.data.toString(), (System.nanoTime() - start) / 1e9);
        }
    }
}
