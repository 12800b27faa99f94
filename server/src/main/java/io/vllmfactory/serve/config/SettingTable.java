package io.vllmfactory.serve.config;

import io.vllmfactory.serve.config.Setting.Kind;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** Every setting the sidecar knows: the single source for flags, environment, YAML and {@code --help}. */
public final class SettingTable {
    /** All settings in {@code --help} order. */
    public static final List<Setting> ALL = List.of(
            // Dispatcher: the public endpoint
            Setting.of("host", Kind.STRING, "0.0.0.0", "address the public dispatcher binds"),
            Setting.of("port", Kind.INT, "8000", "public port of the dispatcher"),
            new Setting("backend-urls", "--backend-url", Kind.LIST, "",
                    "URL of an already running backend (repeat the flag for several); no processes are launched"),
            Setting.of("max-batch-size", Kind.INT, "32", "most requests in flight per backend (its --max-num-seqs)"),
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
                    "on SIGTERM, longest wait for in-flight and waiting requests to finish"));

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
