package io.vllmfactory.serve.dispatch;

import java.io.EOFException;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Set;

/**
 * One HTTP/1.1 connection to a backend, with its own read buffer so that the response head is
 * parsed without per-byte calls into the socket. The channel is non-blocking and registered with
 * the dispatcher's {@link Reactor}: a read that would block parks the virtual thread until the
 * reactor's poll sees the backend's bytes, so the code here reads as blocking code.
 */
final class UpstreamConnection implements AutoCloseable {
    /** Bytes of a request that go out in one write: its head and body are gathered here first. */
    static final int BUFFER = 16 * 1024;
    /** What {@link #readHeadNow} returns while the head is still incomplete. */
    static final byte[] NOT_YET = new byte[0];

    private final SocketChannel channel;
    private final Reactor.Readiness readiness;
    private byte[] buf = new byte[BUFFER];
    private final byte[] wbuf = new byte[BUFFER];
    private int wpos;
    private int pos;
    private int lim;
    private final Set<UpstreamConnection> registry;
    private int uses;
    /**
     * Bumped when an exchange starts or ends and whenever bytes move (an opaque write: no fence, no
     * clock read on the request path); the reaper compares it between its visits to tell silence
     * from progress.
     */
    @SuppressWarnings("unused") // through ACTIVITY
    private int activity;
    private volatile boolean watched;
    private long timeoutNanos;
    private volatile boolean expired;
    // The reaper's own bookkeeping: written and read by the upstream reaper only.
    private int seenActivity;
    private long changedAt = System.nanoTime();

    private static final VarHandle ACTIVITY;

