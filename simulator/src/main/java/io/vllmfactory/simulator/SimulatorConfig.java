package io.vllmfactory.simulator;

import java.util.Objects;
import java.util.Optional;

/**
 * Everything one simulator process needs: vLLM's options and the simulator's knobs.
 *
 * @param serve vLLM's flags
 * @param sim   simulated timing and faults
 * @param gpu   how batches take time on a shared pretend GPU; empty: each request takes the service time
 */
record SimulatorConfig(ServeOptions serve, SimKnobs sim, Optional<GpuModel> gpu) {
    SimulatorConfig {
        Objects.requireNonNull(serve, "serve");
        Objects.requireNonNull(sim, "sim");
        Objects.requireNonNull(gpu, "gpu");
    }
}
