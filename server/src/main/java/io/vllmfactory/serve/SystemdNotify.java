package io.vllmfactory.serve;

import io.vllmfactory.serve.supervise.BackendState;
import io.vllmfactory.serve.supervise.InstanceView;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Tells systemd how the sidecar is doing ({@code Type=notify}): {@code STATUS=} lines while the backends
 * load ({@code backend 2/4 loading... 35 s}), {@code READY=1} once the public port serves, {@code STOPPING=1}
 * when it drains. Java has no datagram Unix sockets, so each message is a run of {@code systemd-notify}
 * (the unit says {@code NotifyAccess=all}); it waits until systemd has read the message. Without
 * {@code NOTIFY_SOCKET} (not run by systemd as a notify service) there is nothing to tell.
 */
final class SystemdNotify implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SystemdNotify.class.getName());
    /** How often the loading is looked at; a message goes out only when its line changed. */
    private static final Duration LOOK_EVERY = Duration.ofMillis(250);
    /** The loading time in the line counts in steps of this many seconds, so systemd gets a line every 5 s. */
    private static final long STEP_SECONDS = 5;

    private final String command;
    private Thread reporter;
    private String lastStatus;
    private boolean warned;

    private SystemdNotify(String command) {
        this.command = command;
    }

    /** When systemd asked for notifications ({@code NOTIFY_SOCKET} set). */
    static Optional<SystemdNotify> fromEnvironment(Map<String, String> env) {
        String socket = env.get("NOTIFY_SOCKET");
        if (socket == null || socket.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(new SystemdNotify(env.getOrDefault("VLLM_FACTORY_SYSTEMD_NOTIFY", "systemd-notify")));
    }

    /** Reports the backends' loading (as it changes, at most every 5 s) until {@link #ready} or {@link #close}. */
    synchronized void reportLoading(Supplier<List<InstanceView>> instances) {
        reporter = Thread.ofVirtual().name("systemd-status").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                status(loading(instances.get(), Instant.now()));
                try {
                    Thread.sleep(LOOK_EVERY);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** The loading line, e.g. {@code backend 2/4 loading... 35 s}. */
    static String loading(List<InstanceView> instances, Instant now) {
        int n = instances.size();
        for (int k = 0; k < n; k++) {
            InstanceView v = instances.get(k);
            if (v.state() == BackendState.STARTING) {
                long seconds = Duration.between(v.since(), now).toSeconds();
                return "backend " + (k + 1) + "/" + n + " loading... " + seconds / STEP_SECONDS * STEP_SECONDS + " s";
            }
        }
        long ready = instances.stream().filter(v -> v.state() == BackendState.READY).count();
        return ready == n ? n + "/" + n + " backends ready; opening the public port"
                : "starting backend " + (ready + 1) + "/" + n;
    }

    /** {@code READY=1} with a status line: the public port serves. */
    void ready(String status) {
        stopReporting();
        send(List.of("--ready", "--status=" + status));
    }

    /** {@code STOPPING=1}: the sidecar drains and stops its backends. */
    void stopping() {
        stopReporting();
        send(List.of("STOPPING=1", "STATUS=draining, then stopping the backends"));
    }

    void status(String status) {
        synchronized (this) {
            if (status.equals(lastStatus)) {
                return;
            }
            lastStatus = status;
        }
        send(List.of("--status=" + status));
    }

    private synchronized void stopReporting() {
        if (reporter != null) {
            reporter.interrupt();
            reporter = null;
        }
    }

    private void send(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(command);
        cmd.addAll(args);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                warn("systemd-notify did not return within 10 s");
            } else if (p.exitValue() != 0) {
                warn("systemd-notify " + String.join(" ", args) + " exited with " + p.exitValue());
            }
        } catch (IOException e) {
            warn("cannot run " + command + " (" + e.getMessage() + "); install systemd or use Type=simple");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void warn(String what) {
        if (!warned) {
            warned = true;
            LOG.log(Level.WARNING, what);
        }
    }

    @Override
    public void close() {
        stopReporting();
    }
}
