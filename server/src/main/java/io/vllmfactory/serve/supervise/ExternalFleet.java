package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The fleet as the admin API sees it in {@code --backend-url} mode: backends that run already, which the
 * sidecar did not launch. It lists them (READY while routable, else UNHEALTHY) with what the dispatcher knows;
 * every change is refused with {@link FleetException.NotLaunched}, saying why.
 */
public final class ExternalFleet implements Fleet {
    private final BackendPool pool;
    private final Instant since = Instant.now();

    /** @param pool the dispatcher's backends */
    public ExternalFleet(BackendPool pool) {
        this.pool = pool;
    }

    @Override
    public List<InstanceView> instances() {
        return pool.backends().stream().map(this::view).toList();
    }

    @Override
    public Optional<InstanceView> instance(int id) {
        return pool.backend(id).map(this::view);
    }

    private InstanceView view(Backend b) {
        return new InstanceView(b.id(), b.url().toString(), b.port(), -1,
                b.routable() ? BackendState.READY : BackendState.UNHEALTHY, b.inFlight(), b.maxBatch(),
                OptionalDouble.empty(), null, 0, Duration.ZERO, null, since, null);
    }

    @Override
    public Change add(int count, boolean rebalance) {
        throw refused("add instances");
    }

    @Override
    public Change scaleTo(int count, boolean rebalance) {
        throw refused("scale");
    }

    @Override
    public Change remove(int id) {
        throw refused("remove an instance");
    }

    @Override
    public Change restart(int id) {
        throw refused("restart an instance");
    }

    private static FleetException.NotLaunched refused(String what) {
        return new FleetException.NotLaunched("cannot " + what + ": the sidecar runs in front of backends that run"
                + " already (--backend-url) and did not launch them; start or stop them where they run, and list"
                + " their URLs with --backend-url");
    }

    @Override
    public double gpuBudget() {
        return 0;
    }

    @Override
    public List<Gpu> gpus() {
        return List.of();
    }

    @Override
    public Optional<String> operation() {
        return Optional.empty();
    }

    @Override
    public boolean direct() {
        return false;
    }

    @Override
    public boolean launched() {
        return false;
    }
}
