package io.vllmfactory.serve;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.supervise.Fleet;
import io.vllmfactory.serve.supervise.InstanceView;
import io.vllmfactory.serve.supervise.Preflight;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Sidecars that launch simulated backends, through the same command line users type: quick probes, short
 * timeouts, a pretend GPU of their own and {@link SimulatorProcess#command()} as the backend command.
 */
final class SupervisedSidecars {
    private SupervisedSidecars() {
    }

    /**
     * The command line of a test fleet.
     *
     * @param dir         holds the logs and the pretend GPU's ledger
     * @param flags       further sidecar flags (they win over the defaults here)
     * @param backendArgs arguments for every backend (after --)
     */
    static List<String> args(Path dir, List<String> flags, List<String> backendArgs) {
        List<String> args = new ArrayList<>(List.of("test-model", "--host", "127.0.0.1", "--port", "0",
                "--port-start", Integer.toString(FreePorts.block(8)), "--admin-port", Integer.toString(FreePorts.one()),
                "--backend-command", String.join(" ", SimulatorProcess.command()),
                "--log-dir", dir.resolve("logs").toString(), "--backend-output", "file",
                "--health-interval", "100ms", "--health-timeout", "1s", "--drain-timeout", "5s",
                "--startup-timeout", "60s", "--stop-grace", "2s", "--restart-backoff", "100ms"));
        args.addAll(flags);
        args.addAll(List.of("--", "--sim-startup-delay", "0.1", "--sim-gpu-ledger", ledger(dir).toString()));
        args.addAll(backendArgs);
        return args;
    }

    static Path ledger(Path dir) {
        return dir.resolve("gpu.ledger");
    }

    /** An unstarted sidecar for these arguments, checked as {@code Main} checks them. */
    static Sidecar create(Path dir, List<String> flags, List<String> backendArgs) {
        CommandLine cl = CommandLine.parse(args(dir, flags, backendArgs).toArray(String[]::new));
        Settings settings = Settings.resolve(cl.flags(), Map.of(), Optional.empty());
        SupervisorConfig supervision = SupervisorConfig.from(settings);
        Preflight.check(supervision, System.getenv());
        return Sidecar.supervised(DispatcherConfig.from(settings), supervision);
    }

    static Sidecar start(Path dir, List<String> flags, List<String> backendArgs) {
        Sidecar sidecar = create(dir, flags, backendArgs);
        try {
            return sidecar.start();
        } catch (RuntimeException e) {
            sidecar.close();
            throw e;
        }
    }

    static Fleet fleet(Sidecar sidecar) {
        return sidecar.fleet();
    }

    static InstanceView instance(Sidecar sidecar, int id) {
        return fleet(sidecar).instance(id).orElseThrow();
    }

    /** Every pid of the fleet's backends right now. */
    static List<Long> pids(Sidecar sidecar) {
        return fleet(sidecar).instances().stream().map(InstanceView::pid).filter(p -> p > 0).toList();
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** The exact command line a process runs, from /proc. */
    static List<String> commandLine(long pid) throws java.io.IOException {
        String raw = java.nio.file.Files.readString(Path.of("/proc/" + pid + "/cmdline"));
        return List.of(raw.split("\u0000"));
    }

    /** One variable of a process's environment, from /proc. */
    static Optional<String> environment(long pid, String name) throws java.io.IOException {
        String raw = new String(java.nio.file.Files.readAllBytes(Path.of("/proc/" + pid + "/environ")));
        for (String kv : raw.split("\u0000")) {
            if (kv.startsWith(name + "=")) {
                return Optional.of(kv.substring(name.length() + 1));
            }
        }
        return Optional.empty();
    }
}
