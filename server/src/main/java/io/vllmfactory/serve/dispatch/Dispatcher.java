package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;
import io.vllmfactory.serve.dispatch.affinity.AffinityState;
import io.vllmfactory.serve.dispatch.affinity.AffinityTable;
import io.vllmfactory.serve.dispatch.client.ClientConnection;
import io.vllmfactory.serve.dispatch.upstream.Upstream;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The public endpoint: a Helidon handler that forwards every request except {@code /health} to a
 * backend, unchanged, and relays the answer ({@link Forwarding} is the one path a request takes).
 * It keeps what outlives a request: the backend pool, one {@link Upstream} of pooled connections per
 * backend, the affinity table, and the counters metrics and the admin API read.
 */
public final class Dispatcher implements Handler, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Dispatcher.class.getName());
    private static final byte[] UNHEALTHY = "{\"error\": \"no healthy backends\"}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SHUTTING_DOWN = "{\"error\": \"shutting down\"}".getBytes(StandardCharsets.US_ASCII);

    private final DispatcherConfig config;
    private final BackendPool pool;
    private final AffinityTable affinity;
    private final PublicPaths publicPaths;
    private final Map<Backend, Upstream> upstreams = new ConcurrentHashMap<>();
    private final Map<Backend, byte[]> hostLines = new ConcurrentHashMap<>();
    private final AtomicInteger active = new AtomicInteger();
    private final LongAdder served = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder retried = new LongAdder();
    private final LongAdder poisoned = new LongAdder();
    private final AtomicBoolean errorLogged = new AtomicBoolean();
    private final Thread sweeper;
    private final Optional<AccessLog> accessLog;
    private volatile RequestEvents events = RequestEvents.NONE;
    private volatile boolean affinityEnabled;
    private volatile boolean draining;

    public Dispatcher(DispatcherConfig config, BackendPool pool) {
        this.config = config;
        this.pool = pool;
        this.affinity = new AffinityTable(config.affinityTableSize());
        this.publicPaths = PublicPaths.of(config.publicDenyPaths(), config.publicAllowPaths());
        this.affinityEnabled = config.requestAffinity();
        pool.listen(new BackendPool.MembershipListener() {
            @Override
            public void added(Backend b) {
                upstreams.put(b, new Upstream(b.host(), b.port(), b.toString(), (int) config.connectTimeout().toMillis(),
                        (int) config.upstreamTimeout().toMillis()));
                hostLines.put(b, ("Host: " + b.host() + ":" + b.port() + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            }

            @Override
            public void removed(Backend b) {
                Upstream u = upstreams.remove(b);
                if (u != null) {
                    u.close();
                }
                forget(b);
            }
        });
        this.accessLog = config.observe().accessLog().isEmpty() ? Optional.empty()
                : Optional.of(AccessLog.open(config.observe().accessLog()));
        accessLog.ifPresent(this::listen);
        this.sweeper = Thread.ofVirtual().name("upstream-sweeper").start(this::sweep);
    }

    /** Registers {@code /health} and the catch-all proxy route. */
    public static void routing(HttpRouting.Builder routing, Dispatcher dispatcher) {
        routing.any("/health", dispatcher::health)
               .any(dispatcher);
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        long start = System.nanoTime();
        ClientConnection client = ClientConnection.current().orElse(null);
        if (client != null && client.http10()) {
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
        active.incrementAndGet();
        Forwarding forwarding = new Forwarding(this, req, res, client);
        int status = 0;
        try {
            forwarding.run();
            status = forwarding.status();
        } catch (Relay.AbortedAnswer e) {
            failed.increment();
            throw new CloseConnectionException("the backend's answer broke off: " + e.getMessage());
        } catch (Exception e) {
            failed.increment();
            logUnexpected(e);
            if (forwarding.answerStarted() || !Problems.send(res, e, req.prologue().uriPath().rawPath())) {
                // the client is gone, or has part of an answer already: its connection ends here
                throw new CloseConnectionException("the request ended without an answer: " + e.getMessage());
            }
            status = res.status().code();
        } finally {
            active.decrementAndGet();
            events.finished(req.prologue().method().text(), req.prologue().uriPath().rawPath(),
                    status != 0 && forwarding.status() == status ? forwarding.answeredBy() : null, status,
                    forwarding.waitedNanos(), System.nanoTime() - start);
            done(client, req, res);
        }
    }

    /** Adds an observer of every request's end (metrics, the access log). */
    public void listen(RequestEvents observer) {
        events = RequestEvents.both(events, observer);
    }

    RequestEvents events() {
        return events;
    }

    /** Ends the request on its connection, and the connection too when either side said close. */
    private static void done(ClientConnection client, ServerRequest req, ServerResponse res) {
        if (client != null) {
            client.requestDone(client.http10() || req.headers().containsToken(HeaderValues.CONNECTION_CLOSE)
                    || res.headers().containsToken(HeaderValues.CONNECTION_CLOSE));
        }
    }

    /** An error that is no client's or backend's doing is logged (once: it must not flood the log). */
    private void logUnexpected(Exception e) {
        Problems.Problem p = Problems.of(e);
        if (p != null && p.status() == 500 && errorLogged.compareAndSet(false, true)) {
            LOG.log(Level.ERROR, "dispatcher error (logged once)", e);
        }
    }

    private void health(ServerRequest req, ServerResponse res) {
        if (ClientConnection.current().map(ClientConnection::http10).orElse(false)) {
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
        try {
            int healthy = pool.routable();
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            if (draining) { // a load balancer's check learns of the stop before the port closes
                res.header(HeaderValues.CONNECTION_CLOSE);
                res.status(Status.SERVICE_UNAVAILABLE_503).send(SHUTTING_DOWN);
                return;
            }
            if (healthy == 0) {
                res.status(Status.SERVICE_UNAVAILABLE_503).send(UNHEALTHY);
                return;
            }
            res.send(("{\"status\": \"ok\", \"healthy_backends\": " + healthy + ", \"backends\": " + pool.backends().size()
                    + "}").getBytes(StandardCharsets.US_ASCII));
        } finally {
            done(ClientConnection.current().orElse(null), req, res);
        }
    }

    public DispatcherConfig config() {
        return config;
    }

    public BackendPool pool() {
        return pool;
    }

    AffinityTable affinity() {
        return affinity;
    }

    public boolean affinityEnabled() {
        return affinityEnabled;
    }

    public void affinityEnabled(boolean enabled) {
        this.affinityEnabled = enabled;
    }

    boolean draining() {
        return draining;
    }

    /** Whether the public port refuses this path (one of vLLM's operator endpoints, or configured so). */
    boolean refused(String rawPath) {
        return publicPaths.refused(rawPath);
    }

    /** Body bytes read whole before a backend is chosen: what a retry needs, or affinity when it is on. */
    int bufferLimit(boolean keyed) {
        return keyed ? Math.max(config.retryBodyLimit(), config.affinityBodyLimit()) : config.retryBodyLimit();
    }

    Upstream upstream(Backend backend) throws UpstreamException.Unreachable {
        Upstream u = upstreams.get(backend);
        if (u == null) {
            throw new UpstreamException.Unreachable(backend + " left the pool", null);
        }
        return u;
    }

    /** The backend's connections, or null once it left the pool. */
    Upstream upstreamOrNull(Backend backend) {
        return upstreams.get(backend);
    }

    byte[] hostLine(Backend backend) {
        return hostLines.get(backend);
    }

    /** A backend relayed its whole answer: counted, and the request's key pinned to it. */
    void served(Backend backend, String key, AffinityState state) {
        backend.markServed();
        served.increment();
        if (key != null) {
            affinity.count(state);
            if (state != AffinityState.HIT) {
                affinity.pin(key, backend);
            }
        }
    }

    /** A backend failed a request at the transport level: out of routing until its probe passes again. */
    void failedOn(Backend backend, String key, UpstreamException failure) {
        backend.markTransportFailure();
        if (backend.healthy()) {
            LOG.log(Level.WARNING, "{0} failed a request ({1}): out of routing until its health probe passes",
                    backend, failure.getMessage());
        }
        pool.healthy(backend, false);
        if (key != null) {
            affinity.unpin(key, backend);
        }
    }

    void retried() {
        retried.increment();
    }

    void poisoned() {
        poisoned.increment();
    }

    /** Requests being handled right now, waiting ones included. */
    public int active() {
        return active.get();
    }

    /** The dispatcher's running totals, read by metrics. */
    public record Counts(LongAdder served, LongAdder failed, LongAdder retried, LongAdder poisoned) {
    }

    public Counts counts() {
        return new Counts(served, failed, retried, poisoned);
    }

    public AffinityTable affinityTable() {
        return affinity;
    }

    /** Counters and state for status reports. */
    public ObjectNode status() {
        ObjectNode s = Problems.object();
        s.put("waiting", pool.waiting());
        s.put("active", active.get());
        s.put("served", served.sum());
        s.put("failed", failed.sum());
        s.put("retried", retried.sum());
        s.put("poisoned", poisoned.sum());
        s.put("draining", draining);
        ObjectNode a = s.putObject("affinity");
        a.put("enabled", affinityEnabled);
        a.put("keys", affinity.size());
        a.put("hit", affinity.hits());
        a.put("miss", affinity.misses());
        a.put("fallback", affinity.fallbacks());
        var backends = s.putArray("backends");
        for (Backend b : pool.backends()) {
            ObjectNode o = backends.addObject();
            o.put("id", b.id());
            o.put("url", b.url().toString());
            o.put("healthy", b.healthy());
            o.put("draining", b.draining());
            o.put("in_flight", b.inFlight());
            o.put("max_batch", b.maxBatch());
            o.put("served", b.served());
            o.put("transport_failures", b.transportFailures());
        }
        return s;
    }

    /** Stops taking new requests; those in flight or waiting carry on. */
    public void beginDrain() {
        draining = true;
    }

    /** Waits until no request is in flight or waiting, or the timeout passes; true when idle. */
    public boolean awaitIdle(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (active.get() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10); // shutdown path only: a short poll keeps the request path free of signalling
        }
        return true;
    }

    /** Drops affinity pins to a backend that leaves the pool. */
    public void forget(Backend backend) {
        affinity.forget(backend);
    }

    /**
     * Every tenth of a second ends exchanges with backends silent past the upstream timeout; every
     * second closes idle backend connections before the backends' keep-alive timeouts do.
     */
    private void sweep() {
        for (long tick = 1; !Thread.currentThread().isInterrupted(); tick++) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            upstreams.values().forEach(Upstream::expireSilent);
            if (tick % 10 == 0) {
                upstreams.values().forEach(Upstream::sweep);
            }
        }
    }

    /** Stops the sweeper and closes every backend connection, once the server no longer serves requests. */
    @Override
    public void close() {
        sweeper.interrupt();
        upstreams.values().forEach(Upstream::close);
        accessLog.ifPresent(AccessLog::close);
    }
}
