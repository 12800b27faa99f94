package io.vllmfactory.serve.autosize;

import java.time.Duration;
import java.util.Locale;

/**
 * {@code --autoscale MIN..MAX}: one step of the decision, a pure function of the settings, what it remembers
 * from earlier samples and the sample now. Up when the wait in line (p90 over the window) has stayed above
 * the target for {@code upAfter}; down when the fleet has been idle (nothing waiting, and the requests in
 * flight would fit in half of one instance fewer) for {@code downAfter}; one change at a time, within
 * MIN..MAX, never down while requests wait.
 */
public final class AutoscalePolicy {
    private AutoscalePolicy() {
    }

    /**
     * @param min        fewest instances
     * @param max        most instances
     * @param waitTarget the p90 wait in line above which more instances are wanted
     * @param upAfter    how long the wait must stay above the target
     * @param downAfter  how long the fleet must stay idle
     */
    public record Settings(int min, int max, Duration waitTarget, Duration upAfter, Duration downAfter) {
        public Settings {
            if (min < 1 || max < min) {
                throw new IllegalArgumentException("autoscale: " + min + ".." + max + " (expected: 1 <= MIN <= MAX)");
            }
        }
    }

    /**
     * What the autoscaler sees at one tick.
     *
     * @param nanos     a monotonic time
     * @param instances instances in the fleet
     * @param changing  whether a fleet change is under way
     * @param waitP90   p90 of the wait in line of the requests that ended within the window
     * @param waiting   requests waiting in line now
     * @param inFlight  requests on backends now
     * @param batch     requests one instance holds at once
     */
    public record Sample(long nanos, int instances, boolean changing, Duration waitP90, int waiting, int inFlight,
                        int batch) {
    }

    /**
     * What the policy remembers between ticks.
     *
     * @param aboveSince since when the wait has been above the target, or -1
     * @param idleSince  since when the fleet has been idle, or -1
     */
    public record Memory(long aboveSince, long idleSince) {
        public static final Memory NONE = new Memory(-1, -1);
    }

    /** The change to make: +1, -1 or 0 instances, and why. */
    public record Decision(int delta, String reason) {
        static final Decision HOLD = new Decision(0, "");
    }

    /** A decision and what to remember for the next tick. */
    public record Step(Decision decision, Memory memory) {
    }

    public static Step decide(Settings s, Memory m, Sample x) {
        if (x.changing()) {
            return new Step(Decision.HOLD, Memory.NONE); // what was seen before the change says little after it
        }
        if (x.instances() < s.min()) {
            return new Step(new Decision(1, "below the minimum of " + s.min()), Memory.NONE);
        }
        if (x.instances() > s.max()) {
            return new Step(new Decision(-1, "above the maximum of " + s.max()), Memory.NONE);
        }
        boolean above = x.waitP90().compareTo(s.waitTarget()) > 0;
        boolean idle = x.waiting() == 0 && x.inFlight() * 2 <= (x.instances() - 1) * x.batch();
        Memory now = new Memory(above ? since(m.aboveSince(), x.nanos()) : -1, idle ? since(m.idleSince(), x.nanos()) : -1);
        if (above && x.instances() < s.max() && x.nanos() - now.aboveSince() >= s.upAfter().toNanos()) {
            return new Step(new Decision(1, String.format(Locale.ROOT,
                    "the p90 wait in line, %d ms, stayed above %d ms for %s", x.waitP90().toMillis(),
                    s.waitTarget().toMillis(), seconds(s.upAfter()))), Memory.NONE);
        }
        if (idle && x.instances() > s.min() && x.nanos() - now.idleSince() >= s.downAfter().toNanos()) {
            return new Step(new Decision(-1, String.format(Locale.ROOT,
                    "idle for %s (nothing waiting, %d in flight)", seconds(s.downAfter()), x.inFlight())), Memory.NONE);
        }
        return new Step(Decision.HOLD, now);
    }

    private static long since(long earlier, long now) {
        return earlier >= 0 ? earlier : now;
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }
}
