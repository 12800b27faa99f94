package io.vllmfactory.serve.supervise;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * GPU memory as a budget per GPU, and where instances run. Instance i of the first N runs on device group
 * i mod G; each instance keeps the share it started with; a new one goes to the GPU with the most free budget
 * and takes budget/n there (n the GPU's new count), or the pinned {@code --gpu-memory-utilization}. When that
 * does not fit, the GPU is re-split: its instances holding more restart at the new share first. That happens by
 * itself when the share is automatic, on request ({@code rebalance}) when it is pinned. Pure.
 */
final class GpuBudget {
    private GpuBudget() {
    }

    /**
     * An instance as the budget sees it.
     *
     * @param id          its id
     * @param device      its device group, e.g. {@code 1}
     * @param fraction    the share it holds (or will hold when it starts again)
     * @param restartable whether it runs and can be restarted at a smaller share (a FAILED one just gets the
     *                    smaller share for its next start)
     */
    record Held(int id, String device, double fraction, boolean restartable) {
    }

    /**
     * A new instance's place.
     *
     * @param device   its device group
     * @param fraction its share of that GPU
     */
    record New(String device, double fraction) {
    }

    /**
     * What adding instances takes.
     *
     * @param restarts instances to restart one at a time at a smaller share first, with that share
     * @param resized  instances not running (FAILED) whose share shrinks for their next start
     * @param starts   the new instances, in order
     */
    record Plan(List<Held> restarts, List<Held> resized, List<New> starts) {
    }

    /** The device group of each of the first {@code n} instances. */
    static List<String> initialDevices(List<String> groups, int n) {
        List<String> devices = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            devices.add(groups.get(i % groups.size()));
        }
        return devices;
    }

    /** The share of an instance on {@code device} among the first ones: pinned, or budget/(instances there). */
    static double initialShare(OptionalDouble pinned, double budget, List<String> devices, String device) {
        return MemorySplit.each(pinned, budget, (int) devices.stream().filter(device::equals).count());
    }

    /**
     * Places {@code count} new instances one after another.
     *
     * @param groups    the device groups, in --cuda-devices order
     * @param held      the instances there are
     * @param pinned    {@code --gpu-memory-utilization}, if given
     * @param budget    {@code --gpu-memory-budget}, per GPU
     * @param rebalance whether the operator asked for a re-split (needed only for a pinned share)
     * @throws FleetException.OverBudget saying what is free and what to do, when they do not fit
     */
    static Plan add(List<String> groups, List<Held> held, int count, OptionalDouble pinned, double budget,
                    boolean rebalance) {
        Map<String, List<Double>> shares = new LinkedHashMap<>();
        groups.forEach(g -> shares.put(g, new ArrayList<>()));
        held.forEach(h -> shares.computeIfAbsent(h.device(), g -> new ArrayList<>()).add(h.fraction()));
        Map<Integer, Double> resplit = new LinkedHashMap<>();
        List<New> starts = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            String gpu = mostFree(groups, shares, budget);
            List<Double> there = shares.get(gpu);
            int n = there.size() + 1;
            double each = pinned.isPresent() && !rebalance ? pinned.getAsDouble() : MemorySplit.auto(budget, n);
            if (!MemorySplit.fits(sum(there) + each, budget, n)) {
                if (pinned.isPresent() && !rebalance) {
                    throw pinnedFull(gpu, there, count, each, budget);
                }
                each = MemorySplit.auto(budget, n);
                if (!MemorySplit.fits(n * each, budget, n)) {
                    throw belowFloor(gpu, n, count, budget);
                }
                shrink(gpu, held, starts, there, resplit, each);
            }
            there.add(each);
            starts.add(new New(gpu, each));
        }
        List<Held> restarts = new ArrayList<>();
        List<Held> resized = new ArrayList<>();
        for (Held h : held) {
            Double smaller = resplit.get(h.id());
            if (smaller != null) {
                (h.restartable() ? restarts : resized).add(new Held(h.id(), h.device(), smaller, h.restartable()));
            }
        }
        return new Plan(List.copyOf(restarts), List.copyOf(resized), List.copyOf(starts));
    }

    /** Every instance on {@code gpu} above {@code each}, held or planned, comes down to it. */
    private static void shrink(String gpu, List<Held> held, List<New> starts, List<Double> there,
                               Map<Integer, Double> resplit, double each) {
        for (Held h : held) {
            if (h.device().equals(gpu) && resplit.getOrDefault(h.id(), h.fraction()) > each) {
                resplit.put(h.id(), each);
            }
        }
        starts.replaceAll(s -> s.device().equals(gpu) && s.fraction() > each ? new New(gpu, each) : s);
        there.replaceAll(f -> Math.min(f, each));
    }

    /** The GPU with the most free budget; of equals, the one with fewer instances, then the first. */
    private static String mostFree(List<String> groups, Map<String, List<Double>> shares, double budget) {
        return groups.stream().min(Comparator.comparingDouble((String g) -> sum(shares.get(g)) - budget)
                .thenComparingInt(g -> shares.get(g).size())).orElseThrow();
    }

    private static double sum(List<Double> shares) {
        return shares.stream().mapToDouble(Double::doubleValue).sum();
    }

    private static FleetException.OverBudget pinnedFull(String gpu, List<Double> there, int count, double each,
                                                        double budget) {
        double inUse = sum(there);
        return new FleetException.OverBudget(String.format(Locale.ROOT, "adding %s: GPU %s has the most free memory,"
                + " but only %s of its %s budget is free (%s hold %s) and a new instance takes %s"
                + " (--gpu-memory-utilization): ask for a rebalance (?rebalance=true), which restarts the instances on"
                + " GPU %s one at a time at %s each first; or remove an instance; or raise --gpu-memory-budget",
                instances(count), gpu, fmt(Math.max(0, budget - inUse)), fmt(budget), instances(there.size()),
                fmt(inUse), fmt(each), gpu, fmt(MemorySplit.auto(budget, there.size() + 1))));
    }

    private static FleetException.OverBudget belowFloor(String gpu, int n, int count, double budget) {
        return new FleetException.OverBudget(String.format(Locale.ROOT, "adding %s: GPU %s would run %d, and its"
                + " budget of %s shared %d ways is %s each, below the floor of %s a share keeps: add a GPU to"
                + " --cuda-devices, remove instances or raise --gpu-memory-budget", instances(count), gpu, n,
                fmt(budget), n, fmt(budget / n), fmt(MemorySplit.MIN)));
    }

    private static String instances(int n) {
        return n + " instance" + (n == 1 ? "" : "s");
    }

    /** A share to two decimals, as people read it. */
    static String fmt(double fraction) {
        return MemorySplit.format(new BigDecimal(fraction).setScale(2, RoundingMode.HALF_EVEN).doubleValue());
    }
}
