/**
 * The dispatcher's HTTP/1.1 client to its backends: keep-alive connections per backend
 * ({@link io.vllmfactory.serve.dispatch.upstream.Upstream}) over blocking sockets on the request's
 * virtual thread, and one strict reader of answers
 * ({@link io.vllmfactory.serve.dispatch.upstream.ResponseHead},
 * {@link io.vllmfactory.serve.dispatch.upstream.ResponseBody}) that refuses whatever a proxy could
 * read two ways and never takes a cut body for a whole one. Depends on nothing else in the
 * dispatcher.
 */
package io.vllmfactory.serve.dispatch.upstream;
