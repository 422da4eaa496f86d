package io.vitq.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Spark standalone cluster on localhost for tests: a master and workers started as processes
 * from the build's Spark jars ({@code target/spark/jars}, which also serves as their SPARK_HOME), each
 * worker with one core; nothing is downloaded.
 */
final class StandaloneSparkCluster implements AutoCloseable {
    static final Path SPARK_HOME = Path.of("target", "spark").toAbsolutePath();

    private final Path dir;
    private final Process master;
    private final List<Process> workers = new ArrayList<>();
    final String url;

    private StandaloneSparkCluster(Path dir, Process master, String url) {
        this.dir = dir;
        this.master = master;
        this.url = url;
    }

    /** Starts a master and {@code workers} workers and waits until every worker has registered. */
    static StandaloneSparkCluster start(Path dir, int workers, String workerMemory) throws Exception {
        if (!Files.isDirectory(SPARK_HOME.resolve("jars")))
            throw new IllegalStateException(SPARK_HOME.resolve("jars") + " is missing: Maven's process-test-classes phase copies Spark there");
        Path masterLog = dir.resolve("master.log");
        Process master = process(dir, masterLog, "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", "0", "--webui-port", "0");
        String url = waitFor(masterLog, Pattern.compile("Starting Spark master at (spark://[0-9.]+:[0-9]+)"), master, 60).group(1);
        StandaloneSparkCluster c = new StandaloneSparkCluster(dir, master, url);
        try {
            for (int i = 0; i < workers; i++) c.startWorker(workerMemory);
        } catch (Exception e) {
            c.close();
            throw e;
        }
        return c;
    }

    private void startWorker(String memory) throws Exception {
        int i = workers.size() + 1;
        Path work = Files.createDirectories(dir.resolve("worker" + i));
        Path log = dir.resolve("worker" + i + ".log");
        Process w = process(dir, log, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                "--memory", memory, "--webui-port", "0", "--work-dir", work.toString(), url);
        workers.add(w);
        waitFor(log, Pattern.compile("Successfully registered with master"), w, 60);
    }

    /** Kills worker {@code i} (0-based) and the executor it started, as a machine failing would. */
    void killWorker(int i) throws InterruptedException {
        Process w = workers.get(i);
        List<ProcessHandle> children = w.descendants().toList();
        w.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        w.waitFor(30, TimeUnit.SECONDS);
    }

    private static Process process(Path dir, Path log, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // Spark's module flags, as this test JVM got them from the build (spark.jvm.args)
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (a.startsWith("--add-opens") || a.startsWith("-Dio.netty") || a.startsWith("--sun-misc")) cmd.add(a);
        cmd.addAll(List.of("-Xmx512m", "-cp", SPARK_HOME.resolve("jars") + "/*", mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", SPARK_HOME.toString());
        env.put("SPARK_SCALA_VERSION", "2.13"); // Spark's launcher reads it when SPARK_HOME is not a release folder
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("JAVA_HOME", System.getProperty("java.home")); // the executors' JVM
        return pb.start();
    }

    private static Matcher waitFor(Path log, Pattern p, Process proc, int seconds) throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            if (Files.exists(log)) {
                Matcher m = p.matcher(Files.readString(log));
                if (m.find()) return m;
            }
            if (!proc.isAlive()) break;
            Thread.sleep(200);
        }
        throw new IllegalStateException("no '" + p + "' in " + log + " within " + seconds + " s:\n"
                + (Files.exists(log) ? Files.readString(log) : "(no log)"));
    }

    @Override
    public void close() {
        for (Process w : workers) {
            w.descendants().forEach(ProcessHandle::destroyForcibly);
            w.destroyForcibly();
        }
        master.destroyForcibly();
    }
}
