package io.vitq.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.vitq.cli.CliTest.MODEL;
import static io.vitq.cli.CliTest.run;
import static io.vitq.cli.QuantizeCommandTest.VAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code sweep --spark} and {@code eval --spark} through a real Spark standalone master and two workers
 * on localhost (processes from the build's Spark jars): the same table as one process, and a worker
 * killed in the middle of a sweep loses no finished cell.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SparkClusterTest {
    @TempDir static Path tmp;
    static StandaloneSparkCluster cluster;
    static Path second;
    /** The table of one process, the reference for every cluster run. */
    static String oneProcessTable;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = StandaloneSparkCluster.start(Files.createDirectories(tmp.resolve("cluster")), 2, "2g");
        oneProcessTable = SparkCommandsTest.oneProcessTable();
        second = SparkCommandsTest.oneProcessSecondModel();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) cluster.close();
    }

    /** Spark settings of these runs: the driver on loopback, executors small enough for two 2 GB workers. */
    static String[] onCluster(String... more) {
        return TableCommandsTest.concat(new String[] {"--spark", cluster.url, "--spark-conf", "spark.driver.host=127.0.0.1",
                "--spark-conf", "spark.executor.memory=1500m"}, more);
    }

    @Test
    @Order(1)
    void twoModelSweepOnTheClusterEqualsOneProcess() throws Exception {
        Path results = tmp.resolve("cluster.json");
        CliTest.Run r = run(TableCommandsTest.concat(SparkCommandsTest.sweep(second, results), onCluster("--shard-images", "2")));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("on " + cluster.url), r.err());
        assertEquals(oneProcessTable, TableCommandsTest.table(r.out()));
        assertEquals(SparkCommandsTest.cellsWithoutTimes(SparkCommandsTest.oneProcessResults()), SparkCommandsTest.cellsWithoutTimes(results));
    }

    @Test
    @Order(2)
    void shardedEvaluationOnTheClusterEqualsOneProcess() throws Exception {
        // a relative --data: the executors run in their own folders and must get it made absolute
        String relative = Path.of("").toAbsolutePath().relativize(Path.of(VAL).toAbsolutePath()).toString();
        String[] eval = {"eval", "--model", second.toString(), "--data", relative, "--limit", "9", "--batch", "2"};
        CliTest.Run one = run(TableCommandsTest.concat(eval, new String[0], "--predictions", tmp.resolve("one.csv").toString()));
        assertEquals(0, one.exit(), one.err());
        CliTest.Run r = run(TableCommandsTest.concat(eval, onCluster("--shard-images", "4"),
                "--predictions", tmp.resolve("cluster.csv").toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("evaluating 9 images in 3 shards on Spark"), r.err());
        assertEquals(Files.readString(tmp.resolve("one.csv")), Files.readString(tmp.resolve("cluster.csv")));
        assertEquals(firstColumns(one.out()), firstColumns(r.out()));
    }

    /** The report's accuracy columns (model, data, images, top-1, top-5), not its speed. */
    private static String firstColumns(String out) {
        return out.lines().filter(l -> l.startsWith("| deit")).map(l -> String.join("|", java.util.Arrays.asList(l.split("\\|")).subList(0, 6)))
                .reduce("", String::concat);
    }

    @Test
    @Order(3)
    void aWorkerKilledMidSweepLosesNoFinishedCell() throws Exception {
        Path results = tmp.resolve("killed.json");
        CompletableFuture<CliTest.Run> sweep = CompletableFuture.supplyAsync(
                () -> run(TableCommandsTest.concat(SparkCommandsTest.sweep(second, results), onCluster("--shard-images", "2"))));
        // wait for the first quantized cell, then take a worker away
        long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (!Files.exists(results) || !Files.readString(results).contains("\"setting\" : \"ptq4vit\"")) {
            assertTrue(System.nanoTime() < end && !sweep.isDone(), "no quantized cell recorded: " + (sweep.isDone() ? sweep.get().err() : ""));
            Thread.sleep(100);
        }
        int before = CellStore.open(results).size();
        cluster.killWorker(0);
        assertTrue(before < SparkCommandsTest.CELLS, "the worker died before the sweep ended (cells recorded: " + before + ")");
        CliTest.Run r = sweep.get(10, TimeUnit.MINUTES);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("Lost executor"), "Spark saw the executor go: " + r.err());
        assertEquals(SparkCommandsTest.CELLS, CellStore.open(results).size());
        assertEquals(oneProcessTable, TableCommandsTest.table(r.out()));
        assertEquals(SparkCommandsTest.cellsWithoutTimes(SparkCommandsTest.oneProcessResults()), SparkCommandsTest.cellsWithoutTimes(results));
    }
}
