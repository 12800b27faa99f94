package io.vllmfactory.serve.config;

import io.vllmfactory.serve.cli.CommandLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SettingsTest {
    @TempDir
    Path dir;

    @Test
    void flagsBeatEnvironmentWhichBeatsTheFileWhichBeatsDefaults() throws Exception {
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), """
                port: 7000
                max-batch-size: 16
                max-queue: 5
                backend-urls:
                  - http://127.0.0.1:9100
                  - http://127.0.0.1:9101
                """);
        CommandLine cl = CommandLine.parse("--config", yaml.toString(), "--port", "7100");
        Settings s = Settings.resolve(cl.flags(), Map.of("VLLM_FACTORY_PORT", "7200", "VLLM_FACTORY_MAX_BATCH_SIZE", "8"),
                cl.config());
        DispatcherConfig c = DispatcherConfig.from(s);
        assertThat(c.port(), is(7100));
        assertThat(c.maxBatchSize(), is(8));
        assertThat(c.maxQueue(), is(5));
        assertThat(c.upstreamTimeout(), is(Duration.ofSeconds(300)));
        assertThat(c.backendUrls(), contains(URI.create("http://127.0.0.1:9100"), URI.create("http://127.0.0.1:9101")));
    }

    @Test
    void aRepeatedFlagReplacesTheWholeListFromTheFile() throws Exception {
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), """
                backend-urls: [http://127.0.0.1:9100, http://127.0.0.1:9101, http://127.0.0.1:9102]
                """);
        CommandLine cl = CommandLine.parse("--config", yaml.toString(), "--backend-url", "http://127.0.0.1:9200");
        DispatcherConfig c = DispatcherConfig.from(Settings.resolve(cl.flags(), Map.of(), cl.config()));
        assertThat(c.backendUrls(), contains(URI.create("http://127.0.0.1:9200")));
    }

    @Test
    void anUnknownKeyInTheFileIsNamed() throws Exception {
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), "max-batch: 4\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> Settings.resolve(Map.of(), Map.of(), Optional.of(yaml)));
        assertThat(e.getMessage(), containsString("unknown key 'max-batch'"));
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
            "--max-batch-size | 0        | --max-batch-size: 0 (expected: >= 1)",
            "--max-batch-size | many     | --max-batch-size: 'many' (expected: an integer)",
            "--port           | 70000    | --port: 70000 (expected: 0..65535)",
            "--queue-timeout  | soon     | --queue-timeout: 'soon' (expected: a duration such as 30s, 5m or 500ms)",
            "--max-body-size  | 10 pages | --max-body-size: '10pages' (expected: a size such as 1MiB, 512KiB or 65536)",
            "--backend-url    | ftp://x  | --backend-url: 'ftp://x' (expected: http://host:port, e.g. http://127.0.0.1:9100)",
            "--enable-request-affinity=maybe | | --enable-request-affinity: 'maybe' (expected: true or false)",
            "--poison-limit   | 0        | --poison-limit: 0 (expected: >= 1)",
            "--client-header-timeout | 5ms | --client-header-timeout: PT0.005S (expected: >= 10ms)",
            "--max-request-line | 10    | --max-request-line: 10 (expected: 64B..64MiB)",
            "--max-headers    | 0        | --max-headers: 0 (expected: >= 1)",
            "--max-client-connections | -3 | --max-client-connections: -3 (expected: >= 1)",
    })
    void aBadValueFailsWithTheFlagAndWhatWasExpected(String flag, String value, String message) {
        String[] args = value == null ? new String[] {flag} : new String[] {flag, value};
        ConfigException e = assertThrows(ConfigException.class, () -> DispatcherConfig.from(
                Settings.resolve(CommandLine.parse(args).flags(), Map.of(), Optional.empty())));
        assertThat(e.getMessage(), is(message));
    }

    @Test
    void theClientConnectionCapFollowsTheHeapUnlessSet() {
        DispatcherConfig auto = DispatcherConfig.from(Settings.resolve(Map.of(), Map.of(), Optional.empty()));
        assertThat((long) auto.clients().maxConnections(),
                is(Math.clamp(Runtime.getRuntime().maxMemory() / (32 * 1024), 256L, 1_000_000L)));
        DispatcherConfig set = DispatcherConfig.from(Settings.resolve(
                CommandLine.parse("--max-client-connections", "300").flags(), Map.of(), Optional.empty()));
        assertThat(set.clients().maxConnections(), is(300));
    }

    @Test
    void aBadValueFromTheEnvironmentNamesTheVariable() {
        ConfigException e = assertThrows(ConfigException.class, () -> DispatcherConfig.from(
                Settings.resolve(Map.of(), Map.of("VLLM_FACTORY_MAX_QUEUE", "-1"), Optional.empty())));
        assertThat(e.getMessage(), is("environment variable VLLM_FACTORY_MAX_QUEUE: -1 (expected: >= 0)"));
    }

    @ParameterizedTest(name = "{0} = {1} ms")
    @CsvSource({"300s, 300000", "5m, 300000", "500ms, 500", "1.5, 1500", "2h, 7200000", "0, 0"})
    void durationsReadAsPeopleWriteThem(String text, long millis) {
        Settings s = Settings.resolve(Map.of("queue-timeout", text), Map.of(), Optional.empty());
        assertThat(s.duration("queue-timeout").toMillis(), is(millis));
    }

    @ParameterizedTest(name = "{0} = {1} bytes")
    @CsvSource({"1MiB, 1048576", "512KiB, 524288", "100MB, 100000000", "65536, 65536", "2 GiB, 2147483648"})
    void sizesReadAsPeopleWriteThem(String text, long bytes) {
        Settings s = Settings.resolve(Map.of("max-body-size", text), Map.of(), Optional.empty());
        assertThat(s.size("max-body-size"), is(bytes));
    }

    @Test
    void listsFromTheEnvironmentAreCommaSeparated() {
        Settings s = Settings.resolve(Map.of(), Map.of("VLLM_FACTORY_BACKEND_URLS", "http://a:1, http://b:2"), Optional.empty());
        assertThat(s.list("backend-urls"), is(List.of("http://a:1", "http://b:2")));
    }
}
