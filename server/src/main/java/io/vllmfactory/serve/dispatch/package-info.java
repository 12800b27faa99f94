/**
 * The dispatcher: the public endpoint that spreads requests over N model-server backends, on one
 * path. Helidon's HTTP/1 server parses every client request (sub-package {@code client} sets its
 * limits and clocks); {@link io.vllmfactory.serve.dispatch.Dispatcher} is the handler, and each
 * request runs {@code Forwarding} on its connection's virtual thread: admission in
 * {@code admission} (one fair semaphore per backend as its cap, one first-come-first-served line
 * with late binding), a pooled connection and a strict HTTP/1.1 exchange in {@code upstream}, the
 * answer relayed through Helidon's response ({@code Relay}), the permit released. Affinity keys and
 * the schema size ({@code affinity}) are pure functions of the request; {@code health} keeps
 * routing verdicts fresh in the background. Failures become answers in one place ({@code Problems}).
 * Sub-packages depend on {@code admission} at most, never on this package; this package depends on
 * {@code config}.
 */
package io.vllmfactory.serve.dispatch;
