package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.Settings;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.hasEntry;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/** The configuration the status reports: typed, complete, and without the secrets backend arguments may hold. */
class ConfigurationReportTest {
    @Test
    void settingsAreReportedTypedAndBackendSecretsRedacted() {
        CommandLine cl = CommandLine.parse(new String[] {"org/model", "--num-instances", "3", "--enable-request-affinity",
                "--gpu-memory-budget", "0.9", "--backend-command", "env HF_TOKEN=hf_abc vllm serve",
                "--", "--api-key", "sk-123", "--max-model-len", "512"});
        Map<String, Object> report = AdminApi.configuration(Settings.resolve(cl.flags(), Map.of(), Optional.empty()));
        assertThat(report, hasEntry("model", "org/model"));
        assertThat(report, hasEntry("num-instances", 3));
        assertThat(report, hasEntry("enable-request-affinity", true));
        assertThat(report, hasEntry("gpu-memory-budget", 0.9));
        assertThat(report, hasEntry("drain-timeout", "30s"));
        assertThat(report, hasEntry("backend-command", List.of("env", "HF_TOKEN=<redacted>", "vllm", "serve")));
        assertThat(report, hasEntry("extra-args", List.of("--api-key", "<redacted>", "--max-model-len", "512")));
        assertThat("unset settings are left out", report, not(hasKey("max-model-len")));
        assertThat(report.toString().contains("sk-123") || report.toString().contains("hf_abc"), is(false));
    }

    @Test
    void secretLookingFlagsAndVariablesLoseTheirValues() {
        assertThat(ConfigurationReport.redact(List.of("--api-key=abc", "--hf-token", "t", "--dtype", "half",
                        "AWS_SECRET_ACCESS_KEY=x", "--password", "--next", "PATH=/bin")),
                is(List.of("--api-key=<redacted>", "--hf-token", "<redacted>", "--dtype", "half",
                        "AWS_SECRET_ACCESS_KEY=<redacted>", "--password", "--next", "PATH=/bin")));
    }
}
