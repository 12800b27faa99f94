package io.vllmfactory.serve.cli;

import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.SettingTable;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CommandLineTest {
    @Test
    void readsModelFlagsAndExtraBackendArguments() {
        CommandLine cl = CommandLine.parse("urchade/gliner_multi-v2.1", "--port=9000", "--enable-request-affinity",
                "--backend-url", "http://a:1", "--backend-url", "http://b:2", "--", "--foo", "bar");
        assertThat(cl.model().orElseThrow(), is("urchade/gliner_multi-v2.1"));
        assertThat(cl.flags().get("port"), is("9000"));
        assertThat(cl.flags().get("enable-request-affinity"), is("true"));
        assertThat(cl.flags().get("backend-urls"), is(List.of("http://a:1", "http://b:2")));
        assertThat(cl.extra(), is(List.of("--foo", "bar")));
    }

    @Test
    void anUnknownFlagSaysWhereBackendArgumentsGo() {
        ConfigException e = assertThrows(ConfigException.class, () -> CommandLine.parse("--max-batch", "4"));
        assertThat(e.getMessage(), is("unknown flag --max-batch (see --help; arguments for the backends go after --)"));
    }

    @Test
    void aFlagWithoutItsValueIsNamed() {
        ConfigException e = assertThrows(ConfigException.class, () -> CommandLine.parse("--port", "--host", "x"));
        assertThat(e.getMessage(), is("--port needs a value (see --help)"));
    }

    @Test
    void theModelAndTheWordsAfterDoubleDashAreSettingsToo() {
        CommandLine cl = CommandLine.parse("BAAI/bge-m3", "--num-instances", "4", "--", "--seed", "7");
        assertThat(cl.flags().get("model"), is("BAAI/bge-m3"));
        assertThat(cl.flags().get("extra-args"), is(List.of("--seed", "7")));
    }

    @Test
    void aCommandLineFlagTakesTheNextArgumentEvenWhenItLooksLikeAFlag() {
        CommandLine cl = CommandLine.parse("m", "--backend-fixed-args", "--disable-log-stats", "--port", "9000");
        assertThat(cl.flags().get("backend-fixed-args"), is("--disable-log-stats"));
        assertThat(cl.flags().get("port"), is("9000"));
    }

    @Test
    void everySwitchHasANoFormThatTurnsItOff() {
        assertThat(CommandLine.parse("m", "--no-trust-remote-code").flags().get("trust-remote-code"), is("false"));
        assertThat(CommandLine.parse("m", "--no-enforce-eager").flags().get("enforce-eager"), is("false"));
        ConfigException e = assertThrows(ConfigException.class, () -> CommandLine.parse("m", "--no-trust-remote-code=1"));
        assertThat(e.getMessage(), is("--no-trust-remote-code takes no value (expected: --no-trust-remote-code alone,"
                + " or --trust-remote-code=1)"));
        assertThat(assertThrows(ConfigException.class, () -> CommandLine.parse("m", "--no-port")).getMessage(),
                is("unknown flag --no-port (see --help; arguments for the backends go after --)"));
    }

    @Test
    void aModelGivenTwiceIsRefused() {
        ConfigException e = assertThrows(ConfigException.class, () -> CommandLine.parse("a", "--model", "b"));
        assertThat(e.getMessage(), is("MODEL is given twice: 'a' and --model b"));
    }

    @Test
    void helpGroupsTheSettingsAndShowsWhereBackendArgumentsGo() {
        String usage = CommandLine.usage();
        assertThat(usage, containsString("Backends (the Python vllm-factory-serve's flags and defaults, for vLLM >= 0.19):"));
        assertThat(usage, containsString("written for vLLM >= 0.19"));
        assertThat(usage, containsString("--trust-remote-code, --no-trust-remote-code"));
        assertThat(usage, containsString("-- ARGS..."));
        assertThat(usage, containsString("--num-instances INT"));
        assertThat(usage, containsString("[default: vllm serve]"));
    }

    @Test
    void helpListsEverySetting() {
        String usage = CommandLine.usage();
        SettingTable.ALL.forEach(s -> assertThat(usage, containsString(s.flag())));
    }
}
