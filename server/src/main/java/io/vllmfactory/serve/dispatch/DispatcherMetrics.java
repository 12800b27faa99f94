package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;
import io.vllmfactory.serve.dispatch.upstream.Upstream;

import io.helidon.metrics.api.FunctionalCounter;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.Meter;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Tag;
import io.helidon.metrics.api.Timer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The dispatcher's Prometheus meters. Counters and gauges read state the dispatcher keeps anyway
 * (permits, counters); the three histograms (time in line, time to the backend's first byte, whole
 * request by backend and status class) are recorded as requests end, unless
 * {@code --no-request-histograms}. Per-backend meters follow the pool as backends join and leave.
 */
public final class DispatcherMetrics implements BackendPool.MembershipListener, RequestEvents {
    /** Every meter's name starts with this. */
    public static final String PREFIX = "vllm_factory_";
    /** Histogram buckets for GPU inference: a millisecond to a minute. */
    static final Duration[] BUCKETS = durations(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
            10, 30, 60);
    /** Status classes of the duration histogram: 1xx..5xx by index, and 0 for requests that got no answer. */
    private static final String[] CLASSES = {"aborted", "1xx", "2xx", "3xx", "4xx", "5xx"};

    private final MeterRegistry registry;
    private final Dispatcher dispatcher;
    private final Map<Backend, PerBackend> perBackend = new ConcurrentHashMap<>();
    private final boolean histograms;
    private final PerBackend none;
    private final Timer wait;

    private DispatcherMetrics(MeterRegistry registry, Dispatcher dispatcher) {
        this.registry = registry;
        this.dispatcher = dispatcher;
        this.histograms = dispatcher.config().observe().requestHistograms();
        this.none = new PerBackend("none", List.of(), null);
        this.wait = histograms ? timer("request_wait", "Time requests waited in line for a backend slot, over all"
                + " their attempts", List.of()) : null;
    }

    /** Registers the dispatcher's meters in {@code registry} and keeps the per-backend ones in step. */
    public static DispatcherMetrics register(MeterRegistry registry, Dispatcher dispatcher) {
        DispatcherMetrics m = new DispatcherMetrics(registry, dispatcher);
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
        if (m.histograms) {
            dispatcher.listen(m);
        }
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
        Upstream upstream = dispatcher.upstreamOrNull(b);
        if (upstream != null) {
            meters.add(counter("backend_sent_bytes", "Bytes sent to the backend (request heads and bodies)", upstream,
                    Upstream::sentBytes, tags));
            meters.add(counter("backend_received_bytes", "Bytes received from the backend (answer heads and bodies)",
                    upstream, Upstream::receivedBytes, tags));
        }
        Timer firstByte = null;
        if (histograms) {
            firstByte = timer("backend_first_byte", "Time from the request's last byte sent to the backend's"
                    + " first byte back", tags);
            meters.add(firstByte);
        }
        perBackend.put(b, new PerBackend(Integer.toString(b.id()), meters, firstByte));
    }

    @Override
    public void removed(Backend b) {
        PerBackend p = perBackend.remove(b);
        if (p != null) {
            p.meters.forEach(registry::remove);
            for (int k = 0; k < CLASSES.length; k++) {
                Timer t = p.durations.get(k);
                if (t != null) {
                    registry.remove(t);
                }
            }
        }
    }

    @Override
    public void firstByte(Backend backend, long nanos) {
        PerBackend p = perBackend.get(backend);
        if (p != null) {
            p.firstByte.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void finished(String method, String rawPath, Backend backend, int status, long waited, long nanos) {
        wait.record(waited, TimeUnit.NANOSECONDS);
        PerBackend p = backend == null ? none : perBackend.get(backend);
        if (p != null) { // null: the backend left the pool while the answer was relayed
            p.duration(status).record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /** One backend's meters (or, for "none", the requests the dispatcher answered itself). */
    private final class PerBackend {
        private final String label;
        private final List<Meter> meters;
        private final Timer firstByte;
        private final AtomicReferenceArray<Timer> durations = new AtomicReferenceArray<>(CLASSES.length);

        private PerBackend(String label, List<Meter> meters, Timer firstByte) {
            this.label = label;
            this.meters = meters;
            this.firstByte = firstByte;
        }

        /** The duration histogram of a status class, registered on its first request. */
        Timer duration(int status) {
            int k = status >= 100 && status < 600 ? status / 100 : 0;
            Timer t = durations.get(k);
            if (t == null) {
                t = timer("request_duration", "Whole requests in the dispatcher, from head read to answer relayed",
                        List.of(Tag.create("backend", label), Tag.create("status_class", CLASSES[k])));
                durations.set(k, t);
            }
            return t;
        }
    }

    private Timer timer(String name, String help, List<Tag> tags) {
        // no client-side quantiles (Helidon publishes six by default): they cost every record, and Prometheus
        // computes quantiles from the buckets, across backends and sidecars too
        return registry.getOrCreate(Timer.builder(PREFIX + name).description(help).tags(tags).buckets(BUCKETS)
                .percentiles(new double[0]));
    }

    private <T> Meter gauge(String name, String help, T state, ToDoubleFunction<T> value, List<Tag> tags) {
        return registry.getOrCreate(Gauge.builder(PREFIX + name, state, value).description(help).tags(tags));
    }

    private <T> Meter counter(String name, String help, T state, Function<T, Long> value, List<Tag> tags) {
        return registry.getOrCreate(FunctionalCounter.builder(PREFIX + name, state, value).description(help).tags(tags));
    }

    private static Duration[] durations(double... seconds) {
        Duration[] d = new Duration[seconds.length];
        for (int k = 0; k < seconds.length; k++) {
            d[k] = Duration.ofNanos(Math.round(seconds[k] * 1e9));
        }
        return d;
    }
}
