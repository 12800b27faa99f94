package io.vllmfactory.simulator;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The simulator as a separate process, launched the way the sidecar launches {@code vllm serve}. */
class MainTest {
    private static final Duration START = Duration.ofSeconds(30);
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    Path dir;

    private List<String> serve(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("serve", "org/model",
                "--sim-gpu-ledger", dir.resolve("gpu.ledger").toString(), "--dtype", "auto", "--enforce-eager"));
        args.addAll(List.of(extra));
        return args;
    }

    @Test
    void portIsUnboundWhileLoadingAndGpuMemoryIsReturnedOnSigterm() throws Exception {
        int port = freePort();
        try (SimProcess sim = SimProcess.start(serve("--port", String.valueOf(port), "--gpu-memory-utilization", "0.4",
                "--sim-startup-delay", "1.0"))) {
            sim.awaitStdout(START, line -> line.startsWith("Loading safetensors checkpoint shards:"));
            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close());

            assertThat(sim.awaitPort(START), is(port));
            assertThat(get(port, "/health").statusCode(), is(200));
            assertThat(Files.readString(dir.resolve("gpu.ledger")), is(sim.pid() + " 0.4\n"));

            sim.terminate();
            assertThat(sim.awaitExit(Duration.ofSeconds(10)), anyOf(is(0), is(143)));
            assertThat(Files.readString(dir.resolve("gpu.ledger")), is(""));
        }
    }

    @Test
    void crashAfterKillsTheProcessAbruptly() throws Exception {
        try (SimProcess sim = SimProcess.start(serve("--port", "0", "--sim-startup-delay", "0",
                "--sim-crash-after", "1"))) {
            int port = sim.awaitPort(START);

            HttpResponse<String> response = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/pooling")).POST(HttpRequest.BodyPublishers.ofString("{\"input\":\"x\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode(), is(200));
            assertThat(sim.awaitExit(Duration.ofSeconds(10)), is(1));
            // halt skips clean-up: the entry stays until the next reservation sweeps dead pids
            assertThat(Files.readString(dir.resolve("gpu.ledger")), is(sim.pid() + " 0.9\n"));
            assertThat(GpuLedger.forProcesses(dir.resolve("gpu.ledger"), 80).entries(), is(List.of()));
        }
    }

    @Test
    void failStartupPrintsTheMessageAndExitsOne() throws Exception {
        try (SimProcess sim = SimProcess.start(serve("--sim-startup-delay", "0",
                "--sim-fail-startup", "RuntimeError: CUDA error: out of memory"))) {
            assertThat(sim.awaitExit(START), is(1));
            assertThat(sim.stderr(), contains("RuntimeError: CUDA error: out of memory"));
        }
    }

    @Test
    void aFullGpuFailsStartupWithVllmsMessage() throws Exception {
        Files.writeString(dir.resolve("gpu.ledger"), ProcessHandle.current().pid() + " 0.8\n");
        try (SimProcess sim = SimProcess.start(serve("--sim-startup-delay", "0", "--gpu-memory-utilization", "0.5"))) {
            assertThat(sim.awaitExit(START), is(1));
            assertThat(sim.stderr(), contains("ValueError: Free memory on device (16.00/80.00 GiB) on startup is "
                    + "less than desired GPU memory utilization (0.5, 40.00 GiB). Decrease GPU memory utilization or "
                    + "reduce GPU memory used by other processes."));
        }
    }

    @Test
    void aMalformedCommandLineExitsTwoWithUsage() throws Exception {
        try (SimProcess sim = SimProcess.start(List.of("serve", "m", "--max-num-seqs", "lots"))) {
            assertThat(sim.awaitExit(START), is(2));
            assertThat(sim.stderr().getFirst(), startsWith("usage: vllm-sim serve MODEL"));
            assertThat(sim.stderr().get(1), is("vllm-sim: error: argument --max-num-seqs: invalid int value: 'lots'"));
        }
    }

    @Test
    void taskExitsTwoWithVllmsOwnUsageAndError() throws Exception {
        try (SimProcess sim = SimProcess.start(serve("--sim-startup-delay", "0", "--task", "embed"))) {
            assertThat(sim.awaitExit(START), is(2));
            assertThat(sim.stderr(), contains("usage: vllm serve [model_tag] [options]",
                    "vllm serve: error: unrecognized arguments: --task embed"));
        }
    }

    @Test
    void aPluginThatIsNotInstalledFailsStartupWithVllmsMessage() throws Exception {
        try (SimProcess sim = SimProcess.start(serve("--sim-startup-delay", "0", "--io-processor-plugin", "gliner"))) {
            assertThat(sim.awaitExit(START), is(1));
            assertThat(sim.stderr().getLast(), startsWith("ValueError: The model requires the 'gliner' IO Processor"
                    + " plugin but it is not installed. Available plugins: ['mmbert_gliner_io', "));
        }
    }

    private static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
