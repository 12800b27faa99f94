package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

/**
 * {@code --autoscale 1..3} under a step load, the sidecar as its own process in front of simulated backends:
 * requests wait in line, so it adds instances; once the load is gone it removes them again, and every request
 * of the step is answered.
 */
class AutoscaleProcessTest {
    private static final Duration DEADLINE = Duration.ofSeconds(90);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CLIENTS = 12;

    @TempDir
    Path dir;
    @RegisterExtension
    final LaunchedSidecar sidecars = new LaunchedSidecar();

    @Test
    void growsUnderAStepLoadAndShrinksAfterItWithoutDroppingARequest() throws Exception {
        int port = FreePorts.one();
        int adminPort = FreePorts.one();
        // Each backend answers 4 requests at a time in 200 ms: 20 req/s; 12 clients keep 8 waiting in line.
        List<String> flags = List.of("--autoscale", "1..3", "--max-batch-size", "4", "--port", Integer.toString(port),
                "--admin-port", Integer.toString(adminPort), "--autoscale-wait-target", "50ms",
                "--autoscale-up-after", "500ms", "--autoscale-down-after", "2s", "--autoscale-window", "1s");
        Process sidecar = sidecars.launch(SupervisedSidecars.args(dir, flags, List.of(
                "--sim-service-time-ms", "200")), dir.resolve("sidecar.out"), Map.of());
        Poll.until(DEADLINE, "the sidecar to serve", () -> {
            assertThat("sidecar alive; output: " + sidecars.output(), sidecar.isAlive(), is(true));
            return Clients.statusOrNone(port, "/health") == 200;
        });
        assertThat(fleet(adminPort).path("instances").asInt(), is(1));
        assertThat(fleet(adminPort).path("gpu").path("devices").get(0).path("in_use").asDouble(), is(0.31));

        AtomicBoolean stepOn = new AtomicBoolean(true);
        AtomicInteger answered = new AtomicInteger();
        Map<Integer, Integer> otherStatuses = new ConcurrentHashMap<>();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < CLIENTS; c++) {
                clients.submit(() -> {
                    while (stepOn.get()) {
                        int s = Clients.pooling(port, "{\"model\": \"test-model\", \"input\": \"hello\"}", 200)
                                .statusCode();
                        if (s == 200) {
                            answered.incrementAndGet();
                        } else {
                            otherStatuses.merge(s, 1, Integer::sum);
                        }
                    }
                    return null;
                });
            }
            Poll.until(DEADLINE, "three instances under the step", () -> ready(adminPort) == 3);
            stepOn.set(false);
        }

        Poll.until(DEADLINE, "one instance after the step", () -> instances(adminPort) == 1);
        JsonNode autoscale = fleet(adminPort).path("autoscale");
        assertThat(autoscale.toString(), autoscale.path("changes").asInt(), is(4));
        assertThat(autoscale.path("last_change").asText(), containsString("2 -> 1: idle for 2.0 s"));
        assertThat(otherStatuses, is(Map.of()));
        assertThat(answered.get(), greaterThan(CLIENTS));
        assertThat(sidecars.output(), containsString("autoscale: 1 -> 2: the p90 wait in line"));
    }

    private static JsonNode fleet(int adminPort) {
        try {
            return JSON.readTree(Clients.get(adminPort, "/admin/status").body()).path("fleet");
        } catch (IOException e) {
            return JSON.missingNode();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int ready(int adminPort) {
        return fleet(adminPort).path("ready").asInt();
    }

    private static int instances(int adminPort) {
        return fleet(adminPort).path("instances").asInt();
    }
}
