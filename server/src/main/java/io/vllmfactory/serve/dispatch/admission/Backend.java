package io.vllmfactory.serve.dispatch.admission;

import java.net.URI;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;

/**
 * One model-server instance as the dispatcher sees it: where it listens, how many requests it may
 * hold at once, and whether it may be routed to.
 *
 * <p>Its cap is one fair {@link Semaphore} sized to its max batch. A permit is held from the moment
 * a request is bound to this backend until its answer is fully relayed (or failed), so the backend
 * never holds more than its max batch from the dispatcher. The pool only ever takes permits with
 * {@code tryAcquire}: requests that find no permit wait in the pool's one line, not on a semaphore
 * (see {@link BackendPool}). A backend is routable while it is healthy and not draining.
 */
public final class Backend {
    private final int id;
    private final String host;
    private final int port;
    private final int maxBatch;
    private final Semaphore permits;
    private final LongAdder served = new LongAdder();
    private final LongAdder transportFailures = new LongAdder();
    private final LongAdder badResponses = new LongAdder();
    private volatile boolean healthy;
    private volatile boolean draining;
    /** Counts recoveries: a request that saw this backend fail may use it again after it came back. */
    private volatile int generation;

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
        this.healthy = healthy;
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
        return URI.create("http://" + host + ":" + port);
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

    /** Connections to it that failed: refused, reset, or closed before a whole answer. */
    public long transportFailures() {
        return transportFailures.sum();
    }

    /** Answers it sent that broke HTTP/1.1 framing (502 to the client). */
    public long badResponses() {
        return badResponses.sum();
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

    /** How often it came back into routing after being taken out; see {@link Tried}. */
    public int generation() {
        return generation;
    }

    public void markServed() {
        served.increment();
    }

    public void markTransportFailure() {
        transportFailures.increment();
    }

    public void markBadResponse() {
        badResponses.increment();
    }

    @Override
    public String toString() {
        return "backend " + id + " (" + host + ":" + port + ")";
    }

    Semaphore permits() {
        return permits;
    }

    /** Sets the health verdict; returns whether routing should look at the line again (it came back). */
    synchronized boolean healthy(boolean healthy) {
        boolean cameBack = healthy && !this.healthy;
        if (cameBack) {
            generation++;
        }
        this.healthy = healthy;
        return cameBack;
    }

    void draining(boolean draining) {
        this.draining = draining;
    }
}
