package io.vllmfactory.serve.admin;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.spi.ServerFeature;

import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.BindException;
import java.util.List;

/**
 * The admin listener: a web server of its own on {@link AdminConfig#host()}:{@link AdminConfig#port()},
 * apart from the public port (which, in direct mode, belongs to the backend and not to the sidecar), so
 * the admin API is never reachable through the public port.
 */
public final class AdminServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(AdminServer.class.getName());

    private final WebServer server;

    private AdminServer(WebServer server) {
        this.server = server;
    }

    /**
     * Opens the admin listener, with extra features such as observability next to the admin routes.
     *
     * @throws UncheckedIOException with a {@link BindException} when the address cannot be bound
     */
    public static AdminServer start(AdminConfig config, AdminApi api, ServerFeature... features) {
        WebServer server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .features(List.of(features))
                .routing(r -> AdminApi.routing(r, api))
                .build()
                .start();
        if (!server.isRunning()) {
            throw new UncheckedIOException(new BindException("--admin-port: cannot listen on " + config.host() + ":"
                    + config.port()));
        }
        LOG.log(Level.INFO, "admin API listening on http://{0}:{1,number,#} ({2}); its document: GET /openapi",
                config.host(), server.port(), config.token().isPresent() ? "bearer token required" : "no token, loopback only");
        return new AdminServer(server);
    }

    /** The bound port (the configured one, or the one chosen for port 0). */
    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.stop();
    }
}
