package io.vllmfactory.serve.config;

import io.vllmfactory.serve.cli.CommandLine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AutoscaleConfigTest {
    private static Settings settings(String... args) {
        CommandLine cl = CommandLine.parse(args);
        return Settings.resolve(cl.flags(), Map.of(), Optional.empty());
    }

    @Test
    void aRangeWithTheDefaults() {
        AutoscaleConfig c = AutoscaleConfig.from(settings("m", "--autoscale", "2..6")).orElseThrow();

        assertThat(c, is(new AutoscaleConfig(2, 6, Duration.ofMillis(100), Duration.ofSeconds(10),
                Duration.ofSeconds(60), Duration.ofSeconds(10))));
    }

    @Test
    void offUnlessAsked() {
        assertThat(AutoscaleConfig.from(settings("m")), is(Optional.empty()));
    }

    @Test
    void autoscalingRunsTheDispatcherEvenForOneInstance() {
        assertThat(SupervisorConfig.from(settings("m", "--autoscale", "1..2")).direct(), is(false));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "4     | --autoscale: '4' (expected: MIN..MAX, e.g. 1..4)",
            "3..2  | --autoscale: 3..2 (expected: MIN..MAX with 1 <= MIN <= MAX)",
            "0..2  | --autoscale: 0..2 (expected: MIN..MAX with 1 <= MIN <= MAX)",
    })
    void aBadRangeSaysWhatWasExpected(String range, String message) {
        ConfigException e = assertThrows(ConfigException.class,
                () -> AutoscaleConfig.from(settings("m", "--autoscale", range)));

        assertThat(e.getMessage(), is(message));
    }

    @Test
    void autoscaleAndAutoSizingAreOneOrTheOther() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> AutoscaleConfig.from(settings("m", "--autoscale", "1..2", "--num-instances", "auto")));

        assertThat(e.getMessage(), is("--autoscale and --num-instances auto: choose one (--autoscale starts with MIN)"));
    }
}
