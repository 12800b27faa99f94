package io.vllmfactory.serve.dispatch;

import io.helidon.http.Status;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A {@link ClientResponse} written straight onto the client's socket by the fast path
 * ({@link ProxyConnection}): the status line and headers are encoded once into one buffer, and a
 * small answer leaves in a single write.
 */
final class SocketResponse implements ClientResponse {
    private static final int BUFFER = 16 * 1024;
    private static final String SCHEMA_SIZE = ResponseDecoration.SCHEMA_SIZE.defaultCase();

    private final ClientChannel channel;
    private boolean close;
    private final boolean http10;
    private final AsciiBuffer buf;
    private boolean started;

    /**
     * @param buf    where the answer is encoded before each write: the connection's, empty, reused
     * @param close  whether the connection closes after this answer (then the answer says so)
     * @param http10 an HTTP/1.0 client: a body of unknown length is sent as it comes, ended by closing
     */
    SocketResponse(ClientChannel channel, AsciiBuffer buf, boolean close, boolean http10) {
        this.channel = channel;
        this.buf = buf;
        this.close = close;
        this.http10 = http10;
    }

    @Override
    public boolean started() {
        return started;
    }

    @Override
    public Reactor loop() {
        return channel.readiness().reactor();
    }

    @Override
    public void send(Relay.ResponseHead head, ResponseDecoration decoration, byte[] body) throws IOException {
        long length = head.noBody() ? head.contentLength() : body.length;
        buf.ensure(512 + body.length);
        head(head, decoration, bodiless(head.status()) ? -2 : length);
        if (!head.noBody()) {
            buf.bytes(body, 0, body.length);
        }
        flush();
    }

    /** The body is read straight into the answer buffer, behind the head: one copy, no array of its own. */
    @Override
    public void send(Relay.ResponseHead head, ResponseDecoration decoration, UpstreamConnection body, int length)
            throws BodyReadFailure, IOException {
        buf.ensure(512 + length);
        head(head, decoration, length);
        try {
            buf.readFrom(body, length);
        } catch (IOException e) {
            buf.clear(); // nothing was sent: the answer can still be a problem, or come from another backend
            started = false;
            throw new BodyReadFailure(e);
        }
        flush();
    }

    @Override
    public OutputStream stream(Relay.ResponseHead head, ResponseDecoration decoration, long length) {
        if (length < 0 && http10) {
            close = true; // HTTP/1.0 has no chunked coding: the end of the body is the end of the connection
            head(head, decoration, -2);
            return new Plain();
        }
        head(head, decoration, length);
        return length >= 0 ? new Plain() : new Chunked();
    }

    @Override
    public void problem(Problems.Problem p) throws IOException {
        byte[] body = p.body();
        statusLine(p.status(), Status.create(p.status()).reasonPhrase());
        buf.header("Content-Type", Problems.CONTENT_TYPE);
        if (p.retryAfter() != null) {
            buf.header("Retry-After", p.retryAfter());
        }
        buf.header("Content-Length", body.length);
        close |= p.close();
        connectionHeader();
        buf.text("\r\n");
        buf.bytes(body, 0, body.length);
        flush();
    }

    /** Whether the connection closes after this answer. */
    boolean close() {
        return close;
    }

    /**
     * Encodes the status line and headers of a whole answer into the buffer, for the fast lane,
     * which appends the body and writes it itself.
     */
    void encodeHead(Relay.ResponseHead head, ResponseDecoration decoration, int bodyLength) {
        long length = head.noBody() ? head.contentLength() : bodyLength;
        buf.ensure(512 + bodyLength);
        head(head, decoration, bodiless(head.status()) ? -2 : length);
    }

    /** @param length the body length to declare, -1 for chunked, -2 for none (1xx, 204, 304, or until close) */
    private void head(Relay.ResponseHead head, ResponseDecoration decoration, long length) {
        started = true;
        head.writeStatusLine(buf);
        head.writeHeaders(buf);
        byte[] lines = decoration.backend().decorationLines(decoration.affinity());
        buf.bytes(lines, 0, lines.length);
        if (decoration.schemaSize() >= 0) {
            buf.header(SCHEMA_SIZE, decoration.schemaSize());
        }
        if (length >= 0) {
            buf.header("Content-Length", length);
        } else if (length == -1) {
            buf.header("Transfer-Encoding", "chunked");
        }
        connectionHeader();
        buf.text("\r\n");
    }

    /** HTTP/1.1 closes only when told; HTTP/1.0 keeps the connection only when told. */
    private void connectionHeader() {
        if (close) {
            buf.header("Connection", "close");
        } else if (http10) {
            buf.header("Connection", "keep-alive");
        }
    }

    private static boolean bodiless(int status) {
        return status < 200 || status == 204 || status == 304;
    }

    private void statusLine(int status, String reason) {
        started = true;
        buf.text("HTTP/1.1 ");
        buf.text(Integer.toString(status));
        buf.text(" ");
        buf.text(reason);
        buf.text("\r\n");
    }

    /** Writes what is buffered to the client, in one write. */
    private void flush() throws IOException {
        if (buf.length() == 0) {
            return;
        }
        try {
            channel.write(buf.array(), 0, buf.length());
        } finally {
            buf.clear();
        }
    }

    /** Bytes of a body whose length the head declared: written as they come, flushed on request. */
    private final class Plain extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (buf.length() + len > BUFFER) {
                SocketResponse.this.flush();
            }
            buf.bytes(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            SocketResponse.this.flush();
        }

        @Override
        public void close() throws IOException {
            SocketResponse.this.flush();
        }
    }

    /** A body of unknown length, sent chunked: each write is a chunk. */
    private final class Chunked extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return;
            }
            if (buf.length() + len + 16 > BUFFER) {
                SocketResponse.this.flush();
            }
            buf.text(Integer.toHexString(len));
            buf.text("\r\n");
            buf.bytes(b, off, len);
            buf.text("\r\n");
        }

        @Override
        public void flush() throws IOException {
            SocketResponse.this.flush();
        }

        @Override
        public void close() throws IOException {
            buf.text("0\r\n\r\n");
            SocketResponse.this.flush();
        }
    }
}