    static {
        try {
            ACTIVITY = MethodHandles.lookup().findVarHandle(UpstreamConnection.class, "activity", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private UpstreamConnection(SocketChannel channel, Reactor.Readiness readiness, Set<UpstreamConnection> registry) {
        this.channel = channel;
        this.readiness = readiness;
        this.registry = registry;
    }

    /**
     * Opens a connection with no read timeout: a timed read parks with a timer on every call,
     * which costs more than the whole relay; {@link ConnectionPool#reapOverdue} closes connections
     * whose backend stays silent past their deadline instead.
     */
    static UpstreamConnection open(InetSocketAddress address, int connectTimeoutMillis, Reactor reactor,
                                   Set<UpstreamConnection> registry) throws IOException {
        SocketChannel ch = SocketChannel.open();
        try {
            ch.socket().setTcpNoDelay(true);
            ch.socket().connect(address, connectTimeoutMillis); // blocking, with the timeout
            ch.configureBlocking(false);
            UpstreamConnection c = new UpstreamConnection(ch, reactor.register(ch), registry);
            registry.add(c);
            return c;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Starts the silence clock: the backend must send a byte within {@code timeoutNanos}, and again after each. */
    void watch(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
        progress();
        watched = true;
    }

    /** Stops the silence clock (the exchange is over); the connection's idle time starts. */
    void unwatch() {
        watched = false;
        progress();
    }

    /**
     * On the reaper, at each visit: closes the connection if its backend stayed silent past the
     * timeout; true if it did. Silence is measured from the first visit that saw no change, so
     * the connection is closed at most two visits late and never early.
     */
    boolean expireIfOverdue(long now) {
        if (sawActivity(now) || !watched || now - changedAt <= timeoutNanos) {
            return false;
        }
        expired = true;
        close();
        return true;
    }

    /** On the reaper: how long nothing moved on this connection while no exchange used it, else 0. */
    long idleFor(long now) {
        return sawActivity(now) || watched ? 0 : now - changedAt;
    }

    private boolean sawActivity(long now) {
        int a = (int) ACTIVITY.getOpaque(this);
        if (a == seenActivity) {
            return false;
        }
        seenActivity = a;
        changedAt = now;
        return true;
    }

    /** Whether the reaper closed it because the backend stayed silent too long. */
    boolean expired() {
        return expired;
    }

    /** True when this connection served an earlier request: a failure may just mean it went stale. */
    boolean reused() {
        return uses > 0;
    }

    void markUsed() {
        uses++;
    }

    /** Buffers bytes for the backend; large writes go straight through. */
    void write(byte[] src, int off, int len) throws IOException {
        if (len > wbuf.length - wpos) {
            flush();
            if (len >= wbuf.length) {
                writeFully(src, off, len);
                return;
            }
        }
        System.arraycopy(src, off, wbuf, wpos, len);
        wpos += len;
    }

    /** Writes an ASCII string (request line pieces, chunk sizes). */
    void writeAscii(String s) throws IOException {
        int len = s.length();
        if (len > wbuf.length - wpos) {
            flush();
        }
        if (len > wbuf.length) {
            byte[] b = s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            writeFully(b, 0, b.length);
            return;
        }
        for (int i = 0; i < len; i++) {
            wbuf[wpos++] = (byte) s.charAt(i);
        }
    }

    /** Room left in the write buffer: a request that fits is sent with one write, by {@link #flushNow}. */
    int room() {
        return wbuf.length - wpos;
    }

    /** Writes {@code b[off, off + len)} unbuffered as far as the socket takes it now, without waiting: how many. */
    int writeNow(byte[] b, int off, int len) throws IOException {
        int done = 0;
        while (done < len) {
            int n = readiness.writeNow(b, off + done, len - done);
            if (n <= 0) {
                break;
            }
            progress();
            done += n;
        }
        return done;
    }

    /** Writes what is buffered as far as the socket takes it now, without waiting: bytes left over. */
    int flushNow() throws IOException {
        int n = writeNow(wbuf, 0, wpos);
        if (n > 0) {
            System.arraycopy(wbuf, n, wbuf, 0, wpos - n);
            wpos -= n;
        }
        return wpos;
    }

    Reactor.Readiness readiness() {
        return readiness;
    }

    /** The event loop that watches this connection ({@link Reactor#index()}). */
    int loop() {
        return readiness.reactor().index();
    }

    void flush() throws IOException {
        if (wpos > 0) {
            int n = wpos;
            wpos = 0;
            writeFully(wbuf, 0, n);
        }
    }

    private void writeFully(byte[] src, int off, int len) throws IOException {
        while (len > 0) {
            int n = readiness.write(src, off, len);
            progress();
            off += n;
            len -= n;
        }
    }

    /** Bytes moved: the silence clock starts again (a long upload is not silence). One thread writes. */
    private void progress() {
        ACTIVITY.setOpaque(this, (int) ACTIVITY.getOpaque(this) + 1);
    }

    /** Bytes that can be read without blocking (it reads what the backend sent already, if the buffer is empty). */
    int available() throws IOException {
        if (pos == lim) {
            int n = readiness.readNow(buf, 0, buf.length);
            if (n > 0) {
                progress();
                pos = 0;
                lim = n;
            }
        }
        return lim - pos;
    }

    /** Reads a line up to CRLF (or LF) as ISO-8859-1, without the line end; null at end of stream. */
    String readLine(int maxLength) throws IOException {
        StringBuilder sb = null;
        while (true) {
            if (pos == lim && !fill()) {
                if (sb == null) {
                    return null;
                }
                throw new EOFException("connection closed in the middle of a line");
            }
            int start = pos;
            while (pos < lim) {
                byte b = buf[pos++];
                if (b == '\n') {
                    int end = pos - 1;
                    if (end > start && buf[end - 1] == '\r') {
                        end--;
                    } else if (end == start && sb != null && sb.length() > 0 && sb.charAt(sb.length() - 1) == '\r') {
                        sb.setLength(sb.length() - 1);
                    }
                    String tail = new String(buf, 0, start, end - start);
                    return sb == null ? tail : sb.append(tail).toString();
                }
            }
            if (sb == null) {
                sb = new StringBuilder();
            }
            sb.append(new String(buf, 0, start, lim - start));
            if (sb.length() > maxLength) {
                throw new IOException("response line or header longer than " + maxLength + " bytes");
            }
        }
    }

    /**
     * Reads a response head: the bytes up to and including the empty line that ends it (lines end
     * in CRLF or LF); null when the stream ends before its first byte.
     */
    byte[] readHead(int maxLength) throws IOException {
        return readHead(maxLength, true);
    }

    /** As {@link #readHead(int)} without waiting: {@link #NOT_YET} while the head is incomplete. */
    byte[] readHeadNow(int maxLength) throws IOException {
        return readHead(maxLength, false);
    }

    private byte[] readHead(int maxLength, boolean wait) throws IOException {
        int scanned = pos;
        while (true) {
            for (int i = scanned; i < lim; i++) {
                if (buf[i] == '\n') {
                    int next = i + 1;
                    if (next < lim && buf[next] == '\r') {
                        next++;
                    }
                    if (next < lim && buf[next] == '\n') {
                        byte[] head = Arrays.copyOfRange(buf, pos, next + 1);
                        pos = next + 1;
                        return head;
                    }
                    if (next >= lim) {
                        scanned = i; // the line after may still be arriving: look at this LF again
                        break;
                    }
                }
                scanned = i + 1;
            }
            if (lim - pos >= maxLength) {
                throw new IOException("response head longer than " + maxLength + " bytes");
            }
            if (pos > 0 && lim == buf.length) {
                System.arraycopy(buf, pos, buf, 0, lim - pos);
                scanned -= pos;
                lim -= pos;
                pos = 0;
            }
            if (lim == buf.length) {
                buf = Arrays.copyOf(buf, Math.min(buf.length * 2, maxLength + BUFFER));
            }
            int n = wait ? channelRead(buf, lim, buf.length - lim) : socketReadNow(buf, lim, buf.length - lim);
            if (n < 0) {
                if (lim == pos) {
                    return null;
                }
                throw new EOFException("connection closed in the response head");
            }
            if (n == 0) {
                return NOT_YET;
            }
            lim += n;
        }
    }

    /** Reads up to len bytes; -1 at end of stream. */
    int read(byte[] dst, int off, int len) throws IOException {
        if (pos < lim) {
            return fromBuffer(dst, off, len);
        }
        if (len >= BUFFER) {
            return channelRead(dst, off, len);
        }
        if (!fill()) {
            return -1;
        }
        return read(dst, off, len);
    }

    /** Reads up to len bytes without waiting (buffered ones first): how many, 0 when none came yet, -1 at end of stream. */
    int readNow(byte[] dst, int off, int len) throws IOException {
        if (pos < lim) {
            return fromBuffer(dst, off, len);
        }
        return socketReadNow(dst, off, len);
    }

    /** Takes up to len of the bytes buffered (there are some). */
    private int fromBuffer(byte[] dst, int off, int len) {
        int n = Math.min(len, lim - pos);
        System.arraycopy(buf, pos, dst, off, n);
        pos += n;
        return n;
    }

    private int socketReadNow(byte[] dst, int off, int len) throws IOException {
        int n = readiness.readNow(dst, off, len);
        if (n > 0) {
            progress();
        }
        return n;
    }

    void readFully(byte[] dst, int off, int len) throws IOException {
        while (len > 0) {
            int n = read(dst, off, len);
            if (n < 0) {
                throw new EOFException("backend closed the connection " + len + " bytes before the end of the body");
            }
            off += n;
            len -= n;
        }
    }

    private boolean fill() throws IOException {
        int n = channelRead(buf, 0, buf.length);
        if (n <= 0) {
            return false;
        }
        pos = 0;
        lim = n;
        return true;
    }

    /** Reads at least one byte, parking until the reactor sees some; -1 at end of stream. */
    private int channelRead(byte[] dst, int off, int len) throws IOException {
        int n = readiness.read(dst, off, len);
        if (n > 0) {
            progress();
        }
        return n;
    }

    @Override
    public void close() {
        registry.remove(this);
        readiness.closed();
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
