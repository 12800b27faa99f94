package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/**
 * {@code --num-instances auto} on simulated backends that share one pretend GPU's compute: the sidecar as its
 * own process measures 1, 2, 3 instances, keeps the count where the GPU saturates, and the next start takes
 * that count from the state file without measuring.
 */
class AutoSizingProcessTest {
    private static final Duration DEADLINE = Duration.ofSeconds(120);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    @RegisterExtension
    final LaunchedSidecar sidecars = new LaunchedSidecar();
    private Process running;

    @Test
    void autoKeepsTheCountWhereTheGpuSaturatesAndTheNextStartRemembersIt() throws Exception {
        // Steps of 250 ms, contention 0.5: two busy instances do 2/1.5 = 1.33x one's work, three 3/2 = 1.5x, so
        // the third adds 12.5 % (with 5 to 50 ms of client overhead per step: 34 to 41 %, then 13 to 16 %);
        // with 25 % asked, two is the count to keep.
        JsonNode first = startAndAwaitReady("first.out");
        assertThat(first.toString(), first.path("fleet").path("instances").asInt(), is(2));
        JsonNode sizing = first.path("fleet").path("sizing");
        assertThat(sizing.toString(), sizing.path("state").asText(), is("measured"));
        assertThat(sizing.path("instances").asInt(), is(2));
        assertThat(sizing.path("table").size(), is(3));
        assertThat(sizing.path("reason").asText(), containsString("3 instances made"));
        assertThat(sizing.path("state_file").asText(), containsString(dir.resolve("state").toString()));
        assertThat(Files.readString(dir.resolve("first.out")), containsString("--num-instances auto: keeping 2"));
        stop();

        JsonNode second = startAndAwaitReady("second.out");
        assertThat(second.path("fleet").path("instances").asInt(), is(2));
        assertThat(second.path("fleet").path("sizing").path("state").asText(), is("remembered"));
        assertThat(second.path("fleet").path("sizing").path("table"), is(sizing.path("table")));
        assertThat(Files.readString(dir.resolve("second.out")), containsString("as measured before"));
    }

    /** Starts the sidecar and waits for its public port to serve; its admin status then. */
    private JsonNode startAndAwaitReady(String output) throws IOException {
        int port = FreePorts.one();
        int adminPort = FreePorts.one();
        List<String> flags = List.of("--num-instances", "auto", "--max-batch-size", "8", "--port",
                Integer.toString(port), "--admin-port", Integer.toString(adminPort), "--state-dir",
                dir.resolve("state").toString(), "--calibration-min-gain", "0.25");
        List<String> backendArgs = List.of("--sim-gpu-step-ms", "250", "--sim-gpu-request-ms", "0",
                "--sim-gpu-token-us", "0", "--sim-gpu-contention", "0.5");
        running = sidecars.launch(SupervisedSidecars.args(dir, flags, backendArgs),
                dir.resolve(output), Map.of());
        Process sidecar = running;
        Poll.until(DEADLINE, "the sidecar to serve after sizing", () -> {
            assertThat("sidecar alive; output: " + sidecars.output(), sidecar.isAlive(), is(true));
            return Clients.statusOrNone(port, "/health") == 200;
        });
        return json(adminPort);
    }

    private void stop() throws InterruptedException {
        running.destroy();
        assertThat(running.waitFor(60, TimeUnit.SECONDS), is(true));
    }

    private static JsonNode json(int adminPort) throws IOException {
        try {
            return JSON.readTree(Clients.get(adminPort, "/admin/status").body());
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
