package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * What an operator watches, on a sidecar process with two simulated backends: metrics that add up after
 * known traffic (and after garbage collections), readiness that follows the backends' states, the access
 * log, the ready line, and the messages systemd gets.
 */
class OperationsProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    @RegisterExtension
    final LaunchedSidecar sidecars = new LaunchedSidecar();

    @Test
    void metricsAddUpReadinessFollowsTheBackendsAndTheAccessLogHasALinePerRequest() throws Exception {
        int port = FreePorts.one();
        int admin = FreePorts.one();
        Path accessLog = dir.resolve("access.log");
        Process sidecar = launch(SupervisedSidecars.args(dir, List.of("--num-instances", "2", "--port",
                Integer.toString(port), "--admin-port", Integer.toString(admin), "--access-log", accessLog.toString()),
                List.of("--sim-startup-delay", "1.5")), Map.of());
        Poll.until(Duration.ofSeconds(60), "the public port serves", () -> {
            assertThat("sidecar alive", sidecar.isAlive(), is(true));
            return status(port, "/health") == 200;
        });

        int served = 40;
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            clients.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < served / 4; i++) {
                    try {
                        assertThat(Clients.pooling(port, Clients.gliner("x" + i, "y"), 5).statusCode(), is(200));
                    } catch (IOException | InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
            }));
            jcmd(sidecar.pid(), "GC.run"); // collections under load: no meter may lose its state
        }
        for (Thread t : clients) {
            t.join();
        }
        assertThat("the dispatcher refuses an operator endpoint itself", status(port, "/sleep"), is(403));
        jcmd(sidecar.pid(), "GC.run");

        Scrape m = scrape(admin);
        assertThat(m.sum("vllm_factory_requests_served_total"), is((double) served));
        assertThat(m.sum("vllm_factory_backend_requests_served_total"), is((double) served));
        assertThat("both backends served", m.matching("vllm_factory_backend_requests_served_total").stream()
                .allMatch(s -> s.value() > 0), is(true));
        JsonNode status = JSON.readTree(get(admin, "/admin/status").body()).get("dispatcher");
        assertThat("the metrics say what /admin/status says", m.sum("vllm_factory_requests_served_total"),
                is(status.get("served").asDouble()));
        assertThat(m.sum("vllm_factory_requests_failed_total"), is(status.get("failed").asDouble()));
        assertThat(m.sum("vllm_factory_waiting_requests"), is(0.0));
        assertThat(m.sum("vllm_factory_request_wait_seconds_count"), is(served + 1.0));
        assertThat(m.sum("vllm_factory_request_duration_seconds_count"), is(served + 1.0));
        assertThat(m.sum("vllm_factory_request_duration_seconds_count", "status_class", "2xx"), is((double) served));
        assertThat(m.sum("vllm_factory_request_duration_seconds_count", "backend", "none", "status_class", "4xx"),
                is(1.0));
        assertThat(m.sum("vllm_factory_backend_first_byte_seconds_count"), is((double) served));
        assertThat("the +Inf bucket holds every request", m.sum("vllm_factory_request_duration_seconds_bucket",
                "le", "+Inf"), is(served + 1.0));
        assertThat("a 5 ms request is over the 5 ms bucket", m.sum("vllm_factory_request_duration_seconds_bucket",
                "le", "0.001", "status_class", "2xx"), is(0.0));
        assertThat(m.sum("vllm_factory_backend_sent_bytes_total"), greaterThan(served * 100.0));
        assertThat(m.sum("vllm_factory_backend_received_bytes_total"), greaterThan(served * 100.0));
        assertThat(m.sum("vllm_factory_backend_state", "backend", "0", "state", "ready"), is(1.0));
        assertThat(m.sum("vllm_factory_backends", "state", "ready"), is(2.0));

        Poll.until(Duration.ofSeconds(10), "the access log has a line per request", () -> lines(accessLog) == served + 1);
        String log = Files.readString(accessLog);
        assertThat(log, log.matches("(?s)\\d{4}-\\d\\d-\\d\\dT\\S+ POST /pooling 200 backend=[01] wait_ms=\\d+\\.\\d\\d"
                + " ms=\\d+\\.\\d\\d\n.*"), is(true));
        assertThat(log, containsString(" GET /sleep 403 backend=- wait_ms=0.00 ms="));

        HttpResponse<String> restart = Clients.postEmpty(admin, "/admin/instances/1/restart");
        assertThat(restart.body(), restart.statusCode(), is(202));
        Poll.until(Duration.ofSeconds(60), "the restart is counted", () -> {
            Scrape s = scrape(admin);
            return s.sum("vllm_factory_fleet_changes_total", "kind", "restart", "outcome", "done") == 1
                    && s.sum("vllm_factory_backend_restarts_total", "backend", "1") == 1
                    && s.sum("vllm_factory_backend_state", "backend", "1", "state", "ready") == 1;
        });
        assertThat(Clients.postEmpty(admin, "/admin/instances/7/restart").statusCode(), is(404));
        assertThat("an unknown instance is a refused change", scrape(admin).sum("vllm_factory_fleet_changes_total",
                "kind", "restart", "outcome", "refused"), is(1.0));

        HttpResponse<String> ready = get(admin, "/observe/health/ready");
        assertThat(ready.body(), ready.statusCode(), is(200));
        assertThat(ready.body(), containsString("\"backend_1\":\"ready\""));
        for (JsonNode i : JSON.readTree(get(admin, "/admin/instances").body()).get("instances")) {
            ProcessHandle.of(i.get("pid").asLong()).ifPresent(ProcessHandle::destroyForcibly);
        }
        Poll.until(Duration.ofSeconds(30), "readiness goes down with both backends", () -> {
            HttpResponse<String> r = response(admin, "/observe/health/ready");
            return r.statusCode() == 503 && !r.body().contains("\"ready\"");
        });
        assertThat(status(admin, "/observe/health/live"), is(200));
        Poll.until(Duration.ofSeconds(60), "readiness comes back once they are restarted",
                () -> status(admin, "/observe/health/ready") == 200);
        Poll.until(Duration.ofSeconds(30), "both restarts counted", () -> scrape(admin)
                .sum("vllm_factory_backend_restarts_total") >= 3);

        sidecar.destroy();
        assertThat(sidecar.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), sidecar.exitValue(), is(0));
    }

    @Test
    void systemdHearsOfTheLoadingThenReadyThenStoppingAndTheConsoleSaysWhatServesWhere() throws Exception {
        Path messages = dir.resolve("notify.log");
        Path notify = dir.resolve("systemd-notify");
        Files.writeString(notify, "#!/bin/sh\necho \"$@\" >> '" + messages + "'\n");
        Files.setPosixFilePermissions(notify, PosixFilePermissions.fromString("rwx------"));
        int port = FreePorts.one();
        Process sidecar = launch(SupervisedSidecars.args(dir, List.of("--num-instances", "2", "--port",
                Integer.toString(port)), List.of("--sim-startup-delay", "1")),
                Map.of("NOTIFY_SOCKET", dir.resolve("notify.sock").toString(),
                        "VLLM_FACTORY_SYSTEMD_NOTIFY", notify.toString()));
        Poll.until(Duration.ofSeconds(60), "systemd hears READY=1", () -> {
            assertThat("sidecar alive", sidecar.isAlive(), is(true));
            return lines(messages) > 0 && String.join("\n", read(messages)).contains("--ready");
        });
        List<String> said = Files.readAllLines(messages);
        assertThat(String.join("\n", said), said.contains("--status=backend 1/2 loading... 0 s"), is(true));
        assertThat(String.join("\n", said), said.contains("--status=backend 2/2 loading... 0 s"), is(true));
        String ready = said.stream().filter(l -> l.startsWith("--ready")).findFirst().orElseThrow();
        assertThat(ready, startsWith("--ready --status=serving: public http://127.0.0.1:" + port + ", admin http://"));
        assertThat(ready, containsString("; 2 instances: 0 on GPU 0 at "));
        assertThat(status(port, "/health"), is(200));
        assertThat(sidecars.output(), containsString(" ready: public http://127.0.0.1:" + port));

        sidecar.destroy();
        assertThat(sidecar.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(Files.readString(messages), containsString("STOPPING=1 STATUS=draining"));
    }

    @Test
    void versionPrintsTheVersionAndTheJava() throws Exception {
        Process p = launch(List.of("--version"), Map.of());
        assertThat(p.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(p.exitValue(), is(0));
        assertThat(sidecars.output(), sidecars.output().matches("vllm-factory-serve \\d+\\.\\d+\\.\\d+\\S* \\(Java \\d+\\S*\\)\n"), is(true));
    }

    @Test
    void anAccessLogThatCannotBeWrittenIsABadSetting() throws Exception {
        Process p = launch(List.of("--backend-url", "http://127.0.0.1:1", "--port", "0", "--admin-port", "0",
                "--access-log", dir.resolve("no/such/dir/access.log").toString()), Map.of());
        assertThat(p.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), p.exitValue(), is(2));
        assertThat(sidecars.output(), containsString("--access-log: cannot append to "));
    }

    private Process launch(List<String> args, Map<String, String> env) throws IOException {
        return sidecars.launch(args, dir.resolve("sidecar.out"), env);
    }

    private static List<String> read(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static HttpResponse<String> response(int port, String path) {
        try {
            return get(port, path);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static long lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file).size() : 0;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void jcmd(long pid, String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid), command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        assertThat("jcmd " + command, p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, is(true));
    }

    private static Scrape scrape(int admin) {
        try {
            return Scrape.parse(get(admin, "/observe/metrics").body());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static int status(int port, String path) {
        try {
            return get(port, path).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return Clients.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
