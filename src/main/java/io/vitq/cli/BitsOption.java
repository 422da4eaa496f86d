package io.vitq.cli;

import io.vitq.calib.mp.MpTarget;

import java.util.Locale;

/**
 * {@code --bits}: {@code wXaY} (weight and activation bits, each 2..16; the papers use w8a8 and
 * w6a6), or {@code mp6} / {@code mp8} (VT-PTQ's mixed precision around 6 or 8 bits; {@code weight}
 * and {@code activation} are then the target's base bits).
 */
record BitsOption(int weight, int activation, MpTarget mixed) {
    static BitsOption parse(String s) { return parse("--bits " + s, s); }

    /** {@code s} parsed, an error starting with {@code what} (the option and its whole value). */
    static BitsOption parse(String what, String s) {
        io.vitq.eval.Pipeline.Bits b;
        try {
            b = io.vitq.eval.Pipeline.Bits.parse(s);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(what + ": " + e.getMessage());
        }
        return new BitsOption(b.weight(), b.activation(), b.mixed());
    }

    /** Fixed bits only, wXaY (an op's {@code --op-bits}: mixed precision is for the whole model). */
    static BitsOption parseFixed(String what, String s) {
        if (s.toLowerCase(Locale.ROOT).startsWith("mp"))
            throw new Main.UserException(what + ": mixed precision (mp6, mp8) is for the whole model (--bits); an op takes fixed bits, wXaY");
        if (!io.vitq.eval.Pipeline.Bits.fixedForm(s)) throw new Main.UserException(what + ": expected wXaY, e.g. w8a8 or w4a8");
        return parse(what, s);
    }

    String label() { return mixed != null ? mixed.cliName().toUpperCase(Locale.ROOT) : "W" + weight + "A" + activation; }
}
