package io.vllmfactory.serve.dispatch;

import io.helidon.common.concurrency.limits.Limit;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

import java.io.IOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The dispatcher's fast path: one client connection of the public listener, served without Helidon's
 * HTTP/1 request and response objects. Helidon still accepts the connection, runs it on its own
 * virtual thread, and shuts it down. The connection's event loop serves what it can itself
 * ({@link FastLane}); what it hands back, this thread serves as blocking code: it reads each request
 * head straight from the connection's bytes ({@link ClientChannel}, which waits through the
 * connection's {@link Reactor}), forwards it with its body through {@link Dispatcher#serve}, and
 * writes the backend's answer back with {@link SocketResponse}, then gives the connection back to
 * the loop.
 *
 * <p>It takes only plain, well-formed requests: HTTP/1.1 or 1.0, a request line and headers made of the
 * characters RFC 9112 allows, exactly one Host, at most one Content-Length and a body small enough to
 * hold in memory. The first request that is anything else (chunked or {@code Expect} uploads,
 * {@code Upgrade}, bodies past the buffer limit, malformed or oversized heads, {@code /health}) is not
 * consumed: the connection, with the bytes read so far, goes to Helidon's own HTTP/1 connection for
 * the rest of its life, which routes it through {@link Dispatcher#handle} or answers the error,
 * reading and writing through the same {@link ClientChannel}.
 * So every request gets the general path's behaviour; common ones just get there for less.
 */
final class ProxyConnection implements ServerConnection {
    /** Longest request head taken here (Helidon's limits are 4 KiB line + 16 KiB headers). */
    private static final int MAX_HEAD = 16 * 1024;
    private static final int MAX_REQUEST_LINE = 4096;
    /** Largest buffer an idle connection keeps for its next answer or request head. */
    private static final int KEPT_BUFFER = 16 * 1024;

    private final ConnectionContext ctx;
    private final Dispatcher dispatcher;
    private final ServerConnectionSelector general;
    private final ClientChannel channel;
    private final String client;
    /** Each answer is encoded here; most are a few hundred bytes, so it is kept between requests. */
    private final AsciiBuffer answer = new AsciiBuffer(0);
    /**
     * The request head for the backends is encoded here, and the request refers to these bytes: the
     * next request of the connection starts only when this one is over.
     */
    private final AsciiBuffer outboundHead = new AsciiBuffer(512);
    private volatile ServerConnection delegate;
    private volatile Thread thread;
    private volatile boolean running = true;
    private volatile boolean waiting;
    /** Bumped as each request begins and ends; {@link #idleTime()} tells idleness from it, so requests read no clock. */
    private volatile int requests;
    // idleTime()'s own bookkeeping: Helidon's idle-connection timer is its only caller.
    private int seenRequests;
    private long quietSince = System.nanoTime();
    /** Reads the client's next bytes while a request waits in line, to notice a client that left. */
    private Thread watcher;
    private volatile boolean clientGone;
    private volatile Runnable leaveLine;
    private final BackendPool.ClientWatch watch = this::watchWhileWaiting;
    /** Serves plain requests on the connection's event loop; the rest comes back to this thread. */
    private final FastLane lane;

    ProxyConnection(ConnectionContext ctx, Dispatcher dispatcher, ServerConnectionSelector general,
                    ClientChannel channel) {
        this.ctx = ctx;
        this.dispatcher = dispatcher;
        this.general = general;
        this.channel = channel;
        this.client = OutboundRequest.clientAddress(ctx.remotePeer().address());
        this.lane = new FastLane(this, dispatcher, channel);
    }

    @Override
    public void handle(Limit limit) {
        thread = Thread.currentThread();
        try {
            while (running) {
                joinWatcher(); // it reads the client's next bytes: they are the lane's now
                FastLane.Handback next;
                waiting = true;
                try {
                    next = lane.await();
                } finally {
                    waiting = false;
                }
                if (!switch (next) {
                    case CLOSE -> false;
                    case READ -> readAndServe(limit);
                    case SERVE -> serve(lane.request(), lane.backend());
                    case STREAM, FAIL -> finish(next);
                    case WRITE_REST -> {
                        try {
                            channel.write(answer.array(), lane.written(), answer.length() - lane.written());
                        } finally {
                            recycleAnswer();
                        }
                        yield !lane.closeAfter();
                    }
                }) {
                    return;
                }
            }
        } catch (RuntimeException e) {
            // The client is gone, sent a truncated request, or has part of an answer: close its connection.
        } catch (IOException e) {
            // Reading from or writing to the client failed: it is gone (or the server stops).
        } catch (InterruptedException e) {
            // Interrupted while waiting for the next request: the server stops or the connection idled out.
            Thread.currentThread().interrupt();
        } finally {
            if (delegate == null) {
                closeQuietly();
            } else {
                channel.closed(); // Helidon closes the socket when its connection returns
            }
        }
    }

    /** Reads the next request the blocking way and serves it; false when the connection ends here. */
    private boolean readAndServe(Limit limit) throws IOException, InterruptedException {
        Request request;
        waiting = true;
        try {
            request = readRequest();
        } finally {
            waiting = false;
        }
        if (request == null) {
            // Not a request for the fast path: Helidon's HTTP/1 takes the connection from here.
            ServerConnection http1 = general.connection(
                    new HandedOverContext(ctx, channel.reader(), channel.writer()));
            delegate = http1;
            if (running) {
                http1.handle(limit);
            }
            return false;
        }
        if (request.malformed != null) {
            // RFC 9112: answer 400 and close, the message's framing cannot be trusted.
            response(request).problem(new Problems.Problem(400, "malformed request", request.malformed, null, null, true));
            return false;
        }
        return serve(request, null);
    }

    /**
     * Serves a request the general way (waiting in line if it must), on {@code taken} first when it
     * holds a permit of it already; false when the connection closes after it.
     */
    private boolean serve(Request request, Backend taken) {
        SocketResponse res = response(request);
        try {
            dispatcher.serve(request.incoming, res, request.rawPath, watch, taken);
        } finally {
            leaveLine = null;
        }
        requests++;
        return !res.close();
    }

    /**
     * Ends a request the lane began: streams the answer whose head it read, or answers its
     * failure; false when the connection closes after it.
     */
    private boolean finish(FastLane.Handback how) {
        Request request = lane.request();
        SocketResponse res = response(request);
        if (how == FastLane.Handback.STREAM) {
            dispatcher.finishStreamed(lane.backend(), lane.upstream(), lane.head(), res, lane.decoration(),
                    lane.routing(), request.rawPath);
        } else {
            dispatcher.fail(res, lane.failure(), request.rawPath);
        }
        requests++;
        return !res.close();
    }

    /** The sink for the answer to {@code request}, encoding into the connection's answer buffer. */
    SocketResponse response(Request request) {
        answer.recycle(KEPT_BUFFER);
        return new SocketResponse(channel, answer, request.close || !running, request.http10);
    }

    AsciiBuffer answerBuffer() {
        return answer;
    }

    /** The answer was written: the buffer is emptied, and an idle connection keeps no large one. */
    void recycleAnswer() {
        answer.recycle(KEPT_BUFFER);
    }

    /** False once the connection should end after its current request (the server stops or it idled out). */
    boolean running() {
        return running;
    }

    /** A request of the lane's began or ended: {@link #idleTime()} starts again from here. */
    void requestBeganOrEnded() {
        requests++;
    }

    /** The head for the backends of a request the lane took, encoded into the connection's outbound buffer. */
    OutboundRequest outbound(Head h) {
        outboundHead.recycle(KEPT_BUFFER);
        return OutboundRequest.fromHead(h, client, ctx.isSecure(), outboundHead);
    }

    /**
     * A whole request head in the buffer without waiting: its length (the buffer compacted, the
     * head at its start), -2 while it is incomplete, -1 when the fast path does not take it.
     */
    int scanHead() {
        channel.compact();
        byte[] b = channel.buffer();
        int available = Math.min(channel.available(), MAX_HEAD);
        int n = headEnd(b, 0, 0, available);
        if (n == -2 && available >= MAX_HEAD) {
            return -1;
        }
        return n;
    }

    /** Scans {@code b[p + from, p + available)} for the end of a head: its length, -1 at a bare LF, -2 when not there yet. */
    private static int headEnd(byte[] b, int p, int from, int available) {
        for (int i = from; i < available; i++) {
            if (b[p + i] == '\n') {
                if (i == 0 || b[p + i - 1] != '\r') {
                    return -1; // a bare LF: the general path decides what that is
                }
                if (i >= 3 && b[p + i - 2] == '\n' && b[p + i - 3] == '\r') {
                    return i + 1;
                }
            }
        }
        return -2;
    }

    private void closeQuietly() {
        channel.closed(); // first: no read or write may use the socket once it closes
        try {
            ctx.serverSocket().close();
        } catch (RuntimeException e) {
            // closed already: nothing left to release
        }
    }

    @Override
    public Duration idleTime() {
        ServerConnection d = delegate;
        if (d != null) {
            return d.idleTime();
        }
        // Idle since the first call that saw no request begin or end: at most one timer period
        // short of the truth, so a connection is closed a little late, never early.
        long now = System.nanoTime();
        synchronized (this) {
            int r = requests;
            if (r != seenRequests) {
                seenRequests = r;
                quietSince = now;
            }
            return Duration.ofNanos(now - quietSince);
        }
    }

    @Override
    public void close(boolean interrupt) {
        running = false;
        ServerConnection d = delegate;
        if (d != null) {
            d.close(interrupt);
            return;
        }
        Thread t = thread;
        if (t != null && (interrupt || waiting)) {
            t.interrupt();
        }
    }

    /**
     * Called when the current request has to wait in line: a second virtual thread does the read
     * this connection would do next anyway, so a client that closes its connection is noticed and
     * its request leaves the line (HAProxy's {@code abortonclose}). Bytes it reads (a next request)
     * stay in the connection's reader for {@link #readRequest}, which joins it first. Not when a
     * pipelined request is buffered already: the client may wait for this answer before sending more.
     */
    private void watchWhileWaiting(Runnable leave) {
        leaveLine = leave;
        if (watcher != null || channel.available() > 0) {
            return;
        }
        watcher = Thread.ofVirtual().name("client-watch").start(() -> {
            boolean gone;
            try {
                gone = !channel.fill(MAX_HEAD);
            } catch (IOException | RuntimeException e) { // a broken connection
                gone = true;
            }
            if (gone) {
                clientGone = true;
                Runnable l = leaveLine;
                if (l != null) {
                    l.run();
                }
            }
        });
    }

    /** Waits for the watcher (if a request waited) to hand back the reader; throws if the client left. */
    private void joinWatcher() throws InterruptedException {
        Thread w = watcher;
        if (w == null) {
            return;
        }
        w.join();
        watcher = null;
        if (clientGone) {
            throw new ClientAbortException("the client closed its connection");
        }
    }

    /** A request taken by the fast path. */
    record Request(Dispatcher.Incoming incoming, String rawPath, boolean close, boolean http10,
                           String malformed) {
    }

    /**
     * Reads the next request when the fast path takes it; null, with nothing consumed, when it does
     * not. Throws when the client closes the connection.
     */
    private Request readRequest() throws InterruptedException, IOException {
        joinWatcher();
        int headLength = headLength();
        // A request has begun: from here on the connection is busy, not idle (as in Helidon's HTTP/1).
        waiting = false;
        requests++;
        if (headLength < 0) {
            return null;
        }
        channel.compact();
        Head h = Head.parse(channel.buffer(), headLength);
        if (h == null) {
            return null;
        }
        if (h.problem != null) {
            return new Request(null, null, true, h.http10, h.problem);
        }
        long max = dispatcher.fastBodyLimit();
        if (h.contentLength > max) {
            return null;
        }
        int bodyLength = (int) Math.max(h.contentLength, 0);
        // Encoded from the head's bytes before reading the body, which may reuse the buffer.
        outboundHead.recycle(KEPT_BUFFER);
        OutboundRequest outbound = OutboundRequest.fromHead(h, client, ctx.isSecure(), outboundHead);
        channel.skip(headLength);
        RequestBody body = RequestBody.of(bodyLength == 0 ? new byte[0] : channel.readBytes(bodyLength));
        return new Request(new Dispatcher.Incoming(outbound, body), h.rawPath, h.close, h.http10, null);
    }

    /**
     * Waits for a whole request head in the channel's buffer; its length, or -1 when the fast path
     * does not take it (too long, or a line not ended by CRLF).
     */
    private int headLength() throws IOException {
        int scanned = 0;
        while (true) {
            int available = Math.min(channel.available(), MAX_HEAD);
            int n = headEnd(channel.buffer(), channel.position(), scanned, available);
            if (n != -2) {
                return n;
            }
            if (available >= MAX_HEAD) {
                return -1;
            }
            scanned = available;
            if (!channel.fill(MAX_HEAD)) {
                throw new ClientAbortException(available == 0 ? "the client closed its connection"
                        : "the client closed its connection in a request head");
            }
        }
    }

    /** A request head the fast path can forward, parsed strictly. */
    static final class Head {
        final String method;
        final String rawPath;
        final String rawQuery;
        /** The head's bytes; the request line's method and target end at {@link #targetEnd}. */
        byte[] raw;
        int targetEnd;
        /** Where each header is in {@link #raw}. */
        final HeaderSpans spans = new HeaderSpans();
        /** Lower-cased tokens of the Connection headers other than close and keep-alive: more headers to drop. */
        Set<String> connectionTokens = Set.of();
        long contentLength = -1;
        boolean close;
        /** An HTTP/1.0 request: no chunked framing back, and the connection closes unless asked not to. */
        boolean http10;
        /** Non-null for a malformed head (RFC 9112 says to answer 400): what is wrong with it. */
        String problem;

        private Head(String method, String rawPath, String rawQuery) {
            this.method = method;
            this.rawPath = rawPath;
            this.rawQuery = rawQuery;
        }

        /**
         * Parses {@code b[0, length)}, which ends with an empty line: null when the request is not
         * for the fast path (anything unusual, and a request line Helidon should judge), a head with
         * a {@link #problem} when its header section is malformed, else the head to forward.
         */
        static Head parse(byte[] b, int length) {
            int lineEnd = lineEnd(b, 0, length);
            if (lineEnd < 0 || lineEnd > MAX_REQUEST_LINE) {
                return null;
            }
            int sp1 = token(b, 0, lineEnd);
            if (sp1 <= 0 || b[sp1] != ' ') {
                return null;
            }
            int sp2 = sp1 + 1;
            if (sp2 >= lineEnd || b[sp2] != '/') {
                return null;
            }
            int query = -1;
            while (sp2 < lineEnd && b[sp2] != ' ') {
                if (b[sp2] < 0x21 || b[sp2] > 0x7e) {
                    return null;
                }
                if (b[sp2] == '?' && query < 0) {
                    query = sp2;
                }
                sp2++;
            }
            boolean http10 = lineEnd - sp2 == 9 && matches(b, sp2, " HTTP/1.0");
            if (!http10 && (lineEnd - sp2 != 9 || !matches(b, sp2, " HTTP/1.1"))) {
                return null;
            }
            int pathEnd = query < 0 ? sp2 : query;
            String rawPath = ascii(b, sp1 + 1, pathEnd);
            if (rawPath.equals("/health")) {
                return null; // answered by the general path's route
            }
            Head h = new Head(ascii(b, 0, sp1), rawPath, query < 0 ? "" : ascii(b, query + 1, sp2));
            h.http10 = http10;
            h.raw = b;
            h.targetEnd = sp2;
            boolean keepAlive = false;
            int hosts = 0;
            int p = lineEnd + 2;
            while (true) {
                int end = lineEnd(b, p, length);
                if (end < 0) {
                    return malformed("a bare CR in a header line");
                }
                if (end == p) {
                    break; // the empty line
                }
                int colon = token(b, p, end);
                if (b[p] == ' ' || b[p] == '\t') {
                    return malformed("obsolete line folding (a header line that starts with whitespace)");
                }
                int afterSpace = Ascii.skipOws(b, colon, end);
                if (afterSpace > colon && afterSpace < end && b[afterSpace] == ':') {
                    return malformed("whitespace between the header name '" + ascii(b, p, colon) + "' and its colon");
                }
                if (colon == p || colon == end || b[colon] != ':') {
                    return malformed("a header line that is not 'name: value' with a token for a name: '"
                            + abbreviate(ascii(b, p, end)) + "'");
                }
                int vs = Ascii.skipOws(b, colon + 1, end);
                int ve = Ascii.trimOws(b, vs, end);
                for (int i = vs; i < ve; i++) {
                    int c = b[i] & 0xff;
                    if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        return malformed("a control character in the value of the " + ascii(b, p, colon) + " header");
                    }
                }
                switch (special(b, p, colon)) {
                    case "host" -> {
                        if (++hosts > 1) {
                            return malformed("more than one Host header");
                        }
                        if (vs == ve) {
                            return malformed("an empty Host header");
                        }
                    }
                    case "content-length" -> {
                        if (h.contentLength >= 0) {
                            return malformed("more than one Content-Length header");
                        }
                        long n = Ascii.decimal(b, vs, ve);
                        if (n < 0) {
                            return malformed("Content-Length '" + abbreviate(ascii(b, vs, ve))
                                    + "' is not a decimal number of bytes");
                        }
                        h.contentLength = n;
                    }
                    case "transfer-encoding", "expect", "upgrade", "te" -> {
                        return null;
                    }
                    case "connection" -> {
                        Set<String> tokens = HopByHop.connectionTokens(ascii(b, vs, ve));
                        h.close |= tokens.contains("close");
                        keepAlive |= tokens.contains("keep-alive");
                        for (String t : tokens) {
                            if (!t.equals("close") && !t.equals("keep-alive")) {
                                if (h.connectionTokens.isEmpty()) {
                                    h.connectionTokens = new HashSet<>();
                                }
                                h.connectionTokens.add(t);
                            }
                        }
                    }
                    default -> {
                    }
                }
                h.spans.add(p, colon, vs, ve);
                p = end + 2;
            }
            if (http10) {
                h.close |= !keepAlive; // HTTP/1.0 closes after each answer unless the client asks
                return h;
            }
            return hosts == 1 ? h : malformed("no Host header (HTTP/1.1 requires one)");
        }

        private static final Ascii.Names SPECIAL = new Ascii.Names(
                "host", "content-length", "transfer-encoding", "expect", "upgrade", "te", "connection");

        /**
         * The lower-case name of a header this parser acts on, else "": compared in place, so that
         * ordinary headers cost no string at all.
         */
        private static String special(byte[] b, int from, int to) {
            String s = SPECIAL.find(b, from, to);
            return s != null ? s : "";
        }

        /** The header fields as {name, value} pairs, in order, repeated ones repeated (for tests: the fast path copies spans). */
        List<String[]> headers() {
            return spans.pairs(raw);
        }

        /** A head the fast path answers itself with 400: what is wrong with it, for the problem's detail. */
        private static Head malformed(String problem) {
            Head h = new Head("", "", "");
            h.problem = problem;
            return h;
        }

        private static String abbreviate(String s) {
            return s.length() > 60 ? s.substring(0, 60) + "..." : s;
        }

        /** Index of the CR of the next CRLF from {@code from}; -1 at a bare CR or LF or none. */
        private static int lineEnd(byte[] b, int from, int length) {
            for (int i = from; i < length; i++) {
                if (b[i] == '\r') {
                    return i + 1 < length && b[i + 1] == '\n' ? i : -1;
                }
                if (b[i] == '\n') {
                    return -1;
                }
            }
            return -1;
        }

        /** End of the RFC 9110 token starting at {@code from} (the index of the first non-token byte). */
        private static int token(byte[] b, int from, int end) {
            int i = from;
            while (i < end && isTchar(b[i])) {
                i++;
            }
            return i;
        }

        private static boolean isTchar(byte c) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
                return true;
            }
            return switch (c) {
                case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~' -> true;
                default -> false;
            };
        }

        private static boolean matches(byte[] b, int at, String s) {
            for (int i = 0; i < s.length(); i++) {
                if (b[at + i] != s.charAt(i)) {
                    return false;
                }
            }
            return true;
        }

        @SuppressWarnings("deprecation") // the ISO-8859-1 constructor without a charset lookup
        private static String ascii(byte[] b, int from, int to) {
            return new String(b, 0, from, to - from);
        }
    }
}
