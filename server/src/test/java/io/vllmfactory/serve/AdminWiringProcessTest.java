package io.vllmfactory.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
 * The admin listener and its metrics as a user meets them: `bin/vllm-factory-serve MODEL ...` (or
 * `--backend-url ...`) in a process.
 */
class AdminWiringProcessTest {
    private static final String TOKEN = "test-token-0123456789abcdef";

    @TempDir
    Path dir;
    @RegisterExtension
    final LaunchedSidecar sidecars = new LaunchedSidecar();

    private Process launch(List<String> args, Map<String, String> env) throws IOException {
        return sidecars.launch(args, dir.resolve("sidecar.out"), env);
    }

    @Test
    void theAdminListenerServesTheApiBehindTheTokenFromTheFirstSecondAndPrometheusMetrics() throws Exception {
        int port = FreePorts.one();
        int adminPort = FreePorts.one();
        Path tokenFile = Files.writeString(dir.resolve("token"), TOKEN + "\n");
        Process sidecar = launch(SupervisedSidecars.args(dir, List.of("--num-instances", "2", "--port",
                Integer.toString(port), "--admin-port", Integer.toString(adminPort),
                "--admin-token-file", tokenFile.toString()), List.of("--sim-startup-delay", "2")), Map.of());
        Poll.until(Duration.ofSeconds(60), "the admin listener answers", () -> {
            assertThat("sidecar alive", sidecar.isAlive(), is(true));
            return status(adminPort, "/openapi", null) == 200;
        });
        assertThat(status(adminPort, "/admin/instances", null), is(401));
        HttpResponse<String> loading = get(adminPort, "/admin/instances", TOKEN);
        assertThat(loading.statusCode(), is(200));
        assertThat("the first backend is loading", loading.body(), containsString("\"state\":\"starting\""));
        assertThat(status(adminPort, "/observe/health/ready", null), is(503));
        assertThat("the public port opens once all are ready", status(port, "/health", null), is(-1));
        Poll.until(Duration.ofSeconds(60), "the public port serves", () -> status(port, "/health", null) == 200);
        assertThat(status(adminPort, "/observe/health/ready", null), is(200));
        HttpResponse<String> instances = get(adminPort, "/admin/instances", TOKEN);
        assertThat(instances.body(), containsString("\"id\":1"));
        assertThat(Clients.pooling(port, Clients.gliner("x", "y"), 0).statusCode(), is(200));
        String metrics = get(adminPort, "/observe/metrics", null).body();
        assertThat(metrics, containsString("vllm_factory_backend_in_flight{backend=\"0\""));
        assertThat(metrics, containsString("vllm_factory_requests_served_total"));
        assertThat(status(port, "/admin/instances", TOKEN) == 200, is(false));
        sidecar.destroy();
        assertThat(sidecar.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), sidecar.exitValue(), is(0));
    }

    @Test
    void inFrontOfBackendsThatRunAlreadyTheAdminListenerRunsToo() throws Exception {
        int port = FreePorts.one();
        int adminPort = FreePorts.one();
        try (SimulatorProcess backend = SimulatorProcess.start()) {
            Process sidecar = launch(List.of("--backend-url", backend.url(), "--host", "127.0.0.1", "--port",
                    Integer.toString(port), "--admin-port", Integer.toString(adminPort)), Map.of());
            Poll.until(Duration.ofSeconds(60), "the admin listener answers", () -> {
                assertThat("sidecar alive", sidecar.isAlive(), is(true));
                return status(adminPort, "/admin/instances", null) == 200;
            });
            assertThat(get(adminPort, "/admin/instances", null).body(), containsString("\"url\":\"" + backend.url()));
            HttpResponse<String> refused = Clients.postEmpty(adminPort, "/admin/instances");
            assertThat(refused.statusCode(), is(409));
            assertThat(refused.body(), containsString("urn:vllm-factory-serve:problem:not-launched"));
            sidecar.destroy();
            assertThat(sidecar.waitFor(30, TimeUnit.SECONDS), is(true));
            assertThat(sidecars.output(), sidecar.exitValue(), is(0));
        }
    }

    @Test
    void aPublicAdminAddressWithoutATokenIsRefusedBeforeAnythingStarts() throws Exception {
        Process sidecar = launch(SupervisedSidecars.args(dir, List.of("--admin-host", "0.0.0.0"), List.of()),
                Map.of());
        assertThat(sidecar.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), sidecar.exitValue(), is(2));
        assertThat(sidecars.output(), containsString("token"));
        assertThat("no backend was launched", Files.exists(dir.resolve("logs").resolve("backend-0.log")), is(false));
    }

    private static int status(int port, String path, String token) {
        try {
            return get(port, path, token).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static HttpResponse<String> get(int port, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return Clients.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
