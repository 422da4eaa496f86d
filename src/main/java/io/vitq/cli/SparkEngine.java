package io.vitq.cli;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

/**
 * Apache Spark as the engine of {@code sweep --spark} and {@code eval --spark}: the one class that
 * uses Spark's API, loaded only when {@code --spark} is given (Spark's jars are then on the class
 * path: {@code ./vitq} adds {@code target/spark/jars}). Each {@link ClusterTask} is one Spark task of
 * its own partition, so Spark schedules, retries a failed task and replaces a lost executor; results
 * come back to this process, which alone writes files.
 */
final class SparkEngine implements AutoCloseable {
    private final JavaSparkContext sc;
    /** Progress of the running jobs that asked for it, by the job group their thread set. */
    private final Map<String, IntConsumer> progressByGroup = new ConcurrentHashMap<>();
    /** The same, by stage, filled as Spark starts each job's stages. */
    private final Map<Integer, IntConsumer> progressByStage = new ConcurrentHashMap<>();

    private SparkEngine(JavaSparkContext sc) {
        this.sc = sc;
        sc.sc().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
            @Override
            public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart job) {
                String group = job.properties() == null ? null : job.properties().getProperty("spark.jobGroup.id");
                IntConsumer p = group == null ? null : progressByGroup.get(group);
                if (p == null) return;
                for (Object stage : scala.jdk.javaapi.CollectionConverters.asJava(job.stageIds())) progressByStage.put((Integer) stage, p);
            }

            @Override
            public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd task) {
                IntConsumer p = progressByStage.get(task.stageId());
                if (p != null && task.taskInfo().successful()) p.accept(1);
            }
        });
    }

    /** Starts a Spark application named {@code app} on the master of {@code o}. */
    static SparkEngine start(SparkOptions o, String app) {
        try {
            Class.forName("org.apache.spark.SparkContext", false, SparkEngine.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new Main.UserException("--spark: Apache Spark is not on the class path; run through ./vitq, which adds "
                    + "target/spark/jars when --spark is given (README, 'Sweeps and evaluations on Apache Spark')");
        }
        if (System.getProperty("log4j2.configurationFile") == null) {
            java.net.URL quiet = SparkEngine.class.getResource("spark-log4j2.properties");
            if (quiet != null) System.setProperty("log4j2.configurationFile", quiet.toString());
        }
        SparkConf conf = new SparkConf().setAppName(app).setMaster(o.master)
                .set("spark.task.maxFailures", "4")
                .set("spark.executor.extraJavaOptions", executorJavaOptions());
        if (o.master.startsWith("local")) {
            // one machine: no web UI, the driver on loopback
            conf.set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        }
        String models = System.getenv("VITQ_MODELS");
        if (models != null) conf.setExecutorEnv("VITQ_MODELS", models);
        Path code = codeLocation();
        if (code != null && Files.isRegularFile(code)) {
            conf.setJars(new String[] {code.toString()}); // vitq.jar, served to the executors by this driver
        } else {
            // classes in a build folder (tests, development): executors read the same class path; it must be shared
            conf.set("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
        for (String kv : o.conf) {
            int eq = kv.indexOf('=');
            String key = kv.substring(0, eq), value = kv.substring(eq + 1);
            // the user's executor options come after vitq's, which the executors cannot run without
            if (key.equals("spark.executor.extraJavaOptions")) value = executorJavaOptions() + " " + value;
            conf.set(key, value);
        }
        try {
            JavaSparkContext sc = new JavaSparkContext(conf);
            System.err.println("vitq: Spark " + sc.version() + " on " + sc.master() + " (application " + sc.sc().applicationId() + ")");
            return new SparkEngine(sc);
        } catch (Exception e) {   // a SparkException too, which Scala throws unchecked
            throw new Main.UserException("--spark " + o.master + ": Spark did not start (" + e.getMessage() + ")");
        }
    }

    /** JVM options of the executors: vitq's own (the Vector API, the home its embedded data are under). */
    private static String executorJavaOptions() {
        StringBuilder s = new StringBuilder("--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m");
        String home = System.getProperty("vitq.home");
        if (home != null) s.append(" -Dvitq.home=").append(Path.of(home).toAbsolutePath().normalize());
        return s.toString();
    }

    private static Path codeLocation() {
        try {
            java.security.CodeSource src = SparkEngine.class.getProtectionDomain().getCodeSource();
            return src == null ? null : Path.of(src.getLocation().toURI());
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Runs every task as its own Spark task and returns their results in the order of {@code tasks}.
     * Safe to call from several threads at once: their jobs share the cluster.
     */
    <T extends Serializable> List<T> run(String description, List<? extends ClusterTask<T>> tasks) {
        return run(description, tasks, null);
    }

    /** @param progress called with 1 as each task succeeds (on Spark's listener thread), or null */
    <T extends Serializable> List<T> run(String description, List<? extends ClusterTask<T>> tasks,
                                         IntConsumer progress) {
        String group = "vitq-" + java.util.UUID.randomUUID();
        sc.setJobGroup(group, description, false);
        if (progress != null) progressByGroup.put(group, progress);
        List<ClusterTask<T>> list = List.copyOf(tasks);
        try {
            return sc.parallelize(list, list.size()).map(ClusterTask::run).collect();
        } catch (Exception e) { // Scala's SparkException is thrown without being declared
            if (e instanceof org.apache.spark.SparkException se) throw taskFailure(se);
            if (sc.sc().isStopped())
                throw new Main.UserException("--spark " + sc.master() + ": the Spark application was stopped before its tasks ran "
                        + "(a master that does not answer, or a cluster that killed it: Spark's messages above say which)");
            if (e instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e);
        } finally {
            progressByGroup.remove(group);
            if (progress != null) progressByStage.values().removeIf(p -> p == progress);
            sc.clearJobGroup();
        }
    }

    /**
     * A task that failed every attempt: the user's mistake it reports (a missing image, say) as that
     * mistake, anything else as one line naming Spark.
     */
    private static RuntimeException taskFailure(org.apache.spark.SparkException e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof java.io.UncheckedIOException u) t = u.getCause();
            if (Main.isUserError(t)) return new Main.UserException(Main.userMessage(t));
        }
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return new Main.UserException("--spark: a task failed on every attempt: " + (nl > 0 ? m.substring(0, nl) : m));
    }

    @Override
    public void close() {
        sc.close();
    }
}
