package io.vllmfactory.serve.dispatch;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One request/response exchange with one backend over a pooled HTTP/1.1 connection: writes the
 * request, reads the response head, and relays status, headers and body to the client, streaming
 * (a chunked or event-stream body reaches the client piece by piece, flushed whenever the backend
 * has nothing more ready).
 */
final class Relay {
    /** Bodies up to this size are read whole and sent with one write; larger ones are streamed. */
    private static final int SMALL_BODY = 64 * 1024;
    static final int MAX_LINE = 64 * 1024;
    private static final int MAX_HEADERS = 256;
    private static final byte[] EMPTY = new byte[0];

    private final int connectTimeoutMillis;
    private final long silenceNanos;
    private final long maxBodySize;
    private final Reactors reactors;

    /** @param silenceNanos longest a backend may stay silent during an exchange (enforced by the reaper) */
    Relay(int connectTimeoutMillis, long silenceNanos, long maxBodySize, Reactors reactors) {
        this.reactors = reactors;
        this.connectTimeoutMillis = connectTimeoutMillis;
        this.silenceNanos = silenceNanos;
        this.maxBodySize = maxBodySize;
    }

    /**
     * Sends the request to the backend and relays its answer.
     *
     * @throws UpstreamFailure when the backend failed before anything reached the client
     */
    void exchange(Backend backend, OutboundRequest request, RequestBody body, ClientResponse res,
                  ResponseDecoration decoration) throws UpstreamFailure {
        ConnectionPool pool = backend.connections();
        Reactor loop = res.loop();
        UpstreamConnection conn = take(pool, backend, loop);
        boolean retriedFresh = false;
        while (true) {
            ResponseHead head;
            conn.watch(silenceNanos);
            try {
                send(conn, pool, request, body);
                head = readHead(conn, request.head());
            } catch (IOException e) {
                conn.close();
                if (conn.expired()) {
                    throw silent(backend, e);
                }
                // A pooled connection the backend closed while idle: retry once on a fresh one.
                if (conn.reused() && !retriedFresh && body.buffered()) {
                    retriedFresh = true;
                    conn = open(pool, backend, loop);
                    continue;
                }
                throw new UpstreamFailure(backend + " failed: " + e.getMessage(), e, false);
            } catch (RuntimeException e) {
                conn.close();
                throw e;
            }
            conn.markUsed();
            boolean reusable = relayResponse(conn, head, res, decoration, backend);
            conn.unwatch();
            if (reusable) {
                pool.giveBack(conn);
            } else {
                conn.close();
            }
            return;
        }
    }

    /**
     * The rest of an exchange the fast lane ({@link FastLane}) began: the backend's final head came
     * and its body is streamed to the client from here (a failure aborts the answer, no retry).
     */
    void relayStreamed(Backend backend, UpstreamConnection conn, ResponseHead head, ClientResponse res,
                       ResponseDecoration decoration) throws UpstreamFailure {
        conn.markUsed();
        boolean reusable = relayResponse(conn, head, res, decoration, backend);
        conn.unwatch();
        if (reusable) {
            backend.connections().giveBack(conn);
        } else {
            conn.close();
        }
    }

    /**
     * A whole response head, parsed and framed; null for an interim answer (100 Continue, 103 Early
     * Hints), which is not relayed: the final one follows.
     */
    static ResponseHead finalHead(byte[] raw, boolean headRequest) throws IOException {
        ResponseHead head = ResponseHead.parse(raw, MAX_HEADERS);
        if (head.status() >= 100 && head.status() < 200 && head.status() != 101) {
            return null;
        }
        head.frame(headRequest);
        return head;
    }

    UpstreamFailure silent(Backend backend, IOException e) {
        return new UpstreamFailure(backend + " sent nothing for " + silenceNanos / 1_000_000 + " ms (upstream-timeout)",
                e, true);
    }

    /** A pooled or new connection: of the client's loop when it has one, else of any loop. */
    private UpstreamConnection take(ConnectionPool pool, Backend backend, Reactor loop) throws UpstreamFailure {
        try {
            return loop != null ? pool.take(loop, false, connectTimeoutMillis)
                    : pool.take(reactors.next(), true, connectTimeoutMillis);
        } catch (IOException e) {
            throw new UpstreamFailure(backend + " refused the connection: " + e.getMessage(), e, false);
        }
    }

    private UpstreamConnection open(ConnectionPool pool, Backend backend, Reactor loop) throws UpstreamFailure {
        try {
            return pool.open(loop != null ? loop : reactors.next(), connectTimeoutMillis);
        } catch (IOException e) {
            throw new UpstreamFailure(backend + " refused the connection: " + e.getMessage(), e, false);
        }
    }

    private void send(UpstreamConnection conn, ConnectionPool pool, OutboundRequest request, RequestBody body)
            throws IOException {
        request.writeHead(conn, pool.hostLine());
        body.writeTo(conn, maxBodySize);
        conn.flush();
    }

