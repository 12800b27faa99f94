package io.vllmfactory.serve.dispatch;

import io.helidon.common.buffers.BufferData;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Makes the public listener serve its connections with {@link ProxyConnection} (the fast path),
 * which hands a connection to Helidon's HTTP/1 when a request needs the general path.
 */
public final class ProxyConnectionSelector implements ServerConnectionSelector {
    private static final System.Logger LOGGER = System.getLogger(ProxyConnectionSelector.class.getName());

    private final Dispatcher dispatcher;
    private final AtomicBoolean warned = new AtomicBoolean();
    private final ServerConnectionSelector http1;

    public ProxyConnectionSelector(Dispatcher dispatcher) {
        this.dispatcher = dispatcher;
        this.http1 = Http1ConnectionSelector.builder().config(Http1Config.create()).build();
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
        ClientChannel channel = ClientChannel.of(ctx.serverSocket(), ctx.dataReader(), dispatcher.reactor());
        if (channel == null) {
            if (!ctx.isSecure() && !warned.getAndSet(true)) {
                LOGGER.log(System.Logger.Level.WARNING, "client connections cannot use the fast path (this Helidon "
                        + "version does not expose the connection's channel): every request takes Helidon's HTTP/1");
            }
            return http1.connection(ctx); // not a plain NIO socket: the general path serves it all
        }
        return new ProxyConnection(ctx, dispatcher, http1, channel);
    }
}
