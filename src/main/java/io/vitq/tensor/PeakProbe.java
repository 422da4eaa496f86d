package io.vitq.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float peak that GEMM rates are compared with: independent register-only 16-lane FMA chains,
 * no loads or stores (twelve chains cover the FMA units' latency times their count on current x86).
 */
public final class PeakProbe {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    /** Float operations per round: 12 FMAs of 16 lanes, 2 operations each. */
    public static final long FLOPS_PER_ROUND = 12L * 16 * 2;

    private PeakProbe() {}

    /** {@code rounds} rounds on the calling thread; returns a value that depends on every chain. */
    public static float fma(long rounds) {
        FloatVector x = FloatVector.broadcast(FS, 0.999f), y = FloatVector.broadcast(FS, 1e-3f);
        FloatVector c0 = FloatVector.broadcast(FS, 0f), c1 = FloatVector.broadcast(FS, 1f), c2 = FloatVector.broadcast(FS, 2f),
                c3 = FloatVector.broadcast(FS, 3f), c4 = FloatVector.broadcast(FS, 4f), c5 = FloatVector.broadcast(FS, 5f),
                c6 = FloatVector.broadcast(FS, 6f), c7 = FloatVector.broadcast(FS, 7f), c8 = FloatVector.broadcast(FS, 8f),
                c9 = FloatVector.broadcast(FS, 9f), c10 = FloatVector.broadcast(FS, 10f), c11 = FloatVector.broadcast(FS, 11f);
        for (long r = 0; r < rounds; r++) {
            c0 = c0.fma(x, y); c1 = c1.fma(x, y); c2 = c2.fma(x, y); c3 = c3.fma(x, y);
            c4 = c4.fma(x, y); c5 = c5.fma(x, y); c6 = c6.fma(x, y); c7 = c7.fma(x, y);
            c8 = c8.fma(x, y); c9 = c9.fma(x, y); c10 = c10.fma(x, y); c11 = c11.fma(x, y);
        }
        FloatVector s = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11);
        return s.reduceLanes(VectorOperators.ADD);
    }
}
