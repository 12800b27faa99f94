package io.vllmfactory.serve.supervise;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How {@code --num-instances auto} chose the fleet's size, for operators.
 *
 * @param state     {@code calibrating} while measuring, {@code measured} once chosen by measuring,
 *                  {@code remembered} when taken from the state file, or {@code failed}
 * @param instances the chosen count (while calibrating: the best so far)
 * @param reason    why this count, in one sentence
 * @param table     requests per second measured by instance count, in the order measured
 * @param stateFile where the choice is remembered
 */
public record Sizing(String state, int instances, String reason, List<Measurement> table, Optional<String> stateFile) {

    public Sizing {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(reason, "reason");
        table = List.copyOf(table);
        Objects.requireNonNull(stateFile, "stateFile");
    }

    /**
     * One measurement.
     *
     * @param instances         instances serving
     * @param requestsPerSecond their throughput with the calibration request
     */
    public record Measurement(int instances, double requestsPerSecond) {
    }
}
