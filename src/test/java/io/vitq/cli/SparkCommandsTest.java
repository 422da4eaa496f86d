package io.vitq.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.vitq.cli.CliTest.MODEL;
import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static io.vitq.cli.QuantizeCommandTest.VAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code sweep --spark} and {@code eval --spark} on Spark's local master (in this JVM): the same table,
 * results and predictions as one process, shard by shard; the option errors. {@link SparkClusterTest}
 * runs them on a standalone cluster.
 */
class SparkCommandsTest {
    /** A tiny calibration and 6 images in batches of 2, so that --shard-images 2 makes three shards. */
    static final String[] SMALL = {"--calib-size", "2", "--candidates", "4", "--rounds", "1", "--limit", "6", "--batch", "2"};

    /** A second model: ViT-Ti's weights under DeiT-Ti's name (architecture and preprocessing from the name). */
    static Path secondModel(Path dir) throws Exception {
        Path m = dir.resolve("deit_tiny_patch16_224.copy.safetensors");
        Files.copy(Path.of(MODEL), m);
        return m;
    }

    static String[] sweep(Path models2, Path results, String... extra) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("sweep", "--models", MODEL + "," + models2,
                "--methods", "ptq4vit", "--bits", "w8a8,w6a6", "--data", VAL, "--results", results.toString()));
        a.addAll(java.util.List.of(SMALL));
        a.addAll(java.util.List.of(extra));
        return a.toArray(String[]::new);
    }

    /** Cells of {@link #sweep}: two models, each float and PTQ4ViT at two bit widths. */
    static final int CELLS = 6;

    private static Path oneProcessDir;
    private static String oneProcessTable;

    /**
     * {@link #sweep} run in one process, once per JVM (this class and {@link SparkClusterTest} compare with
     * it); its results file is {@code one.json} beside the second model.
     */
    static synchronized String oneProcessTable() throws Exception {
        if (oneProcessTable == null) {
            Path dir = Files.createTempDirectory("vitq-sweep-one-process");
            CliTest.Run one = run(sweep(secondModel(dir), dir.resolve("one.json")));
            assertEquals(0, one.exit(), one.err());
            oneProcessDir = dir;
            oneProcessTable = TableCommandsTest.table(one.out());
        }
        return oneProcessTable;
    }

    static Path oneProcessSecondModel() throws Exception {
        oneProcessTable();
        return oneProcessDir.resolve("deit_tiny_patch16_224.copy.safetensors");
    }

    static Path oneProcessResults() throws Exception {
        oneProcessTable();
        return oneProcessDir.resolve("one.json");
    }

    /** The results file's cells by key, without their calibration times (wall-clock, not results). */
    static java.util.Map<String, Object> cellsWithoutTimes(Path results) throws Exception {
        java.util.Map<String, java.util.Map<String, Object>> cells = new com.fasterxml.jackson.databind.ObjectMapper().readValue(
                results.toFile(), new com.fasterxml.jackson.core.type.TypeReference<>() {});
        java.util.Map<String, Object> out = new java.util.TreeMap<>();
        cells.forEach((k, v) -> {
            v.remove("calibSeconds");
            out.put(k, new java.util.TreeMap<>(v));
        });
        return out;
    }

    @Test
    void sweepOnLocalSparkEqualsOneProcess(@TempDir Path tmp) throws Exception {
        String table = oneProcessTable();
        Path second = oneProcessSecondModel(), results = tmp.resolve("spark.json");
        CliTest.Run spark = run(sweep(second, results, "--spark", "local[2]", "--shard-images", "2"));
        assertEquals(0, spark.exit(), spark.err());
        assertTrue(spark.err().contains(CELLS + " cells to measure on Spark, each evaluated in 3 shards"), spark.err());
        assertEquals(table, TableCommandsTest.table(spark.out()));
        assertTrue(spark.out().contains("| deit_tiny_patch16_224 |"), spark.out());
        assertEquals(cellsWithoutTimes(oneProcessResults()), cellsWithoutTimes(results));
        CliTest.Run again = run(sweep(second, results, "--spark", "local[2]"));
        assertEquals(0, again.exit(), again.err());
        assertTrue(!again.err().contains("on Spark,"), "a finished sweep starts no Spark job: " + again.err());
        assertEquals(table, TableCommandsTest.table(again.out()));
    }

    @Test
    void evalOnLocalSparkEqualsOneProcess(@TempDir Path tmp) throws Exception {
        Path plan = tmp.resolve("plan.json");
        CliTest.Run q = run("quantize", "--model", MODEL, "--method", "ptq4vit", "--calib-size", "2", "--candidates", "4",
                "--rounds", "1", "--plan", plan.toString());
        assertEquals(0, q.exit(), q.err());
        for (String[] mode : new String[][] {{"--compare-fp"}, {"--integer"}}) {
            String[] common = {"eval", "--model", MODEL, "--plan", plan.toString(), "--data", VAL, "--limit", "7", "--batch", "2"};
            CliTest.Run one = run(TableCommandsTest.concat(common, mode, "--json", tmp.resolve("one.json").toString(),
                    "--predictions", tmp.resolve("one.csv").toString()));
            assertEquals(0, one.exit(), one.err());
            CliTest.Run spark = run(TableCommandsTest.concat(common, mode, "--json", tmp.resolve("spark.json").toString(),
                    "--predictions", tmp.resolve("spark.csv").toString(), "--spark", "local[2]", "--shard-images", "3"));
            assertEquals(0, spark.exit(), spark.err());
            assertTrue(spark.err().contains("evaluating 7 images in 4 shards on Spark"), spark.err()); // 2+2+2+1 images
            assertEquals(Files.readString(tmp.resolve("one.csv")), Files.readString(tmp.resolve("spark.csv")), "predictions");
            assertEquals(withoutSpeed(Files.readString(tmp.resolve("one.json"))), withoutSpeed(Files.readString(tmp.resolve("spark.json"))));
            assertEquals(accuracyLines(one.out()), accuracyLines(spark.out()));
        }
    }

    private static String withoutSpeed(String json) {
        return json.replaceAll("\"(forward|end_to_end|wall)[a-z_]*\" : [0-9.eE+-]+,?\\n", "");
    }

    /** The report without its two throughput columns. */
    private static String accuracyLines(String out) {
        return out.replaceAll("\\| [0-9.]+ \\| [0-9.]+ \\|\\n", "|\n");
    }

    @Test
    void sparkOptionErrors(@TempDir Path tmp) throws Exception {
        String res = tmp.resolve("r.json").toString();
        assertUserError(run("sweep", "--models", MODEL, "--data", VAL, "--results", res, "--spark-conf", "spark.executor.memory=2g"),
                1, "--spark-conf", "add --spark");
        assertUserError(run("eval", "--model", MODEL, "--data", VAL, "--shard-images", "4"), 1, "--shard-images", "add --spark");
        assertUserError(run("sweep", "--models", MODEL, "--data", VAL, "--results", res, "--spark", "--spark-conf", "memory"),
                1, "--spark-conf memory", "KEY=VALUE");
        assertUserError(run("eval", "--model", MODEL, "--data", VAL, "--spark", "--shard-images", "0"), 1, "--shard-images");
        // a master Spark cannot parse: its SparkException, which Scala throws unchecked, named as the option's
        assertUserError(run("eval", "--model", MODEL, "--data", VAL, "--limit", "2", "--spark", "bogus://nowhere"), 1,
                "--spark bogus://nowhere: Spark did not start", "Master URL");
        assertUserError(run("sweep", "--models", MODEL, "--data", VAL, "--results", res, "--spark", "--gptq",
                "--methods", "ptq4vit"), 1, "--gptq", "--spark");
        assertUserError(run("sweep", "--models", MODEL, "--data", VAL, "--results", res, "--spark", "--methods", "vitq",
                "--bits", "w6a6,w4a4"), 1, "--spark: method vitq at W4A4 rounds the weights with GPTQ", "--no-gptq");
        assertTrue(!Files.exists(Path.of(res)), "nothing written");
    }
}
