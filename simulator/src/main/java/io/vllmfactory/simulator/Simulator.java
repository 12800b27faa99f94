package io.vllmfactory.simulator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.IntSupplier;

import io.helidon.http.HttpException;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;

/**
 * One simulated {@code vllm serve}: loads (waits, printing progress, with the port unbound), optionally fails
 * as configured, reserves its share of the pretend GPU, then serves until {@link #close()}. Start-up prints
 * uvicorn's {@code Uvicorn running on http://HOST:PORT} line with the bound port last, so a launcher can wait
 * for it.
 */
final class Simulator implements AutoCloseable {
    private static final int LOADING_STEPS = 4;
    private static final Set<String> KNOWN_PATHS = Set.of("/health", "/ping", "/version", "/v1/models", "/metrics",
            "/pooling", "/v1/embeddings", "/v1/completions", "/v1/chat/completions", "/sim/stats",
            "/sim/stats/reset", "/sim/bytes");

    private final SimulatorConfig config;
    private final VllmLog log;
    private final Runnable crash;
    private final long pid = ProcessHandle.current().pid();
    private final Object lifecycle = new Object();
    private WebServer server;
    private GpuLedger.Reservation reservation;
    private boolean closed;

    /**
     * @param config what to simulate
     * @param log    where vLLM's and uvicorn's lines go
     * @param crash  what an injected crash does ({@code Runtime.halt(1)} in the real process)
     */
    Simulator(SimulatorConfig config, VllmLog log, Runnable crash) {
        this.config = config;
        this.log = log;
        this.crash = crash;
    }

