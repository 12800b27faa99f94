package io.vllmfactory.serve.dispatch.client;

import io.helidon.common.buffers.BufferData;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.http.Headers;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The public listener's connections: each one is Helidon's HTTP/1 connection (the one parser of
 * client requests, with our limits), wrapped in a {@link ClientConnection} that keeps its clocks.
 * This selector is the listener's only one, so every connection goes straight to it.
 *
 * <p>It counts open connections and says once in the log when the cap is reached (Helidon's
 * listener enforces the cap: further connections wait in the accept backlog), and runs the clock
 * that ends connections whose head or body does not arrive in time.
 */
public final class ClientConnections implements ServerConnectionSelector, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ClientConnections.class.getName());

    private final ServerConnectionSelector http1;
    private final Limits limits;
    private final Set<ClientConnection> live = ConcurrentHashMap.newKeySet();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicBoolean capLogged = new AtomicBoolean();
    private final byte[] requestTimeout11;
    private final byte[] requestTimeout10;
    private final Thread clock;

    /**
     * How the public listener treats client connections.
     *
     * @param maxConnections most connections at once (the listener enforces it; here it is reported)
     * @param maxRequestLine longest request line (414 beyond)
     * @param maxHeaderSize  largest header section (431 beyond)
     * @param headTimeout    longest a request's head may take to arrive (408 after)
     * @param bodyTimeout    longest a request body may pause (the connection closes after)
     */
    public record Limits(int maxConnections, int maxRequestLine, int maxHeaderSize, Duration headTimeout,
                         Duration bodyTimeout) {
    }

    public ClientConnections(Limits limits) {
        this.limits = limits;
        Http1Config config = Http1Config.builder()
                .maxPrologueLength(limits.maxRequestLine())
                .maxHeadersSize(limits.maxHeaderSize())
                .validateRequestHostHeader(false) // HTTP/1.0 needs none; the dispatcher checks HTTP/1.1's
                .sendKeepAliveHeader(false)
                // Relayed headers were checked by the upstream reader (tokens, no control characters).
                .validateResponseHeaders(false)
                .receiveLog(false)
                .sendLog(false)
                .addReceiveListener(new HeadListener())
                .build();
        this.http1 = Http1ConnectionSelector.builder().config(config).build();
        String body = "{\"type\":\"about:blank\",\"title\":\"request timeout\",\"status\":408,\"detail\":\"the request's head"
                + " did not arrive within " + limits.headTimeout().toMillis() + " ms (client-header-timeout)\"}";
        this.requestTimeout11 = timeoutAnswer("HTTP/1.1", body);
        this.requestTimeout10 = timeoutAnswer("HTTP/1.0", body);
        long tick = Math.clamp(Math.min(limits.headTimeout().toMillis(), limits.bodyTimeout().toMillis()) / 4, 10, 1000);
        this.clock = Thread.ofVirtual().name("client-clock").start(() -> tick(tick));
    }

    private static byte[] timeoutAnswer(String version, String body) {
        return (version + " 408 Request Timeout\r\nContent-Type: application/problem+json\r\nContent-Length: "
                + body.length() + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public int bytesToIdentifyConnection() {
        return 0;
    }

    @Override
    public Support supports(BufferData data) {
        return Support.SUPPORTED;
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return Set.of("http/1.1");
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        return new ClientConnection(ctx, this, http1::connection);
    }

    /** Client connections open now. */
    public int openConnections() {
        return open.get();
    }

    void opened(ClientConnection c) {
        live.add(c);
        if (open.incrementAndGet() >= limits.maxConnections() && capLogged.compareAndSet(false, true)) {
            LOG.log(Level.WARNING, "{0} client connections are open, the cap (max-client-connections): further"
                    + " connections wait in the listen backlog until one closes", limits.maxConnections());
        }
    }

    void closed(ClientConnection c) {
        live.remove(c);
        open.decrementAndGet();
    }

    int maxRequestLine() {
        return limits.maxRequestLine();
    }

    long headTimeoutNanos() {
        return limits.headTimeout().toNanos();
    }

    long bodyTimeoutNanos() {
        return limits.bodyTimeout().toNanos();
    }

    byte[] requestTimeout(boolean http10) {
        return http10 ? requestTimeout10 : requestTimeout11;
    }

    private void tick(long millis) {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (ClientConnection c : live) {
                c.check(now);
            }
        }
    }

    @Override
    public void close() {
        clock.interrupt();
    }

    /** Stops a connection's header-read clock when Helidon has parsed the head. */
    private static final class HeadListener implements Http1ConnectionListener {
        @Override
        public void headers(ConnectionContext ctx, Headers headers) {
            ClientConnection.of(ctx).ifPresent(c -> {
                if (!c.headParsed()) {
                    throw new CloseConnectionException("the request's head came after its 408");
                }
            });
        }
    }
}
