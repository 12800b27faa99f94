package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.dispatch.admission.Backend;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.Future;

import static io.vllmfactory.serve.supervise.BackendState.BACKOFF;
import static io.vllmfactory.serve.supervise.BackendState.DRAINING;
import static io.vllmfactory.serve.supervise.BackendState.FAILED;
import static io.vllmfactory.serve.supervise.BackendState.READY;
import static io.vllmfactory.serve.supervise.BackendState.STARTING;
import static io.vllmfactory.serve.supervise.BackendState.STOPPED;
import static io.vllmfactory.serve.supervise.BackendState.STOPPING;
import static io.vllmfactory.serve.supervise.BackendState.UNHEALTHY;

/**
 * One supervised backend: its place in the state machine, its current process and its history. Every field
 * is guarded by the instance's monitor. {@link #generation} counts launches and intended stops; an event
 * (a process exit, a backoff timer, a launch in progress) that belongs to an older generation is stale and
 * changes nothing.
 */
final class Instance {
    private static final System.Logger LOG = System.getLogger(Instance.class.getName());
    /** The allowed transitions; anything else is a bug. */
    private static final Map<BackendState, Set<BackendState>> NEXT = new EnumMap<>(Map.of(
            STOPPED, EnumSet.of(STARTING),
            STARTING, EnumSet.of(READY, STOPPING, BACKOFF, FAILED),
            READY, EnumSet.of(UNHEALTHY, DRAINING, STOPPING, BACKOFF, FAILED),
            UNHEALTHY, EnumSet.of(READY, DRAINING, STOPPING, BACKOFF, FAILED),
            DRAINING, EnumSet.of(STOPPING),
            STOPPING, EnumSet.of(STOPPED, BACKOFF, FAILED),
            BACKOFF, EnumSet.of(STARTING, STOPPED),
            FAILED, EnumSet.of(STARTING, STOPPED)));

    final int id;
    final int port;
    /** Its device group (CUDA_VISIBLE_DEVICES): where it runs for its whole life. */
    final String device;
    final BackendLog log;
    double fraction;
    BackendState state = STOPPED;
    Instant since = Instant.now();
    long generation;
    BackendProcess process;
    long pid = -1;
    /** Its dispatcher entry, from READY until it leaves routing for good. */
    Backend backend;
    int starts;
    Instant readyAt;
    Instant unhealthySince;
    String lastError;
    Backoff.History history = Backoff.History.NONE;
    Future<?> pendingRestart;

    Instance(int id, int port, String device, double fraction, BackendLog log) {
        this.id = id;
        this.port = port;
        this.device = device;
        this.fraction = fraction;
        this.log = log;
    }

    /** Moves to {@code next}, logging the transition with id, pid and port. */
    void moveTo(BackendState next, String why) {
        if (!NEXT.get(state).contains(next)) {
            throw new IllegalStateException("backend " + id + ": " + state + " -> " + next + " is not a transition");
        }
        Level level = switch (next) {
            case FAILED -> Level.ERROR;
            case UNHEALTHY, BACKOFF -> Level.WARNING;
            default -> Level.INFO;
        };
        LOG.log(level, "backend " + id + " (pid " + pid + ", port " + port + "): " + state + " -> " + next
                       + (why.isEmpty() ? "" : ": " + why));
        state = next;
        since = Instant.now();
    }

    /** Routable or about to be: READY or UNHEALTHY. */
    boolean running() {
        return state == READY || state == UNHEALTHY;
    }

    /** Being drained or stopped on purpose right now. */
    boolean leaving() {
        return state == DRAINING || state == STOPPING;
    }

    /**
     * @param maxBatch its max batch
     * @param host     where the dispatcher reaches it
     */
    InstanceView view(int maxBatch, String host) {
        Duration uptime = readyAt != null && (running() || state == DRAINING)
                ? Duration.between(readyAt, Instant.now()) : Duration.ZERO;
        String line = log.lastLine();
        return new InstanceView(id, "http://" + host + ":" + port, port, pid, state,
                backend == null ? 0 : backend.inFlight(), maxBatch, OptionalDouble.of(fraction), device,
                Math.max(0, starts - 1), uptime, lastError, since, line.isEmpty() ? null : line);
    }

    void cancelRestart() {
        if (pendingRestart != null) {
            pendingRestart.cancel(false);
            pendingRestart = null;
        }
    }

    @Override
    public String toString() {
        return "backend " + id + " (port " + port + ")";
    }
}
