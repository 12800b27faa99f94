package io.vllmfactory.serve.dispatch;

import java.io.EOFException;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The fast lane of one client connection: the plain request with a free backend, served by the
 * {@link Reactor}'s poller itself, as an event loop serves it, with no thread woken between the
 * socket and the work.
 *
 * <p>Why: on the blocking fast path every request wakes the connection's virtual thread twice (its
 * request came, its backend answered), and each wake-up is placed by the JDK's scheduler and the
 * kernel. Under load that costs idle cores while work waits. Here the poller that sees the bytes
 * parses the request, takes a backend's permit and an idle pooled connection, writes the request,
 * and, when the poller sees the answer, writes it to the client: two reads, two writes, no wake-up.
 * With every backend full the request waits in the pool's one line ({@link BackendPool#enqueue})
 * and the poller takes it up again when it is granted a permit.
 *
 * <p>The lane only ever does what cannot block. Everything else is handed back to the connection's
 * own virtual thread ({@link ProxyConnection}), which does it the blocking way, with every behaviour
 * of the general path, then gives the connection to the lane again:
 * <ul>
 *   <li>{@link Handback#READ}: a request the lane does not take (unusual head, body larger than
 *       {@link #MAX_REQUEST}, a client that half-closed): read and served the blocking way.</li>
 *   <li>{@link Handback#SERVE}: a request read here that needs a new backend connection (with
 *       the permit taken here), that the general way serves (draining, waiting with a queue
 *       timeout or while no backend is routable), or whose pooled connection failed before the
 *       answer (a retry, the general way).</li>
 *   <li>{@link Handback#STREAM}: an answer to stream (chunked, event stream, past {@link #MAX_ANSWER}): the head is
 *       parsed, the thread relays the body.</li>
 *   <li>{@link Handback#FAIL}: the backend stayed silent past the upstream timeout: 504.</li>
 *   <li>{@link Handback#WRITE_REST}: the client's socket took part of the answer: the thread writes the rest.</li>
 *   <li>{@link Handback#CLOSE}: the client left, the answer closes the connection, or the server stops.</li>
 * </ul>
 *
 * <p>Ownership: the lane's state says who may touch the connection and the exchange. {@code IDLE}:
 * the lane waits for a request, and the thread may take the connection back to close it.
 * {@code BUSY}: the poller works on a request. {@code HANDED}: the thread has it. The poller runs
 * all of the lane's code (the connection's events and its backend connection's events come from
 * the one poller), so only the hand-offs need ordering: a volatile state written last.
 */
final class FastLane implements Reactor.Handler {
    /**
     * Largest request, head and body, the lane takes (within the retry buffer): read whole, then
     * written to the backend as far as its socket takes it at once (a longer one is read by the
     * connection's thread, which streams it).
     */
    static final int MAX_REQUEST = 256 * 1024;
    /**
     * Largest answer body the lane reads whole before writing it (an embedding batch fits); a larger
     * one, or one of unknown length, is streamed by the connection's thread. At most one per
     * request in flight, so the memory it takes is bounded by the backends' permits.
     */
    static final int MAX_ANSWER = 1024 * 1024;
    private static final byte[] EMPTY = new byte[0];

    /** What the connection's thread does next. */
    enum Handback { CLOSE, READ, SERVE, STREAM, FAIL, WRITE_REST }

    private static final int IDLE = 0;
    private static final int BUSY = 1;
    private static final int HANDED = 2;
    private static final int RECLAIMED = 3;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(FastLane.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ProxyConnection connection;
    private final Dispatcher dispatcher;
    private final ClientChannel channel;
    private final Reactor.Readiness client;
    private volatile int state = HANDED;
    private volatile Thread thread;

    // The exchange under way: the poller's while BUSY, the thread's after a hand-back.
    private Handback handback;
    private ProxyConnection.Request request;
    private Backend backend;
    private UpstreamConnection conn;
    private Relay.ResponseHead head;
    private ResponseDecoration decoration;
    private SocketResponse response;
    private int bodyLeft;
    private int written;
    private UpstreamFailure failure;
    /** How the request is routed (affinity, schema size). */
    private Dispatcher.Routing routing;
    /** The request's place in line while no backend had a free permit, else null. */
    private BackendPool.Waiter waiter;
    /** Whether the request counts as active in the dispatcher (in line or at a backend). */
    private boolean counted;

    FastLane(ProxyConnection connection, Dispatcher dispatcher, ClientChannel channel) {
        this.connection = connection;
        this.dispatcher = dispatcher;
        this.channel = channel;
        this.client = channel.readiness();
    }

    // ---- the connection's thread ------------------------------------------------------------------

    /**
     * On the connection's thread: gives the connection to the lane and parks until the lane hands
     * it back; what to do next. When the connection should end ({@link ProxyConnection#running()}
     * false, or an interrupt), an idle lane gives it back at once with {@link Handback#CLOSE}, a busy
     * one when its request is done.
     */
    Handback await() {
        thread = Thread.currentThread();
        handback = null;
        request = null;
        backend = null;
        conn = null;
        head = null;
        decoration = null;
        response = null;
        failure = null;
        routing = null;
        waiter = null;
        counted = false;
        state = IDLE;
        client.handle(this);
        while (true) {
            if (state == HANDED) {
                return handback;
            }
            if (Thread.interrupted() || !connection.running()) {
                if (STATE.compareAndSet(this, IDLE, RECLAIMED)) {
                    client.handle(null);
                    return Handback.CLOSE;
                }
                if (!client.reactor().open()) {
                    return Handback.CLOSE; // the server stops and its loop is gone: nobody hands back
                }
            }
            LockSupport.park(this);
        }
    }

    ProxyConnection.Request request() {
        return request;
    }

    /**
     * The backend whose permit the request holds: for {@link Handback#STREAM}, and for
     * {@link Handback#SERVE} when the lane chose one (else null: the general way chooses).
     */
    Backend backend() {
        return backend;
    }

    UpstreamConnection upstream() {
        return conn;
    }

    Relay.ResponseHead head() {
        return head;
    }

    ResponseDecoration decoration() {
        return decoration;
    }

    UpstreamFailure failure() {
        return failure;
    }

    /** For {@link Handback#STREAM}: how the request was routed (its affinity key is pinned once the answer is through). */
    Dispatcher.Routing routing() {
        return routing;
    }

    /** For {@link Handback#WRITE_REST}: how many bytes of the answer buffer the client has already. */
    int written() {
        return written;
    }

    /** For {@link Handback#WRITE_REST}: whether the connection closes after the answer. */
    boolean closeAfter() {
        return response.close();
    }

    // ---- the poller ------------------------------------------------------------------------------------

    @Override
    public void ready(Reactor.Readiness r) {
        if (r == client) {
            if (STATE.compareAndSet(this, IDLE, BUSY)) {
                serveBuffered();
            } else if (state == BUSY && waiter != null) {
                inLine();
            } else if (state == BUSY) {
                client.ignoreReads(); // a pipelined request, or the client leaving: seen after this answer
            }
        } else if (state == BUSY && conn != null && r == conn.readiness()) {
            answer();
        }
    }

    @Override
    public void closed(Reactor.Readiness r) {
        if (r == client) {
            if (state == BUSY || STATE.compareAndSet(this, IDLE, BUSY)) {
                if (waiter != null) {
                    leaveLine();
                } else if (conn != null) {
                    dropUpstream();
                    release();
                }
                handBack(Handback.CLOSE);
            }
        } else if (state == BUSY && conn != null && r == conn.readiness()) {
            upstreamFailed(new IOException("the connection to the backend closed"));
        }
    }

    /**
     * BUSY, in line: woken because a backend was granted, the backends changed, or the client sent
     * bytes. A client that leaves gives up its place (HAProxy's {@code abortonclose}); when no
     * backend is routable any more the general way waits (it keeps the unavailable timeout).
     */
    private void inLine() {
        Backend granted = waiter.granted();
        if (granted != null) {
            waiter = null;
            send(granted);
            return;
        }
        if (!dispatcher.pool().anyRoutable()) {
            leaveLine();
            handBack(Handback.SERVE);
            return;
        }
        int n;
        try {
            n = channel.fillNow(MAX_REQUEST); // a next request is kept for later; the end means the client left
        } catch (IOException e) {
            n = -1;
        }
        if (n < 0) {
            leaveLine();
            handBack(Handback.CLOSE);
        } else if (n == 0) {
            client.ignoreReads(); // the buffer is full (or nothing came): the grant's wake-up still comes
        }
    }

    private void leaveLine() {
        dispatcher.pool().leave(waiter);
        waiter = null;
        uncount();
    }

    private void count() {
        if (!counted) {
            counted = true;
            dispatcher.laneBegin();
        }
    }

    private void uncount() {
        if (counted) {
            counted = false;
            dispatcher.laneEnd();
        }
    }

    /** Gives the backend's permit back and ends the request's count. */
    private void release() {
        dispatcher.pool().release(backend);
        uncount();
    }

    /** BUSY: serves the requests buffered and those the client sent already, until one is incomplete. */
    private void serveBuffered() {
        while (true) {
            int headLength = connection.scanHead();
            if (headLength == -1) {
                handBack(Handback.READ);
                return;
            }
            if (headLength >= 0) {
                ProxyConnection.Head h = ProxyConnection.Head.parse(channel.buffer(), headLength);
                if (h == null || h.problem != null || h.contentLength > dispatcher.fastBodyLimit()
                        || headLength + Math.max(h.contentLength, 0) > MAX_REQUEST) {
                    handBack(Handback.READ);
                    return;
                }
                int bodyLength = (int) Math.max(h.contentLength, 0);
                if (channel.available() >= headLength + bodyLength) {
                    forward(h, headLength, bodyLength);
                    return;
                }
            }
            int n;
            try {
                n = channel.fillNow(MAX_REQUEST);
            } catch (IOException e) {
                handBack(Handback.CLOSE);
                return;
            }
            if (n < 0) {
                // The client ended its stream: what it sent before is still served the blocking way.
                handBack(channel.available() == 0 ? Handback.CLOSE : Handback.READ);
                return;
            }
            if (n == 0) {
                goIdle();
                return;
            }
        }
    }

    /**
     * Takes the request {@code channel.buffer()[0, headLength + bodyLength)} and sends it to a free
     * backend, whose answer the poller reports later; or hands it back.
     */
    private void forward(ProxyConnection.Head h, int headLength, int bodyLength) {
        connection.requestBeganOrEnded();
        OutboundRequest out = connection.outbound(h);
        channel.skip(headLength);
        byte[] body = bodyLength == 0 ? EMPTY : channel.takeBuffered(bodyLength);
        RequestBody requestBody = RequestBody.of(body);
        request = new ProxyConnection.Request(new Dispatcher.Incoming(out, requestBody), h.rawPath, h.close,
                h.http10, null);
        if (!dispatcher.laneOpen()) {
            handBack(Handback.SERVE);
            return;
        }
        routing = dispatcher.routing(dispatcher.affinityEnabled(), out, requestBody);
        BackendPool pool = dispatcher.pool();
        Backend b = pool.tryAcquire(routing.pinned());
        if (b != null) {
            send(b);
            return;
        }
        // Every backend is full: in line with everybody else, woken on the poller when granted.
        if (!dispatcher.laneWaits() || !pool.anyRoutable()) {
            handBack(Handback.SERVE); // the general way keeps the timeouts
            return;
        }
        try {
            waiter = pool.enqueue(client::kick, routing.pinned());
        } catch (QueueFullException e) {
            handBack(Handback.SERVE); // answered 503 there, with the general way's accounting
            return;
        }
        count();
    }

    /** Sends the request to {@code b}, whose permit it holds, over an idle connection of this loop; or hands it back. */
    private void send(Backend b) {
        ConnectionPool connections = b.connections();
        UpstreamConnection c = connections.poll(client.reactor());
        byte[] hostLine = connections.hostLine();
        OutboundRequest out = request.incoming().request();
        byte[] body = request.incoming().body().bytes();
        if (c == null || out.length() + hostLine.length > c.room()) {
            // Opening a connection (or a head past the write buffer) waits: the thread takes it
            // on, with the permit, so that the round-robin order holds.
            if (c != null) {
                connections.giveBack(c);
            }
            backend = b;
            uncount(); // the general way counts it from here
            handBack(Handback.SERVE);
            return;
        }
        count();
        backend = b;
        conn = c;
        decoration = new ResponseDecoration(b, routing.state(b), routing.schemaSize());
        c.watch(dispatcher.silenceNanos());
        c.readiness().handleQuietly(this);
        try {
            out.writeHead(c, hostLine);
            int unsent;
            if (body.length <= c.room()) {
                c.write(body, 0, body.length);
                unsent = c.flushNow();
            } else {
                unsent = c.flushNow() > 0 ? body.length : body.length - c.writeNow(body, 0, body.length);
            }
            if (unsent > 0) {
                // Rare with an idle connection; the part sent cannot be taken back: the backend sees
                // the connection close mid-request, and the general way sends it again.
                throw new IOException("the backend's socket took only part of the request");
            }
        } catch (IOException e) {
            upstreamFailed(e);
        }
    }

    /** BUSY, the backend's connection has bytes: reads the answer, and once it is whole, writes it to the client. */
    private void answer() {
        try {
            if (head == null) {
                while (head == null) {
                    byte[] raw = conn.readHeadNow(Relay.MAX_LINE);
                    if (raw == UpstreamConnection.NOT_YET) {
                        return;
                    }
                    if (raw == null) {
                        throw new IOException("connection closed before the response");
                    }
                    head = Relay.finalHead(raw, request.incoming().request().head());
                }
                long length = head.contentLength();
                if (!head.noBody() && (length < 0 || length > MAX_ANSWER)) {
                    conn.readiness().handle(null);
                    handBack(Handback.STREAM);
                    return;
                }
                response = connection.response(request);
                bodyLeft = head.noBody() ? 0 : (int) length;
                response.encodeHead(head, decoration, bodyLeft);
            }
            AsciiBuffer out = connection.answerBuffer();
            while (bodyLeft > 0) {
                int n = out.readNowFrom(conn, bodyLeft);
                if (n == 0) {
                    return;
                }
                if (n < 0) {
                    throw new EOFException("backend closed the connection " + bodyLeft + " bytes early");
                }
                bodyLeft -= n;
            }
        } catch (IOException e) {
            upstreamFailed(e);
            return;
        }
        UpstreamConnection c = conn;
        c.readiness().handle(null);
        c.markUsed();
        c.unwatch();
        if (head.keepAlive()) {
            backend.connections().giveBack(c);
        } else {
            c.close();
        }
        conn = null;
        dispatcher.served(backend, routing, decoration.affinity());
        release();
        writeAnswer();
    }

    /** Writes the whole answer as far as the client's socket takes it now; then the next request. */
    private void writeAnswer() {
        AsciiBuffer out = connection.answerBuffer();
        byte[] a = out.array();
        int len = out.length();
        int off = 0;
        try {
            while (off < len) {
                int n = client.writeNow(a, off, len - off);
                if (n <= 0) {
                    break;
                }
                off += n;
            }
        } catch (IOException e) {
            connection.recycleAnswer();
            handBack(Handback.CLOSE);
            return;
        }
        connection.requestBeganOrEnded();
        if (off < len) {
            written = off;
            handBack(Handback.WRITE_REST);
            return;
        }
        connection.recycleAnswer();
        if (response.close()) {
            handBack(Handback.CLOSE);
            return;
        }
        head = null;
        response = null;
        request = null;
        backend = null;
        if (goIdle() && channel.available() > 0 && STATE.compareAndSet(this, IDLE, BUSY)) {
            serveBuffered(); // a pipelined request
        }
    }

    /**
     * The backend's connection failed before the client got any of the answer: a timeout is
     * answered with 504, anything else goes the general way, which retries it.
     */
    private void upstreamFailed(IOException e) {
        UpstreamConnection c = conn;
        dropUpstream();
        release();
        Backend b = backend;
        backend = null;
        connection.answerBuffer().clear();
        head = null;
        response = null;
        if (c.expired()) {
            failure = dispatcher.relay().silent(b, e);
            handBack(Handback.FAIL);
        } else {
            handBack(Handback.SERVE);
        }
    }

    private void dropUpstream() {
        UpstreamConnection c = conn;
        c.readiness().handle(null);
        c.close();
        conn = null;
    }

    /** BUSY to IDLE, or the connection goes back to its thread when it should end; true when idle. */
    private boolean goIdle() {
        state = IDLE;
        if (!connection.running() && STATE.compareAndSet(this, IDLE, BUSY)) {
            handBack(Handback.CLOSE);
            return false;
        }
        client.watchReads();
        return true;
    }

    private void handBack(Handback what) {
        handback = what;
        client.handle(null);
        state = HANDED;
        LockSupport.unpark(thread);
    }
}
