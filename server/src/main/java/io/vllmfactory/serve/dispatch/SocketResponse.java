package io.vllmfactory.serve.dispatch;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataWriter;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/**
 * A {@link ClientResponse} written straight onto the client's socket by the fast path
 * ({@link ProxyConnection}): the status line and headers are encoded once into one buffer, and a
 * small answer leaves in a single write.
 */
final class SocketResponse implements ClientResponse {
    private static final int BUFFER = 16 * 1024;

    private final DataWriter writer;
    private boolean close;
    private byte[] buf = new byte[0]; // sized on first use: most answers are a few hundred bytes
    private int pos;
    private boolean started;

    /** @param close whether the connection closes after this answer (then the answer says so) */
    SocketResponse(DataWriter writer, boolean close) {
        this.writer = writer;
        this.close = close;
    }

    @Override
    public boolean started() {
        return started;
    }

    @Override
    public void send(Relay.ResponseHead head, ResponseDecoration decoration, byte[] body) throws IOException {
        long length = head.noBody() ? head.contentLength() : body.length;
        ensure(512 + body.length);
        head(head, decoration, bodiless(head.status()) ? -2 : length);
        if (!head.noBody()) {
            append(body, 0, body.length);
        }
        flush();
    }

    @Override
    public OutputStream stream(Relay.ResponseHead head, ResponseDecoration decoration, long length) {
        head(head, decoration, length);
        return length >= 0 ? new Plain() : new Chunked();
    }

    @Override
    public void problem(Problems.Problem p) throws IOException {
        byte[] body = p.body();
        statusLine(p.status(), reason(p.status()));
        header("Content-Type", Problems.CONTENT_TYPE);
        if (p.retryAfter() != null) {
            header("Retry-After", p.retryAfter());
        }
        header("Content-Length", Integer.toString(body.length));
        close |= p.close();
        if (close) {
            header("Connection", "close");
        }
        ascii("\r\n");
        append(body, 0, body.length);
        flush();
    }

    /** Whether the connection closes after this answer. */
    boolean close() {
        return close;
    }

    /** @param length the body length to declare, -1 for chunked, -2 for none (1xx, 204, 304) */
    private void head(Relay.ResponseHead head, ResponseDecoration decoration, long length) {
        statusLine(head.status(), head.reason());
        List<String[]> headers = head.headers();
        for (int i = 0; i < headers.size(); i++) {
            String[] h = headers.get(i);
            header(h[0], h[1]);
        }
        header("X-VLLM-Factory-Backend-Index", Integer.toString(decoration.backend().id()));
        header("X-VLLM-Factory-Affinity-State", decoration.affinity().text());
        if (decoration.schemaSize() >= 0) {
            header("X-VLLM-Factory-Schema-Size", Integer.toString(decoration.schemaSize()));
        }
        if (length >= 0) {
            header("Content-Length", Long.toString(length));
        } else if (length == -1) {
            header("Transfer-Encoding", "chunked");
        }
        if (close) {
            header("Connection", "close");
        }
        ascii("\r\n");
    }

    private static boolean bodiless(int status) {
        return status < 200 || status == 204 || status == 304;
    }

    private void statusLine(int status, String reason) {
        started = true;
        ascii("HTTP/1.1 ");
        ascii(Integer.toString(status));
        ascii(" ");
        ascii(reason);
        ascii("\r\n");
    }

    private void header(String name, String value) {
        ascii(name);
        ascii(": ");
        ascii(value);
        ascii("\r\n");
    }

    private void ascii(String s) {
        int len = s.length();
        ensure(len);
        for (int i = 0; i < len; i++) {
            buf[pos++] = (byte) s.charAt(i);
        }
    }

    private void ensure(int extra) {
        if (pos + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(Math.max(buf.length * 2, 1024), pos + extra));
        }
    }

    private void append(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, pos, len);
        pos += len;
    }

    /** Writes what is buffered to the client, in one write. */
    private void flush() throws IOException {
        if (pos == 0) {
            return;
        }
        try {
            writer.writeNow(BufferData.create(buf, 0, pos));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } catch (RuntimeException e) {
            throw new IOException("writing to the client failed: " + e.getMessage(), e);
        } finally {
            pos = 0;
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
            if (pos + len > BUFFER) {
                SocketResponse.this.flush();
            }
            append(b, off, len);
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
            if (pos + len + 16 > BUFFER) {
                SocketResponse.this.flush();
            }
            ascii(Integer.toHexString(len));
            ascii("\r\n");
            append(b, off, len);
            ascii("\r\n");
        }

        @Override
        public void flush() throws IOException {
            SocketResponse.this.flush();
        }

        @Override
        public void close() throws IOException {
            ascii("0\r\n\r\n");
            SocketResponse.this.flush();
        }
    }

    static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 413 -> "Content Too Large";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            default -> "Error";
        };
    }
}