    private static ResponseHead readHead(UpstreamConnection conn, boolean headRequest) throws IOException {
        while (true) {
            byte[] raw = conn.readHead(MAX_LINE);
            if (raw == null) {
                throw new IOException("connection closed before the response");
            }
            ResponseHead head = finalHead(raw, headRequest);
            if (head != null) {
                return head;
            }
        }
    }

    /** @return whether the connection can be reused */
    private boolean relayResponse(UpstreamConnection conn, ResponseHead head,
                                  ClientResponse res, ResponseDecoration decoration, Backend backend)
            throws UpstreamFailure {
        long length = head.contentLength();
        if (head.noBody() || (length >= 0 && length <= SMALL_BODY)) {
            try {
                if (head.noBody()) {
                    res.send(head, decoration, EMPTY);
                } else {
                    res.send(head, decoration, conn, (int) length);
                }
            } catch (ClientResponse.BodyReadFailure f) {
                IOException e = f.io();
                conn.close();
                if (conn.expired()) {
                    throw silent(backend, e);
                }
                throw new UpstreamFailure(backend + " failed in the response body: " + e.getMessage(), e, false);
            } catch (IOException | UncheckedIOException e) {
                conn.close();
                throw new ClientAbortException("writing the response failed: " + e.getMessage());
            }
            return head.keepAlive();
        }
        // From here on the client has (or will have) the status line: failures abort the connection.
        try (OutputStream out = res.stream(head, decoration, length)) {
            if (length >= 0) {
                copyFixed(conn, out, length);
            } else if (head.chunked()) {
                copyChunked(conn, out);
            } else {
                copyUntilClose(conn, out);
                return false;
            }
        } catch (IOException e) {
            conn.close();
            throw new UncheckedIOException("relaying the response of " + backend + " failed", e);
        } catch (UncheckedIOException e) {
            conn.close();
            throw e;
        }
        return head.keepAlive();
    }

