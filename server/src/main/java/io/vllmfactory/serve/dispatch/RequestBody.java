package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.dispatch.upstream.UpstreamConnection;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException;

import io.helidon.http.RequestException;
import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * A client's request body on its way to a backend: read whole when it is small enough (then it can
 * be sent again to another backend and keyed for affinity), else streamed once, as it arrives.
 */
final class RequestBody {
    private static final byte[] EMPTY = new byte[0];
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final byte[] bytes;
    private final InputStream rest;
    private final long length;
    private final boolean entity;
    private boolean consumed;

    private RequestBody(byte[] bytes, InputStream rest, long length, boolean entity) {
        this.bytes = bytes;
        this.rest = rest;
        this.length = length;
        this.entity = entity;
    }

    /**
     * Reads the body if it fits in {@code bufferLimit} bytes; a larger one keeps what was read as a
     * prefix in front of the rest of the stream.
     *
     * @throws PayloadTooLargeException when a declared length exceeds {@code maxBodySize} (0 = no cap)
     * @throws BadRequestException      when the client's chunked framing is malformed
     * @throws ClientAbortException     when the client stops sending before the end
     */
    static RequestBody read(ServerRequest req, int bufferLimit, long maxBodySize) {
        long declared = req.headers().contentLength().orElse(-1);
        if (!req.content().hasEntity()) {
            return new RequestBody(EMPTY, null, 0, declared >= 0);
        }
        if (maxBodySize > 0 && declared > maxBodySize) {
            throw new PayloadTooLargeException(declared, maxBodySize);
        }
        InputStream in = req.content().inputStream();
        try {
            if (declared >= 0 && declared <= bufferLimit) {
                byte[] b = new byte[(int) declared]; // read in place: no chunk list to join
                int got = in.readNBytes(b, 0, b.length);
                if (got != declared) {
                    throw new ClientAbortException("the client sent " + got + " of " + declared + " body bytes");
                }
                in.close(); // the entity is consumed: the server does not drain it again
                return new RequestBody(b, null, declared, true);
            }
            if (declared >= 0) {
                return new RequestBody(null, in, declared, true);
            }
            // Chunked: buffered up to the limit, to learn whether it is small.
            byte[] prefix = in.readNBytes(bufferLimit + 1);
            if (prefix.length <= bufferLimit) {
                in.close();
                return new RequestBody(prefix, null, prefix.length, true);
            }
            return new RequestBody(prefix, in, -1, true);
        } catch (RuntimeException | IOException e) {
            throw clientFailure(e);
        }
    }

    /** Whole body in memory: it can be sent again, and keyed for affinity. */
    boolean buffered() {
        return rest == null;
    }

    /** Whether it can (still) be sent to a backend: buffered, or streamed and not begun. */
    boolean replayable() {
        return rest == null || !consumed;
    }

    /** The body bytes when {@link #buffered()}. */
    byte[] bytes() {
        return bytes;
    }

    /** The framing header line for the backend request, CRLF included; empty for no body at all. */
    String framing() {
        if (buffered()) {
            return bytes.length > 0 || entity ? "Content-Length: " + bytes.length + "\r\n" : "";
        }
        return length >= 0 ? "Content-Length: " + length + "\r\n" : "Transfer-Encoding: chunked\r\n";
    }

    /**
     * Writes the body to a backend (a streamed body can be written once only).
     *
     * @throws UpstreamException    when the backend connection fails
     * @throws ClientAbortException when the client stops sending, or sends broken framing
     */
    void writeTo(UpstreamConnection conn, long maxBodySize) throws UpstreamException {
        if (rest == null) {
            conn.write(bytes, 0, bytes.length);
            return;
        }
        consumed = true;
        byte[] buf = new byte[32 * 1024];
        if (length >= 0) {
            long left = length;
            while (left > 0) {
                int n = readClient(buf, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new ClientAbortException("the client closed its connection " + left + " bytes before the end"
                            + " of its body");
                }
                conn.write(buf, 0, n);
                left -= n;
            }
            return;
        }
        long total = bytes.length;
        writeChunk(conn, bytes, bytes.length);
        int n;
        while ((n = readClient(buf, buf.length)) >= 0) {
            total += n;
            if (maxBodySize > 0 && total > maxBodySize) {
                throw new PayloadTooLargeException(total, maxBodySize);
            }
            writeChunk(conn, buf, n);
        }
        conn.write(LAST_CHUNK, 0, LAST_CHUNK.length);
    }

    private int readClient(byte[] buf, int len) {
        try {
            return rest.read(buf, 0, len);
        } catch (RuntimeException | IOException e) {
            throw clientFailure(e);
        }
    }

    /**
     * A failure reading the client's body: its framing (400, 413), or the client went away. Helidon
     * 4.5's chunk decoder reads a whole chunk-size line as hex, so a chunk extension or a bad size
     * surfaces as a NumberFormatException; trailers as a RequestException.
     */
    private static RuntimeException clientFailure(Exception e) {
        if (e instanceof RequestException re) {
            return new BadRequestException(re.status().code() == 413 ? 413 : 400,
                    "the request body's framing is malformed or unsupported: " + re.getMessage());
        }
        if (e instanceof NumberFormatException) {
            return new BadRequestException(400, "the request body has a chunk size that is not plain hex digits"
                    + " (chunk extensions are not accepted): " + e.getMessage());
        }
        if (e instanceof ClientAbortException | e instanceof PayloadTooLargeException) {
            return (RuntimeException) e;
        }
        Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
        return new ClientAbortException("reading the request body failed: " + cause.getMessage());
    }

    private static void writeChunk(UpstreamConnection conn, byte[] data, int len) throws UpstreamException {
        if (len == 0) {
            return;
        }
        conn.writeAscii(Integer.toHexString(len) + "\r\n");
        conn.write(data, 0, len);
        conn.writeAscii("\r\n");
    }
}
