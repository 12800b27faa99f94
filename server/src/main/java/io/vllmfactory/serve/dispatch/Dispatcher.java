package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.config.DispatcherConfig;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;


import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The public endpoint: forwards every request except {@code /health} to a backend with a free slot,
 * unchanged, and relays the answer. See {@link BackendPool} for how a backend is chosen and how
 * requests wait, {@link Relay} for the wire.
 *
 * <p>When a backend fails before the client saw any byte of its answer, the request goes to another
 * backend, ahead of the waiting line, once per backend, as long as its body can be replayed.
 */
public final class Dispatcher implements Handler, AutoCloseable {
    private static final io.helidon.http.Header JSON_TYPE =
            HeaderValues.createCached(HeaderNames.CONTENT_TYPE, "application/json");
    private static final byte[] UNHEALTHY = "{\"error\": \"no healthy backends\"}".getBytes();

    private final DispatcherConfig config;
    private final BackendPool pool;
    private final Reactors reactors;
    private final Relay relay;
    private final AffinityTable affinity;
    private final long queueTimeoutNanos;
    private final long silenceNanos;
    private final long unavailableNanos;
    private final int bufferLimitPlain;
    private final int bufferLimitAffinity;
    private final AtomicInteger active = new AtomicInteger();
    private final LongAdder served = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder retried = new LongAdder();
    private volatile boolean affinityEnabled;
    private volatile boolean draining;

    public Dispatcher(DispatcherConfig config, BackendPool pool) {
        this.config = config;
        this.pool = pool;
        this.reactors = new Reactors(config.eventLoopCount());
        this.silenceNanos = config.upstreamTimeout().toNanos();
        this.relay = new Relay((int) config.connectTimeout().toMillis(), silenceNanos,
                config.maxBodySize(), reactors);
        this.affinity = new AffinityTable(config.affinityTableSize());
        this.affinityEnabled = config.requestAffinity();
        this.queueTimeoutNanos = config.queueTimeout().toNanos();
        this.unavailableNanos = config.unavailableTimeout().toNanos();
        this.bufferLimitPlain = config.retryBodyLimit();
        this.bufferLimitAffinity = Math.max(config.retryBodyLimit(), config.affinityBodyLimit());
    }

    /** Registers {@code /health} and the catch-all proxy route. */
    public static void routing(HttpRouting.Builder routing, Dispatcher dispatcher) {
        routing.any("/health", dispatcher::health)
               .any(dispatcher);
    }

    /** The event loop for a new client connection. */
    Reactor reactor() {
        return reactors.next();
    }

    public BackendPool pool() {
        return pool;
    }

    public boolean affinityEnabled() {
        return affinityEnabled;
    }

    public void affinityEnabled(boolean enabled) {
        this.affinityEnabled = enabled;
    }

    /**
     * Largest request body the fast path ({@link ProxyConnection}) reads whole with its head: what
     * the general path would buffer anyway, and never past the body cap (413 comes from there).
     */
    long fastBodyLimit() {
        long limit = affinityEnabled ? bufferLimitAffinity : bufferLimitPlain;
        return config.maxBodySize() > 0 ? Math.min(limit, config.maxBodySize()) : limit;
    }

    /** Whether the fast lane ({@link FastLane}) may forward a request itself: not while draining (the general way answers 503). */
    boolean laneOpen() {
        return !draining;
    }

    Relay relay() {
        return relay;
    }

    long silenceNanos() {
        return silenceNanos;
    }

    /**
     * Whether the fast lane may put a request in line itself: only without a queue timeout, which
     * the general way keeps (the lane has no timers).
     */
    boolean laneWaits() {
        return queueTimeoutNanos == 0;
    }

    /** The fast lane took a request on (in line or with a backend): it counts as active until {@link #laneEnd}. */
    void laneBegin() {
        active.incrementAndGet();
    }

    /**
     * The fast lane is done with a request: answered, or handed to the general way (which counts it
     * again) or to {@link #fail}.
     */
    void laneEnd() {
        active.decrementAndGet();
    }