    private static void copyFixed(UpstreamConnection conn, OutputStream out, long length) throws IOException {
        byte[] buf = new byte[32 * 1024];
        long left = length;
        while (left > 0) {
            int n = conn.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                throw new IOException("backend closed the connection " + left + " bytes early");
            }
            out.write(buf, 0, n);
            left -= n;
            if (conn.available() == 0) {
                out.flush();
            }
        }
    }

    private static void copyChunked(UpstreamConnection conn, OutputStream out) throws IOException {
        byte[] buf = new byte[32 * 1024];
        while (true) {
            String sizeLine = conn.readLine(MAX_LINE);
            if (sizeLine == null) {
                throw new IOException("backend closed the connection inside a chunked body");
            }
            int semi = sizeLine.indexOf(';');
            long size;
            try {
                size = Long.parseLong((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size line from backend: " + sizeLine);
            }
            if (size == 0) {
                String trailer;
                while ((trailer = conn.readLine(MAX_LINE)) != null && !trailer.isEmpty()) {
                    // trailers are not relayed
                }
                out.flush();
                return;
            }
            long left = size;
            while (left > 0) {
                int n = conn.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new IOException("backend closed the connection inside a chunk");
                }
                out.write(buf, 0, n);
                left -= n;
            }
            if (!conn.readLine(MAX_LINE).isEmpty()) {
                throw new IOException("chunk not followed by CRLF");
            }
            if (conn.available() == 0) {
                out.flush();
            }
        }
    }

    private static void copyUntilClose(UpstreamConnection conn, OutputStream out) throws IOException {
        byte[] buf = new byte[32 * 1024];
        int n;
        while ((n = conn.read(buf, 0, buf.length)) >= 0) {
            out.write(buf, 0, n);
            if (conn.available() == 0) {
                out.flush();
            }
        }
    }

    /**
     * Status, headers and framing of a backend's response, kept as the bytes it came in: the headers
     * relayed are spans of {@link #raw}, copied to the client as they are, so that the usual answer
     * makes no strings at all.
     */
    @SuppressWarnings("deprecation") // the ISO-8859-1 String constructor without a charset lookup
    static final class ResponseHead {
        private static final byte[] HTTP11 = "HTTP/1.1 ".getBytes(StandardCharsets.ISO_8859_1);
        /** The headers that frame the body or the connection. */
        private static final Ascii.Names FRAMING = new Ascii.Names("content-length", "transfer-encoding", "connection");

        private final byte[] raw;
        private final int status;
        /** End of the status line's content in {@link #raw}: the reason phrase is raw[13, statusEnd). */
        private final int statusEnd;
        private final boolean http10;
        /** Where each relayed header is in {@link #raw}. */
        private final HeaderSpans spans = new HeaderSpans();
        private List<String[]> headers;
        private long contentLength = -1;
        private boolean chunked;
        private boolean close;
        private boolean noBody;

        private ResponseHead(byte[] raw, int status, int statusEnd, boolean http10) {
            this.raw = raw;
            this.status = status;
            this.statusEnd = statusEnd;
            this.http10 = http10;
        }

        /** Parses a whole head (status line, header lines, the empty line); lines may end in CRLF or LF. */
        static ResponseHead parse(byte[] raw, int maxHeaders) throws IOException {
            int end = lineEnd(raw, 0);
            ResponseHead head = parseStatusLine(raw, contentEnd(raw, 0, end));
            int p = end + 1;
            for (int i = 0; ; i++) {
                end = lineEnd(raw, p);
                int ce = contentEnd(raw, p, end);
                if (ce == p) {
                    return head;
                }
                if (i >= maxHeaders) {
                    throw new IOException("more than " + maxHeaders + " response headers");
                }
                head.addHeaderLine(p, ce);
                p = end + 1;
            }
        }

        /** Index of the LF that ends the line starting at {@code from}. */
        private static int lineEnd(byte[] b, int from) throws IOException {
            for (int i = from; i < b.length; i++) {
                if (b[i] == '\n') {
                    return i;
                }
            }
            throw new IOException("response head without an end");
        }

        /** End of a line's content: before its CR, if any. */
        private static int contentEnd(byte[] b, int start, int lf) {
            return lf > start && b[lf - 1] == '\r' ? lf - 1 : lf;
        }

        /** HTTP/1.x SP 3DIGIT [SP reason], read from the bytes of {@code raw[0, end)}. */
        private static ResponseHead parseStatusLine(byte[] raw, int end) throws IOException {
            if (end < 12 || !Arrays.equals(raw, 0, 7, HTTP11, 0, 7) || raw[8] != ' ') {
                throw new IOException("not an HTTP/1.x status line from backend: "
                                      + abbreviate(new String(raw, 0, 0, end)));
            }
            int status = (int) Ascii.decimal(raw, 9, 12);
            if (status < 0 || end > 12 && raw[12] != ' ') {
                throw new IOException("bad status code from backend: " + abbreviate(new String(raw, 0, 0, end)));
            }
            return new ResponseHead(raw, status, end, raw[7] == '0');
        }

        /** Appends the status line for the client: HTTP/1.1, the backend's status code and reason phrase as they came. */
        void writeStatusLine(AsciiBuffer out) {
            out.bytes(HTTP11, 0, HTTP11.length);
            out.bytes(raw, 9, 3);
            out.text(" ");
            if (statusEnd > 13) {
                out.bytes(raw, 13, statusEnd - 13);
            }
            out.text("\r\n");
        }

        private void addHeaderLine(int start, int end) throws IOException {
            int colon = start;
            while (colon < end && raw[colon] != ':') {
                colon++;
            }
            int ne = Ascii.trimOws(raw, start, colon);
            if (colon == end || ne == start) {
                throw new IOException("malformed response header from backend: "
                        + abbreviate(new String(raw, 0, start, end - start)));
            }
            int vs = Ascii.skipOws(raw, colon + 1, end);
            int ve = Ascii.trimOws(raw, vs, end);
            String framing = FRAMING.find(raw, start, ne);
            if (framing == null) {
                // most headers: relayed as they are
            } else if (framing.equals("content-length")) {
                if (ve == vs) {
                    throw new IOException("empty Content-Length from backend");
                }
                contentLength = Ascii.decimal(raw, vs, ve);
                if (contentLength < 0) {
                    throw new IOException("bad Content-Length from backend: " + new String(raw, 0, vs, ve - vs));
                }
            } else if (framing.equals("transfer-encoding")) {
                chunked = value(vs, ve).contains("chunked");
            } else {
                close = value(vs, ve).contains("close");
            }
            if (!HopByHop.dropFromResponse(raw, start, ne)) {
                spans.add(start, ne, vs, ve);
            }
        }

        private String value(int vs, int ve) {
            return new String(raw, 0, vs, ve - vs).toLowerCase(Locale.ROOT);
        }

        void frame(boolean headRequest) {
            noBody = headRequest || status == 204 || status == 304 || (status >= 100 && status < 200);
            if (chunked) {
                contentLength = -1; // RFC 9112 6.3: Transfer-Encoding wins over Content-Length
            }
        }

        int status() {
            return status;
        }

        String reason() {
            return statusEnd > 13 ? new String(raw, 0, 13, statusEnd - 13) : "";
        }

        /** Appends every relayed header as {@code name: value} and CRLF, bytes as they came. */
        void writeHeaders(AsciiBuffer out) {
            for (int k = 0; k < spans.size(); k++) {
                spans.write(raw, k, out);
            }
        }

        /** The relayed headers as {name, value} pairs, in order (for Helidon's response). */
        List<String[]> headers() {
            if (headers == null) {
                headers = spans.pairs(raw);
            }
            return headers;
        }

        long contentLength() {
            return contentLength;
        }

        boolean chunked() {
            return chunked;
        }

        boolean noBody() {
            return noBody;
        }

        boolean keepAlive() {
            return !close && !http10;
        }

        private static String abbreviate(String s) {
            return s.length() > 80 ? s.substring(0, 80) + "..." : s;
        }
    }
}
