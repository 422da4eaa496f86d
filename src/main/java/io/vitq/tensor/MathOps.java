package io.vitq.tensor;

/** Scalar reference functions (used by tests, tails and non-hot paths). */
public final class MathOps {
    private MathOps() {}

    /** erf(x) to ~1e-16 relative error (W. J. Cody's rational approximations via erfc for |x| > 0.5). */
    public static double erf(double x) {
        double ax = Math.abs(x);
        if (ax < 0.5) {
            // Maclaurin series: converges fast for |x| < 0.5
            double x2 = x * x, term = x, sum = x;
            for (int n = 1; n < 40; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
            }
            return 2.0 / Math.sqrt(Math.PI) * sum;
        }
        double r = 1.0 - erfc(ax);
        return x < 0 ? -r : r;
    }

    /** erfc(x) for x >= 0.5 by a continued fraction (Lentz), accurate to ~1e-15. */
    private static double erfc(double x) {
        if (x > 27) return 0.0;
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + ...)))))
        double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 500; n++) {
            double an = n * 0.5;
            d = x + an * d;
            if (Math.abs(d) < tiny) d = tiny;
            c = x + an / c;
            if (Math.abs(c) < tiny) c = tiny;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1.0) < 1e-16) break;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    /** Exact (erf) GELU, as torch.nn.GELU() with approximate='none'. */
    public static double gelu(double x) {
        return 0.5 * x * (1.0 + erf(x / Math.sqrt(2.0)));
    }
}
