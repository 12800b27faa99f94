/**
 * A stand-in for {@code vllm serve}: a separate process that accepts vLLM's command line, pretends to load a
 * model, reserves a share of a pretend GPU, and answers vLLM's HTTP API (health, models, pooling, embeddings,
 * completions with SSE streaming, Prometheus metrics) with deterministic outputs and simulated timing.
 *
 * <p>{@link io.vllmfactory.simulator.Main} is the composition root. {@code CommandLine} turns arguments and
 * {@code VLLM_SIM_*} environment variables into {@code ServeOptions} (vLLM's flags) and {@code SimKnobs}
 * (latency and fault injection); {@code Simulator} runs the start-up sequence and owns the web server;
 * {@code GpuLedger} shares one memory budget between instances on the same pretend GPU through a locked file.
 * The HTTP surface is split by audience: {@code InfoService} (what vLLM answers about itself),
 * {@code InferenceService} (the model endpoints: checked by {@code RequestChecks}, admitted through
 * {@code Scheduler}, answered by the deterministic {@code FakeModel} and {@code Generation}) and
 * {@code SimService} (test hooks under {@code /sim}); {@code TrafficFilter} wraps them all. {@code Stats},
 * {@code Scheduler} and {@code Faults} hold the only mutable runtime state, one set per server.
 */
package io.vllmfactory.simulator;