    /**
     * How a request is routed: its affinity key (null when affinity is off or the body is too large
     * to key), the backend pinned to that key, and the schema size for the response header.
     */
    record Routing(String key, Backend pinned, int schemaSize) {
        AffinityState state(Backend chosen) {
            return AffinityState.of(key != null, pinned, chosen);
        }
    }

    /** The routing of a request with a buffered body; affinity applies when {@code keyed} (it is on). */
    Routing routing(boolean keyed, OutboundRequest out, RequestBody body) {
        keyed &= body.buffered() && body.bytes().length <= config.affinityBodyLimit();
        JsonNode json = keyed ? JsonBodies.parse(body) : null;
        int schemaSize = keyed ? SchemaSize.of(json)
                : JsonBodies.mayHaveSchema(body) ? SchemaSize.of(body.bytes()) : -1;
        String key = keyed ? AffinityKey.of(out.method(), out.rawPath(), out.rawQuery(), body.bytes(), json) : null;
        return new Routing(key, key != null ? affinity.get(key) : null, schemaSize);
    }

    /** A backend relayed its whole answer: counted, and the request's key pinned to it. */
    void served(Backend backend, Routing routing, AffinityState state) {
        backend.markServed();
        served.increment();
        if (routing.key() != null) {
            affinity.count(state);
            if (state != AffinityState.HIT) {
                affinity.pin(routing.key(), backend);
            }
        }
    }

    /**
     * Counts a failed request and answers it with its problem.
     *
     * @throws RuntimeException when the client cannot be answered any more (gone, or it has part
     *                          of an answer): the caller closes its connection
     */
    void fail(ClientResponse res, Exception failure, String path) {
        failed.increment();
        if (!Problems.send(res, failure, path)) {
            throw failure instanceof RuntimeException re ? re : new ClientAbortException(failure.getMessage());
        }
    }

    /** Streams the body of an answer whose head the fast lane read, and gives the backend back. */
    void finishStreamed(Backend backend, UpstreamConnection conn, Relay.ResponseHead head, ClientResponse res,
                        ResponseDecoration decoration, Routing routing, String path) {
        try { // active since laneBegin
            relay.relayStreamed(backend, conn, head, res, decoration);
            served(backend, routing, decoration.affinity());
        } catch (RuntimeException | UpstreamFailure e) {
            fail(res, e, path);
        } finally {
            pool.release(backend);
            active.decrementAndGet();
        }
    }

    /** Requests being handled right now, waiting ones included. */
    public int active() {
        return active.get();
    }

    /** The dispatcher's running totals, read by metrics. */
    public record Counts(LongAdder served, LongAdder failed, LongAdder retried, LongAdder hits, LongAdder misses,
                         LongAdder fallbacks) {
    }

    public Counts counts() {
        return new Counts(served, failed, retried, affinity.hits, affinity.misses, affinity.fallbacks);
    }

