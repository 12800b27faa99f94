package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.List;

/**
 * Watches, from the backends' own side, how many requests each backend process held at once: it
 * samples every backend's {@code /sim/stats} peak (which the simulator keeps since its start) until
 * closed, per port and process, so restarted and removed backends count too.
 */
final class CapWatch implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Integer> peaks = new ConcurrentHashMap<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread sampler;

    /** @param ports the backend ports to watch right now (asked again before every round) */
    CapWatch(Supplier<List<Integer>> ports) {
        sampler = Thread.ofVirtual().start(() -> {
            while (!stop.get()) {
                for (int port : ports.get()) {
                    sample(port);
                }
                try {
                    Thread.sleep(50); // sampling period, not synchronisation
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    private void sample(int port) {
        try {
            HttpResponse<String> r = Clients.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/sim/stats")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode stats = JSON.readTree(r.body());
            String key = port + "/" + stats.path("pid").asText("?");
            peaks.merge(key, stats.get("peakInFlight").asInt(), Math::max);
        } catch (Exception e) {
            // a backend that is starting or stopping: nothing to sample
        }
    }

    /** The highest number of requests any one backend process held at once. */
    int highestPeak() {
        return peaks.values().stream().mapToInt(Integer::intValue).max().orElse(0);
    }

    Map<String, Integer> peaks() {
        return Map.copyOf(peaks);
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        sampler.join();
    }
}
