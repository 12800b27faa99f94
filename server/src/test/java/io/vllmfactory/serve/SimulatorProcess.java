package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real backend simulator process, launched the way the sidecar launches {@code vllm serve}:
 * {@code java -cp <this classpath> io.vllmfactory.simulator.Main serve MODEL ...}.
 */
final class SimulatorProcess implements AutoCloseable {
    private static final Pattern RUNNING = Pattern.compile("Uvicorn running on http://([^:]+):(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private final Process process;
    private final int port;
    private final List<String> output;

    private SimulatorProcess(Process process, int port, List<String> output) {
        this.process = process;
        this.port = port;
        this.output = output;
    }

    /** The command prefix that stands where {@code vllm serve} stands in production. */
    static List<String> command() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return List.of(java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-Xmx96m",
                "-cp", System.getProperty("java.class.path"), "io.vllmfactory.simulator.Main", "serve");
    }

    /** Starts a simulator on a free port with no start-up delay; {@code args} add or override flags. */
    static SimulatorProcess start(String... args) throws IOException {
        return startOn(0, args);
    }

    static SimulatorProcess startOn(int port, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(command());
        Path ledger = Files.createTempFile("sim-gpu", ".ledger");
        cmd.addAll(List.of("test-model", "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--gpu-memory-utilization", "0.05", "--max-num-seqs", "256", "--sim-startup-delay", "0",
                "--sim-gpu-ledger", ledger.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> output = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Integer> bound = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    output.add(line);
                    Matcher m = RUNNING.matcher(line);
                    if (m.find()) {
                        bound.complete(Integer.parseInt(m.group(2)));
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
            bound.completeExceptionally(new IOException("simulator exited before listening: " + output));
        });
        try {
            return new SimulatorProcess(p, bound.get(30, TimeUnit.SECONDS), output);
        } catch (Exception e) {
            p.destroyForcibly();
            throw new IOException("simulator did not start: " + output, e);
        }
    }

    int port() {
        return port;
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    long pid() {
        return process.pid();
    }

    Process process() {
        return process;
    }

    /** The simulator's own view: in-flight, peak in-flight, served. */
    JsonNode stats() throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url() + "/sim/stats")).build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    void resetStats() throws IOException, InterruptedException {
        HTTP.send(HttpRequest.newBuilder(URI.create(url() + "/sim/stats/reset"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
    }

    /** SIGKILL, as a crashing GPU process dies. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    @Override
    public String toString() {
        return "simulator :" + port + " " + output;
    }
}
