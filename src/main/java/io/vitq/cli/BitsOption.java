package io.vitq.cli;

import io.vitq.calib.mp.MpTarget;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --bits}: {@code wXaY} (weight and activation bits, each 2..16; the papers use w8a8 and
 * w6a6), or {@code mp6} / {@code mp8} (VT-PTQ's mixed precision around 6 or 8 bits; {@code weight}
 * and {@code activation} are then the target's base bits).
 */
record BitsOption(int weight, int activation, MpTarget mixed) {
    private static final Pattern FORM = Pattern.compile("w(\\d+)a(\\d+)");

    static BitsOption parse(String s) {
        String l = s.toLowerCase(Locale.ROOT);
        if (l.startsWith("mp")) {
            try {
                MpTarget t = MpTarget.parse(l);
                return new BitsOption(t.baseBits(), t.baseBits(), t);
            } catch (IllegalArgumentException e) {
                throw new Main.UserException("--bits " + s + ": mixed precision is mp6 or mp8");
            }
        }
        Matcher m = FORM.matcher(l);
        if (!m.matches()) throw new Main.UserException("--bits " + s + ": expected wXaY (e.g. w8a8, w6a6) or mp6/mp8");
        int w = Integer.parseInt(m.group(1)), a = Integer.parseInt(m.group(2));
        if (w < 2 || w > 16 || a < 2 || a > 16) throw new Main.UserException("--bits " + s + ": bit widths must be in 2..16");
        return new BitsOption(w, a, null);
    }

    String label() { return mixed != null ? mixed.cliName().toUpperCase(Locale.ROOT) : "W" + weight + "A" + activation; }
}
