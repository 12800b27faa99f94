package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A supervised sidecar in its own process with simulated backends, as `bin/vllm-factory-serve MODEL
 * --num-instances N` runs it: its public port, its admin API on the loopback (no token) and its backends'
 * pids as the admin API reports them. Closing it stops what is left.
 */
final class FleetProcess implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration START = Duration.ofSeconds(90);
    /** The JVM options bin/vllm-factory-serve gives the sidecar by default. */
    private static final List<String> LAUNCHER_JVM = List.of("-XX:+UseSerialGC", "-Xmn32m", "-Xmx384m",
            "-XX:+ExitOnOutOfMemoryError");

    private final List<String> args;
    private final Path output;
    private final int port;
    private final int adminPort;
    private Process process;
    private volatile String token;

    private FleetProcess(List<String> args, Path output, int port, int adminPort) {
        this.args = args;
        this.output = output;
        this.port = port;
        this.adminPort = adminPort;
    }

    /**
     * Starts a fleet and waits until its public port serves.
     *
     * @param dir         logs, the pretend GPU's ledger and the sidecar's output
     * @param flags       further sidecar flags
     * @param backendArgs further arguments for every backend
     */
    static FleetProcess start(Path dir, List<String> flags, List<String> backendArgs) throws IOException {
        int port = FreePorts.one();
        int adminPort = FreePorts.one();
        List<String> all = new ArrayList<>(List.of("--port", Integer.toString(port),
                "--admin-port", Integer.toString(adminPort)));
        all.addAll(flags);
        FleetProcess fleet = new FleetProcess(SupervisedSidecars.args(dir, all, backendArgs),
                dir.resolve("sidecar.out"), port, adminPort);
        fleet.launch();
        return fleet;
    }

    /** Starts the same command line again, on the same ports, and waits until it serves. */
    void relaunch() throws IOException {
        launch();
    }

    private void launch() throws IOException {
        process = SidecarProcesses.launch(LAUNCHER_JVM, args, output, Map.of("MALLOC_ARENA_MAX", "2"));
        awaitServing();
    }

    void awaitServing() {
        Poll.until(START, "the sidecar serves on its public port", () -> {
            if (!process.isAlive()) {
                throw new AssertionError("the sidecar exited with status " + process.exitValue() + ":\n" + output());
            }
            return Clients.statusOrNone(port, "/health") == 200;
        });
    }

    int port() {
        return port;
    }

    int adminPort() {
        return adminPort;
    }

    Process process() {
        return process;
    }

    String output() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** Sends this bearer token with every admin call from now on. */
    void useToken(String bearer) {
        this.token = bearer;
    }

    JsonNode admin(String path) {
        try {
            var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + adminPort + path))
                    .timeout(Duration.ofSeconds(30));
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            var r = Clients.HTTP.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new AssertionError("GET " + path + ": " + r.statusCode() + " " + r.body());
            }
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("GET " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** The instances as {@code GET /admin/instances} lists them. */
    List<JsonNode> instances() {
        List<JsonNode> out = new ArrayList<>();
        admin("/admin/instances").path("instances").forEach(out::add);
        return out;
    }

    /** The pid of every instance that has a process right now. */
    List<Long> backendPids() {
        return instances().stream().filter(i -> i.path("pid").isNumber()).map(i -> i.get("pid").asLong()).toList();
    }

    /** Whether every instance is ready and in routing (healthy in the dispatcher's view). */
    boolean allReady(int count) {
        List<JsonNode> all = instances();
        if (all.size() != count || !all.stream().allMatch(i -> "ready".equals(i.path("state").asText()))) {
            return false;
        }
        JsonNode backends = dispatcher().path("backends");
        int healthy = 0;
        for (JsonNode b : backends) {
            healthy += b.path("healthy").asBoolean() ? 1 : 0;
        }
        return healthy == count;
    }

    /** The dispatcher's part of {@code GET /admin/status}: waiting, active, served, failed, retried, backends. */
    JsonNode dispatcher() {
        return admin("/admin/status").path("dispatcher");
    }

    /** Requests inside the dispatcher right now: waiting in line plus in flight on any backend. */
    int openRequests() {
        JsonNode d = dispatcher();
        int inFlight = 0;
        for (JsonNode b : d.path("backends")) {
            inFlight += b.path("in_flight").asInt();
        }
        return d.path("waiting").asInt() + inFlight;
    }

    Scrape metrics() {
        try {
            return Scrape.parse(Clients.get(adminPort, "/observe/metrics").body());
        } catch (IOException e) {
            throw new AssertionError("metrics: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** The resident set's peak (VmHWM) of the sidecar's JVM, in KiB. */
    long peakRssKib() throws IOException {
        return ProcStatus.kib(process.pid(), "VmHWM");
    }

    /** SIGTERM; returns the exit status. */
    int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            throw new AssertionError("the sidecar did not exit within 60 s of SIGTERM:\n" + output());
        }
        return process.exitValue();
    }

    /** SIGTERM, so the backends are stopped and their files closed; SIGKILL if that takes too long. */
    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** Reads /proc/PID/status. */
    static final class ProcStatus {
        private ProcStatus() {
        }

        static long kib(long pid, String field) throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
                }
            }
            throw new IOException(field + " not in /proc/" + pid + "/status");
        }
    }
}
