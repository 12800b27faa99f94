package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.config.SupervisorConfig.Restarts;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * When a failed backend starts again: a pure function of its failure history, no clock or thread inside.
 * The wait doubles from {@link Restarts#backoff()} up to {@link Restarts#backoffMax()}; a backend that had
 * been healthy for {@link Restarts#resetAfter()} before it failed starts afresh; the
 * {@link Restarts#maxFailures()}-th failure within {@link Restarts#window()} makes it FAILED.
 */
final class Backoff {
    private Backoff() {
    }

    /**
     * A backend's failures so far.
     *
     * @param streak   failures since it last stayed healthy long enough
     * @param failures when the failures within the window happened, oldest first
     */
    record History(int streak, List<Instant> failures) {
        static final History NONE = new History(0, List.of());

        History {
            failures = List.copyOf(failures);
        }
    }

    /**
     * What happens after a failure.
     *
     * @param history the history including this failure
     * @param delay   how long to wait before starting again, or null when the backend is FAILED
     */
    record Step(History history, Duration delay) {
        boolean failed() {
            return delay == null;
        }
    }

    /**
     * @param policy     the restart settings
     * @param history    the failures before this one
     * @param now        when this failure happened
     * @param healthyFor how long the backend had been healthy before it failed (zero if it never was)
     */
    static Step afterFailure(Restarts policy, History history, Instant now, Duration healthyFor) {
        History before = healthyFor.compareTo(policy.resetAfter()) >= 0 ? History.NONE : history;
        List<Instant> recent = new ArrayList<>();
        for (Instant t : before.failures()) {
            if (t.isAfter(now.minus(policy.window()))) {
                recent.add(t);
            }
        }
        recent.add(now);
        History after = new History(before.streak() + 1, recent);
        if (recent.size() >= policy.maxFailures()) {
            return new Step(after, null);
        }
        return new Step(after, delay(policy, after.streak()));
    }

    /** The wait before restart number {@code streak} (1 for the first): backoff x 2^(streak-1), capped. */
    static Duration delay(Restarts policy, int streak) {
        long ms = policy.backoff().toMillis();
        long max = policy.backoffMax().toMillis();
        for (int i = 1; i < streak && ms < max; i++) {
            ms *= 2;
        }
        return Duration.ofMillis(Math.min(ms, max));
    }
}
