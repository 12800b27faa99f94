package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.dispatch.client.ClientConnections;
import io.vllmfactory.serve.dispatch.client.Refusals;

import io.helidon.webserver.WebServer;

import java.io.UncheckedIOException;
import java.net.BindException;
import java.time.Duration;
import java.util.List;

/**
 * The public listener: Helidon's web server with the dispatcher's routing, Helidon's HTTP/1 as the
 * only protocol (through {@link ClientConnections}), and the client limits from the settings:
 * Helidon's own cap on TCP connections, idle timeout, request-line and header limits and body cap,
 * our header and body clocks, and problem bodies for whatever Helidon refuses.
 */
public final class PublicServer implements AutoCloseable {
    private final WebServer server;
    private final ClientConnections connections;

    private PublicServer(WebServer server, ClientConnections connections) {
        this.server = server;
        this.connections = connections;
    }

    /**
     * Starts listening.
     *
     * @throws UncheckedIOException with a {@link BindException} when the address is taken
     */
    public static PublicServer start(DispatcherConfig config, Dispatcher dispatcher) {
        DispatcherConfig.ClientLimits limits = config.clients();
        ClientConnections connections = new ClientConnections(new ClientConnections.Limits(limits.maxConnections(),
                limits.maxRequestLine(), limits.maxHeaderSize(), limits.headerTimeout(), limits.bodyTimeout()));
        WebServer server;
        try {
            server = WebServer.builder()
                    .host(config.host())
                    .port(config.port())
                    .shutdownHook(false)
                    // After the drain the listener closes: a connection accepted just before has this long to
                    // have its request read and refused with 503 (Helidon's 0.5 s cut some off on a busy host).
                    .shutdownGracePeriod(SHUTDOWN_GRACE)
                    .featuresDiscoverServices(false)
                    .protocolsDiscoverServices(false)
                    .connectionSelectors(List.of(connections))
                    .routing(r -> Dispatcher.routing(r, dispatcher))
                    // Small writes (SSE events, one per token) leave at once instead of waiting for an ACK.
                    .connectionOptions(o -> o.tcpNoDelay(true))
                    .maxTcpConnections(limits.maxConnections())
                    .idleConnectionTimeout(limits.idleTimeout())
                    .idleConnectionPeriod(checkEvery(limits.idleTimeout()))
                    .maxPayloadSize(config.maxBodySize() > 0 ? config.maxBodySize() : -1)
                    .directHandlers(Refusals.all())
                    .errorHandling(e -> e.includeEntity(true))
                    // Blocking sockets: one 8 KiB buffer per connection where NIO keeps two, same CPU per request.
                    .useNio(false)
                    .build()
                    .start();
        } catch (RuntimeException e) {
            connections.close();
            throw e;
        }
        if (!server.isRunning()) {
            connections.close();
            throw new UncheckedIOException(new BindException("cannot listen on " + config.host() + ":" + config.port()));
        }
        return new PublicServer(server, connections);
    }

    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(2);

    /** How often idle connections are looked for: a quarter of the timeout, within 100 ms and 5 s. */
    private static Duration checkEvery(Duration idleTimeout) {
        return Duration.ofMillis(Math.clamp(idleTimeout.toMillis() / 4, 100, 5000));
    }

    public int port() {
        return server.port();
    }

    /** Client connections open now. */
    public int openConnections() {
        return connections.openConnections();
    }

    /** Stops listening and closes the connections that are left. */
    @Override
    public void close() {
        server.stop();
        connections.close();
    }
}
