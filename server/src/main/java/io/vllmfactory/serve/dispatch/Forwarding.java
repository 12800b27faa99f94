package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;
import io.vllmfactory.serve.dispatch.admission.NoBackendException;
import io.vllmfactory.serve.dispatch.admission.Tried;
import io.vllmfactory.serve.dispatch.affinity.AffinityKey;
import io.vllmfactory.serve.dispatch.affinity.AffinityState;
import io.vllmfactory.serve.dispatch.affinity.SchemaSize;
import io.vllmfactory.serve.dispatch.client.ClientConnection;
import io.vllmfactory.serve.dispatch.upstream.ResponseHead;
import io.vllmfactory.serve.dispatch.upstream.Upstream;
import io.vllmfactory.serve.dispatch.upstream.UpstreamConnection;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * One client request on the dispatcher's one path, on its connection's virtual thread:
 * <ol>
 *   <li>admission: a permit of a backend with room, or a place in the line (given up if the client
 *       leaves);</li>
 *   <li>a pooled connection to that backend;</li>
 *   <li>the request written, its body streamed;</li>
 *   <li>the answer relayed, streamed;</li>
 *   <li>the permit released.</li>
 * </ol>
 * A backend that fails before any byte of its answer went to the client is taken out of routing
 * and the request goes to another one, ahead of the line, never back to the one that just failed.
 * A backend that could not be reached never saw the request; one that died while it held the
 * request counts towards the poison limit, at which the request gets 502 and goes nowhere else.
 * With no backend left that it may use, the request waits for one up to the unavailable timeout.
 */
final class Forwarding {
    private final Dispatcher dispatcher;
    private final ServerRequest req;
    private final Relay.Answer answer;
    private final ClientConnection client;
    private final boolean http10;
    private final RequestEvents events;
    private long waitedNanos;
    private Backend answeredBy;
    private int status;

    Forwarding(Dispatcher dispatcher, ServerRequest req, ServerResponse res, ClientConnection client) {
        this.dispatcher = dispatcher;
        this.req = req;
        this.answer = new Relay.Answer(res);
        this.client = client;
        this.http10 = client != null && client.http10();
        this.events = dispatcher.events();
    }

    /**
     * Forwards the request and relays the answer.
     *
     * @throws Exception whatever ended it without an answer from a backend (see {@link Problems})
     */
    void run() throws Exception {
        if (dispatcher.draining()) {
            throw new DrainingException();
        }
        String rawPath = req.prologue().uriPath().rawPath();
        if (dispatcher.refused(rawPath)) {
            throw new ForbiddenPathException(rawPath);
        }
        checkHead();
        boolean keyed = dispatcher.affinityEnabled();
        RequestBody body = RequestBody.read(req, dispatcher.bufferLimit(keyed), dispatcher.config().maxBodySize());
        ForwardedRequest request = ForwardedRequest.of(req, body);
        keyed &= body.buffered() && body.bytes().length <= dispatcher.config().affinityBodyLimit();
        String key = keyed ? AffinityKey.of(request.method(), request.rawPath(), request.rawQuery(), body.bytes()) : null;
        int schemaSize = body.buffered() ? SchemaSize.of(body.bytes()) : -1;
        attempt(request, body, key, key != null ? dispatcher.affinity().get(key) : null, schemaSize);
    }

    /** What Helidon's parser leaves to us: one Host for HTTP/1.1, and the header count. */
    private void checkHead() {
        int hosts = req.headers().all(HeaderNames.HOST, java.util.List::of).size();
        if (!http10 && hosts != 1 || http10 && hosts > 1) {
            throw new BadRequestException(400, hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                    : "the request has " + hosts + " Host headers (expected: one)");
        }
        int fields = 0;
        for (var h : req.headers()) {
            fields += h.valueCount();
        }
        if (fields > dispatcher.config().clients().maxHeaders()) {
            throw new BadRequestException(431, "the request has " + fields + " header fields, more than the limit of "
                    + dispatcher.config().clients().maxHeaders() + " (max-headers)");
        }
    }

    private void attempt(ForwardedRequest request, RequestBody body, String key, Backend pinned, int schemaSize)
            throws Exception {
        BackendPool pool = dispatcher.pool();
        Config c = new Config(dispatcher);
        BackendPool.ClientWatch watch = client == null ? null : client::watchWhileWaiting;
        Tried tried = null;
        int died = 0;
        UpstreamException last = null;
        while (true) {
            Backend backend;
            long queued = System.nanoTime();
            try {
                backend = pool.acquire(pinned, tried, c.queueTimeoutNanos, c.unavailableNanos, watch);
                waitedNanos += System.nanoTime() - queued;
            } catch (NoBackendException e) {
                waitedNanos += System.nanoTime() - queued;
                throw last != null ? last : e; // a retry with no backend left: the failure is the answer
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DrainingException();
            }
            try {
                AffinityState state = AffinityState.of(key != null, pinned, backend);
                answeredBy = backend;
                status = exchange(backend, request, body, state, schemaSize);
                dispatcher.served(backend, key, state);
                return;
            } catch (UpstreamException.Unreachable | UpstreamException.Lost e) {
                dispatcher.failedOn(backend, key, e);
                if (e instanceof UpstreamException.Lost && ++died >= c.poisonLimit) {
                    dispatcher.poisoned();
                    throw new PoisonException(died, e.getMessage());
                }
                if (!body.replayable()) {
                    throw e;
                }
                tried = tried == null ? new Tried() : tried;
                tried.add(backend);
                last = e;
                pinned = null;
                dispatcher.retried();
            } catch (UpstreamException.BadResponse e) {
                backend.markBadResponse();
                throw e;
            } finally {
                pool.release(backend);
            }
        }
    }

    /**
     * One try on one backend; a pooled connection the backend had closed while idle is replaced.
     *
     * @return the status of the backend's answer, relayed
     */
    private int exchange(Backend backend, ForwardedRequest request, RequestBody body, AffinityState state,
                         int schemaSize) throws UpstreamException {
        Upstream upstream = dispatcher.upstream(backend);
        UpstreamConnection conn = upstream.take();
        ResponseHead head;
        while (true) {
            try {
                request.writeHead(conn, dispatcher.hostLine(backend));
                body.writeTo(conn, dispatcher.config().maxBodySize());
                conn.flush();
                long sent = System.nanoTime();
                head = conn.readHead(request.head());
                events.firstByte(backend, System.nanoTime() - sent);
                break;
            } catch (UpstreamException.Lost e) {
                conn.close();
                if (!e.reusedIdle() || !body.replayable()) {
                    throw e;
                }
                conn = upstream.take();
            } catch (UpstreamException | RuntimeException e) {
                conn.close();
                throw e;
            }
        }
        Relay.relay(conn, head, answer, backend, state, schemaSize, http10);
        return head.status();
    }

    /** Whether any of the answer went to the client (then a failure can only abort its connection). */
    boolean answerStarted() {
        return answer.started();
    }

    /** The backend whose answer was relayed, or null. */
    Backend answeredBy() {
        return answeredBy;
    }

    /** The status relayed from the backend, or 0 when none was. */
    int status() {
        return status;
    }

    /** The request's time in line, over all its attempts. */
    long waitedNanos() {
        return waitedNanos;
    }

    /** The settings an attempt loop reads, converted once. */
    private record Config(long queueTimeoutNanos, long unavailableNanos, int poisonLimit) {
        Config(Dispatcher d) {
            this(d.config().queueTimeout().toNanos(), d.config().unavailableTimeout().toNanos(),
                    d.config().poisonLimit());
        }
    }
}
