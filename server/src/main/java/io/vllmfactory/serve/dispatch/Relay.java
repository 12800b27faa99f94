package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.affinity.AffinityState;
import io.vllmfactory.serve.dispatch.upstream.ResponseBody;
import io.vllmfactory.serve.dispatch.upstream.ResponseHead;
import io.vllmfactory.serve.dispatch.upstream.UpstreamConnection;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Relays one backend answer to the client through Helidon's response: status and reason phrase,
 * every end-to-end header, the dispatcher's own headers, and the body.
 *
 * <p>A body of known length up to {@link #WHOLE} is read whole before anything goes to the client,
 * so a backend that fails in it costs the client nothing (the request may go to another backend).
 * Anything else streams: bytes go out as they come and are flushed whenever the backend has no more
 * ready, so server-sent events arrive one by one. Once any byte of a streamed answer went out, a
 * failure can only abort the client's connection ({@link AbortedAnswer}): the client never sees a
 * cut answer end cleanly. An HTTP/1.0 client, which cannot read chunked coding, gets a body of
 * unknown length read whole first and sent with its length.
 */
final class Relay {
    static final HeaderName BACKEND_INDEX = HeaderNames.create("X-VLLM-Factory-Backend-Index");
    static final HeaderName AFFINITY_STATE = HeaderNames.create("X-VLLM-Factory-Affinity-State");
    static final HeaderName SCHEMA_SIZE = HeaderNames.create("X-VLLM-Factory-Schema-Size");
    /** Bodies up to this size are read whole and sent in one write with the head. */
    static final int WHOLE = 64 * 1024;
    /** Most an HTTP/1.0 client's unframed answer may hold (read whole before it is sent). */
    private static final int MAX_HTTP10_BODY = 64 * 1024 * 1024;

    private Relay() {
    }

    /** The backend's answer after its head came: {@link #started()} once any of it went to the client. */
    static final class Answer {
        private final ServerResponse res;
        private boolean started;

        Answer(ServerResponse res) {
            this.res = res;
        }

        boolean started() {
            return started || res.isSent();
        }
    }

    /** A streamed answer failed after part of it went to the client: its connection must be aborted. */
    static final class AbortedAnswer extends RuntimeException {
        AbortedAnswer(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }

    /**
     * Relays the answer whose head was just read from {@code conn}. From here on the relay owns the
     * connection: it gives it back after a whole answer, and closes it on any failure.
     *
     * @throws UpstreamException    when the backend failed before anything reached the client
     * @throws AbortedAnswer        when the backend failed after part of the answer reached the client
     * @throws ClientAbortException when the client went away
     */
    static void relay(UpstreamConnection conn, ResponseHead head, Answer answer, Backend backend,
                      AffinityState affinity, int schemaSize, boolean http10) throws UpstreamException {
        ResponseBody body = conn.body(head);
        ServerResponse res = answer.res;
        byte[] whole;
        if (head.noBody()) {
            whole = new byte[0];
        } else if (body.lengthKnown() && body.length() <= WHOLE || http10 && !body.lengthKnown()) {
            try {
                whole = readWhole(body, body.lengthKnown() ? (int) body.length() : -1);
            } catch (UpstreamException | RuntimeException e) {
                conn.close();
                throw e;
            }
        } else {
            // The first piece is read before the head goes out: a backend that fails right away
            // still costs the client nothing.
            byte[] buf = new byte[16 * 1024];
            int first;
            try {
                first = body.read(buf, 0, buf.length);
                head(res, head, backend, affinity, schemaSize);
                if (body.lengthKnown()) {
                    res.headers().contentLength(body.length());
                }
            } catch (UpstreamException | RuntimeException e) {
                conn.close();
                throw e;
            }
            stream(conn, body, answer, buf, first);
            return;
        }
        conn.release(); // the whole answer is read: the connection may serve another request meanwhile
        head(res, head, backend, affinity, schemaSize);
        if (head.noBody() && head.contentLength() > 0) {
            res.headers().contentLength(head.contentLength()); // HEAD: the length a GET would have
        }
        send(answer, whole);
    }

    private static void head(ServerResponse res, ResponseHead head, Backend backend, AffinityState affinity,
                             int schemaSize) {
        res.status(Status.create(head.status(), head.reason()));
        ServerResponseHeaders headers = res.headers();
        List<String[]> fields = head.headers();
        for (int i = 0; i < fields.size(); i++) {
            String[] f = fields.get(i);
            headers.add(HeaderValues.create(f[0], f[1]));
        }
        headers.set(HeaderValues.create(BACKEND_INDEX, backend.id()));
        headers.set(HeaderValues.create(AFFINITY_STATE, affinity.text()));
        if (schemaSize >= 0) {
            headers.set(HeaderValues.create(SCHEMA_SIZE, schemaSize));
        }
    }

    private static byte[] readWhole(ResponseBody body, int length) throws UpstreamException {
        if (length >= 0) {
            byte[] b = new byte[length];
            int off = 0;
            while (off < length) {
                int n = body.read(b, off, length - off);
                if (n < 0) {
                    break; // cannot happen: a short body throws
                }
                off += n;
            }
            body.read(b, 0, 0); // the end
            return b;
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[16 * 1024];
        int n;
        while ((n = body.read(buf, 0, buf.length)) >= 0) {
            out.write(buf, 0, n);
            if (out.size() > MAX_HTTP10_BODY) {
                throw new UpstreamException.BadResponse("an answer of unknown length past "
                        + MAX_HTTP10_BODY + " bytes cannot be framed for an HTTP/1.0 client");
            }
        }
        return out.toByteArray();
    }

    private static void send(Answer answer, byte[] body) {
        answer.started = true;
        try {
            answer.res.send(body);
        } catch (UncheckedIOException | io.helidon.webserver.ServerConnectionException e) {
            throw new ClientAbortException("writing the answer to the client failed: " + e.getMessage());
        }
    }

    private static void stream(UpstreamConnection conn, ResponseBody body, Answer answer, byte[] buf, int first) {
        OutputStream out;
        answer.started = true;
        try {
            out = answer.res.outputStream();
        } catch (RuntimeException e) {
            conn.close();
            throw new ClientAbortException("the answer could not be started: " + e.getMessage());
        }
        try {
            int n = first;
            while (n >= 0) {
                out.write(buf, 0, n);
                if (!body.ready()) {
                    out.flush();
                }
                n = body.read(buf, 0, buf.length);
            }
            conn.release();
            out.close();
        } catch (UpstreamException e) {
            conn.close();
            throw new AbortedAnswer(e.getMessage(), e);
        } catch (IOException | UncheckedIOException | io.helidon.webserver.ServerConnectionException e) {
            conn.close();
            throw new ClientAbortException("writing the answer to the client failed: " + e.getMessage());
        }
    }
}
