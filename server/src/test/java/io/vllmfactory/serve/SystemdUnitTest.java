package io.vllmfactory.serve;

import io.vllmfactory.serve.config.Settings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The systemd unit in {@code systemd/}: systemd's own checker accepts it, and its timeouts fit the
 * sidecar's settings as the unit runs it (its environment file over {@code config/gpu-vm.yaml}) and by
 * default, so a changed default or example cannot leave systemd killing a sidecar that is still draining.
 */
class SystemdUnitTest {
    private static final String INSTALLED_LAUNCHER = "/opt/vllm-factory-serve/bin/vllm-factory-serve";
    private static final Pattern TIME_PART = Pattern.compile("(\\d+)\\s*(ms|s|sec|m|min|h|hr)?\\s*");

    @TempDir
    Path dir;

    @Test
    void systemdAnalyzeVerifiesTheUnit() throws Exception {
        Path analyze = systemdAnalyze();
        Path copy = checkableCopy();
        Ran verify = run(analyze.toString(), "verify", "--man=no", copy.toString());
        assertThat(verify.output(), verify.status(), is(0));
        // unknown keys and unparsable values are warnings only (exit 0): none may name the unit
        List<String> aboutTheUnit = verify.output().lines().filter(l -> l.contains("vllm-factory-serve")).toList();
        assertThat(verify.output(), aboutTheUnit, is(empty()));
    }

    @Test
    void systemdAnalyzeSecurityRatesTheSandboxBelowMedium() throws Exception {
        Path analyze = systemdAnalyze();
        assumeTrue(run(analyze.toString(), "--help").output().contains("--offline"),
                "this systemd-analyze has no --offline (systemd < 250): the sandbox is not rated");
        // exposure 0..10 (systemd prints 3.7 for this unit, 9.2 for one without a sandbox); --threshold
        // takes it times 10 and fails above it
        Ran security = run(analyze.toString(), "security", "--offline=true", "--threshold=50",
                checkableCopy().toString());
        assertThat(security.output(), security.status(), is(0));
        assertThat(security.output(), security.output().contains("Overall exposure level for vllm-factory-serve.service"),
                is(true));
    }

    @Test
    void theUnitWaitsForReadyAndStopsThroughTheSidecarWithTheGpuReachable() throws IOException {
        Map<String, List<String>> unit = unit();
        assertThat(unit.get("Type"), contains("notify"));
        assertThat("systemd-notify is a child of the sidecar", unit.get("NotifyAccess"), contains("all"));
        assertThat(unit.get("KillMode"), contains("mixed"));
        assertThat(unit.get("KillSignal"), contains("SIGTERM"));
        assertThat(unit.get("Restart"), contains("on-failure"));
        assertThat("a user of its own", unit.get("User"), contains("vllm"));
        assertThat(unit.get("ProtectSystem"), contains("strict"));
        assertThat(unit.get("NoNewPrivileges"), contains("yes"));
        assertThat(unit.get("LogsDirectory"), contains("vllm-factory-serve"));
        for (String hidesTheGpu : List.of("PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock")) {
            assertThat(hidesTheGpu + " would hide /dev/nvidia*", unit.keySet(), not(hasItem(hidesTheGpu)));
        }
    }

    @Test
    void theStopTimeoutOutlastsTheDrainAndTheStopGraceAndTheStartOutlastsEveryLoad() throws IOException {
        Map<String, List<String>> unit = unit();
        Duration stop = systemdTime(unit.get("TimeoutStopSec").getFirst());
        Duration start = systemdTime(unit.get("TimeoutStartSec").getFirst());
        Path config = RepoFiles.root().resolve(configOf(unit.get("ExecStart").getFirst()));
        Map<String, Settings> cases = new LinkedHashMap<>();
        cases.put("the defaults", Settings.resolve(Map.of(), Map.of(), Optional.empty()));
        cases.put("the unit's environment file over " + config, Settings.resolve(Map.of(),
                environmentFile(RepoFiles.file("systemd/vllm-factory-serve.env")), Optional.of(config)));
        cases.forEach((what, s) -> {
            Duration stopping = s.duration("drain-timeout").plus(s.duration("stop-grace"));
            assertThat("TimeoutStopSec " + stop + " > drain-timeout + stop-grace with " + what, stop,
                    greaterThan(stopping));
            Duration loading = s.duration("startup-timeout").multipliedBy(s.integer("num-instances"));
            assertThat("TimeoutStartSec " + start + " >= num-instances x startup-timeout with " + what, start,
                    greaterThanOrEqualTo(loading));
        });
    }

