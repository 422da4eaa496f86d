package io.vitq.bench;

import io.vitq.tensor.VectorMath;
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
 * {@link VectorMath#geluInPlace} on one row of fc1's output (ViT-Ti 768, ViT-S 1536 wide, in L1 as
 * in the GEMM epilogue and the integer runtime) and on a whole ViT-Ti fc1 output of one image
 * (197 x 768). The values are fc1-like (normal, sd 1.5) and refreshed by a copy each call, since the
 * GELU works in place; the copy's time is in the numbers ({@code copyOnly} measures it alone).
 * Measured on the 2-core Zen 5 (2026-12-07, alone): 591 / 1160 / 130871 ns per call (copy 23 / 49 /
 * 10363), about 0.74 ns per element, some 47 cycles per 16-lane vector: latency-bound. Two vectors
 * written side by side per loop step (the same bits) measured 726 / 2251 (+-5487, the JIT unsettled) /
 * 144615 ns in the same setting, slower, and was not kept.
 * <pre>
 * mvn -Pbench test-compile exec:exec -Djmh.args="GeluBench"
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GeluBench {
    @Param({"768", "1536", "151296"})
    int n;

    float[] source, x;

    @Setup
    public void setup() {
        SplittableRandom r = new SplittableRandom(1);
        source = new float[n];
        for (int i = 0; i < n; i++) source[i] = (float) (1.5 * Math.sqrt(-2 * Math.log(r.nextDouble(1e-300, 1))) * Math.cos(2 * Math.PI * r.nextDouble()));
        x = new float[n];
    }

    @Benchmark
    public float geluInPlace() {
        System.arraycopy(source, 0, x, 0, n);
        VectorMath.geluInPlace(x, 0, n);
        return x[n - 1];
    }

    @Benchmark
    public float copyOnly() {
        System.arraycopy(source, 0, x, 0, n);
        return x[n - 1];
    }
}
