package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.config.AutoscaleConfig;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.dispatch.RequestEvents;
import io.vllmfactory.serve.supervise.Autoscaling;
import io.vllmfactory.serve.supervise.FleetException;
import io.vllmfactory.serve.supervise.InstanceView;
import io.vllmfactory.serve.supervise.MemorySplit;
import io.vllmfactory.serve.supervise.Supervisor;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * {@code --autoscale MIN..MAX}: every {@link #TICK} it takes the p90 of the waits in line of the requests that
 * ended within the window (the dispatcher tells it each one), asks {@link AutoscalePolicy} and makes the change
 * through the fleet operations the admin API uses: one instance more or fewer, one change at a time. Memory
 * shares are sized for MAX from the start, so growing only loads one more instance; shrinking drains the least
 * loaded one, so no request is dropped.
 */
public final class Autoscaler implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Autoscaler.class.getName());
    static final Duration TICK = Duration.ofMillis(250);

    private final AutoscaleConfig config;
    private final AutoscalePolicy.Settings settings;
    private final ConcurrentLinkedQueue<Long> ended = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<long[]> window = new ArrayDeque<>();
    private AutoscalePolicy.Memory memory = AutoscalePolicy.Memory.NONE;
    private long changes;
    private Optional<String> lastChange = Optional.empty();
    private String lastRefusal = "";
    private volatile boolean closed;
    private Thread thread;

    public Autoscaler(AutoscaleConfig config) {
        this.config = config;
        this.settings = new AutoscalePolicy.Settings(config.min(), config.max(), config.waitTarget(), config.upAfter(),
                config.downAfter());
    }

    /** MIN instances, each with the memory share it would have among MAX (unless one is pinned). */
    public SupervisorConfig startWith(SupervisorConfig supervision) {
        int gpus = supervision.backend().deviceGroups().size();
        int perGpu = (config.max() + gpus - 1) / gpus;
        OptionalDouble share = supervision.gpuMemoryUtilization().isPresent() ? supervision.gpuMemoryUtilization()
                : OptionalDouble.of(MemorySplit.auto(supervision.gpuMemoryBudget(), perGpu));
        return supervision.withNumInstances(config.min()).withGpuMemoryUtilization(share);
    }

    /** Starts following the load of {@code dispatcher}'s requests. */
    public synchronized void start(Supervisor fleet, Dispatcher dispatcher) {
        if (closed || thread != null) {
            return;
        }
        dispatcher.listen(new RequestEvents() {
            @Override
            public void finished(String method, String rawPath, Backend backend, int status, long waited, long nanos) {
                ended.add(waited);
            }
        });
        LOG.log(Level.INFO, "autoscale: {0}..{1} instances; one more when the p90 wait in line stays above {2} ms"
                + " for {3} ms, one fewer after {4} ms idle", config.min(), config.max(), config.waitTarget().toMillis(),
                config.upAfter().toMillis(), config.downAfter().toMillis());
        thread = Thread.ofVirtual().name("autoscaler").start(() -> loop(fleet, dispatcher));
    }

    private void loop(Supervisor fleet, Dispatcher dispatcher) {
        while (!closed) {
            try {
                Thread.sleep(TICK);
                tick(fleet, dispatcher);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "autoscale: a tick failed; trying again at the next", e);
            }
        }
    }

    private void tick(Supervisor fleet, Dispatcher dispatcher) {
        long[] recent = drain();
        window.addLast(recent);
        while (window.size() > Math.max(1, config.window().toMillis() / TICK.toMillis())) {
            window.removeFirst();
        }
        long p90 = p90(window);
        List<InstanceView> instances = fleet.instances();
        int inFlight = instances.stream().mapToInt(InstanceView::inFlight).sum();
        int batch = instances.isEmpty() ? 1 : instances.getFirst().maxBatch();
        int waiting = dispatcher.pool().waiting();
        AutoscalePolicy.Step step = AutoscalePolicy.decide(settings, memory, new AutoscalePolicy.Sample(
                System.nanoTime(), instances.size(), fleet.operation().isPresent(), Duration.ofNanos(p90), waiting,
                inFlight, batch));
        memory = step.memory();
        int delta = step.decision().delta();
        if (delta != 0) {
            apply(fleet, instances.size(), delta, step.decision().reason());
        }
        fleet.autoscaling(new Autoscaling(config.min(), config.max(), p90 / 1e6, waiting, changes, lastChange));
    }

    private void apply(Supervisor fleet, int count, int delta, String reason) {
        String change = count + " -> " + (count + delta) + ": " + reason;
        try {
            if (delta > 0) {
                fleet.add(1, false);
            } else {
                fleet.scaleTo(count - 1, false);
            }
            changes++;
            lastChange = Optional.of(change);
            lastRefusal = "";
            LOG.log(Level.INFO, "autoscale: {0} instances", change);
        } catch (FleetException e) {
            if (!e.getMessage().equals(lastRefusal)) { // say it once, not every tick
                LOG.log(Level.WARNING, "autoscale: wanted {0} instances, but the fleet refused: {1}", change,
                        e.getMessage());
                lastRefusal = e.getMessage();
            }
        }
    }

    private long[] drain() {
        long[] values = new long[16];
        int n = 0;
        for (Long v = ended.poll(); v != null; v = ended.poll()) {
            if (n == values.length) {
                values = Arrays.copyOf(values, n * 2);
            }
            values[n++] = v;
        }
        return Arrays.copyOf(values, n);
    }

    /** The p90 of all waits in the window; 0 when no request ended in it. */
    static long p90(Iterable<long[]> ticks) {
        int n = 0;
        for (long[] t : ticks) {
            n += t.length;
        }
        if (n == 0) {
            return 0;
        }
        long[] all = new long[n];
        int i = 0;
        for (long[] t : ticks) {
            System.arraycopy(t, 0, all, i, t.length);
            i += t.length;
        }
        Arrays.sort(all);
        return all[(int) Math.ceil(0.9 * n) - 1];
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
        }
    }
}
