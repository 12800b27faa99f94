package io.vllmfactory.simulator;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

/** Simulators on one pretend GPU share its compute; on different GPUs they do not. */
class GpuSharingProcessTest {
    private static final Duration START = Duration.ofSeconds(30);
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final int CLIENTS = 4;
    private static final int ROUNDS = 5;
    private static final long STEP_MS = 100;

    @TempDir
    Path dir;

    @Test
    void twoInstancesOnOnePretendGpuAreSlowerTogetherThanOnTwoGpus() throws Exception {
        try (SimProcess sharedA = start("gpu-0"); SimProcess sharedB = start("gpu-0");
             SimProcess aloneA = start("gpu-1"); SimProcess aloneB = start("gpu-2")) {
            List<Integer> shared = List.of(sharedA.awaitPort(START), sharedB.awaitPort(START));
            List<Integer> alone = List.of(aloneA.awaitPort(START), aloneB.awaitPort(START));
            load(shared, 1);
            load(alone, 1);

            long aloneMs = medianMillis(load(alone, ROUNDS));
            long sharedMs = medianMillis(load(shared, ROUNDS));

            // contention 1: a step takes twice as long while both instances on the GPU are busy
            assertThat("median latency on one GPU " + sharedMs + " ms, on two " + aloneMs + " ms",
                    sharedMs, greaterThan(aloneMs + STEP_MS / 2));
        }
    }

    private SimProcess start(String gpu) throws Exception {
        return SimProcess.start(List.of("serve", "org/model", "--port", "0", "--sim-startup-delay", "0",
                "--gpu-memory-utilization", "0.4", "--sim-gpu-ledger", dir.resolve(gpu + ".ledger").toString(),
                "--sim-gpu-step-ms", String.valueOf(STEP_MS), "--sim-gpu-request-ms", "0", "--sim-gpu-token-us", "0",
                "--sim-gpu-contention", "1"));
    }

    /**
     * {@link #CLIENTS} clients per instance, each sending {@code rounds} requests one after another.
     *
     * @return each request's latency in nanoseconds
     */
    private static List<Long> load(List<Integer> ports, int rounds) throws Exception {
        List<Long> latencies = new CopyOnWriteArrayList<>();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Integer>> done = new ArrayList<>();
            for (int port : ports) {
                for (int c = 0; c < CLIENTS; c++) {
                    done.add(clients.submit(() -> {
                        int ok = 0;
                        for (int r = 0; r < rounds; r++) {
                            long start = System.nanoTime();
                            ok += pooling(port) == 200 ? 1 : 0;
                            latencies.add(System.nanoTime() - start);
                        }
                        return ok;
                    }));
                }
            }
            for (Future<Integer> f : done) {
                assertThat(f.get(), is(rounds));
            }
        }
        return latencies;
    }

    private static long medianMillis(List<Long> nanos) {
        return nanos.stream().sorted().toList().get(nanos.size() / 2) / 1_000_000;
    }

    private static int pooling(int port) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/pooling"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"org/model\", \"input\": \"a few words\"}"))
                .build();
        return CLIENT.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
