package io.vllmfactory.serve;

import io.vllmfactory.serve.config.Settings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * config/haproxy.cfg, the file README "More than one GPU VM" ships: HAProxy takes it, it checks and retries what
 * the sidecar answers, and a sidecar restarted behind it costs no client request (bench/rolling-restart.sh does
 * the same with two supervised fleets and a longer load).
 */
class HaproxyConfigTest {
    private static final Path CONFIG = Path.of(System.getProperty("user.dir")).getParent().resolve("config/haproxy.cfg");
    private static final Optional<Path> HAPROXY = Stream.of("/usr/sbin/haproxy", "/usr/local/sbin/haproxy",
            "/usr/bin/haproxy", "/usr/local/bin/haproxy").map(Path::of).filter(Files::isExecutable).findFirst();

    @TempDir
    Path dir;

    @Test
    void haproxyTakesTheShippedConfigAndRefusesAMisspeltOne() throws Exception {
        assumeTrue(HAPROXY.isPresent(), "haproxy is not installed (apt-get install haproxy)");
        assertThat(check(CONFIG).output, check(CONFIG).status, is(0));
        Path broken = Files.writeString(dir.resolve("broken.cfg"),
                Files.readString(CONFIG).replace("balance leastconn", "balance leastcon"));
        assertThat(check(broken).status, is(greaterThan(0)));
    }

    @Test
    void itChecksThePublicHealthAndRetriesWhatTheSidecarDidNotTake() throws Exception {
        String cfg = Files.readString(CONFIG);
        assertThat(directive(cfg, "balance"), is(List.of("leastconn")));
        assertThat(directive(cfg, "http-check send"), hasItems("uri", "/health"));
        assertThat(directive(cfg, "retry-on"), hasItems("conn-failure", "empty-response", "503"));
        assertThat(directive(cfg, "option redispatch"), is(List.of("1")));
        assertThat(cfg.lines().anyMatch(l -> l.strip().equals("option http-buffer-request")), is(true));
        // HAProxy must wait longer than the sidecar, which answers a silent backend with 504 itself.
        long upstream = Settings.resolve(Map.of(), Map.of(), Optional.empty()).duration("upstream-timeout").toSeconds();
        assertThat(Long.parseLong(directive(cfg, "timeout server").getFirst().replace("s", "")), greaterThan(upstream));
    }

    @Test
    void restartingEachSidecarInTurnBehindItFailsNoClientRequest() throws Exception {
        assumeTrue(HAPROXY.isPresent(), "haproxy is not installed (apt-get install haproxy)");
        int[] ports = {FreePorts.one(), FreePorts.one()};
        int front = FreePorts.one();
        int stats = FreePorts.one();
        Map<Integer, Integer> failures = new ConcurrentHashMap<>();
        AtomicInteger answered = new AtomicInteger();
        AtomicBoolean loading = new AtomicBoolean(true);
        try (SimulatorProcess sim = SimulatorProcess.start()) {
            Sidecar[] sidecars = {sidecar(sim, ports[0]), sidecar(sim, ports[1])};
            Process haproxy = haproxy(Map.of("VFS_BIND", "127.0.0.1:" + front, "VFS_VM1", "127.0.0.1:" + ports[0],
                    "VFS_VM2", "127.0.0.1:" + ports[1], "VFS_STATS_BIND", "127.0.0.1:" + stats,
                    "VFS_ADMIN_SOCKET", dir.resolve("admin.sock").toString()));
            try (ExecutorService load = Executors.newVirtualThreadPerTaskExecutor()) {
                Poll.until(Duration.ofSeconds(20), "HAProxy sees both sidecars up",
                        () -> "UP".equals(server(stats, "vm1", "status")) && "UP".equals(server(stats, "vm2", "status")));
                for (int c = 0; c < 4; c++) {
                    load.submit(() -> {
                        while (loading.get()) {
                            try {
                                int status = Clients.pooling(front, Clients.gliner("x", "person"), 5).statusCode();
                                answered.incrementAndGet();
                                if (status != 200) {
                                    failures.merge(status, 1, Integer::sum);
                                }
                            } catch (IOException | InterruptedException e) {
                                failures.merge(-1, 1, Integer::sum);
                            }
                        }
                    });
                }
                for (int i = 0; i < 2; i++) {
                    String vm = "vm" + (i + 1);
                    int before = answered.get();
                    Poll.until(Duration.ofSeconds(10), "load flows", () -> answered.get() > before + 20);
                    sidecars[i].close(); // what SIGTERM does: drain, then close the port
                    sidecars[i] = sidecar(sim, ports[i]);
                    Poll.until(Duration.ofSeconds(20), "HAProxy puts " + vm + " back", () -> "UP".equals(server(stats, vm, "status")));
                    int served = Integer.parseInt(server(stats, vm, "hrsp_2xx"));
                    Poll.until(Duration.ofSeconds(10), vm + " serves again",
                            () -> Integer.parseInt(server(stats, vm, "hrsp_2xx")) > served + 20);
                }
                loading.set(false);
            } finally {
                haproxy.destroy();
                haproxy.waitFor(10, TimeUnit.SECONDS);
                for (Sidecar s : sidecars) {
                    s.close();
                }
            }
        }
        assertThat(answered.get(), greaterThan(100));
        assertThat("failed requests by status (-1: no answer)", failures, equalTo(Map.of()));
    }

    private static Sidecar sidecar(SimulatorProcess sim, int port) {
        return TestSidecars.start(List.of(sim), "--port", Integer.toString(port));
    }

    private Process haproxy(Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(HAPROXY.orElseThrow().toString(), "-db", "-f", CONFIG.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("haproxy.log").toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    /** A column of HAProxy's CSV statistics for one server of the gpu_vms backend; empty when unreadable. */
    private static String server(int statsPort, String server, String column) {
        try {
            HttpResponse<String> r = Clients.HTTP.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + statsPort + "/stats;csv")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            List<String> lines = r.body().lines().toList();
            List<String> header = Arrays.asList(lines.getFirst().replaceFirst("^# ", "").split(","));
            for (String line : lines) {
                String[] f = line.split(",", -1);
                if (f[0].equals("gpu_vms") && f[1].equals(server)) {
                    return f[header.indexOf(column)];
                }
            }
        } catch (IOException | RuntimeException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "";
    }

    private record Check(int status, String output) {
    }

    private static Check check(Path config) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(HAPROXY.orElseThrow().toString(), "-c", "-f", config.toString())
                .redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat("haproxy -c ended", p.waitFor(30, TimeUnit.SECONDS), is(true));
        return new Check(p.exitValue(), out);
    }

    /** The words after a directive, from its first line in the file. */
    private static List<String> directive(String cfg, String name) {
        Matcher m = Pattern.compile("(?m)^\\s*" + Pattern.quote(name) + "\\s+(.*)$").matcher(cfg);
        assertThat(name + " is in the file", m.find(), is(true));
        return List.of(m.group(1).strip().split("\\s+"));
    }
}
