package io.vllmfactory.serve;

import io.vllmfactory.serve.dispatch.Dispatcher;
import io.vllmfactory.serve.dispatch.DispatcherMetrics;
import io.vllmfactory.serve.dispatch.admission.BackendPool;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.FleetMetrics;
import io.vllmfactory.serve.supervise.InstanceView;

import io.helidon.health.HealthCheckResponse;
import io.helidon.health.HealthCheckType;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Metrics;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;
import io.helidon.webserver.observe.metrics.MetricsObserver;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.function.BooleanSupplier;

/**
 * {@code /observe/metrics} (Prometheus text) and {@code /observe/health} for the admin listener.
 * Liveness ({@code /observe/health/live}) is the sidecar answering. Readiness
 * ({@code /observe/health/ready}) is up once the backends' first start is done and while at least one
 * backend is in routing; its details name each backend's state. Each sidecar has a registry of its own,
 * so its meters describe its own dispatcher and fleet.
 */
final class Observability {
    private Observability() {
    }

    /**
     * @param dispatcher the dispatcher, or null in direct mode (then only JVM meters, fleet meters and liveness)
     * @param started    whether the backends' first start is done: until then the sidecar is not ready
     */
    static ObserveFeature feature(Dispatcher dispatcher, BackendPool pool, Fleet fleet, BooleanSupplier started) {
        MeterRegistry registry = Metrics.createMeterRegistry();
        if (dispatcher != null) {
            DispatcherMetrics.register(registry, dispatcher);
        }
        FleetMetrics.register(registry, fleet);
        HealthObserver health = HealthObserver.builder()
                .details(true)
                .addCheck(() -> HealthCheckResponse.builder()
                        .status(true)
                        .detail("version", Version.text())
                        .detail("uptime", Duration.ofMillis(ManagementFactory.getRuntimeMXBean().getUptime()).toString())
                        .build(), HealthCheckType.LIVENESS, "sidecar")
                .addCheck(() -> readiness(pool, fleet, started.getAsBoolean()), HealthCheckType.READINESS, "backends")
                .build();
        return ObserveFeature.builder()
                .addObserver(MetricsObserver.builder().meterRegistry(registry).build())
                .addObserver(health)
                .build();
    }

    /** Up when the first start is done and a backend is in routing; one detail per backend with its state. */
    private static HealthCheckResponse readiness(BackendPool pool, Fleet fleet, boolean started) {
        long healthy = pool.routable();
        HealthCheckResponse.Builder r = HealthCheckResponse.builder()
                .status(started && healthy > 0)
                .detail("started", started)
                .detail("healthy_backends", healthy);
        for (InstanceView v : fleet.instances()) {
            r.detail("backend_" + v.id(), v.state().name().toLowerCase(Locale.ROOT));
        }
        return r.build();
    }
}
