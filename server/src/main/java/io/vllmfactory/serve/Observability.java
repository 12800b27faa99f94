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

/**
 * {@code /observe/metrics} (Prometheus text) and {@code /observe/health} for the admin listener. Each
 * sidecar has a registry of its own, so its meters describe its own dispatcher and no other.
 */
final class Observability {
    private Observability() {
    }

    /** @param dispatcher the dispatcher, or null in direct mode (then only JVM meters and liveness) */
    static ObserveFeature feature(Dispatcher dispatcher, BackendPool pool) {
        MeterRegistry registry = Metrics.createMeterRegistry();
        if (dispatcher != null) {
            DispatcherMetrics.register(registry, dispatcher);
        }
        HealthObserver health = HealthObserver.builder()
                .details(true)
                .addCheck(() -> {
                    long healthy = pool.routable();
                    return HealthCheckResponse.builder()
                            .status(healthy > 0)
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
