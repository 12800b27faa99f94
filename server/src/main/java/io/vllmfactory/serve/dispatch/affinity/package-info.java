/**
 * Request affinity and the schema-size header: pure functions of a request's bytes
 * ({@link io.vllmfactory.serve.dispatch.affinity.AffinityKey},
 * {@link io.vllmfactory.serve.dispatch.affinity.SchemaSize}) and the LRU table of which backend took
 * each key last ({@link io.vllmfactory.serve.dispatch.affinity.AffinityTable}). Depends on
 * {@code admission} for the backend type only.
 */
package io.vllmfactory.serve.dispatch.affinity;