    private static Path systemdAnalyze() {
        Optional<Path> analyze = RepoFiles.onPath("systemd-analyze");
        assumeTrue(analyze.isPresent(), "systemd-analyze is not installed (apt-get install systemd): unit not checked");
        return analyze.get();
    }

    /**
     * The unit as systemd-analyze can check it here: it requires ExecStart's program to exist and be
     * executable, and the unit names where it is installed (/opt/...), so the copy names this checkout's
     * launcher instead.
     */
    private Path checkableCopy() throws IOException {
        String unit = Files.readString(RepoFiles.file("systemd/vllm-factory-serve.service"));
        assertThat("the unit starts the installed launcher", unit.contains("ExecStart=" + INSTALLED_LAUNCHER + " "),
                is(true));
        Path copy = dir.resolve("vllm-factory-serve.service");
        Files.writeString(copy, unit.replace("ExecStart=" + INSTALLED_LAUNCHER,
                "ExecStart=" + RepoFiles.file("bin/vllm-factory-serve")));
        return copy;
    }

    private record Ran(int status, String output) {
    }

    /** Runs a command to its end: its exit status and its output (stdout and stderr together). */
    private static Ran run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(String.join(" ", cmd) + " finishes", p.waitFor(30, TimeUnit.SECONDS), is(true));
        return new Ran(p.exitValue(), out);
    }

    /** The unit's {@code Key=value} lines, every section together, values in order. */
    private static Map<String, List<String>> unit() throws IOException {
        Map<String, List<String>> keys = new LinkedHashMap<>();
        for (String line : Files.readAllLines(RepoFiles.file("systemd/vllm-factory-serve.service"))) {
            int eq = line.indexOf('=');
            if (line.isBlank() || line.startsWith("#") || line.startsWith("[") || eq < 0) {
                continue;
            }
            keys.computeIfAbsent(line.substring(0, eq).strip(), k -> new ArrayList<>()).add(line.substring(eq + 1).strip());
        }
        return keys;
    }

    /** The path after {@code --config}, relative to the install folder. */
    private static Path configOf(String execStart) {
        String[] words = execStart.split("\\s+");
        for (int k = 0; k + 1 < words.length; k++) {
            if (words[k].equals("--config")) {
                return Path.of("/opt/vllm-factory-serve").relativize(Path.of(words[k + 1]));
            }
        }
        throw new AssertionError("no --config in " + execStart);
    }

    /** {@code KEY=value} lines as systemd's EnvironmentFile= reads them (no quotes used here). */
    private static Map<String, String> environmentFile(Path file) throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            int eq = line.indexOf('=');
            if (!line.isBlank() && !line.startsWith("#") && eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return env;
    }

    /** A systemd time span such as {@code 90}, {@code 90s}, {@code 1min 30s} or {@code 1h} (bare numbers: seconds). */
    static Duration systemdTime(String value) {
        String v = value.strip();
        Matcher m = TIME_PART.matcher(v);
        Duration total = Duration.ZERO;
        int end = 0;
        while (m.lookingAt()) {
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            total = total.plus(switch (unit) {
                case "ms" -> Duration.ofMillis(n);
                case "m", "min" -> Duration.ofMinutes(n);
                case "h", "hr" -> Duration.ofHours(n);
                default -> Duration.ofSeconds(n);
            });
            end = m.end();
            m.region(end, v.length());
        }
        if (end == 0 || end != v.length()) {
            throw new AssertionError("not a finite systemd time span: '" + value + "'");
        }
        return total;
    }
}
