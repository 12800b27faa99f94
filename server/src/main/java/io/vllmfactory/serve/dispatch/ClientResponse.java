package io.vllmfactory.serve.dispatch;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Where a backend's answer (or a problem) goes: Helidon's {@code ServerResponse} on the general path
 * ({@link HelidonResponse}), or straight onto the client's socket on the fast path
 * ({@link SocketResponse}). The relay decides the framing; the sink writes it.
 */
interface ClientResponse {
    /** True once any part of an answer went to the client: from then on a failure can only abort. */
    boolean started();

    /**
     * The event loop of the client's connection, whose own backend connections the exchange uses
     * (the fast lane takes only those), or null when it has none (Helidon's connections).
     */
    default Reactor loop() {
        return null;
    }

    /** A whole answer with a body known in advance (possibly empty); one write. */
    void send(Relay.ResponseHead head, ResponseDecoration decoration, byte[] body) throws IOException;

    /**
     * A whole answer whose body, {@code length} bytes, is read from the backend first: nothing
     * reaches the client when that read fails.
     *
     * @throws BodyReadFailure when reading the body failed (the client got nothing)
     * @throws IOException     when writing to the client failed
     */
    default void send(Relay.ResponseHead head, ResponseDecoration decoration, UpstreamConnection body, int length)
            throws BodyReadFailure, IOException {
        byte[] data = new byte[length];
        try {
            body.readFully(data, 0, length);
        } catch (IOException e) {
            throw new BodyReadFailure(e);
        }
        send(head, decoration, data);
    }

    /** Reading a response body from the backend failed before the client got any of the answer. */
    final class BodyReadFailure extends Exception {
        BodyReadFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }

        IOException io() {
            return (IOException) getCause();
        }
    }

    /**
     * Starts a streamed answer and returns its body stream: {@code length} bytes when known, else
     * chunked. {@code flush()} pushes what was written to the client; {@code close()} ends the body.
     */
    OutputStream stream(Relay.ResponseHead head, ResponseDecoration decoration, long length) throws IOException;

    /** An RFC 9457 problem answer. */
    void problem(Problems.Problem problem) throws IOException;
}
