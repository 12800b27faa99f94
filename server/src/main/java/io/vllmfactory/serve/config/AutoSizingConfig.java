package io.vllmfactory.serve.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code --num-instances auto}: how the sidecar finds how many instances the GPU takes.
 *
 * @param calibrationRequest a JSON file {@code {"path": ..., "body": ...}} to measure with; empty: one that fits
 *                           the backends' plugin
 * @param minGain            the least share of throughput an added instance must bring to be kept
 * @param stateDir           where the choice is remembered
 * @param recalibrate        measure again even when a choice is remembered
 */
public record AutoSizingConfig(Optional<Path> calibrationRequest, double minGain, Path stateDir, boolean recalibrate) {

    public AutoSizingConfig {
        InvalidValue.check(minGain >= 0 && minGain <= 10, "calibrationMinGain", minGain,
                "0..10, e.g. 0.10 for 10 %");
    }

    /** Whether {@code --num-instances} is {@code auto}. */
    public static boolean auto(Settings s) {
        return s.string("num-instances").map("auto"::equalsIgnoreCase).orElse(false);
    }

    /** The settings of {@code --num-instances auto}, or empty for a fixed number of instances. */
    public static Optional<AutoSizingConfig> from(Settings s) {
        if (!auto(s)) {
            return Optional.empty();
        }
        try {
            return Optional.of(new AutoSizingConfig(s.string("calibration-request").filter(v -> !v.isBlank()).map(Path::of),
                    s.decimal("calibration-min-gain"), Path.of(s.string("state-dir").orElse("state")),
                    s.bool("recalibrate")));
        } catch (InvalidValue e) {
            throw e.in(s);
        }
    }
}
