package io.vllmfactory.simulator;

import java.util.Objects;

/**
 * Everything one simulator process needs: vLLM's options and the simulator's knobs.
 *
 * @param serve vLLM's flags
 * @param sim   simulated timing and faults
 */
record SimulatorConfig(ServeOptions serve, SimKnobs sim) {
    SimulatorConfig {
        Objects.requireNonNull(serve, "serve");
        Objects.requireNonNull(sim, "sim");
    }
}
