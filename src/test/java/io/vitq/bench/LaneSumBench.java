package io.vitq.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
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
 * Ways to sum a FloatVector's 16 lanes in the search metrics' pattern (OutputScores.Moments: two
 * passes over a block of n floats, five lane sums): {@code reduceLanes(ADD)} (order left to the
 * JIT: lane by lane in the interpreter and C1, by halves where C2 inlines it, so scores change bits
 * with the tier) against the same halving order written out, which gives the same bits in every
 * tier. Measured on the 2-core machine (ns per block, n = 2048 / 192): reduceLanes 239-251 / 27-31,
 * arrayTree 278-304 / 64-93, laneTree 286 / 56, shuffleTree 270-280 / 65-74, halvesTree 271-282 /
 * 59-65: every fixed order costs 10-20 % of the Moments kernel. In whole VT-PTQ W8A8 calibrations
 * of ViT-Ti (CPU time, shared machine), the halving order as a loop over a float[] cost about 7 %
 * (403 and 403 s against 361, 377 and 397 s), and halvesTree, fast here, boxed its shape-changed
 * vectors there (1497 s).
 * <pre>
 * mvn -Pbench test-compile exec:exec -Djmh.args="LaneSumBench"
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
public class LaneSumBench {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;

    @Param({"2048", "192"})
    public int n;

    float[] o, q;

    @Setup
    public void setup() {
        setupData();
        // every fixed order here is the same halving tree: the same bits in every JIT tier
        double ref = block(o, q, n, LaneSumBench::array);
        for (Sum s : new Sum[] {LaneSumBench::lanes, LaneSumBench::shuffle, LaneSumBench::halves2}) {
            if (block(o, q, n, s) != ref) throw new AssertionError("fixed orders disagree");
        }
    }

    void setupData() {
        SplittableRandom r = new SplittableRandom(1);
        o = new float[n];
        q = new float[n];
        for (int i = 0; i < n; i++) {
            o[i] = (float) r.nextGaussian();
            q[i] = o[i] + (float) (0.01 * r.nextGaussian());
        }
    }

    interface Sum { float of(FloatVector v); }

    static float reduce(FloatVector v) { return v.reduceLanes(VectorOperators.ADD); }

    static float array(FloatVector v) {
        float[] a = new float[16];
        v.intoArray(a, 0);
        float h0 = a[0] + a[8], h1 = a[1] + a[9], h2 = a[2] + a[10], h3 = a[3] + a[11],
                h4 = a[4] + a[12], h5 = a[5] + a[13], h6 = a[6] + a[14], h7 = a[7] + a[15];
        return ((h0 + h4) + (h2 + h6)) + ((h1 + h5) + (h3 + h7));
    }

    static float shuffle(FloatVector v) {
        FloatVector w = v.add(v.rearrange(VectorShuffle.iota(FS, 8, 1, true)));
        w = w.add(w.rearrange(VectorShuffle.iota(FS, 4, 1, true)));
        w = w.add(w.rearrange(VectorShuffle.iota(FS, 2, 1, true)));
        w = w.add(w.rearrange(VectorShuffle.iota(FS, 1, 1, true)));
        return w.lane(0);
    }

    static final VectorSpecies<Float> S256 = FloatVector.SPECIES_256, S128 = FloatVector.SPECIES_128;

    static float halves2(FloatVector v) {
        FloatVector h = ((FloatVector) v.reinterpretShape(S256, 0)).add((FloatVector) v.reinterpretShape(S256, 1));
        FloatVector q = ((FloatVector) h.reinterpretShape(S128, 0)).add((FloatVector) h.reinterpretShape(S128, 1));
        FloatVector r = q.add(q.rearrange(VectorShuffle.iota(S128, 2, 1, true)));
        return r.add(r.rearrange(VectorShuffle.iota(S128, 1, 1, true))).lane(0);
    }

    static float lanes(FloatVector v) {
        float h0 = v.lane(0) + v.lane(8), h1 = v.lane(1) + v.lane(9), h2 = v.lane(2) + v.lane(10), h3 = v.lane(3) + v.lane(11),
                h4 = v.lane(4) + v.lane(12), h5 = v.lane(5) + v.lane(13), h6 = v.lane(6) + v.lane(14), h7 = v.lane(7) + v.lane(15);
        return ((h0 + h4) + (h2 + h6)) + ((h1 + h5) + (h3 + h7));
    }

    /** Moments.block's shape: two passes, five lane sums. */
    static double block(float[] o, float[] q, int n, Sum s) {
        FloatVector so = FloatVector.zero(FS), se = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(n);
        for (; i < upper; i += FS.length()) {
            FloatVector a = FloatVector.fromArray(FS, o, i);
            so = so.add(a);
            se = se.add(FloatVector.fromArray(FS, q, i).sub(a));
        }
        double sO = s.of(so), sE = s.of(se);
        float fo = (float) (sO / n), fe = (float) (sE / n);
        FloatVector oo = FloatVector.zero(FS), ee = FloatVector.zero(FS), oe = FloatVector.zero(FS);
        for (i = 0; i < upper; i += FS.length()) {
            FloatVector a = FloatVector.fromArray(FS, o, i);
            FloatVector e = FloatVector.fromArray(FS, q, i).sub(a).sub(fe);
            FloatVector c = a.sub(fo);
            oo = c.fma(c, oo);
            ee = e.fma(e, ee);
            oe = c.fma(e, oe);
        }
        return s.of(oo) + 3.0 * s.of(ee) + 7.0 * s.of(oe);
    }

    @Benchmark public double reduceLanes() { return block(o, q, n, LaneSumBench::reduce); }

    @Benchmark public double arrayTree() { return block(o, q, n, LaneSumBench::array); }

    @Benchmark public double shuffleTree() { return block(o, q, n, LaneSumBench::shuffle); }

    @Benchmark public double halvesTree() { return block(o, q, n, LaneSumBench::halves2); }

    @Benchmark public double laneTree() { return block(o, q, n, LaneSumBench::lanes); }
}
