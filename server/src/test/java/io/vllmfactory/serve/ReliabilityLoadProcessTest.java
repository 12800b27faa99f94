package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * Many more clients at once than the fleet has room for, against the sidecar in its own process: every one
 * is served and no backend ever holds more than its batch. Serving in arrival order is
 * {@code DispatcherAdmissionTest}'s (it needs arrivals one at a time to be a fact).
 */
class ReliabilityLoadProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BATCH = 2;

    @TempDir
    Path dir;

    @Test
    void thousandsOfConcurrentClientsAgainstTwoBackendsOfBatchTwoAreAllServedWithinTheCaps() throws Exception {
        int clients = Reliability.scaled(1000, 10_000);
        try (FleetProcess fleet = FleetProcess.start(dir, List.of("--num-instances", "2", "--max-batch-size",
                Integer.toString(MAX_BATCH)), List.of("--sim-service-time-ms", "10"));
             ExecutorService load = Executors.newVirtualThreadPerTaskExecutor()) {
            long rssBefore = fleet.peakRssKib();
            List<Future<Integer>> answers = new ArrayList<>();
            String body = Clients.gliner("many", "x");
            long t0 = System.nanoTime();
            for (int i = 0; i < clients; i++) {
                answers.add(load.submit(() -> {
                    try (RawHttp http = new RawHttp(fleet.port())) {
                        http.socketTimeout(600_000);
                        http.send("POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                                  + body.length() + "\r\n\r\n", body.getBytes(StandardCharsets.UTF_8));
                        return http.read().status();
                    }
                }));
            }
            Map<Object, Integer> statuses = new TreeMap<>();
            for (Future<Integer> f : answers) {
                Object status;
                try {
                    status = f.get(600, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    status = e.getCause().toString();
                }
                statuses.merge(status, 1, Integer::sum);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(statuses, is(Map.of(200, clients)));
            int served = 0;
            for (JsonNode instance : fleet.instances()) {
                JsonNode stats = simStats(instance.get("port").asInt());
                assertThat("backend " + instance.get("id") + " held at most its batch",
                        stats.get("peakInFlight").asInt(), lessThanOrEqualTo(MAX_BATCH));
                assertThat(stats.get("served").asInt(), greaterThan(0));
                served += stats.get("served").asInt();
            }
            assertThat("each request reached a backend once", served, is(clients));
            assertThat(fleet.dispatcher().path("failed").asLong(), is(0L));
            long rss = fleet.peakRssKib();
            Reliability.figure("concurrent clients, 2 backends of batch 2", "clients, all served", clients);
            Reliability.figure("concurrent clients, 2 backends of batch 2", "seconds, req/s",
                    String.format(java.util.Locale.ROOT, "%.1f, %.0f", seconds, clients / seconds));
            Reliability.figure("concurrent clients, 2 backends of batch 2", "sidecar peak RSS (VmHWM) MiB, idle before",
                    rss / 1024 + ", " + rssBefore / 1024);
        }
    }

    private static JsonNode simStats(int port) throws Exception {
        HttpResponse<String> r = Clients.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/sim/stats")).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }
}
