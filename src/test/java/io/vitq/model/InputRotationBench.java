package io.vitq.model;

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
 * The input rotation of one image's tokens (197 rows) at ViT-Ti, -S and -B widths, one thread: the
 * Vector API rows ({@link InputRotation#vectorRows}, what {@code rotate} runs) against the scalar
 * loop they replace ({@link InputRotation#scalarRow}); the same floats. Results in docs/BENCHMARKS.md.
 * <pre>
 * mvn -Pbench test-compile exec:exec -Djmh.args="InputRotationBench"
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
public class InputRotationBench {
    static final int ROWS = 197;

    @Param({"192", "384", "768"})
    public int width;

    float[] x, y, signs;
    int block;
    float norm;

    @Setup
    public void setup() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        x = new float[ROWS * width];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        y = new float[x.length];
        block = InputRotation.block(width);
        signs = InputRotation.signs(width);
        norm = (float) (1 / Math.sqrt(block));
    }

    @Benchmark
    public float[] vector() {
        InputRotation.vectorRows(x, 0, ROWS, width, block, signs, norm, y, false);
        return y;
    }

    @Benchmark
    public float[] scalar() {
        for (int r = 0; r < ROWS; r++) InputRotation.scalarRow(x, r * width, width, block, signs, norm, y, false);
        return y;
    }
}
