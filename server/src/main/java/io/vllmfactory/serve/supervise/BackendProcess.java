package io.vllmfactory.serve.supervise;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A backend process started through the guard ({@code guard.sh}): the guard runs in a session of its own,
 * starts the backend in another one (so the backend leads its own process group), and reads a pipe from
 * this JVM. Closing that pipe, or this JVM dying in any way, makes the guard SIGTERM the backend's whole
 * process group and SIGKILL what is left after the grace period. So no backend outlives the sidecar, and
 * nothing depends on which JVM thread started it (PR_SET_PDEATHSIG would fire when that thread ends, not
 * when the JVM does).
 */
final class BackendProcess {
    private static final Pattern MARKER = Pattern.compile("vllm-factory-serve guard: backend pid (\\d+)");
    private static final String GUARD = guardScript();
    /** Beyond the grace period, how long the guard may take before it is killed from here. */
    private static final Duration GUARD_SLACK = Duration.ofSeconds(5);

    private final Process guard;
    private final Duration grace;
    private final CompletableFuture<Long> pid = new CompletableFuture<>();
    private final CompletableFuture<Void> outputDone = new CompletableFuture<>();
    private boolean stopped;

    private BackendProcess(Process guard, Duration grace) {
        this.guard = guard;
        this.grace = grace;
    }

    /**
     * Starts {@code argv} under a guard.
     *
     * @param argv  the backend's command line
     * @param env   variables added to this process's environment
     * @param grace how long the backend's processes may take after SIGTERM before SIGKILL
     * @param log   where its output goes
     * @throws IOException when the guard cannot be started (no {@code setsid} or {@code sh})
     */
    static BackendProcess start(List<String> argv, Map<String, String> env, Duration grace, BackendLog log)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of("setsid", "-w", "sh", "-c", GUARD, "vllm-factory-serve-guard",
                Long.toString(Math.max(0, (grace.toMillis() + 99) / 100))));
        cmd.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        BackendProcess p = new BackendProcess(pb.start(), grace);
        Thread.ofVirtual().name("backend-output").start(() -> p.pump(p.guard.getInputStream(), log));
        return p;
    }

    private void pump(InputStream in, BackendLog log) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                Matcher m = pid.isDone() ? null : MARKER.matcher(line);
                if (m != null && m.matches()) {
                    pid.complete(Long.parseLong(m.group(1)));
                } else {
                    log.line(line);
                }
            }
        } catch (IOException e) {
            // the guard and everything it started are gone
        } finally {
            pid.complete(-1L);
            outputDone.complete(null);
        }
    }

    /** The backend's pid (it leads its own process group), or -1 if it never started. */
    long pid() {
        try {
            return pid.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            return -1;
        }
    }

    boolean alive() {
        return guard.isAlive();
    }

    /** The backend's exit status once it has ended (128 + n when killed by signal n). */
    int exitValue() {
        return guard.exitValue();
    }

    /** Completes when the backend has ended (the guard exits right after it). */
    CompletableFuture<Process> onExit() {
        return guard.onExit();
    }

    /** Waits until the output of the ended process has been read to its end, so its last lines are logged. */
    void awaitOutput(Duration timeout) {
        try {
            outputDone.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // a straggler still holds the pipe; what was read is logged
        }
    }

    /**
     * Stops the backend's whole process tree: SIGTERM, then SIGKILL after the grace period; returns once
     * it is gone. Safe to call more than once and from several threads.
     */
    synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        // anything that left the backend's process group is still found by parentage while the tree stands
        List<ProcessHandle> tree = tree();
        try {
            guard.getOutputStream().close(); // end of file: the guard takes the group down
        } catch (IOException ignored) {
            // the guard is gone already
        }
        try {
            if (!guard.waitFor(grace.plus(GUARD_SLACK).toMillis(), TimeUnit.MILLISECONDS)) {
                guard.destroyForcibly();
                guard.waitFor(GUARD_SLACK.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    /** Every process of the backend's tree alive right now, the backend first. */
    List<ProcessHandle> tree() {
        long backend = pid.getNow(-1L);
        return ProcessHandle.of(backend).map(h -> {
            List<ProcessHandle> all = new ArrayList<>();
            all.add(h);
            all.addAll(h.descendants().toList());
            return all;
        }).orElse(List.of());
    }

    /** The guard without its comments: it travels on the command line, where {@code ps} shows it. */
    private static String guardScript() {
        try (InputStream in = BackendProcess.class.getResourceAsStream("guard.sh")) {
            if (in == null) {
                throw new IllegalStateException("guard.sh is missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.strip().startsWith("#") && !l.isBlank())
                    .collect(Collectors.joining("\n"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
