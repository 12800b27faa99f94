package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;

import java.lang.System.Logger.Level;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

import static io.vllmfactory.serve.supervise.BackendState.BACKOFF;
import static io.vllmfactory.serve.supervise.BackendState.DRAINING;
import static io.vllmfactory.serve.supervise.BackendState.FAILED;
import static io.vllmfactory.serve.supervise.BackendState.READY;
import static io.vllmfactory.serve.supervise.BackendState.STARTING;
import static io.vllmfactory.serve.supervise.BackendState.STOPPED;
import static io.vllmfactory.serve.supervise.BackendState.STOPPING;
import static io.vllmfactory.serve.supervise.BackendState.UNHEALTHY;

/**
 * Drives instances through their states: launches them through the {@link Launcher}, puts ready backends
 * into the dispatcher's pool, notices crashes (process exit) and hangs (out of routing too long), restarts
 * with backoff, and stops process trees on purpose.
 */
final class Lifecycle implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Lifecycle.class.getName());
    private static final Duration DRAIN_POLL = Duration.ofMillis(20);

    private final SupervisorConfig config;
    private final BackendPool pool;
    private final Consumer<Backend> forget;
    private final Launcher launcher;
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("supervisor-timers").daemon().factory());
    private volatile boolean closing;

    /**
     * @param config        the supervisor's settings
     * @param pool          where ready backends go
     * @param forget        told of every backend leaving the pool (the dispatcher drops its affinity pins)
     * @param probeTimeout  longest one readiness probe may take
     * @param monitorPeriod how often routing verdicts are read into states
     * @param instances     what to watch (read on every monitor round)
     */
    Lifecycle(SupervisorConfig config, BackendPool pool, Consumer<Backend> forget, Duration probeTimeout,
              Duration monitorPeriod, Supplier<List<Instance>> instances) {
        this.config = config;
        this.pool = pool;
        this.forget = forget;
        this.launcher = new Launcher(config, probeTimeout);
        long ms = Math.max(50, monitorPeriod.toMillis());
        timers.scheduleWithFixedDelay(() -> monitor(instances.get()), ms, ms, TimeUnit.MILLISECONDS);
    }

    boolean closing() {
        return closing;
    }

    /** Where the dispatcher and the probes reach a backend. */
    String probeHost() {
        return launcher.probeHost();
    }

    /** STOPPED, FAILED or BACKOFF to STARTING: a new generation whose launch is yet to run. */
    long prepare(Instance i, String why) {
        synchronized (i) {
            i.cancelRestart();
            i.generation++;
            i.readyAt = null;
            i.moveTo(STARTING, why);
            return i.generation;
        }
    }

    /**
     * Starts the instance's process and waits until its /health answers 200, then routes to it. On failure
     * the process is stopped and the state left for the caller to decide.
     *
     * @param label how progress names it, e.g. {@code 2/4}; empty for the id
     */
    Launcher.Outcome launch(Instance i, long gen, String label) {
        List<String> argv;
        synchronized (i) {
            argv = BackendCommand.argv(config.backend(), launcher.listenHost(), i.port, i.fraction);
        }
        Launcher.Outcome outcome = launcher.launch(argv, BackendCommand.environment(i.device), i.port, i.log,
                label.isEmpty() ? Integer.toString(i.id) : label, () -> current(i, gen), p -> started(i, gen, p));
        if (outcome instanceof Launcher.Outcome.Ready r) {
            return ready(i, gen, r);
        }
        return outcome;
    }

    private void started(Instance i, long gen, BackendProcess p) {
        long pid = p.pid();
        synchronized (i) {
            if (current(i, gen)) {
                i.process = p;
                i.pid = pid;
                i.starts++;
                LOG.log(Level.INFO, "backend " + i.id + " (pid " + pid + ", port " + i.port + "): launched with"
                        + " --gpu-memory-utilization " + MemorySplit.format(i.fraction) + " on GPU " + i.device
                        + (i.log.file() == null ? "" : "; output in " + i.log.file()));
            }
        }
        p.onExit().thenRun(() -> exited(i, gen, p));
    }

    private Launcher.Outcome ready(Instance i, long gen, Launcher.Outcome.Ready r) {
        synchronized (i) {
            if (current(i, gen)) {
                Backend b = new Backend(i.id, URI.create("http://" + launcher.probeHost() + ":" + i.port),
                        config.backend().maxNumSeqs(), true);
                i.backend = b;
                i.readyAt = Instant.now();
                pool.add(b);
                i.moveTo(READY, "answers /health after " + r.took().toMillis() + " ms; in routing");
                return r;
            }
        }
        r.process().stop();
        return new Launcher.Outcome.Aborted();
    }

    /** The process of a running instance ended on its own: a crash. */
    private void exited(Instance i, long gen, BackendProcess p) {
        synchronized (i) {
            if (!current(i, gen) || i.process != p || !i.running()) {
                return; // launches and intended stops handle their own exits
            }
            pool.healthy(i.backend, false); // out of routing at once; the rest follows below
        }
        p.awaitOutput(Duration.ofSeconds(2));
        failed(i, gen, "exited with status " + p.exitValue() + Launcher.said(i.log));
    }

    /**
     * A failure at runtime: out of routing, then BACKOFF with a restart scheduled, or FAILED when it failed
     * too often within the window.
     */
    void failed(Instance i, long gen, String why) {
        synchronized (i) {
            if (!current(i, gen)) {
                return;
            }
            takeOutOfPool(i);
            Instant now = Instant.now();
            Duration healthyFor = i.readyAt == null ? Duration.ZERO : Duration.between(i.readyAt, now);
            Backoff.Step step = Backoff.afterFailure(config.restarts(), i.history, now, healthyFor);
            i.history = step.history();
            i.lastError = why;
            if (step.failed()) {
                i.moveTo(FAILED, why + "; " + step.history().failures().size() + " failures within "
                        + seconds(config.restarts().window()) + ": left stopped until an operator restarts it");
            } else {
                i.moveTo(BACKOFF, why + "; restart in " + step.delay().toMillis() + " ms");
                i.pendingRestart = timers.schedule(() -> Thread.ofVirtual().name("restart-" + i.id)
                        .start(() -> restartAfterBackoff(i, gen)), step.delay().toMillis(), TimeUnit.MILLISECONDS);
            }
            i.process = null;
            i.pid = -1;
            i.readyAt = null;
        }
    }

    private void restartAfterBackoff(Instance i, long gen) {
        long next;
        synchronized (i) {
            if (!current(i, gen) || i.state != BACKOFF) {
                return;
            }
            next = prepare(i, "restart after failure");
        }
        if (launch(i, next, "") instanceof Launcher.Outcome.Failed f) {
            failed(i, next, f.why());
        }
    }

    /** Reads the dispatcher's routing verdicts into states, and kills backends out of routing too long. */
    private void monitor(List<Instance> instances) {
        Instant now = Instant.now();
        for (Instance i : instances) {
            synchronized (i) {
                Backend b = i.backend;
                if (b == null || closing || i.process != null && !i.process.alive()) {
                    continue; // a process that just ended is a crash, reported as such by exited()
                }
                if (i.state == READY && !b.healthy()) {
                    i.unhealthySince = now;
                    i.moveTo(UNHEALTHY, "fails its health probes: out of routing");
                } else if (i.state == UNHEALTHY && b.healthy()) {
                    i.moveTo(READY, "passes its health probe again: back in routing");
                } else if (i.state == UNHEALTHY
                           && Duration.between(i.unhealthySince, now).compareTo(config.unhealthyRestartAfter()) >= 0) {
                    killHung(i);
                }
            }
        }
    }

    private void killHung(Instance i) {
        String why = "no passing health probe for " + seconds(config.unhealthyRestartAfter())
                     + " (--unhealthy-restart-after): hung";
        long gen = i.generation;
        BackendProcess p = i.process;
        i.moveTo(STOPPING, why + "; killing its process tree");
        takeOutOfPool(i);
        Thread.ofVirtual().name("kill-" + i.id).start(() -> {
            if (p != null) {
                p.stop();
            }
            failed(i, gen, why);
        });
    }

    /**
     * Begins an intended stop: DRAINING while requests are bound to it, STOPPING while it loads, or straight
     * to STOPPED when no process runs. Stale events of the old generation are ignored from here on.
     *
     * @return the generation to finish the stop with
     */
    long beginStop(Instance i, String why) {
        synchronized (i) {
            i.cancelRestart();
            i.generation++;
            switch (i.state) {
                case READY, UNHEALTHY -> {
                    i.moveTo(DRAINING, why);
                    pool.draining(i.backend, true);
                }
                case STARTING -> i.moveTo(STOPPING, why);
                case BACKOFF, FAILED -> i.moveTo(STOPPED, why);
                default -> {
                    // DRAINING, STOPPING: callers refuse those; STOPPED: nothing to do
                }
            }
            return i.generation;
        }
    }

    /** Waits for the drain (at most {@code drainTimeout}), then stops the process tree; ends STOPPED. */
    void finishStop(Instance i, long gen, Duration drainTimeout) {
        Backend b;
        synchronized (i) {
            if (i.generation != gen) {
                return;
            }
            b = i.backend;
        }
        if (b != null && !awaitIdle(b, drainTimeout)) {
            LOG.log(Level.WARNING, "backend " + i.id + ": " + b.inFlight() + " requests still open after the drain"
                    + " timeout of " + seconds(drainTimeout) + "; stopping it anyway");
        }
        BackendProcess p;
        synchronized (i) {
            if (i.generation != gen) {
                return;
            }
            if (i.state == DRAINING) {
                i.moveTo(STOPPING, "drained");
            }
            takeOutOfPool(i);
            p = i.process;
        }
        if (p != null) {
            p.stop();
        }
        synchronized (i) {
            if (i.generation == gen && i.state == STOPPING) {
                i.moveTo(STOPPED, "its processes are gone");
            }
            if (i.generation == gen) {
                i.process = null;
                i.pid = -1;
                i.readyAt = null;
            }
        }
    }

    private static boolean awaitIdle(Backend b, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (b.inFlight() > 0) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(DRAIN_POLL); // an operator's action, not the request path: polling is enough
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** No more restarts: the sidecar is stopping. */
    void stopRestarting() {
        closing = true;
    }

    /** Stops every instance's process tree at once and waits for them; then nothing of ours runs. */
    void stopAll(List<Instance> instances) {
        closing = true;
        timers.shutdownNow();
        List<Thread> stoppers = instances.stream().map(i -> Thread.ofVirtual().name("stop-" + i.id).start(() -> {
            BackendProcess p;
            synchronized (i) {
                i.cancelRestart();
                i.generation++;
                if (i.state == READY || i.state == UNHEALTHY || i.state == DRAINING || i.state == STARTING) {
                    i.moveTo(STOPPING, "the sidecar is stopping");
                }
                takeOutOfPool(i);
                p = i.process;
            }
            if (p != null) {
                p.stop();
            }
            synchronized (i) {
                if (i.state != STOPPED) {
                    i.moveTo(STOPPED, "");
                }
                i.process = null;
                i.pid = -1;
                i.log.end();
            }
        })).toList();
        for (Thread t : stoppers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        // a launch that was under way stops its own process before it lets go
        launcher.awaitIdle(config.stopGrace().plusSeconds(10));
    }

    private void takeOutOfPool(Instance i) {
        Backend b = i.backend;
        if (b != null) {
            pool.healthy(b, false);
            pool.remove(b);
            forget.accept(b);
            i.backend = null;
        }
    }

    private boolean current(Instance i, long gen) {
        synchronized (i) {
            return i.generation == gen && !closing;
        }
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    @Override
    public void close() {
        timers.shutdownNow();
        launcher.close();
    }
}
