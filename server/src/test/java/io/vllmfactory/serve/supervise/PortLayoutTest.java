package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PortLayoutTest {
    static SupervisorConfig config(String... flags) {
        String[] args = new String[flags.length + 1];
        args[0] = "m";
        System.arraycopy(flags, 0, args, 1, flags.length);
        return SupervisorConfig.from(Settings.resolve(CommandLine.parse(args).flags(), Map.of(), Optional.empty()));
    }

    @Test
    void backendsTakeConsecutivePortsFromPortStart() {
        assertThat(PortLayout.initial(config("--num-instances", "3", "--port-start", "9100")), is(List.of(9100, 9101, 9102)));
    }

    @Test
    void aSingleBackendWithoutAlwaysProxyTakesThePublicPort() {
        assertThat(PortLayout.initial(config("--port", "8000")), is(List.of(8000)));
        assertThat(PortLayout.initial(config("--port", "8000", "--always-proxy")), is(List.of(9100)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "--port 9102 --num-instances 4 | --port: 9102 is among the backend ports 9100..9103 (--port-start 9100,"
            + " --num-instances 4) (expected: a port outside them, or another --port-start)",
            "--admin-port 9100 --num-instances 2 | --admin-port: 9100 is among the backend ports 9100..9101"
            + " (--port-start 9100, --num-instances 2) (expected: a port outside them, or another --port-start)",
            "--admin-port 8000 --port 8000 | --admin-port: 8000 is also --port (expected: a port of its own)",
    })
    void overlappingPortsAreNamed(String flags, String message) {
        SupervisorConfig c = config(flags.split(" "));
        ConfigException e = assertThrows(ConfigException.class, () -> PortLayout.checkOverlap(c));
        assertThat(e.getMessage(), is(message));
    }

    @Test
    void portsNextToTheRangeAreFine() {
        assertDoesNotThrow(() -> PortLayout.checkOverlap(config("--port", "9099", "--admin-port", "9104",
                "--num-instances", "4")));
        assertDoesNotThrow(() -> PortLayout.checkOverlap(config("--port", "9100", "--num-instances", "1")));
    }

    @ParameterizedTest(name = "used {1}, reserved {2} -> {3}")
    @CsvSource(delimiter = '|', value = {
            "9100 |                | 8000      | 9100",
            "9100 | 9100 9101      | 8000      | 9102",
            "9100 | 9100 9102      | 8000      | 9101",
            "9100 | 9100           | 9101 8001 | 9102",
            "65535| 65535          | 8000      | -1",
    })
    void newInstancesGetTheLowestPortNothingUses(int start, String used, String reserved, int next) {
        assertThat(PortLayout.next(start, ints(used), ints(reserved)), is(next));
    }

    private static Set<Integer> ints(String s) {
        if (s == null || s.isBlank()) {
            return Set.of();
        }
        return Set.copyOf(java.util.Arrays.stream(s.trim().split("\\s+")).map(Integer::valueOf).toList());
    }
}
