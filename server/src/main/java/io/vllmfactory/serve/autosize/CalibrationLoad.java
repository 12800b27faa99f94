package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.supervise.StartFailure;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Measures the throughput of backends with the calibration request, as the seed's benchmark did: each backend
 * driven straight by {@code batch} clients of its own, first two warm-up rounds, then {@code rounds} requests
 * per client; the result is the timed requests over the time they took.
 */
final class CalibrationLoad {
    /** Untimed requests per client first: connections opened, each backend's batches in step. */
    private static final int WARMUP_ROUNDS = 2;
    private final CalibrationRequest request;
    private final int batch;
    private final int rounds;
    private final Duration timeout;
    private final HttpClient client;

    CalibrationLoad(CalibrationRequest request, int batch, int rounds, Duration timeout) {
        this.request = request;
        this.batch = batch;
        this.rounds = rounds;
        this.timeout = timeout;
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).executor(Executors.newVirtualThreadPerTaskExecutor()).build();
    }

    /**
     * @param backends base URLs of the backends to drive
     * @return requests per second over all of them
     * @throws StartFailure when a backend answers the calibration request with anything but 200
     */
    double measure(List<String> backends) throws InterruptedException {
        drive(backends, WARMUP_ROUNDS);
        long start = System.nanoTime();
        int sent = drive(backends, rounds);
        return sent / ((System.nanoTime() - start) / 1e9);
    }

    private int drive(List<String> backends, int perClient) throws InterruptedException {
        AtomicInteger sent = new AtomicInteger();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (String backend : backends) {
                HttpRequest http = HttpRequest.newBuilder(URI.create(backend + request.path()))
                        .timeout(timeout).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(request.body())).build();
                for (int c = 0; c < batch; c++) {
                    done.add(clients.submit(() -> {
                        for (int r = 0; r < perClient; r++) {
                            HttpResponse<String> response = client.send(http, HttpResponse.BodyHandlers.ofString());
                            if (response.statusCode() != 200) {
                                throw new StartFailure("--num-instances auto: the calibration request "
                                        + request.path() + " got " + response.statusCode() + " from " + backend + ": "
                                        + abbreviate(response.body()) + " (give one the model serves with"
                                        + " --calibration-request FILE)", List.of());
                            }
                            sent.incrementAndGet();
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : done) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof StartFailure failure) {
                        throw failure;
                    }
                    throw new StartFailure("--num-instances auto: the calibration request failed: " + e.getCause(),
                            List.of());
                }
            }
        }
        return sent.get();
    }

    private static String abbreviate(String body) {
        String line = body.replaceAll("\\s+", " ");
        return line.length() <= 200 ? line : line.substring(0, 200) + "...";
    }
}
