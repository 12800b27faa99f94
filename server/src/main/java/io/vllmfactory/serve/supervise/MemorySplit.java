package io.vllmfactory.serve.supervise;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.OptionalDouble;

/**
 * How GPU memory is shared among instances, as the Python vllm-factory-serve computes it: each of N
 * instances gets budget/N, clamped to [0.10, 0.80] and rounded to two decimals.
 */
public final class MemorySplit {
    static final double MIN = 0.10;
    static final double MAX = 0.80;
    /** Rounding to two decimals may add up to this much per instance over the budget. */
    private static final double ROUNDING = 0.005;

    private MemorySplit() {
    }

    /** Each instance's fraction when {@code n} share {@code budget}. */
    public static double auto(double budget, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n: " + n + " (expected: >= 1)");
        }
        double clamped = Math.min(MAX, Math.max(MIN, budget / n));
        // the exact binary value rounded half-even: what Python's round(x, 2) gives
        return new BigDecimal(clamped).setScale(2, RoundingMode.HALF_EVEN).doubleValue();
    }

    /** The explicit fraction if one was given, else the automatic one for {@code n} instances. */
    public static double each(OptionalDouble explicit, double budget, int n) {
        return explicit.isPresent() ? explicit.getAsDouble() : auto(budget, n);
    }

    /**
     * Whether {@code n} instances holding {@code total} together stay within the budget. The automatic
     * split rounds each share up by at most half a hundredth (3 x 0.31 = 0.93 for 0.92), and that is allowed.
     */
    public static boolean fits(double total, double budget, int n) {
        return total <= budget + ROUNDING * n + 1e-9;
    }

    /** {@code 0.46}, {@code 0.8}: the fraction as a backend's command line shows it. */
    public static String format(double fraction) {
        return BigDecimal.valueOf(fraction).stripTrailingZeros().toPlainString();
    }
}
