package io.vllmfactory.serve.dispatch.client;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.socket.PeerInfo;
import io.helidon.common.task.InterruptableTask;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;
import io.helidon.webserver.spi.ServerConnection;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * One client connection of the public listener: Helidon's own HTTP/1 connection, which parses and
 * answers every request on it, with the clocks that bound how long a client may take around it.
 *
 * <p>The header-read clock runs from the connection's start, and then from the first byte of each
 * further request, until the request's head is parsed: past the header-read timeout the
 * client gets 408 and the connection closes (slow or silent clients hold no connection for long).
 * The body-read clock runs while the request's handler waits for body bytes that do not come. An
 * idle keep-alive connection is closed by Helidon's own idle timer.
 *
 * <p>The request handler, which runs on this connection's virtual thread, reaches it through
 * {@link #current()}.
 */
public final class ClientConnection implements ServerConnection, InterruptableTask<Void> {
    private static final ThreadLocal<ClientConnection> CURRENT = new ThreadLocal<>();
    private static final long NOT_READING = 0;
    private static final long TIMED_OUT = -1;

    private final ConnectionContext ctx;
    private final ClientConnections guards;
    private final ServerConnection http1;
    private final ClientInput input;
    /** When the current request's head began to arrive; 0 while no head is being read, -1 once timed out. */
    private final AtomicLong headSince = new AtomicLong();
    /** When the handler began to wait for body bytes; 0 while it does not. */
    private volatile long bodyReadSince;
    private volatile boolean inRequest;
    private volatile boolean http10;
    private volatile boolean requestSeen;

    ClientConnection(ConnectionContext ctx, ClientConnections guards, Function<ConnectionContext, ServerConnection> http1) {
        this.ctx = ctx;
        this.guards = guards;
        this.input = new ClientInput(ctx.dataReader(), this, guards.maxRequestLine());
        this.headSince.set(System.nanoTime());
        this.http1 = http1.apply(new Context(DataReader.create(input)));
    }

    /** The connection whose request the calling thread handles, or empty off a client connection's thread. */
    public static Optional<ClientConnection> current() {
        return Optional.ofNullable(CURRENT.get());
    }

    @Override
    public void handle(Limit limit) throws InterruptedException {
        CURRENT.set(this);
        guards.opened(this);
        try {
            http1.handle(limit);
        } finally {
            guards.closed(this);
            CURRENT.remove();
        }
    }

    @Override
    public Duration idleTime() {
        return http1.idleTime();
    }

    @Override
    public void close(boolean interrupt) {
        http1.close(interrupt);
    }

    /**
     * Whether the listener's stop may end this connection at once. Not before its first request: a client
     * opens a connection to send one, and one accepted just before the listener closed gets its answer (503
     * while draining) within the shutdown grace instead of a close without a word.
     */
    @Override
    public boolean canInterrupt() {
        return requestSeen && http1 instanceof InterruptableTask<?> t && t.canInterrupt();
    }

    /** Whether the client spoke HTTP/1.0: its one answer is framed for it, then the connection closes. */
    public boolean http10() {
        return http10;
    }

    void markHttp10() {
        http10 = true;
    }

    /**
     * While the request waits in line: {@code gone} runs if the client closes its connection. The
     * watch reads ahead on another thread, so a pipelined request is kept for the parser.
     */
    public void watchWhileWaiting(Runnable gone) {
        input.watch(gone);
    }

    /**
     * The handler is done with the request (answered or failed): the next bytes start a new head.
     * With {@code close} the connection ends once the answer is out (Helidon writes
     * {@code Connection: close} but would read on).
     */
    public void requestDone(boolean close) {
        inRequest = false;
        if (close) {
            http1.close(false); // this thread is in a handler: no interrupt, the loop ends after the answer
        }
    }

    /** Bytes came from the client: outside a request they start the next head's clock. */
    void bytesArrived() {
        if (!inRequest) {
            headSince.compareAndSet(NOT_READING, System.nanoTime());
        }
    }

    /** The request's head is parsed: its clock stops; false when it had already run out. */
    boolean headParsed() {
        inRequest = true;
        requestSeen = true;
        long since = headSince.get();
        return since != TIMED_OUT && headSince.compareAndSet(since, NOT_READING);
    }

    /** A blocking read from the socket begins: timed as a body read while a request is in progress. */
    void readStarts() {
        if (inRequest) {
            bodyReadSince = System.nanoTime();
        }
    }

    /** The read that {@link #readStarts()} announced returned. */
    void readEnds() {
        if (bodyReadSince != NOT_READING) {
            bodyReadSince = NOT_READING;
        }
    }

    /** Called by the guards' clock: ends the connection if a head or body read took too long. */
    void check(long now) {
        long since = headSince.get();
        if (since > 0 && now - since > guards.headTimeoutNanos() && headSince.compareAndSet(since, TIMED_OUT)) {
            try {
                ctx.dataWriter().writeNow(BufferData.create(guards.requestTimeout(http10)));
            } catch (RuntimeException e) {
                // the client is gone already; closing is all that is left
            }
            http1.close(true);
            return;
        }
        long body = bodyReadSince;
        if (body > 0 && now - body > guards.bodyTimeoutNanos()) {
            http1.close(true);
        }
    }

    /** Helidon's connection context, reading through {@link ClientInput}; everything else as it is. */
    private final class Context implements ConnectionContext {
        private final DataReader reader;

        Context(DataReader reader) {
            this.reader = reader;
        }

        ClientConnection connection() {
            return ClientConnection.this;
        }

        @Override
        public DataReader dataReader() {
            return reader;
        }

        @Override
        public ListenerContext listenerContext() {
            return ctx.listenerContext();
        }

        @Override
        public ExecutorService executor() {
            return ctx.executor();
        }

        @Override
        public DataWriter dataWriter() {
            return ctx.dataWriter();
        }

        @Override
        public Router router() {
            return ctx.router();
        }

        @Override
        public Optional<ProxyProtocolData> proxyProtocolData() {
            return ctx.proxyProtocolData();
        }

        @Override
        public PeerInfo remotePeer() {
            return ctx.remotePeer();
        }

        @Override
        public PeerInfo localPeer() {
            return ctx.localPeer();
        }

        @Override
        public boolean isSecure() {
            return ctx.isSecure();
        }

        @Override
        public String socketId() {
            return ctx.socketId();
        }

        @Override
        public String childSocketId() {
            return ctx.childSocketId();
        }
    }

    /** The connection a Helidon listener event is about, when it is one of ours. */
    static Optional<ClientConnection> of(ConnectionContext ctx) {
        return ctx instanceof Context c ? Optional.of(c.connection()) : Optional.empty();
    }
}
