package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.autosize.AutoscalePolicy.Memory;
import io.vllmfactory.serve.autosize.AutoscalePolicy.Sample;
import io.vllmfactory.serve.autosize.AutoscalePolicy.Settings;
import io.vllmfactory.serve.autosize.AutoscalePolicy.Step;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AutoscalePolicyTest {
    private static final long S = 1_000_000_000L;
    /** 1..3 instances; up after 2 s with a p90 wait above 50 ms; down after 5 s idle. */
    private static final Settings SETTINGS = new Settings(1, 3, Duration.ofMillis(50), Duration.ofSeconds(2),
            Duration.ofSeconds(5));

    /**
     * Feeds ticks one second apart, each {@code instances/changing/p90 ms/waiting/inFlight} (batch 8), and
     * returns the deltas decided, e.g. {@code 0 0 1}.
     */
    private static String run(String ticks) {
        Memory memory = Memory.NONE;
        List<String> deltas = new ArrayList<>();
        long t = 0;
        for (String tick : ticks.trim().split("\\s+")) {
            String[] f = tick.split("/");
            Sample sample = new Sample(t, Integer.parseInt(f[0]), f[1].equals("y"),
                    Duration.ofMillis(Long.parseLong(f[2])), Integer.parseInt(f[3]), Integer.parseInt(f[4]), 8);
            Step step = AutoscalePolicy.decide(SETTINGS, memory, sample);
            memory = step.memory();
            deltas.add(Integer.toString(step.decision().delta()));
            t += S;
        }
        return String.join(" ", deltas);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            // case                                   | ticks: instances/changing/p90 ms/waiting/in flight | deltas
            "a long wait for the set time adds one     | 1/n/80/5/8 1/n/90/6/8 1/n/90/6/8               | 0 0 1",
            "a wait that drops below resets the clock  | 1/n/80/5/8 1/n/10/0/8 1/n/90/6/8 1/n/90/6/8    | 0 0 0 0",
            "a wait at the target is not above it      | 1/n/50/0/8 1/n/50/0/8 1/n/50/0/8               | 0 0 0",
            "no instance beyond the maximum            | 3/n/90/6/24 3/n/90/6/24 3/n/90/6/24            | 0 0 0",
            "nothing while a change runs               | 1/n/90/6/8 1/n/90/6/8 2/y/90/6/8 2/n/90/6/16   | 0 0 0 0",
            "idle for the set time removes one         | 2/n/0/0/0 2/n/0/0/0 2/n/0/0/0 2/n/0/0/0 2/n/0/0/0 2/n/0/0/0 | 0 0 0 0 0 -1",
            "load that needs both keeps both           | 2/n/0/0/6 2/n/0/0/6 2/n/0/0/6 2/n/0/0/6 2/n/0/0/6 2/n/0/0/6 | 0 0 0 0 0 0",
            "never below the minimum                   | 1/n/0/0/0 1/n/0/0/0 1/n/0/0/0 1/n/0/0/0 1/n/0/0/0 1/n/0/0/0 | 0 0 0 0 0 0",
            "never down while requests wait            | 2/n/0/1/0 2/n/0/1/0 2/n/0/1/0 2/n/0/1/0 2/n/0/1/0 2/n/0/1/0 | 0 0 0 0 0 0",
            "below the minimum grows at once           | 0/n/0/0/0                                      | 1",
            "above the maximum shrinks at once         | 4/n/0/0/0                                      | -1",
    })
    void decides(String name, String ticks, String deltas) {
        assertThat(run(ticks), is(deltas.trim()));
    }

    @Test
    void theReasonSaysWhatWasSeen() {
        Step first = AutoscalePolicy.decide(SETTINGS, Memory.NONE,
                new Sample(0, 1, false, Duration.ofMillis(120), 4, 8, 8));
        Step second = AutoscalePolicy.decide(SETTINGS, first.memory(),
                new Sample(2 * S, 1, false, Duration.ofMillis(130), 4, 8, 8));

        assertThat(second.decision().reason(), is("the p90 wait in line, 130 ms, stayed above 50 ms for 2.0 s"));
    }

    @Test
    void aRangeWithMaxBelowMinIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Settings(3, 2, Duration.ZERO, Duration.ZERO, Duration.ZERO));

        assertThat(e.getMessage(), is("autoscale: 3..2 (expected: 1 <= MIN <= MAX)"));
    }
}
