package io.vitq.bench;

import io.vitq.data.Preprocessing;
import io.vitq.model.Executor;
import io.vitq.model.FloatExecutor;
import io.vitq.model.RandomWeights;
import io.vitq.model.ViTConfig;
import io.vitq.model.VisionTransformer;
import io.vitq.quant.FakeQuantExecutor;
import io.vitq.quant.QuantPlan;
import io.vitq.runtime.Int8Gemm;
import io.vitq.runtime.IntegerExecutor;
import io.vitq.runtime.PackedInt8;
import io.vitq.tensor.Activation;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import io.vitq.tensor.Tensor;
import io.vitq.testutil.MinMaxPlans;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The exact integer GEMM of {@code io.vitq.runtime} on the ViT-S shapes (batch 8 x 197 tokens)
 * against the float GEMM on the same shapes, and a whole ViT forward in float, fake-quant and
 * integer execution. JMH reports time per call: GOPS = 2*M*K*N / time (printed at setup).
 *
 * <pre>
 * JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -Pbench test-compile exec:exec -Djmh.args="IntGemmBench"
 * </pre>
 * {@code IntGemmBench.int8} (int8 x int8, the default kernel), {@code .int8Pairs} (int8 x int8, 16-bit
 * pairs), {@code .int32xInt8} (int32 A, the
 * kernel of the twin shift form), {@code .float32} (the float GEMM, same shape) run on one pool
 * thread, {@code IntGemmBench.TwoThreads.*} on two. {@code IntGemmBench.Forward} runs a ViT-Ti forward
 * (random weights, batch 32, a PTQ4ViT-like min-max plan with the power-of-two GELU option) on the
 * default pool (all cores): images/s = batch / (seconds per op).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g", "-Dvitq.threads=1"})
public class IntGemmBench {
    /** M x K x N: qkv, fc1, fc2 of ViT-S at batch 8. */
    @Param({"1576x384x1152", "1576x384x1536", "1576x1536x384"})
    public String shape;

    byte[] a;
    int[] ai, c;
    float[] af, cf;
    PackedInt8 b;
    PackedB bf;
    int m, k, n;

