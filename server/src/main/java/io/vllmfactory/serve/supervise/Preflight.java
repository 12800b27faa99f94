package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.SupervisorConfig;

import java.io.File;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What can be found wrong before any backend starts: memory shares that cannot fit, ports that overlap or
 * are taken, missing tools, an unwritable log directory ({@link ConfigException}, exit status 2); and a
 * GPU without the memory asked for ({@link StartFailure}).
 */
public final class Preflight {
    private static final System.Logger LOG = System.getLogger(Preflight.class.getName());

    private Preflight() {
    }

    /** @throws ConfigException naming the setting and what was expected */
    public static void check(SupervisorConfig c, Map<String, String> env) {
        shares(c);
        PortLayout.checkOverlap(c);
        addresses(c);
        String path = env.getOrDefault("PATH", "");
        for (String tool : List.of("setsid", "sh")) {
            if (executable(tool, path).isEmpty()) {
                throw new ConfigException(tool + " is not on PATH (expected: util-linux's setsid and a POSIX sh,"
                        + " which start and guard the backends)");
            }
        }
        String command = c.backend().command().getFirst();
        if (executable(command, path).isEmpty()) {
            throw new ConfigException("--backend-command: '" + command + "' is not " + (command.contains("/")
                    ? "an executable file" : "on PATH") + " (expected: the command that starts one backend, e.g."
                    + " 'vllm serve' with vLLM installed)");
        }
        if (c.backendOutput().toFile()) {
            logDir(c.logDir());
        }
    }

    /**
     * Where nvidia-smi exists: @throws StartFailure when a GPU lacks the memory the instances placed on it ask
     * for (each device of a tensor-parallel group holds the group's instances' shares).
     */
    public static void checkGpu(SupervisorConfig c, Map<String, String> env) {
        Optional<Path> smi = executable("nvidia-smi", env.getOrDefault("PATH", ""));
        if (smi.isEmpty()) {
            LOG.log(Level.INFO, "nvidia-smi not found: GPU memory not checked before the start");
            return;
        }
        List<String> placed = GpuBudget.initialDevices(c.backend().deviceGroups(), c.numInstances());
        for (String group : c.backend().deviceGroups()) {
            int instances = (int) placed.stream().filter(group::equals).count();
            if (instances == 0) {
                continue;
            }
            double each = GpuBudget.initialShare(c.gpuMemoryUtilization(), c.gpuMemoryBudget(), placed, group);
            for (String device : group.split(",")) {
                GpuMemory.query(device, smi.get()).ifPresent(gpu -> {
                    GpuMemory.shortfall(gpu, instances, each).ifPresent(why -> {
                        throw new StartFailure(why, List.of());
                    });
                    LOG.log(Level.INFO, "GPU {0}: {1,number,#} MiB free of {2,number,#} MiB; {3} instances at {4}"
                            + " fit", device, gpu.freeMib(), gpu.totalMib(), instances, MemorySplit.format(each));
                });
            }
        }
    }

    private static void shares(SupervisorConfig c) {
        if (c.gpuMemoryUtilization().isPresent()) {
            return; // used as given; the config checked that they fit on each GPU
        }
        int gpus = c.backend().deviceGroups().size();
        int n = (c.numInstances() + gpus - 1) / gpus;
        if (!MemorySplit.fits(n * MemorySplit.auto(c.gpuMemoryBudget(), n), c.gpuMemoryBudget(), n)) {
            int most = 1;
            while (MemorySplit.fits((most + 1) * MemorySplit.auto(c.gpuMemoryBudget(), most + 1), c.gpuMemoryBudget(),
                    most + 1)) {
                most++;
            }
            throw new ConfigException("--num-instances: " + c.numInstances() + " (expected: at most " + most * gpus
                    + (gpus == 1 ? "" : " on " + gpus + " GPUs (" + most + " each)") + " with the automatic memory"
                    + " split of --gpu-memory-budget " + c.gpuMemoryBudget() + ", which gives each instance at least "
                    + MemorySplit.MIN + " of its GPU; or set --gpu-memory-utilization)");
        }
    }

    private static void addresses(SupervisorConfig c) {
        resolvable("--host", c.host());
        resolvable("--admin-host", c.adminHost());
        if (c.port() != 0 && !Ports.free(c.host(), c.port())) {
            throw taken("--port", c.host(), c.port(), "a free port");
        }
        if (c.adminPort() != 0 && !Ports.free(c.adminHost(), c.adminPort())) {
            throw taken("--admin-port", c.adminHost(), c.adminPort(), "a free port");
        }
        if (c.direct()) {
            return;
        }
        for (int p : PortLayout.initial(c)) {
            if (!Ports.free(PortLayout.BACKEND_HOST, p)) {
                throw taken("--port-start", PortLayout.BACKEND_HOST, p,
                        c.numInstances() + " free ports from " + c.portStart() + "; choose another --port-start");
            }
        }
    }

    private static ConfigException taken(String flag, String host, int port, String expected) {
        return new ConfigException(flag + ": " + host + ":" + port + " is already in use (expected: " + expected
                + "; 'ss -ltnp sport = :" + port + "' shows who holds it)");
    }

    private static void resolvable(String flag, String host) {
        try {
            InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new ConfigException(flag + ": '" + host + "' is not an address of this machine (expected: e.g."
                    + " 0.0.0.0 or 127.0.0.1)");
        }
    }

    private static void logDir(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new ConfigException("--log-dir: cannot create " + dir + " (" + e + ") (expected: a writable directory)");
        }
        if (!Files.isWritable(dir)) {
            throw new ConfigException("--log-dir: " + dir + " is not writable (expected: a writable directory)");
        }
    }

    /** The executable a command name runs: a path as given, or the first match on {@code path}. */
    static Optional<Path> executable(String command, String path) {
        if (command.contains("/")) {
            Path p = Path.of(command);
            return Files.isRegularFile(p) && Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
