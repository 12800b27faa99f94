package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.supervise.Sizing.Measurement;

import java.util.List;
import java.util.Locale;

/** Whether to add another instance, given what was measured so far: a pure function of its inputs. */
public final class SizingPolicy {
    private SizingPolicy() {
    }

    /** The next step. */
    public sealed interface Decision {
    }

    /** Add one instance and measure again. */
    public record Add() implements Decision {
    }

    /**
     * Stop: serve with {@code instances}.
     *
     * @param instances the count to keep
     * @param reason    why, in one sentence
     */
    public record Keep(int instances, String reason) implements Decision {
    }

    /**
     * @param table       measurements in the order taken, one instance more each time, starting anywhere
     * @param minGain     the least share of throughput an added instance must bring (0.10 = 10 %)
     * @param roomForMore whether the GPU budget takes another instance
     */
    public static Decision next(List<Measurement> table, double minGain, boolean roomForMore) {
        if (table.isEmpty()) {
            throw new IllegalArgumentException("table: empty (expected: at least one measurement)");
        }
        Measurement best = table.getFirst();
        for (Measurement m : table.subList(1, table.size())) {
            double gain = m.requestsPerSecond() / best.requestsPerSecond() - 1;
            if (gain < minGain) {
                return new Keep(best.instances(), String.format(Locale.ROOT,
                        "%d instances made %.1f req/s, %+.1f %% over %d (less than the %.0f %% asked)",
                        m.instances(), m.requestsPerSecond(), gain * 100, best.instances(), minGain * 100));
            }
            best = m;
        }
        if (roomForMore) {
            return new Add();
        }
        return new Keep(best.instances(), String.format(Locale.ROOT,
                "the GPU memory budget takes no instance beyond %d (%.1f req/s)", best.instances(),
                best.requestsPerSecond()));
    }
}
