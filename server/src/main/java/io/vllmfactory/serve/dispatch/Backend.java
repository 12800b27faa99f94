package io.vllmfactory.serve.dispatch;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;

/**
 * One model-server instance as the dispatcher sees it: where it listens, how many requests it may
 * hold at once, and whether it may be routed to.
 *
 * <p>Capacity is one fair {@link Semaphore} sized to the backend's max batch; a permit is held from
 * the moment a request is bound to this backend until its response is fully relayed. A backend is
 * routable only while it is healthy and not draining.
 */
public final class Backend {
    private final int id;
    private final String host;
    private final int port;
    private final int maxBatch;
    private final Semaphore permits;
    private final ConnectionPool connections;
    private final LongAdder served = new LongAdder();
    private final LongAdder transportFailures = new LongAdder();
    private volatile boolean healthy;
    private volatile boolean draining;
    /** Per affinity state, the decoration header lines the fast path writes for this backend. */
    private final byte[][] decorationLines = new byte[AffinityState.values().length][];

    /**
     * @param id       stable id, reported to clients in {@code X-VLLM-Factory-Backend-Index}
     * @param url      base URL, {@code http://host:port}
     * @param maxBatch most requests in flight at once
     * @param healthy  whether it may be routed to before its first health probe
     */
    public Backend(int id, URI url, int maxBatch, boolean healthy) {
        if (id < 0) {
            throw new IllegalArgumentException("backend id: " + id + " (expected: >= 0)");
        }
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch: " + maxBatch + " (expected: >= 1)");
        }
        if (!"http".equals(url.getScheme()) || url.getHost() == null || url.getPort() < 0) {
            throw new IllegalArgumentException("backend url: " + url + " (expected: http://host:port)");
        }
        if (url.getRawPath() != null && !url.getRawPath().isEmpty() && !"/".equals(url.getRawPath())) {
            throw new IllegalArgumentException("backend url: " + url + " (expected no path: requests keep their own)");
        }
        this.id = id;
        this.host = url.getHost();
        this.port = url.getPort();
        this.maxBatch = maxBatch;
        this.permits = new Semaphore(maxBatch, true);
        this.connections = new ConnectionPool(new InetSocketAddress(host, port), host + ":" + port);
        this.healthy = healthy;
        for (AffinityState state : AffinityState.values()) {
            decorationLines[state.ordinal()] = (ResponseDecoration.BACKEND_INDEX.defaultCase() + ": " + id + "\r\n"
                    + ResponseDecoration.AFFINITY_STATE.defaultCase() + ": " + state.text() + "\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1);
        }
    }

    public int id() {
        return id;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public URI url() {
        return URI.create("http://" + connections.authority());
    }

    public int maxBatch() {
        return maxBatch;
    }

    /** Requests bound to this backend right now (running there or being relayed). */
    public int inFlight() {
        return maxBatch - permits.availablePermits();
    }

    public long served() {
        return served.sum();
    }

    public long transportFailures() {
        return transportFailures.sum();
    }

    public boolean healthy() {
        return healthy;
    }

    public boolean draining() {
        return draining;
    }

    /** Healthy and not draining: new requests may be bound to it. */
    public boolean routable() {
        return healthy && !draining;
    }

    @Override
    public String toString() {
        return "backend " + id + " (" + connections.authority() + ")";
    }

    /** {@code X-VLLM-Factory-Backend-Index} and {@code -Affinity-State} lines for this backend, encoded once. */
    byte[] decorationLines(AffinityState state) {
        return decorationLines[state.ordinal()];
    }

    Semaphore permits() {
        return permits;
    }

    ConnectionPool connections() {
        return connections;
    }

    void markServed() {
        served.increment();
    }

    void markTransportFailure() {
        transportFailures.increment();
    }

    void healthy(boolean healthy) {
        this.healthy = healthy;
    }

    void draining(boolean draining) {
        this.draining = draining;
    }
}
