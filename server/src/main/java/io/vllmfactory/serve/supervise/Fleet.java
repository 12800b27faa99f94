package io.vllmfactory.serve.supervise;

import java.util.List;
import java.util.Optional;

/**
 * The running fleet of backend instances as operators change it at runtime (the admin API's view).
 *
 * <p>Mutating operations are serialised: while one runs, another is refused with
 * {@link FleetException.Busy}. They return once the change is decided and under way (new instances
 * are STARTING, removed ones DRAINING); callers follow progress through {@link #instances()}.
 */
public interface Fleet {
    /** Every instance the supervisor knows, in id order, with its current state. */
    List<InstanceView> instances();

    Optional<InstanceView> instance(int id);

    /**
     * Adds {@code count} instances. Each takes {@link #gpuBudget()}/N of the GPU where N is the new
     * count; without {@code rebalance} the new ones must fit in what is free, else
     * {@link FleetException.OverBudget}; with it, existing instances are restarted one at a time at
     * the new fraction first.
     *
     * @return the ids of the new instances
     */
    List<Integer> add(int count, boolean rebalance);

    /**
     * Grows or shrinks to {@code count} instances; shrinking drains the least loaded first (broken ones
     * before working ones).
     *
     * @return the ids of the new instances when growing, of those being removed when shrinking
     */
    List<Integer> scaleTo(int count, boolean rebalance);

    /** Drains the instance (no new requests, in-flight ones finish within the drain timeout), then stops it. */
    void remove(int id);

    /** Drains, stops and starts the instance again (also brings a FAILED one back). */
    void restart(int id);

    /** The whole GPU memory fraction instances may share (0.92 by default). */
    double gpuBudget();

    /**
     * The sum of the fractions of the instances that hold GPU memory now or are about to: every instance in
     * {@link #instances()}, FAILED ones included (an operator may restart them).
     */
    double gpuInUse();

    /** The mutating operation under way, e.g. {@code add 2}, or empty when none runs. */
    Optional<String> operation();

    /** True in --num-instances 1 mode without --always-proxy: the backend owns the public port; no scaling. */
    boolean direct();
}
