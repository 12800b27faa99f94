/**
 * Admission: which backend a request goes to, and when. {@link io.vllmfactory.serve.dispatch.admission.Backend}
 * is one instance with its cap (a fair semaphore of max-batch permits);
 * {@link io.vllmfactory.serve.dispatch.admission.BackendPool} is the set of backends and the one
 * first-come-first-served line with late binding. Depends on nothing else in the dispatcher.
 */
package io.vllmfactory.serve.dispatch.admission;
