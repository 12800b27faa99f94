package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.config.SupervisorConfig.Restarts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

class BackoffTest {
    private static final Restarts DEFAULTS = new Restarts(Duration.ofSeconds(1), Duration.ofSeconds(60),
            Duration.ofMinutes(5), 5, Duration.ofMinutes(10));
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @ParameterizedTest(name = "restart {0} waits {1} s")
    @CsvSource({"1, 1", "2, 2", "3, 4", "4, 8", "5, 16", "6, 32", "7, 60", "8, 60", "40, 60"})
    void theWaitDoublesFromOneSecondUpToAMinute(int streak, long seconds) {
        assertThat(Backoff.delay(DEFAULTS, streak), is(Duration.ofSeconds(seconds)));
    }

    @Test
    void failuresInQuickSuccessionWaitLongerEachTimeAndTheFifthWithinTheWindowIsFinal() {
        Restarts policy = DEFAULTS;
        Backoff.History h = Backoff.History.NONE;
        List<Duration> delays = new ArrayList<>();
        Backoff.Step step = null;
        for (int k = 0; k < 5; k++) {
            step = Backoff.afterFailure(policy, h, T0.plusSeconds(30L * k), Duration.ofSeconds(20));
            h = step.history();
            delays.add(step.delay());
        }
        assertThat(delays.subList(0, 4), is(List.of(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4),
                Duration.ofSeconds(8))));
        assertThat(step.failed(), is(true));
        assertThat(step.delay(), is(nullValue()));
    }

    @Test
    void aBackendHealthyForFiveMinutesBeforeItFailsStartsAfresh() {
        Backoff.History h = new Backoff.History(4, List.of(T0, T0.plusSeconds(10), T0.plusSeconds(20), T0.plusSeconds(30)));
        Backoff.Step step = Backoff.afterFailure(DEFAULTS, h, T0.plusSeconds(400), Duration.ofMinutes(5));
        assertThat(step.delay(), is(Duration.ofSeconds(1)));
        assertThat(step.history().streak(), is(1));
        assertThat(step.history().failures(), is(List.of(T0.plusSeconds(400))));
    }

    @Test
    void failuresOlderThanTheWindowNoLongerCountTowardFailed() {
        Backoff.History h = new Backoff.History(4, List.of(T0, T0.plusSeconds(10), T0.plusSeconds(20), T0.plusSeconds(30)));
        Backoff.Step step = Backoff.afterFailure(DEFAULTS, h, T0.plusSeconds(615), Duration.ofMinutes(1));
        assertThat(step.failed(), is(false));
        assertThat(step.history().failures(), is(List.of(T0.plusSeconds(20), T0.plusSeconds(30), T0.plusSeconds(615))));
        assertThat("the streak keeps growing: it never stayed healthy long enough", step.delay(), is(Duration.ofSeconds(16)));
    }
}
