package io.vllmfactory.serve.config;

import io.vllmfactory.serve.config.Setting.Kind;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** Every setting the sidecar knows: the single source for flags, environment, YAML and {@code --help}. */
public final class SettingTable {
    /** The backends' fixed arguments, as the Python vllm-factory-serve always passes them. */
    public static final String FIXED_BACKEND_ARGS = "--no-enable-prefix-caching --no-enable-chunked-prefill"
            + " --uvicorn-log-level warning --disable-log-stats";
    /** The vLLM release the backends' command line is written for (the Python vllm-factory needs it too). */
    public static final String VLLM_VERSION = "0.19";

    /**
     * A titled group of settings, for {@code --help}.
     *
     * @param title    heading
     * @param settings its settings in {@code --help} order
     */
    public record Section(String title, List<Setting> settings) {
    }

    /** The settings grouped as {@code --help} shows them. */
    public static final List<Section> SECTIONS = List.of(
            new Section("Backends (the Python vllm-factory-serve's flags and defaults, for vLLM >= "
                    + VLLM_VERSION + ")", List.of(
                    Setting.of("model", Kind.STRING, "", "model name or path the backends serve (same as the positional MODEL)"),
                    Setting.of("num-instances", Kind.INT, "1", "backend instances to run; 1 serves on the public port directly;"
                            + " auto: start with 1 and add instances while the throughput grows (see calibration-*)"),
                    Setting.of("max-batch-size", Kind.INT, "32",
                            "most requests in flight per backend (also each backend's --max-num-seqs)"),
                    Setting.of("port-start", Kind.INT, "9100", "first backend port; backends listen on 127.0.0.1:P, P+1, ..."),
                    Setting.of("gpu-memory-utilization", Kind.STRING, "auto",
                            "GPU memory fraction per backend; auto = budget / instances on its GPU,"
                            + " clamped to 0.10..0.80"),
                    Setting.of("dtype", Kind.STRING, "auto", "the backends' --dtype"),
                    Setting.of("enforce-eager", Kind.BOOLEAN, "false", "pass --enforce-eager to the backends"),
                    Setting.of("io-processor-plugin", Kind.STRING, "",
                            "the backends' --io-processor-plugin, e.g. mmbert_gliner_io"),
                    Setting.of("max-model-len", Kind.INT, "", "the backends' --max-model-len"),
                    Setting.of("cuda-devices", Kind.STRING, "", "CUDA devices, e.g. 0,1: instance i runs on device i"
                            + " mod their count (CUDA_VISIBLE_DEVICES); default: the sidecar's CUDA_VISIBLE_DEVICES,"
                            + " else 0"),
                    Setting.of("task", Kind.STRING, "", "embed, classify, reward, score, generate, ...: written as the"
                            + " --runner/--convert vLLM >= 0.13 takes instead of --task"),
                    Setting.of("runner", Kind.STRING, "", "the backends' --runner: auto, generate, pooling or draft"),
                    Setting.of("convert", Kind.STRING, "",
                            "the backends' --convert: auto, none, embed, classify or reward"),
                    Setting.of("max-num-batched-tokens", Kind.INT, "", "the backends' --max-num-batched-tokens"),
                    Setting.of("quantization", Kind.STRING, "", "the backends' --quantization (none: left out)"),
                    Setting.of("tensor-parallel-size", Kind.INT, "1",
                            "GPUs per backend: its --tensor-parallel-size (passed when > 1), that many of"
                            + " --cuda-devices"),
                    Setting.of("tokenizer", Kind.STRING, "", "the backends' --tokenizer"),
                    Setting.of("served-model-name", Kind.STRING, "", "the backends' --served-model-name"),
                    Setting.of("pooler-config", Kind.STRING, "", "the backends' --pooler-config, a JSON object"),
                    Setting.of("trust-remote-code", Kind.BOOLEAN, "true",
                            "pass --trust-remote-code to the backends, as the Python tool does"),
                    new Setting("extra-args", "--", Kind.WORDS, "",
                            "everything after -- goes to every backend (a forwarded --gpu-memory-utilization is dropped)"))),
            new Section("Supervision", List.of(
                    Setting.of("backend-command", Kind.WORDS, "vllm serve",
                            "the command that starts one backend; MODEL and the backend flags follow it"),
                    Setting.of("backend-fixed-args", Kind.WORDS, FIXED_BACKEND_ARGS,
                            "arguments every backend gets after its flags; \"\" for none"),
                    Setting.of("gpu-memory-budget", Kind.DOUBLE, "0.92",
                            "GPU memory fraction the instances on one GPU may share (the automatic split divides it)"),
                    Setting.of("startup-timeout", Kind.DURATION, "600s",
                            "longest a backend may load before its /health answers 200"),
                    Setting.of("stop-grace", Kind.DURATION, "10s",
                            "after SIGTERM, how long a backend's processes may take before SIGKILL"),
                    Setting.of("unhealthy-restart-after", Kind.DURATION, "30s",
                            "a backend out of routing this long without passing a health probe is killed and restarted"),
                    Setting.of("restart-backoff", Kind.DURATION, "1s", "first wait before restarting a failed backend; doubles each time"),
                    Setting.of("restart-backoff-max", Kind.DURATION, "60s", "longest wait before a restart"),
                    Setting.of("restart-reset-after", Kind.DURATION, "5m",
                            "a backend healthy this long starts its failure count afresh"),
                    Setting.of("restart-max-failures", Kind.INT, "5",
                            "failures within the window after which a backend is FAILED and left stopped"),
                    Setting.of("restart-failure-window", Kind.DURATION, "10m", "the window restart-max-failures counts in"),
                    Setting.of("calibration-request", Kind.STRING, "", "with --num-instances auto: a JSON file"
                            + " {\"path\": \"/pooling\", \"body\": {...}} sent to measure the throughput; default: a"
                            + " request that fits --io-processor-plugin"),
                    Setting.of("calibration-min-gain", Kind.DOUBLE, "0.10", "with --num-instances auto: keep adding"
                            + " instances while each adds at least this share of throughput"),
                    Setting.of("state-dir", Kind.STRING, "state", "where --num-instances auto remembers its choice, per"
                            + " model, plugin, GPUs and settings"),
                    Setting.of("recalibrate", Kind.BOOLEAN, "false",
                            "with --num-instances auto: measure again instead of using the remembered choice"),
                    Setting.of("autoscale", Kind.STRING, "", "MIN..MAX: start MIN instances, add one while the p90"
                            + " wait in line stays above autoscale-wait-target, remove one after autoscale-down-after"
                            + " idle; memory shares sized for MAX"),
                    Setting.of("autoscale-wait-target", Kind.DURATION, "100ms",
                            "with --autoscale: the p90 wait in line above which an instance is added"),
                    Setting.of("autoscale-up-after", Kind.DURATION, "10s",
                            "with --autoscale: how long the wait must stay above the target"),
                    Setting.of("autoscale-down-after", Kind.DURATION, "60s",
                            "with --autoscale: how long the fleet must be idle before an instance is removed"),
                    Setting.of("autoscale-window", Kind.DURATION, "10s",
                            "with --autoscale: the time the p90 wait is taken over"),
                    Setting.of("log-dir", Kind.STRING, "logs", "directory of the backends' output, one file per backend"),
                    Setting.of("backend-output", Kind.STRING, "both",
                            "where backend output goes: file (log-dir), stderr (prefixed lines) or both"))),
            new Section("Endpoints", List.of(
                    Setting.of("host", Kind.STRING, "0.0.0.0", "address the public endpoint binds"),
                    Setting.of("port", Kind.INT, "8000", "public port"),
                    Setting.of("always-proxy", Kind.BOOLEAN, "false",
                            "run the dispatcher even for one instance, so the fleet can be scaled at runtime"),
                    Setting.of("admin-host", Kind.STRING, "127.0.0.1", "address of the admin API"),
                    Setting.of("admin-port", Kind.INT, "8001", "port of the admin API"),
                    Setting.of("admin-token-file", Kind.STRING, null, "file holding the admin API's bearer token (or set"
                            + " VLLM_FACTORY_ADMIN_TOKEN); required when --admin-host is not a loopback address"),
                    new Setting("backend-urls", "--backend-url", Kind.LIST, "",
                            "URL of an already running backend (repeat the flag for several); instead of MODEL"))),
            new Section("Dispatcher", List.of(
                    Setting.of("enable-request-affinity", Kind.BOOLEAN, "false",
                            "send similar JSON requests to the same backend while it has room"),
                    Setting.of("affinity-table-size", Kind.INT, "2048", "affinity keys remembered (LRU)"),
                    Setting.of("affinity-body-limit", Kind.SIZE, "1MiB", "largest body keyed for affinity; larger ones route without it"),
                    Setting.of("retry-body-limit", Kind.SIZE, "1MiB",
                            "largest body kept to retry on another backend after a failure"),
                    Setting.of("max-body-size", Kind.SIZE, "0", "largest request body accepted (413 beyond), 0 = no cap"),
                    Setting.of("max-queue", Kind.INT, "0", "most requests waiting for a free slot (503 beyond), 0 = no bound"),
                    Setting.of("queue-timeout", Kind.DURATION, "0", "longest wait for a free slot (503 after), 0 = no limit"),
                    Setting.of("unavailable-timeout", Kind.DURATION, "30s",
                            "longest a request waits while no backend is healthy (503 after)"),
                    Setting.of("upstream-timeout", Kind.DURATION, "300s", "longest a backend may stay silent (504 after)"),
                    Setting.of("connect-timeout", Kind.DURATION, "5s", "longest a backend connection may take to open"),
                    Setting.of("health-interval", Kind.DURATION, "1s", "how often every backend's /health is probed"),
                    Setting.of("health-timeout", Kind.DURATION, "5s", "longest a health probe may take"),
                    Setting.of("unhealthy-threshold", Kind.INT, "2",
                            "consecutive failed probes that take a backend out of routing"),
                    Setting.of("drain-timeout", Kind.DURATION, "30s",
                            "on SIGTERM or removal, longest wait for a backend's requests to finish"),
                    Setting.of("poison-limit", Kind.INT, "2",
                            "a request during which this many backends died gets 502 and goes to no other one"),
                    new Setting("public-deny-paths", "--public-deny-path", Kind.LIST, "",
                            "a path the public port refuses (403) besides vLLM's operator endpoints (repeat the flag)"),
                    new Setting("public-allow-paths", "--public-allow-path", Kind.LIST, "",
                            "one of the refused paths the public port forwards after all (repeat the flag)"))),
            new Section("Client connections (public port)", List.of(
                    Setting.of("max-client-connections", Kind.INT, "0",
                            "most client connections open at once (more wait in the backlog), 0 = max heap / 32 KiB"),
                    Setting.of("client-header-timeout", Kind.DURATION, "10s",
                            "longest a request's line and headers may take to arrive (408 after)"),
                    Setting.of("client-body-timeout", Kind.DURATION, "30s",
                            "longest a client may pause while sending its request body (connection closed after)"),
                    Setting.of("client-idle-timeout", Kind.DURATION, "60s",
                            "longest a keep-alive connection may stay idle between requests"),
                    Setting.of("max-request-line", Kind.SIZE, "8KiB", "longest request line (414 beyond)"),
                    Setting.of("max-header-size", Kind.SIZE, "16KiB", "largest request header section (431 beyond)"),
                    Setting.of("max-headers", Kind.INT, "100", "most request header fields (431 beyond)"))),
            new Section("Observability (metrics and health on the admin port)", List.of(
                    Setting.of("request-histograms", Kind.BOOLEAN, "true",
                            "record the wait, time-to-first-byte and duration histograms"),
                    Setting.of("access-log", Kind.STRING, "",
                            "one line per request (method, path, status, backend, wait, duration) to this file,"
                            + " or - for standard output; off when empty"))));

    /** All settings in {@code --help} order. */
    public static final List<Setting> ALL = SECTIONS.stream().flatMap(s -> s.settings().stream()).toList();

    private SettingTable() {
    }

    public static Optional<Setting> find(String key) {
        return ALL.stream().filter(s -> s.key().equals(key)).findFirst();
    }

    public static Optional<Setting> byFlag(String flag) {
        return ALL.stream().filter(s -> s.flag().equals(flag)).findFirst();
    }

    static Setting byKey(String key) {
        return find(key).orElseThrow(() -> new IllegalArgumentException("no setting " + key));
    }

    static String keys() {
        return ALL.stream().map(Setting::key).collect(Collectors.joining(", "));
    }
}
