package io.vllmfactory.serve.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How the public dispatcher behaves.
 *
 * @param host               address to bind
 * @param port               port to bind, 0 for any free one
 * @param backendUrls        backends that run already (not launched by us), may be empty
 * @param maxBatchSize       most requests in flight per backend
 * @param requestAffinity    whether similar requests prefer the same backend
 * @param affinityTableSize  affinity keys remembered
 * @param affinityBodyLimit  largest body keyed for affinity
 * @param retryBodyLimit     largest body kept for a retry on another backend
 * @param maxBodySize        largest body accepted, 0 for no cap
 * @param maxQueue           most waiting requests, 0 for no bound
 * @param queueTimeout       longest wait for a slot, zero for no limit
 * @param unavailableTimeout longest wait while no backend is healthy
 * @param upstreamTimeout    longest a backend may stay silent
 * @param connectTimeout     longest a backend connection may take to open
 * @param healthInterval     period of the backend health probes
 * @param healthTimeout      longest one probe may take
 * @param unhealthyThreshold consecutive failed probes that take a backend out of routing
 * @param drainTimeout       longest wait for requests to finish on shutdown
 * @param poisonLimit        backends that may die during one request before it gets 502
 * @param publicDenyPaths    paths the public port refuses besides vLLM's operator endpoints
 * @param publicAllowPaths   refused paths the public port forwards after all
 * @param clients            how client connections are treated
 * @param observe            what is recorded about requests
 */
