package io.vllmfactory.serve.supervise;

import java.util.Optional;

/**
 * What {@code --autoscale MIN..MAX} sees and last did, for operators.
 *
 * @param min        fewest instances
 * @param max        most instances
 * @param waitP90Ms  p90 wait in line over the window, in milliseconds
 * @param waiting    requests waiting in line now
 * @param changes    changes it made since start
 * @param lastChange its last change and why, e.g. {@code 1 -> 2: the p90 wait in line, ...}
 */
public record Autoscaling(int min, int max, double waitP90Ms, int waiting, long changes, Optional<String> lastChange) {
}
