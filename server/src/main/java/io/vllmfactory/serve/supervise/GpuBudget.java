package io.vllmfactory.serve.supervise;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

/**
 * GPU memory as a budget: each instance keeps the share it started with, and new ones must fit in what is
 * free, unless a rebalance restarts the existing ones at the new, smaller share first. Pure.
 */
final class GpuBudget {
    private GpuBudget() {
    }

    /**
     * The share each of {@code count} new instances gets.
     *
     * @param explicit  {@code --gpu-memory-utilization} if it was given
     * @param budget    {@code --gpu-memory-budget}
     * @param held      the shares the existing instances hold
     * @param count     instances to add
     * @param rebalance whether the existing instances restart at the new share first
     * @throws FleetException.OverBudget saying what is free and what to do, when they do not fit
     */
    static double shareForAdding(OptionalDouble explicit, double budget, List<Double> held, int count,
                                 boolean rebalance) {
        int n = held.size() + count;
        double each = rebalance || explicit.isEmpty() ? MemorySplit.auto(budget, n) : explicit.getAsDouble();
        if (rebalance) {
            if (!MemorySplit.fits(n * each, budget, n)) {
                throw new FleetException.OverBudget(n + " instances cannot share the GPU budget of " + fmt(budget)
                        + " even after a rebalance: each would get " + fmt(each) + ", and a share is at least "
                        + fmt(MemorySplit.MIN) + "; remove instances or raise --gpu-memory-budget");
            }
            return each;
        }
        double inUse = held.stream().mapToDouble(Double::doubleValue).sum();
        if (!MemorySplit.fits(inUse + count * each, budget, n)) {
            throw new FleetException.OverBudget(String.format(Locale.ROOT, "adding %d instance%s needs %s of the GPU"
                    + " (%s each), but only %s of the %s budget is free (%d instances hold %s): ask for a rebalance,"
                    + " which restarts the existing instances one at a time at %s each first; or remove an instance;"
                    + " or raise --gpu-memory-budget", count, count == 1 ? "" : "s", fmt(count * each), fmt(each),
                    fmt(Math.max(0, budget - inUse)), fmt(budget), held.size(), fmt(inUse),
                    fmt(MemorySplit.auto(budget, n))));
        }
        return each;
    }

    /** A share to two decimals, as people read it. */
    static String fmt(double fraction) {
        return MemorySplit.format(new BigDecimal(fraction).setScale(2, RoundingMode.HALF_EVEN).doubleValue());
    }
}
