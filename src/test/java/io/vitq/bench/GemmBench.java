package io.vitq.bench;

import io.vitq.tensor.Activation;
import io.vitq.tensor.Gemm;
import io.vitq.tensor.PackedB;
import io.vitq.tensor.Parallel;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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

/**
 * SGEMM throughput on the ViT-S / DeiT-S shapes (batch 8 x 197 tokens) and the per-head attention
 * GEMMs. JMH reports time per call; GFLOP/s = 2*M*N*K / time (2*T*T*d for one attention GEMM).
 * Results and the measured peak: docs/BENCHMARKS.md, section "GEMM".
 *
 * <pre>
 * JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -Pbench test-compile exec:exec \
 *     -Djmh.args="GemmBench -p head=197x64,49x32"
 * </pre>
 * Fused GELU (fc1): {@code -Djmh.args="GemmBench.linear -p shape=1576x384x1536 -p act=NONE,GELU"}.
 * {@code GemmBench.linear} runs with one pool thread ({@code -Dvitq.threads=1}), {@code GemmBench.TwoThreads.linear}
 * with two; {@code GemmBench.Attention} times one head (Q.K^T with K packed transposed from the qkv buffer,
 * and P.V with V packed) on the calling thread, as the attention kernel runs it inside a worker.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g", "-Dvitq.threads=1"})
public class GemmBench {
    /** M x K x N: qkv, fc1, fc2, proj of ViT-S at batch 8. */
    @Param({"1576x384x1152", "1576x384x1536", "1576x1536x384", "1576x384x384"})
    public String shape;

    /** Fused activation (NONE, or GELU as in mlp.fc1). */
    @Param({"NONE"})
    public String act;

    float[] a, c, bias;
    PackedB b;
    int m, k, n;
    Activation activation;

    @Setup
    public void setup() {
        String[] s = shape.split("x");
        m = Integer.parseInt(s[0]);
        k = Integer.parseInt(s[1]);
        n = Integer.parseInt(s[2]);
        activation = Activation.valueOf(act);
        SplittableRandom r = new SplittableRandom(1);
        a = random(r, m * k);
        float[] w = random(r, n * k);
        bias = random(r, n);
        c = new float[m * n];
        b = PackedB.packTransposed(w, 0, k, n, k);
        int expected = Integer.getInteger("vitq.threads", Runtime.getRuntime().availableProcessors());
        if (Parallel.threads() != expected) throw new IllegalStateException("pool has " + Parallel.threads() + " threads");
    }

    static float[] random(SplittableRandom r, int len) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
        return x;
    }

    /** C = act(A.B + bias), rows split over the pool. */
    @Benchmark
    public float[] linear() {
        Gemm.gemm(a, 0, k, m, b, c, 0, n, bias, activation, false, true);
        return c;
    }

    /** Same shapes with two pool threads. */
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g", "-Dvitq.threads=2"})
    public static class TwoThreads extends GemmBench {}

    /**
     * One attention head (T tokens, head dim d, 6 heads in a [T, 3*6d] qkv buffer as in timm), single
     * thread. GFLOP/s = 2*T*T*d / time for each of the two GEMMs.
     */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Warmup(iterations = 5, time = 1)
    @Measurement(iterations = 8, time = 1)
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g", "-Dvitq.threads=1"})
    public static class Attention {
        /** Tokens x head dim: ViT-S/DeiT-S (197 x 64, 6 heads); Swin window (49 x 32). */
        @Param({"197x64"})
        public String head;

        int T, D, DIM, LD;
        float[] qkv, s, out;
        final PackedB kT = PackedB.buffer(), v = PackedB.buffer();
        int h0;

        @Setup
        public void setup() {
            String[] hs = head.split("x");
            T = Integer.parseInt(hs[0]);
            D = Integer.parseInt(hs[1]);
            DIM = 6 * D;
            LD = 3 * DIM;
            SplittableRandom r = new SplittableRandom(2);
            qkv = random(r, T * LD);
            s = random(r, T * T);
            out = new float[T * DIM];
            kT.repackTransposed(qkv, DIM, LD, T, D);
            v.repack(qkv, 2 * DIM, LD, T, D);
        }

        /** S = Q.K^T for one head (T x d . d x T), including the transposed packing of K. */
        @Benchmark
        public float[] qkT() {
            int h = h0 = (h0 + 1) % 6;
            kT.repackTransposed(qkv, DIM + h * D, LD, T, D);
            Gemm.gemm(qkv, h * D, LD, T, kT, s, 0, T, null, Activation.NONE, false, false);
            return s;
        }

        /** Q.K^T with K already packed (kernel only). */
        @Benchmark
        public float[] qkTPrepacked() {
            Gemm.gemm(qkv, 0, LD, T, kT, s, 0, T, null, Activation.NONE, false, false);
            return s;
        }

        /** out_h = P.V for one head (T x T . T x d), including the packing of V. */
        @Benchmark
        public float[] pv() {
            int h = h0 = (h0 + 1) % 6;
            v.repack(qkv, 2 * DIM + h * D, LD, T, D);
            Gemm.gemm(s, 0, T, T, v, out, h * D, DIM, null, Activation.NONE, false, false);
            return out;
        }

        /** P.V with V already packed (kernel only). */
        @Benchmark
        public float[] pvPrepacked() {
            Gemm.gemm(s, 0, T, T, v, out, 0, DIM, null, Activation.NONE, false, false);
            return out;
        }

        /** Packing only: K^T of one head. */
        @Benchmark
        public PackedB packKT() {
            int h = h0 = (h0 + 1) % 6;
            kT.repackTransposed(qkv, DIM + h * D, LD, T, D);
            return kT;
        }

        /** Packing only: V of one head. */
        @Benchmark
        public PackedB packV() {
            int h = h0 = (h0 + 1) % 6;
            v.repack(qkv, 2 * DIM + h * D, LD, T, D);
            return v;
        }
    }

    /**
     * The machine's Vector API FMA peak: {@link io.vitq.tensor.PeakProbe}, as {@code vitq bench} runs it
     * (12 independent FloatVector FMA chains, no memory traffic).
     * One call = 2^20 steps x 12 FMAs x 16 lanes x 2 flop = 402.65 MFLOP per thread, so
     * GFLOP/s = 0.40265 * threads / (ms/op).
     */
    @State(Scope.Thread)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 3, time = 1)
    @Measurement(iterations = 5, time = 1)
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dvitq.threads=1"})
    public static class Peak {
        @Benchmark
        @org.openjdk.jmh.annotations.Threads(1)
        public float fma1() { return io.vitq.tensor.PeakProbe.fma(1 << 20); }

        @Benchmark
        @org.openjdk.jmh.annotations.Threads(2)
        public float fma2() { return io.vitq.tensor.PeakProbe.fma(1 << 20); }
    }
}
