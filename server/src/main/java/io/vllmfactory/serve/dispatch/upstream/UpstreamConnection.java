package io.vllmfactory.serve.dispatch.upstream;

import io.vllmfactory.serve.dispatch.upstream.UpstreamException.BadResponse;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException.Lost;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One keep-alive HTTP/1.1 connection to a backend: a blocking socket (its reads park only the
 * calling virtual thread) with a read buffer and a write buffer of its own. One exchange at a time:
 * the request is written ({@link #write}, {@link #flush}), then the answer's head is read
 * ({@link #readHead}) and its body through {@link #body}. A backend silent for the upstream timeout
 * ends the exchange: its pool's {@link Upstream#expireSilent} closes the socket under a read (or
 * write) that has waited that long (a socket read timeout would cost every read a timer, and a
 * virtual thread's timed park a context switch).
 *
 * <p>It goes back to its {@link Upstream} with {@link #release()} only after a whole answer with
 * nothing after it: bytes left in the buffer mean the backend sent more than it framed, and the
 * connection is closed instead of being reused. Bytes that come later, while it is idle, are
 * found when it is taken again ({@link #strayBytes()}), and it is closed then.
 */
public final class UpstreamConnection {
    private static final int BUFFER = 16 * 1024;
    private static final int MAX_HEAD = 64 * 1024;

    private final Upstream owner;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String backend;
    private byte[] buf = new byte[BUFFER];
    private int pos;
    private int lim;
    private final byte[] wbuf = new byte[BUFFER];
    private int wlen;
    private boolean reused;
    private boolean answered;
    private boolean reusable;
    private long idleSince;
    /** When the read or write under way began; 0 while none is. */
    private volatile long blockedSince;
    private volatile boolean expired;

    UpstreamConnection(Upstream owner, Socket socket, String backend) throws IOException {
        this.owner = owner;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.backend = backend;
    }

    /** Whether it carried an earlier exchange (then the backend may have closed it while it was idle). */
    public boolean reused() {
        return reused;
    }

    /** Buffers request bytes; large pieces go out at once. */
    public void write(byte[] b, int off, int len) throws UpstreamException {
        if (len > wbuf.length - wlen) {
            flush();
            if (len >= wbuf.length) {
                send(b, off, len);
                return;
            }
        }
        System.arraycopy(b, off, wbuf, wlen, len);
        wlen += len;
    }

    /** Buffers an ASCII string (header lines). */
    public void writeAscii(String s) throws UpstreamException {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        write(b, 0, b.length);
    }

    /** Sends what is buffered. */
    public void flush() throws UpstreamException {
        if (wlen > 0) {
            int n = wlen;
            wlen = 0;
            send(wbuf, 0, n);
        }
    }

    private void send(byte[] b, int off, int len) throws UpstreamException {
        blockedSince = System.nanoTime();
        try {
            out.write(b, off, len);
            owner.sent(len);
        } catch (IOException e) {
            if (expired) {
                throw timeout(e);
            }
            throw lost("writing the request failed: " + e.getMessage(), e, lim == pos);
        } finally {
            blockedSince = 0;
        }
    }

    /**
     * Reads the final answer's head (interim 1xx answers are skipped).
     *
     * @throws Lost        when the connection ends or fails first
     * @throws Timeout     when the backend stays silent for the upstream timeout
     * @throws BadResponse when the head is malformed or its framing ambiguous
     */
    public ResponseHead readHead(boolean headRequest) throws UpstreamException {
        while (true) {
            int end = headEnd();
            ResponseHead head = ResponseHead.parse(buf, pos, end, headRequest);
            pos = end;
            answered = true;
            if (head.status() == 101) {
                throw new BadResponse("the backend switched protocols (101), which the dispatcher does not relay");
            }
            if (!head.interim()) {
                reusable = head.reusable();
                return head;
            }
        }
    }

    /** Reads until the buffer holds a whole head from {@link #pos}; returns the index after its empty line. */
    private int headEnd() throws UpstreamException {
        int scanned = pos;
        while (true) {
            for (int i = scanned; i < lim; i++) {
                if (buf[i] == '\n' && (i + 1 < lim && buf[i + 1] == '\n'
                        || i + 2 < lim && buf[i + 1] == '\r' && buf[i + 2] == '\n')) {
                    return buf[i + 1] == '\n' ? i + 2 : i + 3;
                }
            }
            int rescan = Math.max(0, lim - pos - 2); // a line end may straddle the next read
            if (lim - pos >= MAX_HEAD) {
                throw new BadResponse("response head longer than " + MAX_HEAD + " bytes");
            }
            boolean eof = fill() < 0;
            scanned = pos + rescan;
            if (eof) {
                throw lost(answered || lim > pos ? "the backend closed the connection inside a response head"
                        : "the backend closed the connection before answering", null, lim == pos);
            }
        }
    }

    /** The body of the answer whose head was just read, framed as the head says. */
    public ResponseBody body(ResponseHead head) {
        return new ResponseBody(this, head);
    }

    /** Bytes buffered or readable without waiting. */
    int available() {
        if (lim > pos) {
            return lim - pos;
        }
        try {
            return in.available();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Reads body bytes: from the buffer first, then from the socket; -1 at the end of the stream. */
    int read(byte[] b, int off, int len) throws UpstreamException {
        if (pos == lim) {
            if (len >= BUFFER) {
                return readSocket(b, off, len);
            }
            if (fill() < 0) {
                return -1;
            }
        }
        int n = Math.min(len, lim - pos);
        System.arraycopy(buf, pos, b, off, n);
        pos += n;
        return n;
    }

    /** A line of the body's framing (chunk size, trailer), without its CRLF or LF; null at the end of the stream. */
    String readLine(int max) throws UpstreamException {
        int scanned = pos;
        while (true) {
            for (int i = scanned; i < lim; i++) {
                if (buf[i] == '\n') {
                    int end = i > pos && buf[i - 1] == '\r' ? i - 1 : i;
                    String line = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
                    pos = i + 1;
                    return line;
                }
            }
            int rescan = lim - pos;
            if (rescan > max) {
                throw new BadResponse("a chunk line longer than " + max + " bytes from the backend");
            }
            if (fill() < 0) {
                return null;
            }
            scanned = pos + rescan;
        }
    }

    /** Reads more into the buffer (compacting or growing it); the count read, or -1 at the end of the stream. */
    private int fill() throws UpstreamException {
        if (pos == lim) {
            pos = 0;
            lim = 0;
        } else if (lim == buf.length) {
            if (pos > 0) {
                System.arraycopy(buf, pos, buf, 0, lim - pos);
                lim -= pos;
                pos = 0;
            } else {
                buf = Arrays.copyOf(buf, buf.length * 2);
            }
        }
        int n = readSocket(buf, lim, buf.length - lim);
        if (n > 0) {
            lim += n;
        }
        return n;
    }

    private int readSocket(byte[] b, int off, int len) throws UpstreamException {
        blockedSince = System.nanoTime();
        try {
            int n = in.read(b, off, len);
            if (n > 0) {
                owner.received(n);
            }
            return n;
        } catch (IOException e) {
            if (expired) {
                throw timeout(e);
            }
            throw lost("reading the answer failed: " + e.getMessage(), e, !answered && lim == pos);
        } finally {
            blockedSince = 0;
        }
    }

    private Timeout timeout(IOException e) {
        return new Timeout(backend + " sent nothing for " + owner.silenceMillis() + " ms (upstream-timeout)", e);
    }

    /**
     * Closes the socket when a read or write has been waiting since before {@code silentSince} (the
     * reaper's view), so that it fails as a timeout; true when it did.
     */
    boolean expireIfSilentSince(long silentSince) {
        long since = blockedSince;
        if (since == 0 || since - silentSince > 0) {
            return false;
        }
        expired = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        return true;
    }

    private Lost lost(String what, Throwable cause, boolean nothingYet) {
        return new Lost(backend + ": " + what, cause, reused && nothingYet && !answered);
    }

    /** The whole answer was read: the connection goes back to its pool, or is closed if it cannot carry another. */
    public void release() {
        if (!reusable || lim > pos) {
            close(); // sent more than it framed, or said it will close: never reused
            return;
        }
        buf = buf.length > BUFFER ? new byte[BUFFER] : buf;
        pos = 0;
        lim = 0;
        reused = true;
        answered = false;
        reusable = false;
        owner.giveBack(this);
    }

    /** Closes the connection (an exchange that failed or was abandoned). */
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        owner.closed(this);
    }

    void idleSince(long nanos) {
        idleSince = nanos;
    }

    long idleSince() {
        return idleSince;
    }

    /** Whether the backend sent bytes while nobody asked: then it is out of step and must not be used. */
    boolean strayBytes() {
        return available() > 0;
    }
}
