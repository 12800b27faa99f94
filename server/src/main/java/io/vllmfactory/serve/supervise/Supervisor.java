package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;

import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The fleet of backends the sidecar launched: started one after another, kept alive by {@link Lifecycle},
 * and changed at runtime through the {@link Fleet} operations, one at a time.
 */
public final class Supervisor implements Fleet, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Supervisor.class.getName());
    /** Most instances one sidecar runs (the automatic memory split fits 9 on one GPU). */
    static final int MAX_INSTANCES = 64;

    private final SupervisorConfig config;
    private final Duration drainTimeout;
    private final PrintStream echo;
    private final Map<Integer, Instance> instances = new ConcurrentSkipListMap<>();
    private final AtomicReference<String> operation = new AtomicReference<>();
    private volatile Change.Kind operationKind;
    private volatile Sizing sizing;
    private volatile Autoscaling autoscaling;
    private final LongAdder[] changes = new LongAdder[Change.Kind.values().length * Change.Outcome.values().length];
    private final List<Membership> watchers = new CopyOnWriteArrayList<>();
    private final Lifecycle lifecycle;
    private final List<String> groups;
    private int nextId;

    /**
     * Plans the first {@code --num-instances} instances; nothing runs until {@link #start()}.
     *
     * @param config   the supervisor's settings
     * @param dispatch the dispatcher's settings (health probes, drain timeout)
     * @param pool     where ready backends go
     * @param forget   told of every backend that leaves the pool
     * @param echo     where backend lines go when they go to stderr
     */
    public Supervisor(SupervisorConfig config, DispatcherConfig dispatch, BackendPool pool, Consumer<Backend> forget,
                      PrintStream echo) {
        this.config = config;
        this.drainTimeout = dispatch.drainTimeout();
        this.echo = echo;
        this.lifecycle = new Lifecycle(config, pool, forget, dispatch.healthTimeout(), dispatch.healthInterval(),
                this::all);
        this.groups = config.backend().deviceGroups();
        for (int k = 0; k < changes.length; k++) {
            changes[k] = new LongAdder();
        }
        List<Integer> ports = PortLayout.initial(config);
        List<String> devices = GpuBudget.initialDevices(groups, ports.size());
        for (int k = 0; k < ports.size(); k++) {
            create(ports.get(k), devices.get(k), GpuBudget.initialShare(config.gpuMemoryUtilization(),
                    config.gpuMemoryBudget(), devices, devices.get(k)));
        }
        // changes wait until the first start is done: until then they are refused as busy
        operation.set("start " + ports.size() + " instance" + (ports.size() == 1 ? "" : "s"));
    }

    /**
     * Starts every instance, one after another, each once the one before answers /health. Until it returns,
     * {@link #operation()} says so and changes are refused as busy.
     *
     * @throws StartFailure when one does not come up: its cause and last output lines (the caller then
     *                      closes the supervisor, which stops those already started)
     */
    public void start() {
        if (BackendCommand.forwardsUtilization(config.backend().extraArgs())) {
            LOG.log(Level.WARNING, "the --gpu-memory-utilization after -- is dropped: each backend gets its share of"
                    + " the GPU from --gpu-memory-utilization (or the automatic split)");
        }
        List<Instance> all = all();
        try {
            startAll(all);
        } finally {
            operation.set(null);
        }
        LOG.log(Level.INFO, "all " + all.size() + " backends are ready");
    }

    private void startAll(List<Instance> all) {
        for (int k = 0; k < all.size(); k++) {
            Instance i = all.get(k);
            String label = (k + 1) + "/" + all.size();
            long gen = lifecycle.prepare(i, "start " + label);
            Launcher.Outcome outcome = lifecycle.launch(i, gen, label);
            if (outcome instanceof Launcher.Outcome.Failed f) {
                synchronized (i) {
                    i.lastError = f.why();
                    i.moveTo(BackendState.FAILED, f.why());
                    i.process = null;
                    i.pid = -1;
                }
                throw new StartFailure("backend " + label + " (port " + i.port + ") " + f.why()
                        + (i.log.file() == null ? "" : " (its output: " + i.log.file() + ")"), f.lastLines());
            }
            if (outcome instanceof Launcher.Outcome.Aborted) {
                throw new StartFailure("stopped while backend " + label + " was loading", List.of());
            }
        }
    }

    @Override
    public List<InstanceView> instances() {
        return all().stream().map(this::view).toList();
    }

    @Override
    public Optional<InstanceView> instance(int id) {
        return Optional.ofNullable(instances.get(id)).map(this::view);
    }

    @Override
    public Change add(int count, boolean rebalance) {
        return counted(rebalance ? Change.Kind.REBALANCE : Change.Kind.SCALE_UP, () -> grow(count, rebalance));
    }

    private Change grow(int count, boolean rebalance) {
        refuseInDirectMode("add instances");
        if (count < 1) {
            throw new FleetException.Invalid("count: " + count + " (expected: >= 1)");
        }
        begin("add " + count + (rebalance ? " with rebalance" : ""), rebalance ? Change.Kind.REBALANCE
                : Change.Kind.SCALE_UP);
        try {
            return place(count, rebalance);
        } catch (RuntimeException e) {
            operation.set(null);
            throw e;
        }
    }

    /** Plans the new instances' places, creates them STARTING, then re-splits and launches in the background. */
    private Change place(int count, boolean rebalance) {
        int size = instances.size();
        if (size + count > MAX_INSTANCES) {
            throw new FleetException.Invalid("count: " + count + " (expected: at most " + (MAX_INSTANCES - size)
                    + ": at most " + MAX_INSTANCES + " instances)");
        }
        List<GpuBudget.Held> held = all().stream().map(i -> locked(i, x -> new GpuBudget.Held(x.id, x.device,
                x.fraction, x.state != BackendState.FAILED && !x.leaving()))).toList();
        GpuBudget.Plan plan = GpuBudget.add(groups, held, count, config.gpuMemoryUtilization(),
                config.gpuMemoryBudget(), rebalance);
        List<Change.Step> steps = new ArrayList<>();
        plan.restarts().forEach(h -> steps.add(
                new Change.Step(Change.Action.RESTART, h.id(), h.device(), h.fraction())));
        List<Instance> added = new ArrayList<>();
        List<Long> gens = new ArrayList<>();
        synchronized (this) {
            for (GpuBudget.New place : plan.starts()) {
                Instance i = create(freePort(), place.device(), place.fraction());
                added.add(i);
                gens.add(lifecycle.prepare(i, "added by operator"));
                steps.add(new Change.Step(Change.Action.START, i.id, i.device, i.fraction));
            }
        }
        // a FAILED instance on a re-split GPU comes back at the smaller share when an operator restarts it
        plan.resized().forEach(h -> locked(instances.get(h.id()), i -> i.fraction = h.fraction()));
        Change change = new Change(added.stream().map(i -> i.id).toList(), steps);
        LOG.log(Level.INFO, "plan: " + change.summary());
        background(() -> {
            for (GpuBudget.Held h : plan.restarts()) {
                restartAt(instances.get(h.id()), h.fraction());
            }
            for (int k = 0; k < added.size(); k++) {
                launch(added.get(k), gens.get(k));
            }
        });
        return change;
    }

    @Override
    public Change scaleTo(int count, boolean rebalance) {
        Change.Kind kind = count > instances.size() ? (rebalance ? Change.Kind.REBALANCE : Change.Kind.SCALE_UP)
                : Change.Kind.SCALE_DOWN;
        return counted(kind, () -> scale(count, rebalance));
    }

    private Change scale(int count, boolean rebalance) {
        refuseInDirectMode("scale");
        if (count < 1 || count > MAX_INSTANCES) {
            throw new FleetException.Invalid("count: " + count + " (expected: 1.." + MAX_INSTANCES
                    + "; stop the sidecar to stop every instance)");
        }
        int size = instances.size();
        if (count > size) {
            return grow(count - size, rebalance);
        }
        if (count == size) {
            return new Change(List.of(), List.of());
        }
        begin("scale to " + count, Change.Kind.SCALE_DOWN);
        try {
            List<Instance> victims = all().stream().filter(i -> !locked(i, Instance::leaving))
                    .sorted(Comparator.comparingInt((Instance i) -> locked(i, Supervisor::keepRank))
                            .thenComparingInt(i -> view(i).inFlight())
                            .thenComparing(i -> -i.id))
                    .limit(size - count).toList();
            List<Change.Step> steps = victims.stream().map(i -> locked(i, x -> new Change.Step(Change.Action.STOP,
                    x.id, x.device, x.fraction))).toList();
            List<Long> gens = victims.stream().map(i -> lifecycle.beginStop(i, "scaling to " + count)).toList();
            background(() -> {
                List<Thread> stops = new ArrayList<>();
                for (int k = 0; k < victims.size(); k++) {
                    Instance i = victims.get(k);
                    long gen = gens.get(k);
                    stops.add(Thread.ofVirtual().start(() -> removeWhenStopped(i, gen)));
                }
                for (Thread t : stops) {
                    t.join();
                }
            });
            return new Change(victims.stream().map(i -> i.id).toList(), steps);
        } catch (RuntimeException e) {
            operation.set(null);
            throw e;
        }
    }

    @Override
    public Change remove(int id) {
        return counted(Change.Kind.SCALE_DOWN, () -> shrink(id));
    }

    private Change shrink(int id) {
        refuseInDirectMode("remove an instance");
        Instance i = existing(id);
        begin("remove " + id, Change.Kind.SCALE_DOWN);
        try {
            refuseIfLeaving(i);
            if (instances.size() == 1) {
                throw new FleetException.WrongState("instance " + id + " is the only one (expected: add another"
                        + " first, or restart it)");
            }
            Change.Step step = locked(i, x -> new Change.Step(Change.Action.STOP, x.id, x.device, x.fraction));
            long gen = lifecycle.beginStop(i, "removed by operator");
            background(() -> removeWhenStopped(i, gen));
            return new Change(List.of(id), List.of(step));
        } catch (RuntimeException e) {
            operation.set(null);
            throw e;
        }
    }

    @Override
    public Change restart(int id) {
        return counted(Change.Kind.RESTART, () -> restartOne(id));
    }

    private Change restartOne(int id) {
        Instance i = existing(id);
        begin("restart " + id, Change.Kind.RESTART);
        try {
            refuseIfLeaving(i);
            Change.Step step;
            synchronized (i) {
                i.history = Backoff.History.NONE; // an operator's restart starts the failure count afresh
                step = new Change.Step(Change.Action.RESTART, i.id, i.device, i.fraction);
            }
            long gen = lifecycle.beginStop(i, "restart requested");
            background(() -> {
                lifecycle.finishStop(i, gen, drainTimeout);
                launch(i, lifecycle.prepare(i, "restart requested"));
            });
            return new Change(List.of(id), List.of(step));
        } catch (RuntimeException e) {
            operation.set(null);
            throw e;
        }
    }

    @Override
    public double gpuBudget() {
        return config.gpuMemoryBudget();
    }

    @Override
    public List<Gpu> gpus() {
        List<Instance> all = all();
        List<Gpu> gpus = new ArrayList<>();
        for (String g : groups) {
            List<Double> held = all.stream().filter(i -> i.device.equals(g))
                    .map(i -> locked(i, x -> x.fraction)).toList();
            gpus.add(new Gpu(g, held.size(), held.stream().mapToDouble(Double::doubleValue).sum()));
        }
        return gpus;
    }

    @Override
    public boolean direct() {
        return config.direct();
    }

    @Override
    public boolean launched() {
        return true;
    }

    @Override
    public Optional<Sizing> sizing() {
        return Optional.ofNullable(sizing);
    }

    @Override
    public Optional<Autoscaling> autoscaling() {
        return Optional.ofNullable(autoscaling);
    }

    /** Reports what {@code --autoscale} sees and last did. */
    public void autoscaling(Autoscaling report) {
        autoscaling = report;
    }

    /** Reports how {@code --num-instances auto} chose (or is choosing) the size. */
    public void sizing(Sizing report) {
        sizing = report;
    }

    @Override
    public Optional<String> operation() {
        return Optional.ofNullable(operation.get());
    }

    /** No more restarts from here on: the sidecar is stopping (its dispatcher drains meanwhile). */
    public void stopRestarting() {
        lifecycle.stopRestarting();
    }

    /** Stops every backend's process tree (SIGTERM, SIGKILL after the grace period) and waits for them. */
    @Override
    public void close() {
        lifecycle.stopAll(all());
        lifecycle.close();
    }

    /** Drains and stops the instance, then starts it again at {@code share} (a step of a re-split). */
    private void restartAt(Instance i, double share) {
        long gen = lifecycle.beginStop(i, "re-splitting GPU " + i.device + ": restarting at "
                + MemorySplit.format(share) + " of it");
        lifecycle.finishStop(i, gen, drainTimeout);
        synchronized (i) {
            i.fraction = share;
        }
        launch(i, lifecycle.prepare(i, "re-split"));
    }

    private void launch(Instance i, long gen) {
        if (lifecycle.launch(i, gen, "") instanceof Launcher.Outcome.Failed f) {
            lifecycle.failed(i, gen, f.why());
        }
    }

    private void removeWhenStopped(Instance i, long gen) {
        lifecycle.finishStop(i, gen, drainTimeout);
        synchronized (this) {
            instances.remove(i.id);
            watchers.forEach(w -> w.removed(i.id));
        }
        i.log.end();
        LOG.log(Level.INFO, "backend " + i.id + " (port " + i.port + ") removed from the fleet");
    }

    private int freePort() {
        Set<Integer> used = new HashSet<>();
        all().forEach(i -> used.add(i.port));
        Set<Integer> reserved = Set.of(config.port(), config.adminPort());
        int p = PortLayout.next(config.portStart(), used, reserved);
        while (p != -1 && !Ports.free(PortLayout.BACKEND_HOST, p)) {
            used.add(p);
            p = PortLayout.next(config.portStart(), used, reserved);
        }
        if (p == -1) {
            throw new FleetException.Invalid("no free port is left from --port-start " + config.portStart());
        }
        return p;
    }

    private synchronized Instance create(int port, String device, double fraction) {
        int id = nextId++;
        BackendLog log = new BackendLog(id, config.backendOutput().toFile() ? config.logDir() : null,
                config.backendOutput().toStderr() ? echo : null);
        Instance i = new Instance(id, port, device, fraction, log);
        instances.put(id, i);
        watchers.forEach(w -> w.created(id));
        return i;
    }

    /** Runs a change, counting it as refused when it is. */
    private Change counted(Change.Kind kind, Supplier<Change> change) {
        try {
            return change.get();
        } catch (FleetException e) {
            count(kind, Change.Outcome.REFUSED);
            throw e;
        }
    }

    private void count(Change.Kind kind, Change.Outcome outcome) {
        changes[kind.ordinal() * Change.Outcome.values().length + outcome.ordinal()].increment();
    }

    @Override
    public long changes(Change.Kind kind, Change.Outcome outcome) {
        return changes[kind.ordinal() * Change.Outcome.values().length + outcome.ordinal()].sum();
    }

    @Override
    public void watch(Membership listener) {
        synchronized (this) {
            watchers.add(listener);
            instances.keySet().forEach(listener::created);
        }
    }

    private void begin(String what, Change.Kind kind) {
        if (lifecycle.closing()) {
            throw new FleetException.WrongState("the sidecar is stopping");
        }
        if (!operation.compareAndSet(null, what)) {
            throw new FleetException.Busy("'" + operation.get() + "' is under way; try again once it has finished");
        }
        operationKind = kind;
        LOG.log(Level.INFO, "operation: " + what);
    }

    /** Runs the rest of the operation in the background; the operation slot frees when it is done. */
    private void background(Work work) {
        String what = operation.get();
        Change.Kind kind = operationKind;
        Thread.ofVirtual().name("operation").start(() -> {
            try {
                work.run();
                count(kind, Change.Outcome.DONE);
                LOG.log(Level.INFO, "operation done: " + what);
            } catch (InterruptedException e) {
                count(kind, Change.Outcome.FAILED);
                LOG.log(Level.WARNING, "operation interrupted: " + what);
            } catch (RuntimeException e) {
                count(kind, Change.Outcome.FAILED);
                LOG.log(Level.ERROR, "operation failed: " + what, e);
            } finally {
                operation.set(null);
            }
        });
    }

    private interface Work {
        void run() throws InterruptedException;
    }

    private void refuseInDirectMode(String what) {
        if (config.direct()) {
            throw new FleetException.DirectMode("cannot " + what + ": the single backend serves the public port"
                    + " itself (--num-instances 1); start the sidecar with --always-proxy to scale at runtime");
        }
    }

    private static void refuseIfLeaving(Instance i) {
        synchronized (i) {
            if (i.leaving()) {
                throw new FleetException.WrongState("instance " + i.id + " is " + i.state + " already");
            }
        }
    }

    private Instance existing(int id) {
        Instance i = instances.get(id);
        if (i == null) {
            throw new FleetException.UnknownInstance(id);
        }
        return i;
    }

    /** Which to remove first when shrinking: broken ones, then loading ones, then working ones. */
    private static int keepRank(Instance i) {
        return switch (i.state) {
            case FAILED, STOPPED -> 0;
            case BACKOFF -> 1;
            case STARTING -> 2;
            case UNHEALTHY -> 3;
            default -> 4;
        };
    }

    private InstanceView view(Instance i) {
        synchronized (i) {
            return i.view(config.backend().maxNumSeqs(), lifecycle.probeHost());
        }
    }

    private List<Instance> all() {
        return List.copyOf(instances.values());
    }

    private static <T> T locked(Instance i, Function<Instance, T> read) {
        synchronized (i) {
            return read.apply(i);
        }
    }
}
