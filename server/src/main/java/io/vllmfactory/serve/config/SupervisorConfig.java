package io.vllmfactory.serve.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * How the sidecar launches and keeps its backends (MODEL mode).
 *
 * @param backend                what each backend runs
 * @param numInstances           backends to start with
 * @param portStart              first backend port; instance i listens on portStart + i
 * @param host                   address of the public endpoint (the backend's own in direct mode)
 * @param port                   public port, 0 for any free one
 * @param adminHost              address of the admin API
 * @param adminPort              port of the admin API, 0 for any free one
 * @param alwaysProxy            run the dispatcher even for one instance
 * @param gpuMemoryUtilization   each backend's GPU memory fraction, empty for the automatic split
 * @param gpuMemoryBudget        GPU memory fraction all instances may share
 * @param startupTimeout         longest a backend may load before its /health answers 200
 * @param stopGrace              after SIGTERM, how long a backend's processes may take before SIGKILL
 * @param unhealthyRestartAfter  how long a backend may stay out of routing before it is killed and restarted
 * @param restarts               when and how often failed backends are restarted
 * @param logDir                 directory of the backends' output
 * @param backendOutput          where backend output goes
 */
public record SupervisorConfig(BackendSpec backend, int numInstances, int portStart, String host, int port,
                               String adminHost, int adminPort, boolean alwaysProxy,
                               OptionalDouble gpuMemoryUtilization, double gpuMemoryBudget, Duration startupTimeout,
                               Duration stopGrace, Duration unhealthyRestartAfter, Restarts restarts, Path logDir,
                               BackendOutput backendOutput) {

    public SupervisorConfig {
        check(numInstances >= 1, "numInstances", numInstances, ">= 1");
        check(portStart >= 1 && portStart <= 65535, "portStart", portStart, "1..65535");
        check(portStart + numInstances - 1 <= 65535, "portStart", portStart,
                "at most " + (65536 - numInstances) + " so that " + numInstances + " backend ports fit below 65536");
        check(port >= 0 && port <= 65535, "port", port, "0..65535");
        check(adminPort >= 0 && adminPort <= 65535, "adminPort", adminPort, "0..65535");
        check(gpuMemoryBudget > 0 && gpuMemoryBudget <= 1, "gpuMemoryBudget", gpuMemoryBudget, "> 0 and <= 1");
        int perGpu = (numInstances + backend.deviceGroups().size() - 1) / backend.deviceGroups().size();
        gpuMemoryUtilization.ifPresent(g -> {
            check(g > 0 && g <= 1, "gpuMemoryUtilization", g, "auto, or > 0 and <= 1");
            check(g * perGpu <= 1 + 1e-9, "gpuMemoryUtilization", g,
                    "at most " + String.format(Locale.ROOT, "%.2f", 1.0 / perGpu) + " for " + perGpu
                    + " instances on one GPU, or auto");
        });
        check(startupTimeout.toMillis() >= 1, "startupTimeout", startupTimeout, ">= 1ms");
        check(!stopGrace.isNegative(), "stopGrace", stopGrace, ">= 0");
        check(unhealthyRestartAfter.toMillis() >= 1, "unhealthyRestartAfter", unhealthyRestartAfter, ">= 1ms");
    }

    /** The same configuration starting {@code count} instances. */
    public SupervisorConfig withNumInstances(int count) {
        return new SupervisorConfig(backend, count, portStart, host, port, adminHost, adminPort, alwaysProxy,
                gpuMemoryUtilization, gpuMemoryBudget, startupTimeout, stopGrace, unhealthyRestartAfter, restarts,
                logDir, backendOutput);
    }

    /** The same configuration with each instance's memory share pinned (or automatic, when empty). */
    public SupervisorConfig withGpuMemoryUtilization(OptionalDouble share) {
        return new SupervisorConfig(backend, numInstances, portStart, host, port, adminHost, adminPort, alwaysProxy,
                share, gpuMemoryBudget, startupTimeout, stopGrace, unhealthyRestartAfter, restarts, logDir,
                backendOutput);
    }

    /** One instance and no {@code --always-proxy}: the backend serves the public port itself. */
    public boolean direct() {
        return numInstances == 1 && !alwaysProxy;
    }

    /** Reads the supervisor's settings; a bad value fails with the flag or file key it came from. */
    public static SupervisorConfig from(Settings s) {
        try {
            boolean auto = AutoSizingConfig.auto(s);
            return new SupervisorConfig(BackendSpec.from(s), auto ? 1 : s.integer("num-instances"),
                    s.integer("port-start"), s.string("host").orElse("0.0.0.0"), s.integer("port"),
                    s.string("admin-host").orElse("127.0.0.1"), s.integer("admin-port"),
                    s.bool("always-proxy") || auto || s.string("autoscale").filter(v -> !v.isBlank()).isPresent(),
                    utilization(s), s.decimal("gpu-memory-budget"),
                    s.duration("startup-timeout"), s.duration("stop-grace"), s.duration("unhealthy-restart-after"),
                    Restarts.from(s), Path.of(s.string("log-dir").orElse(".")), BackendOutput.from(s));
        } catch (InvalidValue e) {
            throw e.in(s);
        }
    }

    private static OptionalDouble utilization(Settings s) {
        String v = s.string("gpu-memory-utilization").orElse("auto");
        if ("auto".equalsIgnoreCase(v)) {
            return OptionalDouble.empty();
        }
        try {
            return OptionalDouble.of(Double.parseDouble(v));
        } catch (NumberFormatException e) {
            throw s.invalid("gpu-memory-utilization", "'" + v + "'", "auto, or a fraction such as 0.45");
        }
    }

    private static void check(boolean ok, String field, Object value, String expected) {
        InvalidValue.check(ok, field, value, expected);
    }

    /** Where a backend's output goes. */
    public enum BackendOutput {
        /** A log file per backend under the log directory. */
        FILE,
        /** Lines prefixed with {@code [backend N]} on the sidecar's stderr. */
        STDERR,
        /** Both. */
        BOTH;

        public boolean toFile() {
            return this != STDERR;
        }

        public boolean toStderr() {
            return this != FILE;
        }

        static BackendOutput from(Settings s) {
            String v = s.string("backend-output").orElse("both");
            try {
                return valueOf(v.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw s.invalid("backend-output", "'" + v + "'", "file, stderr or both");
            }
        }
    }

    /**
     * What one backend runs: the command and the vLLM flags the sidecar writes for it, for vLLM
     * {@value SettingTable#VLLM_VERSION} and later.
     *
     * @param command             the command that starts a backend, e.g. {@code vllm serve}
     * @param model               MODEL
     * @param maxNumSeqs          --max-num-seqs (the dispatcher's max batch per backend)
     * @param dtype               --dtype
     * @param enforceEager        --enforce-eager
     * @param ioProcessorPlugin   --io-processor-plugin, if set
     * @param maxModelLen         --max-model-len, if set
     * @param runner              --runner, if set (also from a --task)
     * @param convert             --convert, if set (also from a --task)
     * @param maxNumBatchedTokens --max-num-batched-tokens, if set
     * @param quantization        --quantization, if set and not {@code none}
     * @param tensorParallelSize  --tensor-parallel-size: the GPUs each backend takes (written when > 1)
     * @param tokenizer           --tokenizer, if set
     * @param servedModelName     --served-model-name, if set
     * @param poolerConfig        --pooler-config, a JSON object, if set
     * @param trustRemoteCode     --trust-remote-code
     * @param cudaDevices         the CUDA devices the backends share, in order
     * @param fixedArgs           arguments every backend gets after its flags
     * @param extraArgs           arguments forwarded after {@code --}
     */
    public record BackendSpec(List<String> command, String model, int maxNumSeqs, String dtype, boolean enforceEager,
                              Optional<String> ioProcessorPlugin, OptionalInt maxModelLen, Optional<String> runner,
                              Optional<String> convert, OptionalInt maxNumBatchedTokens, Optional<String> quantization,
                              int tensorParallelSize, Optional<String> tokenizer, Optional<String> servedModelName,
                              Optional<String> poolerConfig, boolean trustRemoteCode, List<String> cudaDevices,
                              List<String> fixedArgs, List<String> extraArgs) {
        /** Flags the sidecar writes itself: forwarding one would break supervision or routing. */
        private static final Set<String> RESERVED = Set.of("--host", "--port", "--max-num-seqs");
        private static final ObjectMapper JSON = new ObjectMapper();

        public BackendSpec {
            command = List.copyOf(command);
            cudaDevices = List.copyOf(cudaDevices);
            fixedArgs = List.copyOf(fixedArgs);
            extraArgs = List.copyOf(extraArgs);
            check(!command.isEmpty(), "command", "''", "a command such as 'vllm serve'");
            check(!model.isBlank(), "model", "''", "a model name or path");
            check(maxNumSeqs >= 1, "maxNumSeqs", maxNumSeqs, ">= 1");
            maxModelLen.ifPresent(n -> check(n >= 1, "maxModelLen", n, ">= 1"));
            maxNumBatchedTokens.ifPresent(n -> check(n >= 1, "maxNumBatchedTokens", n, ">= 1"));
            runner.ifPresent(r -> check(VllmTask.RUNNERS.contains(r), "runner", "'" + r + "'",
                    String.join(", ", VllmTask.RUNNERS)));
            convert.ifPresent(c -> check(VllmTask.CONVERTS.contains(c), "convert", "'" + c + "'",
                    String.join(", ", VllmTask.CONVERTS)));
            check(tensorParallelSize >= 1, "tensorParallelSize", tensorParallelSize, ">= 1");
            poolerConfig.ifPresent(p -> check(isJsonObject(p), "poolerConfig", "'" + p + "'",
                    "a JSON object such as {\"pooling_type\": \"MEAN\", \"normalize\": true}"));
            String devices = String.join(",", cudaDevices);
            check(!cudaDevices.isEmpty() && cudaDevices.stream().noneMatch(String::isBlank)
                  && cudaDevices.stream().distinct().count() == cudaDevices.size(), "cudaDevices", "'" + devices + "'",
                    "CUDA device ids separated by commas, each once, e.g. 0,1");
            check(cudaDevices.size() % tensorParallelSize == 0, "cudaDevices", "'" + devices + "'",
                    "a multiple of --tensor-parallel-size " + tensorParallelSize + " devices: each backend takes "
                    + tensorParallelSize);
            for (List<String> args : List.of(fixedArgs, extraArgs)) {
                String field = args == fixedArgs ? "fixedArgs" : "extraArgs";
                for (String a : args) {
                    String flag = (a.contains("=") ? a.substring(0, a.indexOf('=')) : a).replace('_', '-');
                    check(!RESERVED.contains(flag), field, a, "no --host, --port or --max-num-seqs: the sidecar"
                            + " writes them from --port-start and --max-batch-size");
                    check(!flag.equals("--task"), field, a, "no --task, which vLLM 0.13 and later refuse: give"
                            + " --task (or --runner and --convert) to the sidecar, which writes what vLLM takes");
                }
            }
        }

        /** The CUDA_VISIBLE_DEVICES of each place a backend can run: --tensor-parallel-size devices each. */
        public List<String> deviceGroups() {
            List<String> groups = new ArrayList<>();
            for (int i = 0; i < cudaDevices.size(); i += tensorParallelSize) {
                groups.add(String.join(",", cudaDevices.subList(i, i + tensorParallelSize)));
            }
            return List.copyOf(groups);
        }

        static BackendSpec from(Settings s) {
            Optional<String> runner = s.string("runner");
            Optional<String> convert = s.string("convert");
            Optional<String> task = s.string("task");
            if (task.isPresent()) {
                if (runner.isPresent() || convert.isPresent()) {
                    throw s.invalid("task", "'" + task.get() + "'", "--task or --runner/--convert, not both");
                }
                VllmTask t = VllmTask.translate(task.get()).orElseThrow(() -> s.invalid("task", "'" + task.get() + "'",
                        "one of " + String.join(", ", VllmTask.TASKS) + "; a model with an IO processor plugin needs"
                        + " no task"));
                runner = t.runner();
                convert = t.convert();
            }
            int tensorParallel = s.integer("tensor-parallel-size");
            return new BackendSpec(s.words("backend-command"), s.string("model").orElse(""),
                    s.integer("max-batch-size"), s.string("dtype").orElse("auto"), s.bool("enforce-eager"),
                    s.string("io-processor-plugin"), s.optionalInteger("max-model-len"), runner, convert,
                    s.optionalInteger("max-num-batched-tokens"), s.string("quantization"), tensorParallel,
                    s.string("tokenizer"), s.string("served-model-name"), s.string("pooler-config"),
                    s.bool("trust-remote-code"), devices(s, tensorParallel), s.words("backend-fixed-args"),
                    s.words("extra-args"));
        }

        /** --cuda-devices, else the sidecar's own CUDA_VISIBLE_DEVICES, else the first devices from 0. */
        private static List<String> devices(Settings s, int tensorParallel) {
            Optional<String> list = s.string("cuda-devices").or(() -> s.environment("CUDA_VISIBLE_DEVICES"));
            if (list.isEmpty()) {
                return IntStream.range(0, Math.max(1, tensorParallel)).mapToObj(Integer::toString).toList();
            }
            return Arrays.stream(list.get().split(",", -1)).map(String::strip).toList();
        }

        private static boolean isJsonObject(String text) {
            try {
                return JSON.readTree(text) instanceof ObjectNode;
            } catch (JsonProcessingException e) {
                return false;
            }
        }
    }

    /**
     * When failed backends are restarted: after {@code backoff}, doubling up to {@code backoffMax}; a backend
     * healthy for {@code resetAfter} starts afresh; {@code maxFailures} within {@code window} make it FAILED.
     *
     * @param backoff     first wait before a restart
     * @param backoffMax  longest wait
     * @param resetAfter  healthy time after which earlier failures are forgotten
     * @param maxFailures failures within the window that make a backend FAILED
     * @param window      the window failures are counted in
     */
    public record Restarts(Duration backoff, Duration backoffMax, Duration resetAfter, int maxFailures,
                           Duration window) {
        public Restarts {
            check(backoff.toMillis() >= 1, "restartBackoff", backoff, ">= 1ms");
            check(backoffMax.compareTo(backoff) >= 0, "restartBackoffMax", backoffMax,
                    ">= restart-backoff (" + backoff.toMillis() + "ms)");
            check(resetAfter.toMillis() >= 1, "restartResetAfter", resetAfter, ">= 1ms");
            check(maxFailures >= 1, "restartMaxFailures", maxFailures, ">= 1");
            check(window.toMillis() >= 1, "restartFailureWindow", window, ">= 1ms");
        }

        static Restarts from(Settings s) {
            return new Restarts(s.duration("restart-backoff"), s.duration("restart-backoff-max"),
                    s.duration("restart-reset-after"), s.integer("restart-max-failures"),
                    s.duration("restart-failure-window"));
        }
    }
}
