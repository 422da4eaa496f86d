package io.vitq.calib;

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
 * GPTQ's double-precision steps on one Linear of a ViT-S (qkv: 384 inputs, 1152 outputs; fc2: 1536
 * inputs, 384 outputs) with half of CALIB32's tokens (16 images x 197), on the calibration's thread
 * pool: the moments H and C, the damped Hessian's factors and the compensated weight W*.
 * {@code crossValidated} runs the factors and W* six times per Linear and at most once more on all images.
 * Results in docs/BENCHMARKS.md.
 * <pre>
 * mvn -Pbench test-compile exec:exec -Djmh.args="GptqBench"
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 4, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class GptqBench {
    static final int ROWS = 16 * 197;

    /** Inputs x outputs. */
    @Param({"384x1152", "1536x384"})
    public String shape;

    int in, out;
    float[] x, xq, w;
    double[] h, cross;
    Gptq.Factors factors;

    @Setup
    public void setup() {
        String[] s = shape.split("x");
        in = Integer.parseInt(s[0]);
        out = Integer.parseInt(s[1]);
        SplittableRandom r = new SplittableRandom(11);
        x = GptqTest.correlatedInputs(r, ROWS, in);
        xq = x.clone();
        for (int i = 0; i < xq.length; i++) xq[i] = Math.round(xq[i] * 16) / 16f;
        w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) (0.02 * r.nextGaussian());
        h = Gptq.hessian(xq, ROWS, in);
        cross = Gptq.crossMoment(x, xq, ROWS, in);
        factors = Gptq.Factors.of("bench", h, in, 0.01);
    }

    @Benchmark
    public double[] hessian() { return Gptq.hessian(xq, ROWS, in); }

    @Benchmark
    public double[] crossMoment() { return Gptq.crossMoment(x, xq, ROWS, in); }

    @Benchmark
    public Gptq.Factors factors() { return Gptq.Factors.of("bench", h, in, 0.01); }

    @Benchmark
    public float[] compensated() { return Gptq.compensated(w, out, in, cross, factors); }
}
