package io.vllmfactory.serve.config;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --autoscale MIN..MAX}: how the fleet follows the load.
 *
 * @param min        fewest instances (the fleet starts with them)
 * @param max        most instances (memory shares are sized for them from the start)
 * @param waitTarget the p90 wait in line above which more instances are wanted
 * @param upAfter    how long the wait must stay above the target before one is added
 * @param downAfter  how long the fleet must be idle before one is removed
 * @param window     the time the p90 wait is taken over
 */
public record AutoscaleConfig(int min, int max, Duration waitTarget, Duration upAfter, Duration downAfter,
                              Duration window) {
    private static final Pattern RANGE = Pattern.compile("\\s*(\\d{1,4})\\s*\\.\\.\\s*(\\d{1,4})\\s*");

    public AutoscaleConfig {
        InvalidValue.check(min >= 1 && max >= min, "autoscale", min + ".." + max, "MIN..MAX with 1 <= MIN <= MAX");
        InvalidValue.check(upAfter.toMillis() >= 1, "autoscaleUpAfter", upAfter, ">= 1ms");
        InvalidValue.check(downAfter.toMillis() >= 1, "autoscaleDownAfter", downAfter, ">= 1ms");
        InvalidValue.check(window.toMillis() >= 1, "autoscaleWindow", window, ">= 1ms");
    }

    /** The autoscaling settings, or empty without {@code --autoscale}. */
    public static Optional<AutoscaleConfig> from(Settings s) {
        Optional<String> range = s.string("autoscale").filter(v -> !v.isBlank());
        if (range.isEmpty()) {
            return Optional.empty();
        }
        Matcher m = RANGE.matcher(range.get());
        if (!m.matches()) {
            throw s.invalid("autoscale", "'" + range.get() + "'", "MIN..MAX, e.g. 1..4");
        }
        if (AutoSizingConfig.auto(s)) {
            throw new ConfigException("--autoscale and --num-instances auto: choose one (--autoscale starts with MIN)");
        }
        try {
            return Optional.of(new AutoscaleConfig(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    s.duration("autoscale-wait-target"), s.duration("autoscale-up-after"),
                    s.duration("autoscale-down-after"), s.duration("autoscale-window")));
        } catch (InvalidValue e) {
            throw e.in(s);
        }
    }
}
