package io.vllmfactory.serve.dispatch.health;

import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;

import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.http1.Http1Client;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Probes every backend's {@code GET /health} in the background, all backends at once each round,
 * and takes a backend out of routing after {@code threshold} consecutive failures; one success
 * brings it back. Routing and the dispatcher's own {@code /health} read the verdicts, so no client
 * request waits for a probe.
 */
public final class HealthPoller implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HealthPoller.class.getName());

    private final BackendPool pool;
    private final Duration interval;
    private final Duration timeout;
    private final int threshold;
    private final Http1Client client;
    private final Map<Backend, Integer> failures = new ConcurrentHashMap<>();
    private final ExecutorService probes = Executors.newVirtualThreadPerTaskExecutor();
    private volatile Thread loop;

    public HealthPoller(BackendPool pool, Duration interval, Duration timeout, int threshold) {
        this.pool = pool;
        this.interval = interval;
        this.timeout = timeout;
        this.threshold = threshold;
        // A fresh connection per probe: a pooled one the backend closed would read as a failure.
        this.client = Http1Client.builder()
                .connectTimeout(timeout)
                .readTimeout(timeout)
                .followRedirects(false)
                .keepAlive(false)
                .shareConnectionCache(false)
                .build();
    }

    /** Runs one round now (so routing starts from real verdicts), then keeps polling. */
    public HealthPoller start() {
        probeAll();
        loop = Thread.ofVirtual().name("health-poller").start(this::run);
        return this;
    }

    /** Probes every backend once and records the verdicts. */
    public void probeAll() {
        List<Backend> backends = pool.backends();
        failures.keySet().retainAll(backends); // forget backends that left the pool
        List<Future<Boolean>> results = new ArrayList<>(backends.size());
        for (Backend b : backends) {
            results.add(probes.submit(() -> probe(b)));
        }
        for (int i = 0; i < backends.size(); i++) {
            boolean ok;
            try {
                ok = results.get(i).get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                ok = false;
            }
            record(backends.get(i), ok);
        }
    }

    private void run() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                return;
            }
            probeAll();
        }
    }

    private boolean probe(Backend b) {
        try (HttpClientResponse r = client.get(b.url() + "/health").request()) {
            return r.status().code() == 200;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private void record(Backend b, boolean ok) {
        if (ok) {
            failures.remove(b);
            if (!b.healthy()) {
                LOG.log(Level.INFO, "{0} passes its health probe: back in routing", b);
                pool.healthy(b, true);
            }
            return;
        }
        int n = failures.merge(b, 1, Integer::sum);
        if (n >= threshold && b.healthy()) {
            LOG.log(Level.WARNING, "{0} failed {1} health probes in a row: out of routing", b, n);
            pool.healthy(b, false);
        }
    }

    @Override
    public void close() {
        Thread t = loop;
        if (t != null) {
            t.interrupt();
        }
        probes.shutdownNow();
        client.closeResource();
    }
}
