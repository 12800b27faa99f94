package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;

import io.helidon.metrics.api.FunctionalCounter;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.Meter;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Tag;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The dispatcher's Prometheus meters. Every meter reads state the dispatcher keeps anyway (permits,
 * counters), so the request path pays nothing for them; per-backend meters follow the pool as
 * backends join and leave.
 */
public final class DispatcherMetrics implements BackendPool.MembershipListener {
    private static final String PREFIX = "vllm_factory_";

    private final MeterRegistry registry;
    private final Map<Backend, List<Meter>> perBackend = new ConcurrentHashMap<>();

    private DispatcherMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Registers the dispatcher's meters in {@code registry} and keeps the per-backend ones in step. */
    public static DispatcherMetrics register(MeterRegistry registry, Dispatcher dispatcher) {
        DispatcherMetrics m = new DispatcherMetrics(registry);
        BackendPool pool = dispatcher.pool();
        m.gauge("waiting_requests", "Requests waiting for a free backend slot", pool, BackendPool::waiting, List.of());
        m.gauge("active_requests", "Requests being handled, waiting ones included", dispatcher, Dispatcher::active,
                List.of());
        m.gauge("healthy_backends", "Backends in routing", pool, BackendPool::routable, List.of());
        m.gauge("request_affinity_enabled", "1 when request affinity is on", dispatcher,
                d -> d.affinityEnabled() ? 1 : 0, List.of());
        // Bound to the dispatcher itself: a meter keeps only a weak reference to its state object, so
        // a throwaway holder would be collected and the meter would read zero from then on.
        m.counter("requests_served", "Requests answered by a backend", dispatcher, d -> d.counts().served().sum(),
                List.of());
        m.counter("requests_failed", "Requests answered by the dispatcher with an error, or cut", dispatcher,
                d -> d.counts().failed().sum(), List.of());
        m.counter("requests_retried", "Attempts moved to another backend after a failure", dispatcher,
                d -> d.counts().retried().sum(), List.of());
        m.counter("requests_poison_refused", "Requests refused after the poison limit of backends died with them",
                dispatcher, d -> d.counts().poisoned().sum(), List.of());
        m.counter("affinity_hits", "Requests that went to their pinned backend", dispatcher,
                d -> d.affinityTable().hits(), List.of());
        m.counter("affinity_misses", "Requests whose affinity key was new", dispatcher,
                d -> d.affinityTable().misses(), List.of());
        m.counter("affinity_fallbacks", "Requests whose pinned backend was full", dispatcher,
                d -> d.affinityTable().fallbacks(), List.of());
        pool.listen(m);
        return m;
    }

    @Override
    public void added(Backend b) {
        List<Tag> tags = List.of(Tag.create("backend", Integer.toString(b.id())));
        List<Meter> meters = new ArrayList<>();
        meters.add(gauge("backend_in_flight", "Requests bound to the backend", b, Backend::inFlight, tags));
        meters.add(gauge("backend_max_batch", "Most requests the backend may hold", b, Backend::maxBatch, tags));
        meters.add(gauge("backend_healthy", "1 while the backend is in routing", b, x -> x.routable() ? 1 : 0, tags));
        meters.add(counter("backend_requests_served", "Requests the backend answered", b, Backend::served, tags));
        meters.add(counter("backend_transport_failures", "Connections to the backend that failed", b,
                Backend::transportFailures, tags));
        meters.add(counter("backend_bad_responses", "Answers from the backend that broke HTTP/1.1 framing (502)", b,
                Backend::badResponses, tags));
        perBackend.put(b, meters);
    }

    @Override
    public void removed(Backend b) {
        List<Meter> meters = perBackend.remove(b);
        if (meters != null) {
            meters.forEach(registry::remove);
        }
    }

    private <T> Meter gauge(String name, String help, T state, ToDoubleFunction<T> value, List<Tag> tags) {
        return registry.getOrCreate(Gauge.builder(PREFIX + name, state, value).description(help).tags(tags));
    }

    private <T> Meter counter(String name, String help, T state, Function<T, Long> value, List<Tag> tags) {
        return registry.getOrCreate(FunctionalCounter.builder(PREFIX + name, state, value).description(help).tags(tags));
    }
}
