package io.vitq.calib;

/**
 * How much of the interval searches' work branch and bound ({@link CandidateRace}) left to do:
 * (candidate, sample) products computed against those an exhaustive search computes, summed over
 * the ops of a calibration, for its report.
 */
final class SearchWork {
    private long scored, exhaustive;

    void add(LinearSearch s) {
        scored += s.samplesScored();
        exhaustive += s.samplesExhaustive();
    }

    void add(MatmulSearch s) {
        scored += s.samplesScored();
        exhaustive += s.samplesExhaustive();
    }

    /** The share computed, in [0, 1]; NaN when no search raced (e.g. all rule-based). */
    double share() { return exhaustive == 0 ? Double.NaN : (double) scored / exhaustive; }
}
