/**
 * The public listener's client connections: Helidon's HTTP/1 parses every request
 * ({@link io.vllmfactory.serve.dispatch.client.ClientConnections} is the listener's only connection
 * selector), with our limits, clocks for slow clients, the watch that lets a waiting request notice
 * its client left, and problem bodies for the requests Helidon refuses
 * ({@link io.vllmfactory.serve.dispatch.client.Refusals}). Depends on Helidon only.
 */
package io.vllmfactory.serve.dispatch.client;
