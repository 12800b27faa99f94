package io.vllmfactory.serve.supervise;

import io.helidon.metrics.api.FunctionalCounter;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.Meter;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Tag;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The fleet's Prometheus meters: each instance's state (one series per state, 1 for the current one) and
 * restarts, the number of instances in each state, and fleet changes by kind and outcome. They read the
 * fleet when scraped; per-instance meters come and go with the instances.
 */
public final class FleetMetrics implements Fleet.Membership {
    private static final String PREFIX = "vllm_factory_";

    private final MeterRegistry registry;
    private final Fleet fleet;
    private final Map<Integer, List<Meter>> perInstance = new ConcurrentHashMap<>();

    private FleetMetrics(MeterRegistry registry, Fleet fleet) {
        this.registry = registry;
        this.fleet = fleet;
    }

    /** Registers the fleet's meters in {@code registry} and keeps the per-instance ones in step. */
    public static FleetMetrics register(MeterRegistry registry, Fleet fleet) {
        FleetMetrics m = new FleetMetrics(registry, fleet);
        for (BackendState state : BackendState.values()) {
            registry.getOrCreate(Gauge.builder(PREFIX + "backends", fleet,
                            f -> f.instances().stream().filter(v -> v.state() == state).count())
                    .description("Backends in each state").tags(List.of(Tag.create("state", label(state)))));
        }
        for (Change.Kind kind : Change.Kind.values()) {
            for (Change.Outcome outcome : Change.Outcome.values()) {
                registry.getOrCreate(FunctionalCounter.builder(PREFIX + "fleet_changes", fleet,
                                f -> f.changes(kind, outcome))
                        .description("Fleet changes (scaling, restarts, rebalancing) by kind and outcome")
                        .tags(List.of(Tag.create("kind", label(kind)), Tag.create("outcome", label(outcome)))));
            }
        }
        fleet.watch(m);
        return m;
    }

    @Override
    public void created(int id) {
        List<Tag> backend = List.of(Tag.create("backend", Integer.toString(id)));
        List<Meter> meters = new ArrayList<>();
        for (BackendState state : BackendState.values()) {
            List<Tag> tags = List.of(backend.getFirst(), Tag.create("state", label(state)));
            meters.add(registry.getOrCreate(Gauge.builder(PREFIX + "backend_state", fleet,
                            f -> f.instance(id).map(v -> v.state() == state ? 1 : 0).orElse(0))
                    .description("1 for the backend's current state, 0 for the others").tags(tags)));
        }
        meters.add(registry.getOrCreate(FunctionalCounter.builder(PREFIX + "backend_restarts", fleet,
                        f -> f.instance(id).map(v -> (long) v.restarts()).orElse(0L))
                .description("Times the backend was started again after its first start").tags(backend)));
        perInstance.put(id, meters);
    }

    @Override
    public void removed(int id) {
        List<Meter> meters = perInstance.remove(id);
        if (meters != null) {
            meters.forEach(registry::remove);
        }
    }

    private static String label(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
