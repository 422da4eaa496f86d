package io.vitq.data;

import java.util.Locale;

/**
 * Resampling filters of PIL's {@code Image.resize}, with the kernels and supports of Pillow's
 * {@code Resample.c}. NEAREST does not use a kernel: Pillow resizes it with an affine
 * nearest-neighbour transform instead (see {@link PilResize}).
 */
public enum Interpolation {
    NEAREST(0.0),
    BILINEAR(1.0),
    BICUBIC(2.0);

    /** Half-width of the kernel at scale 1, in input pixels. */
    final double support;

    Interpolation(double support) { this.support = support; }

    /** The kernel weight at distance {@code x}, exactly as Pillow computes it (in double). */
    double filter(double x) {
        return switch (this) {
            case BILINEAR -> {
                if (x < 0.0) x = -x;
                yield x < 1.0 ? 1.0 - x : 0.0;
            }
            case BICUBIC -> {
                // Keys' cubic convolution with a = -0.5, written as in Pillow.
                final double a = -0.5;
                if (x < 0.0) x = -x;
                if (x < 1.0) yield ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                if (x < 2.0) yield (((x - 5) * x + 8) * x - 4) * a;
                yield 0.0;
            }
            case NEAREST -> throw new UnsupportedOperationException("NEAREST has no kernel");
        };
    }

    /** Parses timm's names ("bicubic", "bilinear", "nearest"); case-insensitive. */
    public static Interpolation parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "bicubic" -> BICUBIC;
            case "bilinear" -> BILINEAR;
            case "nearest" -> NEAREST;
            default -> throw new IllegalArgumentException("unknown interpolation '" + name
                    + "' (expected bicubic, bilinear or nearest)");
        };
    }

    /** The timm / PIL name, lower case. */
    public String timmName() { return name().toLowerCase(Locale.ROOT); }
}