    /**
     * Loads, reserves GPU memory and starts serving.
     *
     * @throws StartupException     if start-up fails as configured or the pretend GPU is full
     * @throws InterruptedException if interrupted while loading
     */
    void start() throws StartupException, InterruptedException {
        ServeOptions serve = config.serve();
        SimKnobs sim = config.sim();
        log.info("api_server.py:1395", "vLLM API server version " + InfoService.VERSION);
        log.info("api_server.py:1396", "model=" + serve.model() + " served_model_name=" + serve.servedModelNames()
                + " host=" + serve.host() + " port=" + serve.port() + " gpu_memory_utilization="
                + serve.gpuMemoryUtilization() + " max_num_seqs=" + serve.maxNumSeqs() + " max_model_len="
                + serve.maxModelLen() + serve.ioProcessorPlugin().map(p -> " io_processor_plugin=" + p).orElse(""));
        load(serve, sim.startupDelay());
        if (sim.failStartup().isPresent()) {
            log.error("core.py:515", "EngineCore failed to start.");
            throw new StartupException(sim.failStartup().get());
        }
        if (serve.ioProcessorPlugin().isPresent() && IoPlugin.named(serve.ioProcessorPlugin().get()).isEmpty()) {
            log.error("core.py:515", "EngineCore failed to start.");
            throw new StartupException(IoPlugin.notInstalled(serve.ioProcessorPlugin().get()));
        }
        reserveGpuMemory(serve, sim);
        WebServer started = WebServer.builder()
                .host(serve.host())
                .port(serve.port())
                .shutdownHook(false)
                // As uvicorn's sockets (asyncio sets TCP_NODELAY): a streamed event leaves at once,
                // instead of waiting for the ACK of the bytes before it.
                .connectionOptions(o -> o.tcpNoDelay(true))
                .routing(routing -> routing(routing, config, log, pid, crash, this::port))
                .build();
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            server = bind(started);
        }
        String url = "http://" + (serve.host().contains(":") ? "[" + serve.host() + "]" : serve.host()) + ":"
                + started.port();
        log.info("api_server.py:1457", "Starting vLLM API server 0 on " + url);
        log.line("INFO:     Started server process [" + pid + "]");
        log.line("INFO:     Waiting for application startup.");
        log.line("INFO:     Application startup complete.");
        log.line("INFO:     Uvicorn running on " + url + " (Press CTRL+C to quit)");
    }

    /** Starts the server; Helidon logs why a listener failed (e.g. the port is taken) and returns stopped. */
    private WebServer bind(WebServer unstarted) throws StartupException {
        WebServer started = unstarted.start();
        if (!started.isRunning()) {
            throw new StartupException("OSError: cannot listen on " + config.serve().host() + ":"
                    + config.serve().port() + " (the cause is logged above)");
        }
        return started;
    }

    /** The bound port, or -1 before the server runs. */
    int port() {
        synchronized (lifecycle) {
            return server == null ? -1 : server.port();
        }
    }

    /** Stops serving and returns the GPU memory; safe to call at any stage and more than once. */
    @Override
    public void close() {
        WebServer running;
        GpuLedger.Reservation held;
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            running = server;
            held = reservation;
        }
        if (running != null) {
            log.line("INFO:     Shutting down");
            running.stop();
            log.line("INFO:     Finished server process [" + pid + "]");
        }
        if (held != null) {
            try {
                held.release();
            } catch (IOException e) {
                log.error("gpu_worker.py:232", "could not release GPU memory in " + config.sim().gpuLedger()
                        + ": " + e);
            }
        }
    }

    /**
     * Registers the whole HTTP surface of one simulator.
     *
     * @param routing routing to add to
     * @param config  what to simulate
     * @param log     where error lines go
     * @param pid     reported by {@code /sim/stats}
     * @param crash   what an injected crash does
     * @param port    the bound port, for {@code /sim/stats}
     */
    static void routing(HttpRouting.Builder routing, SimulatorConfig config, VllmLog log, long pid, Runnable crash,
                        IntSupplier port) {
        ServeOptions serve = config.serve();
        SimKnobs sim = config.sim();
        Json json = new Json();
        Stats stats = new Stats();
        Scheduler scheduler = new Scheduler(serve.maxNumSeqs());
        Faults faults = new Faults(sim.crashAfter(), sim.hangAfter(), sim.crashOn(), crash);
        routing.addFilter(new TrafficFilter(stats, faults));
        routing.register(new InfoService(serve, scheduler, stats, json),
                        new InferenceService(serve, sim, gpuEngine(config), scheduler, stats, faults, json),
                        new SimService(serve, stats, scheduler, json, pid, port))
                .any((req, res) -> {
                    boolean known = KNOWN_PATHS.contains(req.prologue().uriPath().path());
                    res.status(known ? 405 : 404);
                    json.send(res, known ? 405 : 404,
                            json.object().put("detail", known ? "Method Not Allowed" : "Not Found"));
                })
                .error(ApiError.class, (req, res, e) -> json.sendError(res, e.status(), e.type(), e.getMessage()))
                .error(Exception.class, (req, res, e) -> {
                    int status = e instanceof HttpException http ? http.status().code() : 500;
                    if (status >= 500) {
                        log.error("serving_engine.py:209", "Error in " + req.prologue().method().text() + " "
                                + req.prologue().uriPath().path() + ": " + e);
                    }
                    json.sendError(res, status, status >= 500 ? "InternalServerError" : "BadRequestError",
                            String.valueOf(e.getMessage()));
                });
    }

    /** The engine loop of the pretend GPU's compute model, if the simulator has one. */
    private static Optional<GpuEngine> gpuEngine(SimulatorConfig config) {
        if (config.gpu().isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(GpuEngine.start(config.gpu().get(), GpuTimeline.beside(config.sim().gpuLedger()),
                    config.serve().maxNumSeqs()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use the GPU's busy table beside " + config.sim().gpuLedger(), e);
        }
    }

    /** Model loading: vLLM binds its port only after this, so clients see "connection refused" meanwhile. */
    private void load(ServeOptions serve, Duration delay) throws InterruptedException {
        log.info("gpu_model_runner.py:1770", "Starting to load model " + serve.model() + "...");
        long stepNanos = delay.toNanos() / LOADING_STEPS;
        for (int step = 0; step <= LOADING_STEPS; step++) {
            if (step > 0) {
                Thread.sleep(Duration.ofNanos(stepNanos));
            }
            log.line(String.format(Locale.ROOT, "Loading safetensors checkpoint shards: %3d%% Completed | %d/%d",
                    step * 100 / LOADING_STEPS, step, LOADING_STEPS));
        }
        double budget = serve.gpuMemoryUtilization() * config.sim().gpuMemoryGib();
        double weights = Math.min(2.0, budget / 4);
        log.info("default_loader.py:272", String.format(Locale.ROOT, "Loading weights took %.2f seconds",
                delay.toNanos() / 1e9));
        log.info("gpu_model_runner.py:1801", String.format(Locale.ROOT, "Model loading took %.4f GiB and %.6f seconds",
                weights, delay.toNanos() / 1e9));
        log.info("gpu_worker.py:232", String.format(Locale.ROOT, "Available KV cache memory: %.2f GiB",
                budget - weights));
    }

    private void reserveGpuMemory(ServeOptions serve, SimKnobs sim) throws StartupException {
        GpuLedger ledger = GpuLedger.forProcesses(sim.gpuLedger(), sim.gpuMemoryGib());
        try {
            GpuLedger.Reservation held = ledger.reserve(pid, serve.gpuMemoryUtilization());
            boolean closedMeanwhile;
            synchronized (lifecycle) {
                closedMeanwhile = closed;
                reservation = held;
            }
            if (closedMeanwhile) {
                // terminated while reserving: close() has run and will not see this reservation
                held.release();
            }
        } catch (InsufficientGpuMemoryException e) {
            log.error("core.py:515", "EngineCore failed to start.");
            throw new StartupException(e.getMessage());
        } catch (IOException e) {
            throw new StartupException("RuntimeError: cannot use the GPU ledger " + sim.gpuLedger() + ": " + e);
        }
    }
}
