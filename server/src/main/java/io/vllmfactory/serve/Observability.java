package io.vllmfactory.serve;

import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.dispatch.DispatcherMetrics;
import io.vllmfactory.serve.dispatch.admission.BackendPool;

import io.helidon.health.HealthCheckResponse;
import io.helidon.health.HealthCheckType;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Metrics;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;
import io.helidon.webserver.observe.metrics.MetricsObserver;

import java.util.function.BooleanSupplier;

/**
 * {@code /observe/metrics} (Prometheus text) and {@code /observe/health} for the admin listener; readiness is
 * up once the backends' first start is done and while at least one backend is healthy. Each
 * sidecar has a registry of its own, so its meters describe its own dispatcher and no other.
 */
final class Observability {
    private Observability() {
    }

    /**
     * @param dispatcher the dispatcher, or null in direct mode (then only JVM meters and liveness)
     * @param started    whether the backends' first start is done: until then the sidecar is not ready
     */
    static ObserveFeature feature(Dispatcher dispatcher, BackendPool pool, BooleanSupplier started) {
        MeterRegistry registry = Metrics.createMeterRegistry();
        if (dispatcher != null) {
            DispatcherMetrics.register(registry, dispatcher);
        }
        HealthObserver health = HealthObserver.builder()
                .details(true)
                .addCheck(() -> {
                    long healthy = pool.routable();
                    boolean up = started.getAsBoolean();
                    return HealthCheckResponse.builder()
                            .status(up && healthy > 0)
                            .detail("started", up)
                            .detail("healthy_backends", healthy)
                            .detail("backends", pool.backends().size())
                            .build();
                }, HealthCheckType.READINESS, "backends")
                .build();
        return ObserveFeature.builder()
                .addObserver(MetricsObserver.builder().meterRegistry(registry).build())
                .addObserver(health)
                .build();
    }
}