    /** Counters and state for status reports. */
    public ObjectNode status() {
        ObjectNode s = Problems.object();
        s.put("waiting", pool.waiting());
        s.put("active", active.get());
        s.put("served", served.sum());
        s.put("failed", failed.sum());
        s.put("retried", retried.sum());
        s.put("draining", draining);
        ObjectNode a = s.putObject("affinity");
        a.put("enabled", affinityEnabled);
        a.put("keys", affinity.size());
        a.put("hit", affinity.hits.sum());
        a.put("miss", affinity.misses.sum());
        a.put("fallback", affinity.fallbacks.sum());
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
            Thread.sleep(10); // shutdown path only: a short poll keeps the hot path free of signalling
        }
        return true;
    }

    /** Stops the connection poller, once the server no longer serves requests. */
    @Override
    public void close() {
        reactors.close();
    }

    /** Drops affinity pins to a backend that leaves the pool. */
    public void forget(Backend backend) {
        affinity.forget(backend);
    }

    private void health(ServerRequest req, ServerResponse res) {
        int healthy = 0;
        List<Backend> all = pool.backends();
        for (Backend b : all) {
            if (b.routable()) {
                healthy++;
            }
        }
        res.header(JSON_TYPE);
        if (healthy == 0) {
            res.status(Status.SERVICE_UNAVAILABLE_503).send(UNHEALTHY);
            return;
        }
        res.send(("{\"status\": \"ok\", \"healthy_backends\": " + healthy + ", \"backends\": " + all.size() + "}")
                .getBytes());
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        serve(limit -> {
            RequestBody body = RequestBody.read(req, limit, config.maxBodySize());
            return new Incoming(OutboundRequest.from(req, body), body);
        }, new HelidonResponse(res), req.prologue().uriPath().rawPath(), null);
    }

    /** A client request ready to forward: its encoded head and its body (read already, so its own reader). */
    record Incoming(OutboundRequest request, RequestBody body) implements RequestReader {
        @Override
        public Incoming read(int bufferLimit) {
            return this;
        }
    }

    /** Reads a client request, buffering up to the given number of body bytes. */
    @FunctionalInterface
    interface RequestReader {
        Incoming read(int bufferLimit);
    }

    /**
     * Forwards one client request and answers it, with a problem when no backend could.
     *
     * @param watch  tells a request waiting in line that its client left, or null when the caller cannot
     * @throws RuntimeException when the client cannot be answered any more (gone, or it has part
     *                          of an answer): the caller closes its connection
     */
    void serve(RequestReader reader, ClientResponse res, String path, BackendPool.ClientWatch watch) {
        serve(reader, res, path, watch, null);
    }

    /**
     * As {@link #serve(RequestReader, ClientResponse, String, BackendPool.ClientWatch)}, with the
     * first attempt on {@code taken} when the caller holds one of its permits already (the fast lane
     * chose it but had no idle connection to it), so that round-robin keeps its order.
     */
    void serve(RequestReader reader, ClientResponse res, String path, BackendPool.ClientWatch watch, Backend taken) {
        active.incrementAndGet();
        try {
            proxy(reader, res, watch, taken);
        } catch (RuntimeException | UpstreamFailure e) {
            fail(res, e, path);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed.increment();
            Problems.send(res, new DrainingException(), null);
        } finally {
            active.decrementAndGet();
        }
    }

    private void proxy(RequestReader reader, ClientResponse res, BackendPool.ClientWatch watch, Backend taken)
            throws UpstreamFailure, InterruptedException {
        if (draining) {
            if (taken != null) {
                pool.release(taken);
            }
            throw new DrainingException();
        }
        boolean keyed = affinityEnabled;
        Incoming incoming = reader.read(keyed ? bufferLimitAffinity : bufferLimitPlain);
        OutboundRequest out = incoming.request();
        RequestBody body = incoming.body();
        Routing routing = routing(keyed, out, body);
        int schemaSize = routing.schemaSize();
        String key = routing.key();
        Backend pinned = routing.pinned();
        List<Backend> tried = null;
        UpstreamFailure lastFailure = null;
        while (true) {
            Backend backend = taken;
            taken = null;
            try {
                if (backend == null) {
                    backend = pool.acquire(pinned, tried, tried != null, queueTimeoutNanos, unavailableNanos, watch);
                }
            } catch (NoBackendException e) {
                if (lastFailure != null) {
                    throw lastFailure; // a retry whose untried backends all left: the failure is the answer
                }
                throw e;
            }
            try {
                AffinityState state = routing.state(backend);
                relay.exchange(backend, out, body, res, new ResponseDecoration(backend, state, schemaSize));
                served(backend, routing, state);
                return;
            } catch (UpstreamFailure e) {
                if (e.timeout()) {
                    throw e;
                }
                backend.markTransportFailure();
                pool.healthy(backend, false);
                if (key != null) {
                    affinity.unpin(key, backend);
                }
                if (tried == null) {
                    tried = new ArrayList<>(2);
                }
                tried.add(backend);
                if (!body.buffered() || !pool.anyUntried(tried)) {
                    throw e;
                }
                lastFailure = e;
                retried.increment();
                pinned = null;
            } finally {
                pool.release(backend);
            }
        }
    }

}
