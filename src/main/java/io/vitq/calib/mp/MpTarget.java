package io.vitq.calib.mp;

import java.util.Locale;

/**
 * A VT-PTQ mixed-precision target (ALGORITHMS.md 9.6): the candidate bit widths of every unit and
 * the base bits of the ops outside units. The default budget is the model's size with every
 * parameter at the base bits, so the mixed model is no larger than the uniform one.
 */
public enum MpTarget {
    /** {@code --bits mp6}: units from 4..8 bits, the rest at 6. */
    MP6(6, new int[] {4, 5, 6, 7, 8}),
    /** {@code --bits mp8}: units from 6..10 bits (above 8 stored as int16 codes), the rest at 8. */
    MP8(8, new int[] {6, 7, 8, 9, 10});

    private final int baseBits;
    private final int[] candidates;

    MpTarget(int baseBits, int[] candidates) {
        this.baseBits = baseBits;
        this.candidates = candidates;
    }

    public int baseBits() { return baseBits; }

    /** The candidate widths, ascending. */
    public int[] candidates() { return candidates.clone(); }

    /** "mp6". */
    public String cliName() { return name().toLowerCase(Locale.ROOT); }

    /** {@code mp6} / {@code mp8} (any case). */
    public static MpTarget parse(String s) {
        for (MpTarget t : values()) if (t.cliName().equalsIgnoreCase(s.trim())) return t;
        throw new IllegalArgumentException("unknown mixed-precision target '" + s + "' (expected mp6 or mp8)");
    }
}
