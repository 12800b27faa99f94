package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.config.SupervisorConfig;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Starts one backend process and waits until its {@code /health} answers 200, with progress lines. One
 * launch runs at a time: concurrent CUDA allocations race. Knows nothing of states; {@link Lifecycle} does.
 */
final class Launcher implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Launcher.class.getName());
    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);
    private static final Duration READINESS_POLL = Duration.ofMillis(200);

    /** How a launch ended. */
    sealed interface Outcome {
        /** Answers /health with 200 after {@code took}. */
        record Ready(BackendProcess process, Duration took) implements Outcome {
        }

        /** Did not come up; its process is stopped. */
        record Failed(String why, List<String> lastLines) implements Outcome {
        }

        /** No longer wanted; its process is stopped. */
        record Aborted() implements Outcome {
        }
    }

    private final SupervisorConfig config;
    private final Duration probeTimeout;
    private final HttpClient http;
    private final Semaphore oneAtATime = new Semaphore(1, true);

    Launcher(SupervisorConfig config, Duration probeTimeout) {
        this.config = config;
        this.probeTimeout = probeTimeout;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(probeTimeout).build();
    }

    /** Where backends listen: loopback, or the public address when the single backend serves it directly. */
    String listenHost() {
        return config.direct() ? config.host() : PortLayout.BACKEND_HOST;
    }

    /** Where the dispatcher and the probes reach a backend. */
    String probeHost() {
        String h = listenHost();
        return "0.0.0.0".equals(h) || "::".equals(h) || h.isEmpty() ? "127.0.0.1" : h;
    }

    /**
     * @param argv    the backend's command line
     * @param env     variables added to its environment
     * @param port    where it will listen
     * @param log     its output
     * @param label   how progress names it, e.g. {@code 2/4}
     * @param wanted  false once the launch should give up (a stop was asked for)
     * @param started told of the process as soon as it runs
     */
    Outcome launch(List<String> argv, Map<String, String> env, int port, BackendLog log, String label,
                   BooleanSupplier wanted, Consumer<BackendProcess> started) {
        try {
            oneAtATime.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome.Aborted();
        }
        try {
            if (!wanted.getAsBoolean()) {
                return new Outcome.Aborted();
            }
            if (!Ports.free(listenHost(), port)) {
                return new Outcome.Failed("its port " + listenHost() + ":" + port + " is in use by another process",
                        List.of());
            }
            log.begin("start: CUDA_VISIBLE_DEVICES=" + env.get("CUDA_VISIBLE_DEVICES") + " " + String.join(" ", argv));
            BackendProcess p;
            try {
                p = BackendProcess.start(argv, env, config.stopGrace(), log);
            } catch (IOException e) {
                return new Outcome.Failed("could not be started: " + e.getMessage(), List.of());
            }
            started.accept(p);
            return awaitReady(p, port, log, label, wanted);
        } finally {
            oneAtATime.release();
        }
    }

    private Outcome awaitReady(BackendProcess p, int port, BackendLog log, String label, BooleanSupplier wanted) {
        URI health = URI.create("http://" + probeHost() + ":" + port + "/health");
        long start = System.nanoTime();
        long nextProgress = start + PROGRESS_EVERY.toNanos();
        while (true) {
            if (!wanted.getAsBoolean()) {
                p.stop();
                return new Outcome.Aborted();
            }
            if (!p.alive()) {
                p.awaitOutput(Duration.ofSeconds(2));
                return new Outcome.Failed("exited with status " + p.exitValue() + " while loading" + said(log), log.tail());
            }
            if (answers200(health)) {
                return new Outcome.Ready(p, Duration.ofNanos(System.nanoTime() - start));
            }
            long now = System.nanoTime();
            if (now - start > config.startupTimeout().toNanos()) {
                p.stop();
                return new Outcome.Failed("did not answer GET /health with 200 within "
                        + Lifecycle.seconds(config.startupTimeout()) + " (--startup-timeout)" + said(log), log.tail());
            }
            if (now >= nextProgress) {
                LOG.log(Level.INFO, "backend " + label + " loading... " + Duration.ofNanos(now - start).toSeconds() + " s");
                nextProgress += PROGRESS_EVERY.toNanos();
            }
            try {
                Thread.sleep(READINESS_POLL);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.stop();
                return new Outcome.Aborted();
            }
        }
    }

    private boolean answers200(URI health) {
        try {
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(health).timeout(probeTimeout).build(),
                    HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits until no launch is under way (each stops its own process when it gives up). */
    void awaitIdle(Duration timeout) {
        try {
            if (oneAtATime.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                oneAtATime.release();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code : <the backend's last line>}, or nothing. */
    static String said(BackendLog log) {
        String last = log.lastLine();
        return last.isEmpty() ? "" : ": " + last;
    }

    @Override
    public void close() {
        http.close();
    }
}
