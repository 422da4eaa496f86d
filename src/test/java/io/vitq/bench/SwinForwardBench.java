package io.vitq.bench;

import io.vitq.model.AttentionOp;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.data.Preprocessing;
import io.vitq.model.Linear;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.model.SwinCheckpoint;
import io.vitq.model.SwinConfig;
import io.vitq.model.SwinTransformer;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Float forward of a Swin-T-shaped model (embed 96, depths 2-2-6-2, heads 3-6-12-24, window 7,
 * 224) with random weights on a batch of 32 images, on the whole thread pool.
 * images/s = 32 / (s/op); GFLOP/s = 32 x {@link SwinConfig#flopsPerImage()} (8.98 GFLOP, i.e.
 * timm's 4.49 GMACs x 2) / (s/op).
 *
 * <pre>
 * JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -Pbench test-compile exec:exec -Djmh.args="SwinForwardBench -f 1 -wi 2 -i 3"
 * </pre>
 * {@link #main} (run from the test classpath) prints images/s and a per-op time breakdown instead, of
 * float execution or, with the argument {@code integer}, of vitq's integer executor on a PTQ4ViT W8A8 plan:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp target/classes:target/test-classes:$(cat cp.txt) io.vitq.bench.SwinForwardBench 6 integer
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 10)
@Measurement(iterations = 3, time = 10)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g", "-Xss4m", "-XX:+UseParallelGC"})
public class SwinForwardBench {
    static final int BATCH = 32;
    static final SwinConfig SWIN_T = SwinConfig.of(224, 7, 96, new int[]{2, 2, 6, 2}, new int[]{3, 6, 12, 24});

    SwinTransformer model;
    Tensor images;

    @Setup
    public void setup() {
        model = SwinTransformer.load("swin_tiny_random", SWIN_T, Preprocessing.timm(224, false),
                SwinCheckpoint.random(SWIN_T, 1, false));
        SplittableRandom r = new SplittableRandom(2);
        float[] x = new float[BATCH * 3 * 224 * 224];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        images = new Tensor(x, BATCH, 3, 224, 224);
    }

    @Benchmark
    public Tensor forward() {
        return model.forward(images, FloatExecutor.INSTANCE);
    }

    /** An executor (float or integer) that adds up the wall time of each kind of op (single caller thread). */
    static final class TimingExecutor implements Executor {
        final TreeMap<String, Long> nanos = new TreeMap<>();
        final Executor of;

        TimingExecutor(Executor of) { this.of = of; }

        void add(String k, long t0) { nanos.merge(k, System.nanoTime() - t0, Long::sum); }

        static String kind(String id) {
            int i = id.lastIndexOf('.');
            return id.startsWith("layers.") ? "layers." + id.charAt(7) + " " + id.substring(i + 1) : id;
        }

        @Override
        public void linear(Linear op, float[] x, int m, float[] y, Activation act, boolean accumulate) {
            long t0 = System.nanoTime();
            of.linear(op, x, m, y, act, accumulate);
            add(kind(op.id()), t0);
        }

        @Override
        public void attention(AttentionOp op, float[] qkv, int groups, float[] out) {
            long t0 = System.nanoTime();
            of.attention(op, qkv, groups, out);
            add(kind(op.prefix() + ".attention"), t0);
        }
    }

    /**
     * Arguments: repetitions (default 5), then {@code integer} to run vitq's integer executor on a
     * PTQ4ViT W8A8 plan (power-of-two GELU, the search shortened as {@code vitq bench} shortens it:
     * scale values do not change the speed) instead of float.
     */
    public static void main(String[] args) {
        SwinForwardBench b = new SwinForwardBench();
        b.setup();
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        Executor ex = FloatExecutor.INSTANCE;
        if (args.length > 1 && args[1].equals("integer")) {
            ex = new IntegerExecutor(ForwardLoop.speedPlan(b.model, b.images, "random"), b.model);
        }
        double gflop = BATCH * SWIN_T.flopsPerImage() / 1e9;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            b.model.forward(b.images, ex);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "forward %.3f s: %.1f images/s, %.1f GFLOP/s%n", s, BATCH / s, gflop / s);
        }
        TimingExecutor te = new TimingExecutor(ex);
        long t0 = System.nanoTime();
        b.model.forward(b.images, te);
        double total = (System.nanoTime() - t0) / 1e9, ops = 0;
        for (var e : te.nanos.entrySet()) {
            ops += e.getValue() / 1e9;
            System.out.printf(Locale.ROOT, "  %-26s %7.3f s%n", e.getKey(), e.getValue() / 1e9);
        }
        System.out.printf(Locale.ROOT, "  %-26s %7.3f s (norms, gathers, scatters, merging, pooling)%n", "rest", total - ops);
    }
}