    @Setup
    public void setup() {
        String[] s = shape.split("x");
        m = Integer.parseInt(s[0]);
        k = Integer.parseInt(s[1]);
        n = Integer.parseInt(s[2]);
        SplittableRandom r = new SplittableRandom(1);
        a = new byte[m * k];
        ai = new int[m * k];
        af = new float[m * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = (byte) (r.nextInt(256) - 128);
            ai[i] = a[i];
            af[i] = a[i];
        }
        byte[] w = new byte[n * k];
        float[] wf = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (byte) (r.nextInt(256) - 128);
            wf[i] = w[i];
        }
        b = PackedInt8.packTransposed(w, 0, k, n, k);
        bf = PackedB.packTransposed(wf, 0, k, n, k);
        c = new int[m * n];
        cf = new float[m * n];
        int expected = Integer.getInteger("vitq.threads", Runtime.getRuntime().availableProcessors());
        if (Parallel.threads() != expected) throw new IllegalStateException("pool has " + Parallel.threads() + " threads");
        System.out.printf("%n%s: %.4f GOP per call (GOPS = that / seconds per op)%n", shape, 2.0 * m * k * n / 1e9);
    }

    /** int8 x int8 into exact int32 (the default kernel: native VNNI when available, else the Java int32 kernel). */
    @Benchmark
    public int[] int8() {
        Int8Gemm.multiply(a, 0, k, m, b, c, 0, n, true);
        return c;
    }

    /** The Java int32-lane kernel (the default where the native one is unavailable). */
    @Benchmark
    public int[] int8Java() {
        Int8Gemm.multiply(a, 0, k, m, b, c, 0, n, Int8Gemm.Int8Kernel.INT32, true);
        return c;
    }

    /** The native AVX-512 VNNI kernel (fails where it is unavailable: see 'vitq info'). */
    @Benchmark
    public int[] int8Native() {
        Int8Gemm.multiply(a, 0, k, m, b, c, 0, n, Int8Gemm.Int8Kernel.NATIVE_VNNI, true);
        return c;
    }

    /** The same with ENGINE_NOTES' "I4" kernel: 16-bit products, two k steps summed in 16 bits. */
    @Benchmark
    public int[] int8Pairs() {
        Int8Gemm.multiply(a, 0, k, m, b, c, 0, n, Int8Gemm.Int8Kernel.INT16_PAIRS, true);
        return c;
    }

    /** int32 A (codes aligned by shifts) x int8 B into exact int32. */
    @Benchmark
    public int[] int32xInt8() {
        Int8Gemm.multiply(ai, 0, k, m, 128, b, c, 0, n, true);
        return c;
    }

    /** The float GEMM on the same shape (the reference). */
    @Benchmark
    public float[] float32() {
        Gemm.gemm(af, 0, k, m, bf, cf, 0, n, null, Activation.NONE, false, true);
        return cf;
    }

    /**
     * The VNNI peak: 10^7 rounds of 24 independent register-only vpdpbusd (the native 6 x 64 tile
     * without its loads), 30.72 GOP per call; GOPS = 30.72 / seconds per op. {@code TwoThreads}: one
     * probe on each of two threads at once.
     */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 3, time = 1)
    @Measurement(iterations = 8, time = 1)
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
    public static class VnniPeak {
        static final long ROUNDS = 10_000_000L;

        @Benchmark
        public long oneThread() { return Int8Gemm.nativePeakProbe(ROUNDS); }

        @Benchmark
        @org.openjdk.jmh.annotations.Threads(2)
        public long twoThreads() { return Int8Gemm.nativePeakProbe(ROUNDS); }
    }

    /** Same shapes with two pool threads. */
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g", "-Dvitq.threads=2"})
    public static class TwoThreads extends IntGemmBench {}

    /**
     * A whole ViT forward (random weights, batch 32) in float, fake-quant and integer execution
     * ({@code integer-split}: the twin operands as two int8 accumulations instead of the shift
     * form), on the default pool (all cores).
     */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 3, time = 5)
    @Measurement(iterations = 5, time = 5)
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx8g", "-XX:+UseParallelGC"})
    public static class Forward {
        @Param({"vit_tiny_patch16_224"})
        String model;

        @Param({"float", "fakequant", "integer", "integer-split"})
        String mode;

        @Param({"32"})
        int batch;

        VisionTransformer vit;
        Tensor images;
        Executor ex;

        @Setup
        public void setup() {
            ViTConfig cfg = switch (model) {
                case "vit_small_patch16_224" -> ViTConfig.of(224, 16, 384, 12, 6);
                case "vit_tiny_patch16_224" -> ViTConfig.of(224, 16, 192, 12, 3);
                default -> throw new IllegalArgumentException(model);
            };
            vit = VisionTransformer.load(model, cfg, Preprocessing.timm(224, true), RandomWeights.vit(cfg, 1));
            images = Tensor.zeros(batch, 3, 224, 224);
            SplittableRandom r = new SplittableRandom(2);
            float[] d = images.data();
            for (int i = 0; i < d.length; i++) d[i] = (float) r.nextDouble(-1, 1);
            Tensor calib = new Tensor(java.util.Arrays.copyOf(d, 4 * 3 * 224 * 224), 4, 3, 224, 224);
            QuantPlan plan = MinMaxPlans.plan(vit, MinMaxPlans.maxima(vit, calib), MinMaxPlans.Spec.ptq4vit(true));
            ex = switch (mode) {
                case "float" -> FloatExecutor.INSTANCE;
                case "fakequant" -> new FakeQuantExecutor(plan, vit);
                case "integer" -> new IntegerExecutor(plan, vit);
                case "integer-split" -> new IntegerExecutor(plan, vit,
                        new IntegerExecutor.Options(IntegerExecutor.TwinForm.SPLIT, false));
                default -> throw new IllegalArgumentException(mode);
            };
            long floatBytes = 0;
            for (var l : vit.linears()) floatBytes += 4L * l.in() * l.out();
            System.out.printf("%n%s %s: %.3f GFLOPs per image; Linear weights float %.1f MB", model, mode,
                    cfg.flopsPerImage() / 1e9, floatBytes / 1e6);
            if (ex instanceof IntegerExecutor ie) {
                TreeMap<String, Integer> forms = new TreeMap<>();
                ie.forms().forEach((id, f) -> forms.merge(id.replaceAll("\\.\\d+\\.", ".*.") + "=" + f, 1, Integer::sum));
                System.out.printf(", integer executor %.1f MB; forms %s", ie.weightBytes() / 1e6, forms);
            }
            System.out.println();
        }

        @Benchmark
        public Tensor forward() {
            return vit.forward(images, ex);
        }
    }
}
