/**
 * vllm-factory-serve: a sidecar that runs a fleet of model-server instances behind one endpoint.
 * {@link io.vllmfactory.serve.Main} is the composition root; {@link io.vllmfactory.serve.Sidecar}
 * owns the running parts and their orderly stop.
 */
package io.vllmfactory.serve;