public record DispatcherConfig(String host, int port, List<URI> backendUrls, int maxBatchSize,
                               boolean requestAffinity, int affinityTableSize, int affinityBodyLimit,
                               int retryBodyLimit, long maxBodySize, int maxQueue, Duration queueTimeout,
                               Duration unavailableTimeout,
                               Duration upstreamTimeout, Duration connectTimeout, Duration healthInterval,
                               Duration healthTimeout, int unhealthyThreshold, Duration drainTimeout,
                               int poisonLimit, List<String> publicDenyPaths, List<String> publicAllowPaths,
                               ClientLimits clients, Observe observe) {
    private static final int MAX_BUFFER = 64 * 1024 * 1024;

    public DispatcherConfig {
        backendUrls = List.copyOf(backendUrls);
        publicDenyPaths = List.copyOf(publicDenyPaths);
        publicAllowPaths = List.copyOf(publicAllowPaths);
        for (String p : publicDenyPaths) {
            check(p.startsWith("/"), "publicDenyPaths", p, "a path starting with /");
        }
        for (String p : publicAllowPaths) {
            check(p.startsWith("/"), "publicAllowPaths", p, "a path starting with /");
        }
        check(port >= 0 && port <= 65535, "port", port, "0..65535");
        check(maxBatchSize >= 1, "maxBatchSize", maxBatchSize, ">= 1");
        check(affinityTableSize >= 1, "affinityTableSize", affinityTableSize, ">= 1");
        check(affinityBodyLimit >= 0 && affinityBodyLimit <= MAX_BUFFER, "affinityBodyLimit", affinityBodyLimit, "0..64MiB");
        check(retryBodyLimit >= 0 && retryBodyLimit <= MAX_BUFFER, "retryBodyLimit", retryBodyLimit, "0..64MiB");
        check(maxBodySize >= 0, "maxBodySize", maxBodySize, ">= 0");
        check(maxQueue >= 0, "maxQueue", maxQueue, ">= 0");
        check(upstreamTimeout.toMillis() >= 1 && upstreamTimeout.toMillis() <= Integer.MAX_VALUE,
              "upstreamTimeout", upstreamTimeout, "1ms..24d");
        check(connectTimeout.toMillis() >= 1 && connectTimeout.toMillis() <= Integer.MAX_VALUE,
              "connectTimeout", connectTimeout, "1ms..24d");
        check(healthInterval.toMillis() >= 10, "healthInterval", healthInterval, ">= 10ms");
        check(healthTimeout.toMillis() >= 1, "healthTimeout", healthTimeout, ">= 1ms");
        check(unhealthyThreshold >= 1, "unhealthyThreshold", unhealthyThreshold, ">= 1");
        check(poisonLimit >= 1, "poisonLimit", poisonLimit, ">= 1");
        for (URI u : backendUrls) {
            check("http".equals(u.getScheme()) && u.getHost() != null && u.getPort() > 0
                  && (u.getRawPath() == null || u.getRawPath().isEmpty() || "/".equals(u.getRawPath())),
                  "backendUrls", u, "http://host:port");
        }
    }

    /**
     * What the dispatcher records about requests.
     *
     * @param requestHistograms whether the wait, first-byte and duration histograms are recorded
     * @param accessLog         where one line per request goes: a file, {@code -} for standard output, or empty
     *                          for nowhere
     */
    public record Observe(boolean requestHistograms, String accessLog) {
        public Observe {
            Objects.requireNonNull(accessLog, "accessLog");
        }

        /** Histograms on, no access log. */
        public static final Observe DEFAULT = new Observe(true, "");
    }

    /**
     * How the public listener treats client connections.
     *
     * @param maxConnections most connections open at once (more wait in the accept backlog)
     * @param headerTimeout  longest a request's line and headers may take to arrive (408 after)
     * @param bodyTimeout    longest a client may pause while sending a request body
     * @param idleTimeout    longest a keep-alive connection may stay idle
     * @param maxRequestLine longest request line (414 beyond)
     * @param maxHeaderSize  largest header section (431 beyond)
     * @param maxHeaders     most header fields (431 beyond)
     */
    public record ClientLimits(int maxConnections, Duration headerTimeout, Duration bodyTimeout, Duration idleTimeout,
                               int maxRequestLine, int maxHeaderSize, int maxHeaders) {
        /** Per open connection, what the default cap allows for in the heap (buffers, parser, thread). */
        static final long HEAP_PER_CONNECTION = 32 * 1024;

        public ClientLimits {
            check(maxConnections >= 1, "maxClientConnections", maxConnections, ">= 1");
            check(headerTimeout.toMillis() >= 10, "clientHeaderTimeout", headerTimeout, ">= 10ms");
            check(bodyTimeout.toMillis() >= 10, "clientBodyTimeout", bodyTimeout, ">= 10ms");
            check(idleTimeout.toMillis() >= 10, "clientIdleTimeout", idleTimeout, ">= 10ms");
            check(maxRequestLine >= 64 && maxRequestLine <= MAX_BUFFER, "maxRequestLine", maxRequestLine, "64B..64MiB");
            check(maxHeaderSize >= 256 && maxHeaderSize <= MAX_BUFFER, "maxHeaderSize", maxHeaderSize, "256B..64MiB");
            check(maxHeaders >= 1, "maxHeaders", maxHeaders, ">= 1");
        }

        /** The default cap: as many connections as the heap holds at {@link #HEAP_PER_CONNECTION} each. */
        static int defaultMaxConnections() {
            return (int) Math.clamp(Runtime.getRuntime().maxMemory() / HEAP_PER_CONNECTION, 256, 1_000_000);
        }

        static ClientLimits from(Settings s) {
            int cap = s.integer("max-client-connections");
            return new ClientLimits(cap == 0 ? defaultMaxConnections() : cap, s.duration("client-header-timeout"),
                    s.duration("client-body-timeout"), s.duration("client-idle-timeout"), bytes(s, "max-request-line"),
                    bytes(s, "max-header-size"), s.integer("max-headers"));
        }
    }

    /** Reads the dispatcher's settings; a bad value fails with the flag or file key it came from. */
    public static DispatcherConfig from(Settings s) {
        List<URI> urls = s.list("backend-urls").stream().map(u -> backendUrl(s, u)).toList();
        try {
            return new DispatcherConfig(
                    s.string("host").orElse("0.0.0.0"), s.integer("port"), urls, s.integer("max-batch-size"),
                    s.bool("enable-request-affinity"), s.integer("affinity-table-size"),
                    bytes(s, "affinity-body-limit"), bytes(s, "retry-body-limit"), s.size("max-body-size"),
                    s.integer("max-queue"), s.duration("queue-timeout"), s.duration("unavailable-timeout"),
                    s.duration("upstream-timeout"),
                    s.duration("connect-timeout"), s.duration("health-interval"), s.duration("health-timeout"),
                    s.integer("unhealthy-threshold"), s.duration("drain-timeout"), s.integer("poison-limit"),
                    s.list("public-deny-paths"), s.list("public-allow-paths"), ClientLimits.from(s),
                    new Observe(s.bool("request-histograms"), s.string("access-log").orElse("").trim()));
        } catch (InvalidValue e) {
            throw e.in(s);
        }
    }

    private static URI backendUrl(Settings s, String raw) {
        String u = raw.endsWith("/") ? raw.substring(0, raw.length() - 1) : raw;
        try {
            URI uri = URI.create(u);
            if ("http".equals(uri.getScheme()) && uri.getHost() != null && uri.getPort() > 0
                && (uri.getRawPath() == null || uri.getRawPath().isEmpty())) {
                return uri;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw s.invalid("backend-urls", "'" + raw + "'", "http://host:port, e.g. http://127.0.0.1:9100");
    }

    private static int bytes(Settings s, String key) {
        long n = s.size(key);
        if (n > MAX_BUFFER) {
            throw s.invalid(key, n, "at most 64MiB");
        }
        return (int) n;
    }

    private static void check(boolean ok, String field, Object value, String expected) {
        InvalidValue.check(ok, field, value, expected);
    }
}
