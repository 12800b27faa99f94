/**
 * The dispatcher: the public endpoint that spreads requests over N model-server backends.
 *
 * <p>The public listener's connections are served by the package-private {@code ProxyConnection}
 * (installed by {@link io.vllmfactory.serve.dispatch.ProxyConnectionSelector}): plain requests are
 * parsed from the connection's bytes and answered through {@code SocketResponse}; a connection whose
 * request needs more goes to Helidon's HTTP/1 and so to the same
 * {@link io.vllmfactory.serve.dispatch.Dispatcher}, also a Helidon handler. Either way it asks the
 * {@link io.vllmfactory.serve.dispatch.BackendPool} for a backend with a free slot (requests wait
 * there in arrival order and are bound late, to whichever backend frees a slot first), then the
 * package-private {@code Relay} exchanges the request over a pooled HTTP/1.1 connection and streams
 * the answer back. Client and backend connections are non-blocking channels registered once with
 * one of the event loops ({@code Reactors}, each a {@code Reactor}: a selector and its poller
 * thread). A loop serves a plain request with a free backend itself ({@code FastLane}), with no
 * thread woken between the socket and the work; everything that could wait goes back to the
 * connection's virtual thread, whose waits the poller ends by waking it, so that code reads as
 * blocking code and a wait costs no system call of its own. On Linux the reads and
 * writes themselves are direct {@code recv(2)}/{@code send(2)} calls ({@code NativeSocketIo}), with
 * the channel as the fallback. Affinity keys ({@link io.vllmfactory.serve.dispatch.AffinityKey}) and the schema
 * size ({@link io.vllmfactory.serve.dispatch.SchemaSize}) are pure functions of the request;
 * {@link io.vllmfactory.serve.dispatch.HealthPoller} keeps routing verdicts fresh in the background.
 * This package depends on {@code config} only.
 */
package io.vllmfactory.serve.dispatch;
