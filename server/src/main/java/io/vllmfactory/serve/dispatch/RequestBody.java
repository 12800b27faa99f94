package io.vllmfactory.serve.dispatch;

import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * A client's request body on its way to a backend: held in memory when small enough (then it can be
 * replayed on another backend and keyed for affinity), otherwise streamed once.
 */
final class RequestBody {
    private static final byte[] EMPTY = new byte[0];

    private final byte[] bytes;
    private final InputStream rest;
    private final long length;

    private RequestBody(byte[] bytes, InputStream rest, long length) {
        this.bytes = bytes;
        this.rest = rest;
        this.length = length;
    }

    /** A body read whole already (the fast path reads it with the request head). */
    static RequestBody of(byte[] bytes) {
        return new RequestBody(bytes, null, bytes.length);
    }

    /**
     * Reads the body if it fits in {@code bufferLimit} bytes; a larger one keeps what was read as a
     * prefix in front of the rest of the stream.
     *
     * @throws PayloadTooLargeException when a declared length exceeds {@code maxBodySize} (0 = no cap)
     */
    static RequestBody read(ServerRequest req, int bufferLimit, long maxBodySize) {
        if (!req.content().hasEntity()) {
            return new RequestBody(EMPTY, null, req.headers().contentLength().orElse(-1));
        }
        long declared = req.headers().contentLength().orElse(-1);
        if (maxBodySize > 0 && declared > maxBodySize) {
            throw new PayloadTooLargeException(declared, maxBodySize);
        }
        InputStream in = req.content().inputStream();
        try {
            if (declared >= 0 && declared <= bufferLimit) {
                byte[] b = in.readNBytes((int) declared);
                if (b.length != declared) {
                    throw new ClientAbortException("client sent " + b.length + " of " + declared + " body bytes");
                }
                in.close(); // marks the entity consumed, so the server does not drain it again with a fresh buffer
                return new RequestBody(b, null, declared);
            }
            if (declared >= 0) {
                return new RequestBody(null, in, declared);
            }
            // Chunked: buffer up to the limit to learn whether it is small.
            byte[] prefix = in.readNBytes(bufferLimit + 1);
            if (prefix.length <= bufferLimit) {
                in.close();
                return new RequestBody(prefix, null, prefix.length);
            }
            return new RequestBody(prefix, in, -1);
        } catch (UncheckedIOException e) {
            throw new ClientAbortException("reading the request body failed: " + e.getCause().getMessage());
        } catch (IOException e) {
            throw new ClientAbortException("reading the request body failed: " + e.getMessage());
        }
    }

    /** Whole body in memory: it can be sent again, and keyed for affinity. */
    boolean buffered() {
        return rest == null;
    }

    /** The body bytes when {@link #buffered()}, else the prefix read so far. */
    byte[] bytes() {
        return bytes;
    }

    /** Declared or buffered length, -1 when the client streams it chunked and it is large. */
    long length() {
        return length;
    }

    /** Writes the body to a backend; a streamed body can be written once only. */
    void writeTo(UpstreamConnection conn, long maxBodySize) throws IOException {
        if (rest == null) {
            conn.write(bytes, 0, bytes.length);
            return;
        }
        byte[] buf = new byte[32 * 1024];
        if (length >= 0) {
            long left = length;
            while (left > 0) {
                int n = readClient(buf, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new ClientAbortException("client closed the connection " + left + " bytes before the end of its body");
                }
                conn.write(buf, 0, n);
                left -= n;
            }
            return;
        }
        long total = bytes.length;
        writeChunk(conn, bytes, bytes.length);
        int n;
        while ((n = readClient(buf, buf.length)) > 0) {
            total += n;
            if (maxBodySize > 0 && total > maxBodySize) {
                throw new PayloadTooLargeException(total, maxBodySize);
            }
            writeChunk(conn, buf, n);
        }
        conn.writeAscii("0\r\n\r\n");
    }

    private int readClient(byte[] buf, int len) {
        try {
            return rest.read(buf, 0, len);
        } catch (UncheckedIOException e) {
            throw new ClientAbortException("reading the request body failed: " + e.getCause().getMessage());
        } catch (IOException e) {
            throw new ClientAbortException("reading the request body failed: " + e.getMessage());
        }
    }

    private static void writeChunk(UpstreamConnection conn, byte[] data, int len) throws IOException {
        if (len == 0) {
            return;
        }
        conn.writeAscii(Integer.toHexString(len));
        conn.writeAscii("\r\n");
        conn.write(data, 0, len);
        conn.writeAscii("\r\n");
    }
}
