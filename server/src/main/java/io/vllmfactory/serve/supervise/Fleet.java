package io.vllmfactory.serve.supervise;

import java.util.List;
import java.util.Optional;

/**
 * The running fleet of backend instances as operators change it at runtime (the admin API's view).
 *
 * <p>Mutating operations are serialised: while one runs, another is refused with
 * {@link FleetException.Busy}. They return once the change is decided and under way (new instances
 * are STARTING, removed ones DRAINING), with its plan; callers follow progress through {@link #instances()}.
 */
public interface Fleet {
    /** Every instance the supervisor knows, in id order, with its current state. */
    List<InstanceView> instances();

    Optional<InstanceView> instance(int id);

    /**
     * Adds {@code count} instances, each on the GPU with the most free budget, at budget/n of it (n the GPU's
     * new instance count), or at the pinned {@code --gpu-memory-utilization}. When that does not fit, the
     * GPU's instances restart one at a time at the smaller share first: by themselves when the share is
     * automatic, with {@code rebalance} when it is pinned; else {@link FleetException.OverBudget}, which is
     * also the answer when the share would fall below the floor.
     */
    Change add(int count, boolean rebalance);

    /**
     * Grows or shrinks to {@code count} instances; growing is {@link #add}, shrinking drains the least loaded
     * first (broken ones before working ones).
     */
    Change scaleTo(int count, boolean rebalance);

    /** Drains the instance (no new requests, in-flight ones finish within the drain timeout), then stops it. */
    Change remove(int id);

    /** Drains, stops and starts the instance again (also brings a FAILED one back). */
    Change restart(int id);

    /** The memory fraction of each GPU the instances may share (0.92 by default). */
    double gpuBudget();

    /** Each GPU (device group) the instances run on, with what they hold of it, in --cuda-devices order. */
    List<Gpu> gpus();

    /** The sum over {@link #gpus()} of what the instances hold. */
    default double gpuInUse() {
        return gpus().stream().mapToDouble(Gpu::inUse).sum();
    }

    /** The mutating operation under way, e.g. {@code add 2}, or empty when none runs. */
    Optional<String> operation();

    /** How {@code --num-instances auto} chose the size, or empty with a fixed --num-instances. */
    default Optional<Sizing> sizing() {
        return Optional.empty();
    }

    /** What {@code --autoscale} sees and last did, or empty without it. */
    default Optional<Autoscaling> autoscaling() {
        return Optional.empty();
    }

    /** True in --num-instances 1 mode without --always-proxy: the backend owns the public port; no scaling. */
    boolean direct();

    /** False for backends that run already (--backend-url): the sidecar did not launch them and cannot change them. */
    boolean launched();

    /** How many changes of {@code kind} ended with {@code outcome} (zero where the fleet cannot change). */
    default long changes(Change.Kind kind, Change.Outcome outcome) {
        return 0;
    }

    /** Tells {@code listener} of every instance there is now, then of each one created or removed for good. */
    default void watch(Membership listener) {
        instances().forEach(v -> listener.created(v.id()));
    }

    /** Hears of instances as they join and leave the fleet (not of restarts: an instance keeps its id). */
    interface Membership {
        void created(int id);

        void removed(int id);
    }

    /**
     * One GPU (a device group) and what the instances on it hold.
     *
     * @param device    its CUDA_VISIBLE_DEVICES, e.g. {@code 1}
     * @param instances instances placed on it, FAILED ones included
     * @param inUse     the sum of their fractions
     */
    record Gpu(String device, int instances, double inUse) {
    }
}
