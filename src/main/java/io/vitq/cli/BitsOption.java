package io.vitq.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code --bits w8a8 | w6a6 | wXaY}: weight and activation bit widths, each 2..8 (up to 16 for experiments). */
record BitsOption(int weight, int activation) {
    private static final Pattern FORM = Pattern.compile("w(\\d+)a(\\d+)");

    static BitsOption parse(String s) {
        Matcher m = FORM.matcher(s.toLowerCase(Locale.ROOT));
        if (!m.matches()) throw new Main.UserException("--bits " + s + ": expected wXaY, e.g. w8a8 or w6a6");
        int w = Integer.parseInt(m.group(1)), a = Integer.parseInt(m.group(2));
        if (w < 2 || w > 16 || a < 2 || a > 16) throw new Main.UserException("--bits " + s + ": bit widths must be in 2..16");
        return new BitsOption(w, a);
    }

    String label() { return "W" + weight + "A" + activation; }
}
