package io.vllmfactory.serve;

import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Clients that keep sending pooling requests to the public port until stopped, as production traffic
 * would while an operator changes the fleet. Every answer that is not 200, and every exception, is a
 * failure.
 */
final class LoadGenerator implements AutoCloseable {
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<Future<?>> loops = new ArrayList<>();
    private final LongAdder ok = new LongAdder();
    private final Map<String, LongAdder> failures = new ConcurrentHashMap<>();
    private final Map<Integer, LongAdder> byBackend = new ConcurrentHashMap<>();

    /** Starts {@code clients} loops, each request taking {@code serviceMs} in the backend. */
    LoadGenerator(int port, int clients, long serviceMs) {
        for (int c = 0; c < clients; c++) {
            loops.add(threads.submit(() -> {
                while (!stop.get()) {
                    try {
                        HttpResponse<String> r = Clients.pooling(port, Clients.gliner("Ada met Alan", "person"), serviceMs);
                        if (r.statusCode() == 200) {
                            ok.increment();
                            byBackend.computeIfAbsent(Clients.backendIndex(r), b -> new LongAdder()).increment();
                        } else {
                            failures.computeIfAbsent(r.statusCode() + " " + r.body(), k -> new LongAdder()).increment();
                        }
                    } catch (HttpTimeoutException e) {
                        // A request that hangs: say where the sidecar's threads were when the client gave up.
                        failures.computeIfAbsent(e + "; sidecar threads:\n" + ThreadDumps.sidecarThreads(),
                                k -> new LongAdder()).increment();
                    } catch (Exception e) {
                        failures.computeIfAbsent(e.toString(), k -> new LongAdder()).increment();
                    }
                }
                return null;
            }));
        }
    }

    long ok() {
        return ok.sum();
    }

    /** Requests served by backend {@code id} so far. */
    long servedBy(int id) {
        LongAdder n = byBackend.get(id);
        return n == null ? 0 : n.sum();
    }

    /** Stops the clients and waits for their last requests; returns the failures by kind. */
    Map<String, Long> stop() throws Exception {
        stop.set(true);
        for (Future<?> f : loops) {
            f.get();
        }
        Map<String, Long> out = new ConcurrentHashMap<>();
        failures.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    @Override
    public void close() {
        stop.set(true);
        threads.close();
    }
}
