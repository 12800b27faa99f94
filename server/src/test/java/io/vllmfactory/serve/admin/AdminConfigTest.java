package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.config.ConfigException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Where the admin token comes from, and when the sidecar must refuse to start. */
class AdminConfigTest {
    private static final String TOKEN = "s3cret-Token_0123456789";

    @ParameterizedTest(name = "{0} is loopback: {1}")
    @CsvSource({
            "127.0.0.1, true", "127.8.9.10, true", "localhost, true", "LocalHost, true", "::1, true",
            "'[::1]', true", "0:0:0:0:0:0:0:1, true",
            "0.0.0.0, false", "::, false", "10.0.0.5, false", "192.168.1.20, false", "127.0.0.256, false",
            "example.com, false", "127.0.0.1.nip.io, false", "localhost.example.com, false", "fe80::1, false"})
    void loopbackIsDecidedWithoutANameLookup(String host, boolean loopback) {
        assertThat(AdminConfig.isLoopback(host), is(loopback));
    }

    @Test
    void aNonLoopbackAdminListenerWithoutATokenIsRefused() {
        AdminConfig open = AdminConfig.of("0.0.0.0", 8001, Optional.empty(), Map.of());
        assertThat(open.exposureProblem().orElseThrow(), is("--admin-host 0.0.0.0 is not a loopback address and"
                + " no admin token is set (expected: set VLLM_FACTORY_ADMIN_TOKEN or --admin-token-file, or keep"
                + " --admin-host on 127.0.0.1)"));
        assertThat(AdminConfig.of("0.0.0.0", 8001, Optional.empty(), Map.of(AdminConfig.TOKEN_ENV, TOKEN))
                .exposureProblem().isPresent(), is(false));
        assertThat(AdminConfig.of("127.0.0.1", 8001, Optional.empty(), Map.of()).exposureProblem().isPresent(),
                is(false));
    }

    @Test
    void theTokenComesFromTheEnvironmentOrAFileAndNeverShowsInToString(@TempDir Path dir) throws Exception {
        AdminConfig fromEnv = AdminConfig.of("127.0.0.1", 8001, Optional.empty(), Map.of(AdminConfig.TOKEN_ENV, TOKEN));
        assertThat(fromEnv.token().orElseThrow().matches(TOKEN), is(true));
        assertThat(fromEnv.toString(), not(containsString(TOKEN)));

        Path file = Files.writeString(dir.resolve("token"), TOKEN + "\n");
        AdminConfig fromFile = AdminConfig.of("127.0.0.1", 8001, Optional.of(file), Map.of());
        assertThat(fromFile.token().orElseThrow().matches(TOKEN), is(true));
        assertThat(fromFile.token().orElseThrow().matches(TOKEN + "x"), is(false));

        assertThat(AdminConfig.of("127.0.0.1", 8001, Optional.empty(), Map.of()).token().isPresent(), is(false));
    }

    @Test
    void aTokenGivenTwiceIsAnError(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("token"), TOKEN);
        ConfigException e = assertThrows(ConfigException.class,
                () -> AdminConfig.of("127.0.0.1", 8001, Optional.of(file), Map.of(AdminConfig.TOKEN_ENV, TOKEN)));
        assertThat(e.getMessage(), containsString("given twice, by VLLM_FACTORY_ADMIN_TOKEN and --admin-token-file"));
    }

    @Test
    void badTokensAreRefusedWithoutEchoingThem(@TempDir Path dir) throws Exception {
        String shortToken = "abc123";
        ConfigException tooShort = assertThrows(ConfigException.class,
                () -> AdminConfig.of("127.0.0.1", 8001, Optional.empty(), Map.of(AdminConfig.TOKEN_ENV, shortToken)));
        assertThat(tooShort.getMessage(), is("VLLM_FACTORY_ADMIN_TOKEN: the admin token has 6 characters"
                + " (expected: at least 16)"));

        String spaced = "two words but long enough";
        ConfigException badChars = assertThrows(ConfigException.class,
                () -> AdminConfig.of("127.0.0.1", 8001, Optional.empty(), Map.of(AdminConfig.TOKEN_ENV, spaced)));
        assertThat(badChars.getMessage(), containsString("characters a bearer token cannot carry"));
        assertThat(badChars.getMessage(), not(containsString(spaced)));

        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        ConfigException emptyFile = assertThrows(ConfigException.class,
                () -> AdminConfig.of("127.0.0.1", 8001, Optional.of(empty), Map.of()));
        assertThat(emptyFile.getMessage(), is("--admin-token-file " + empty + ": the admin token has 0 characters"
                + " (expected: at least 16)"));

        Path missing = dir.resolve("missing");
        ConfigException unreadable = assertThrows(ConfigException.class,
                () -> AdminConfig.of("127.0.0.1", 8001, Optional.of(missing), Map.of()));
        assertThat(unreadable.getMessage(), containsString("--admin-token-file " + missing + ": cannot be read"));
    }

    @Test
    void addressAndPortAreChecked() {
        assertThat(assertThrows(ConfigException.class, () -> new AdminConfig("127.0.0.1", 70000, Optional.empty()))
                .getMessage(), is("--admin-port: 70000 (expected: 0..65535)"));
        assertThat(assertThrows(ConfigException.class, () -> new AdminConfig(" ", 8001, Optional.empty()))
                .getMessage(), containsString("--admin-host"));
    }
}
