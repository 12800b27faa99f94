/**
 * The dispatcher: the public endpoint that spreads requests over N model-server backends.
 *
 * <p>{@link io.vllmfactory.serve.dispatch.Dispatcher} is the Helidon handler; it asks the
 * {@link io.vllmfactory.serve.dispatch.BackendPool} for a backend with a free slot (requests wait
 * there in arrival order and are bound late, to whichever backend frees a slot first), then the
 * package-private {@code Relay} exchanges the request over a pooled HTTP/1.1 connection and streams
 * the answer back. Affinity keys ({@link io.vllmfactory.serve.dispatch.AffinityKey}) and the schema
 * size ({@link io.vllmfactory.serve.dispatch.SchemaSize}) are pure functions of the request;
 * {@link io.vllmfactory.serve.dispatch.HealthPoller} keeps routing verdicts fresh in the background.
 * This package depends on {@code config} only.
 */
package io.vllmfactory.serve.dispatch;
