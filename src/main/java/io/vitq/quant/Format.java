package io.vitq.quant;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Numbers of a plan for people to read ({@code vitq inspect}). */
public final class Format {
    /** Up to this many scales are listed; more are summarised. */
    public static final int LIST_LIMIT = 4;

    private Format() {}

    /** All scales when there are few, else min / median / max and the count. */
    public static String scales(float[] s) {
        if (s.length <= LIST_LIMIT) {
            List<String> l = new ArrayList<>();
            for (float v : s) l.add(num(v));
            return String.join(", ", l);
        }
        float[] sorted = s.clone();
        Arrays.sort(sorted);
        // the lower middle for an even count: a median that is one of the scales
        return "min " + num(sorted[0]) + " / median " + num(sorted[(sorted.length - 1) / 2]) + " / max "
                + num(sorted[sorted.length - 1]) + " (" + s.length + " scales)";
    }

    /** 5 significant digits without trailing zeros: 0.001, 0.00049213, 1.2346e-07. */
    public static String num(float v) {
        return String.format(Locale.ROOT, "%.5g", v).replaceFirst("(\\.\\d*?)0+(e|$)", "$1$2").replaceFirst("\\.(e|$)", "$1");
    }
}
