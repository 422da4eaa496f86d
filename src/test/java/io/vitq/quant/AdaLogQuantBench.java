package io.vitq.quant;

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
 * AdaLog's fake quant of one ViT-Ti image's fc2 input (197 x 768 GELU outputs, shifted), the hot
 * loop of {@code --method adalog}'s fc2 and softmax searches at 6 and 8 bits: the threshold cascade
 * ({@link AdaLogOperand#cascade}, 2^k - 1 compares and blends per vector) against the
 * {@link ThresholdTable} lookup (three gathers per vector), and {@code fakeQuant} as it runs
 * (the table built per call, from {@link AdaLogOperand#TABLE_THRESHOLDS} thresholds on). Results
 * in docs/BENCHMARKS.md.
 * <pre>
 * mvn -Pbench test-compile exec:exec -Djmh.args="AdaLogQuantBench"
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
public class AdaLogQuantBench {
    @Param({"4", "5", "6", "8"})
    public int bits;

    float[] x, y;
    float[] thr, val;
    AdaLogOperand a;
    ThresholdTable table;

    @Setup
    public void setup() {
        a = new AdaLogOperand(bits, 40, 2.5f, AdaLogOperand.GELU_SHIFT);
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        x = new float[197 * 768];
        // GELU of a Gaussian: most values near zero, a tail to about 4
        for (int i = 0; i < x.length; i++) x[i] = (float) io.vitq.tensor.MathOps.gelu(r.nextGaussian() * 1.2);
        y = new float[x.length];
        thr = a.thresholds();
        val = a.values();
        table = ThresholdTable.of(thr, val);
    }

    @Benchmark
    public float[] cascade() {
        AdaLogOperand.cascade(thr, val, AdaLogOperand.GELU_SHIFT, x, 0, y, 0, x.length);
        return y;
    }

    @Benchmark
    public float[] table() {
        table.apply(x, 0, AdaLogOperand.GELU_SHIFT, y, 0, x.length);
        return y;
    }

    @Benchmark
    public float[] fakeQuant() {
        a.fakeQuant("fc2", 0, x, 0, y, 0, x.length);
        return y;
    }
}
