package io.vitq.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static io.vitq.cli.CliTest.MODEL;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A command's arguments as a Spark worker re-parses them: every path absolute, everything else as given. */
class WorkerArgsTest {
    private static String abs(String p) { return Path.of(p).toAbsolutePath().normalize().toString(); }

    @Test
    void pathsBecomeAbsoluteAndTheRestStaysAsGiven() {
        String model = Path.of("").toAbsolutePath().relativize(Path.of(MODEL).toAbsolutePath()).toString(); // relative
        picocli.CommandLine cl = new picocli.CommandLine(new Main());
        String[] args = {"sweep", "--models", "vit_tiny_patch16_224," + model, "--methods", "ptq4vit", "--data=demo/val/dataset.txt",
                "--calib", "demo/calib/calib32.txt", "--calib-size", "4", "--per-channel-weights", "--results", "out/r.json",
                "--spark", "local[2]", "--gelu-codebook"};
        picocli.CommandLine.ParseResult pr = cl.parseArgs(args);
        String[] worker = WorkerArgs.of(pr.subcommand().commandSpec());
        assertEquals(List.of("sweep", "--models", "vit_tiny_patch16_224," + abs(model), "--methods", "ptq4vit",
                "--data=" + abs("demo/val/dataset.txt"), "--calib", abs("demo/calib/calib32.txt"), "--calib-size", "4",
                "--per-channel-weights", "--results", abs("out/r.json"), "--spark", "local[2]", "--gelu-codebook"), List.of(worker));
        SweepCommand rebuilt = (SweepCommand) WorkerArgs.parse(worker);
        assertEquals(Path.of(abs("demo/val/dataset.txt")), rebuilt.table.data);
        assertEquals(List.of("vit_tiny_patch16_224", abs(model)), rebuilt.models);
        assertEquals(4, rebuilt.calibOptions.calibSize);
    }

    @Test
    void evalArgumentsToo() {
        assertEquals(List.of("eval", "-d", abs("demo/val/dataset.txt"), "--plan", abs("p.json"), "--limit", "9", "--compare-fp"),
                worker("eval", "-d", "demo/val/dataset.txt", "--plan", "p.json", "--limit", "9", "--compare-fp"));
        assertEquals(List.of("eval", "-b4", "-d" + abs("demo/val")), worker("eval", "-b4", "-ddemo/val")); // values attached
    }

    @Test
    void aWorkerRefusesACheckpointOtherThanTheDrivers() {
        io.vitq.io.ModelLoader.Loaded l = io.vitq.io.ModelLoader.load(MODEL, null);
        assertEquals(l, CheckpointIdentity.check(l, l.identity(), "--models m"));
        Main.UserException e = org.junit.jupiter.api.Assertions.assertThrows(Main.UserException.class,
                () -> CheckpointIdentity.check(l, "0".repeat(64), "--models m"));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith("--models m: a Spark worker loaded"), e.getMessage());
    }

    @Test
    void argumentFilesAreExpandedHere(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("args.txt");
        java.nio.file.Files.writeString(file, "--data demo/val/dataset.txt\n--limit 9\n");
        assertEquals(List.of("eval", "--data", abs("demo/val/dataset.txt"), "--limit", "9", "--compare-fp"),
                worker("eval", "@" + file, "--compare-fp"));
    }

    private static List<String> worker(String... args) {
        picocli.CommandLine.ParseResult pr = new picocli.CommandLine(new Main()).parseArgs(args);
        return List.of(WorkerArgs.of(pr.subcommand().commandSpec()));
    }
}
