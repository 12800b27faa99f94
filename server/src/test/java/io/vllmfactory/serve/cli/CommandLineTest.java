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
    void helpListsEverySetting() {
        String usage = CommandLine.usage();
        SettingTable.ALL.forEach(s -> assertThat(usage, containsString(s.flag())));
    }
}
