package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.config.SupervisorConfig.BackendSpec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CalibrationRequestTest {
    @TempDir
    Path dir;

    private static BackendSpec backend(String... args) {
        CommandLine cl = CommandLine.parse(args);
        return SupervisorConfig.from(Settings.resolve(cl.flags(), Map.of(), Optional.empty())).backend();
    }

    @Test
    void aGlinerPluginGetsTextAndLabels() {
        CalibrationRequest r = CalibrationRequest.of(Optional.empty(),
                backend("org/gliner", "--io-processor-plugin", "mmbert_gliner_io"));

        assertThat(r.path(), is("/pooling"));
        assertThat(r.body(), startsWith("{\"model\":\"org/gliner\",\"data\":{\"text\":\"Apple Inc."));
        assertThat(r.body(), containsString("\"labels\":[\"person\",\"organization\",\"location\"]"));
    }

    @Test
    void noPluginPoolsAnInputUnderTheServedName() {
        CalibrationRequest r = CalibrationRequest.of(Optional.empty(),
                backend("org/embed", "--served-model-name", "embed"));

        assertThat(r.body(), startsWith("{\"model\":\"embed\",\"input\":\"Apple Inc."));
    }

    @Test
    void aFileGivesThePathAndBody() throws Exception {
        Path file = Files.writeString(dir.resolve("c.json"), "{\"path\": \"/v1/embeddings\", \"body\": {\"input\": \"x\"}}");

        CalibrationRequest r = CalibrationRequest.of(Optional.of(file), backend("m"));

        assertThat(r, is(new CalibrationRequest("/v1/embeddings", "{\"input\":\"x\"}")));
    }

    @Test
    void aFileWithoutPathAndBodyIsRefusedWithTheExpectedShape() throws Exception {
        Path file = Files.writeString(dir.resolve("c.json"), "{\"input\": \"x\"}");

        ConfigException e = assertThrows(ConfigException.class, () -> CalibrationRequest.of(Optional.of(file), backend("m")));

        assertThat(e.getMessage(), is("--calibration-request: " + file + " holds no path and body (expected: a JSON"
                + " object {\"path\": \"/pooling\", \"body\": {...}})"));
    }

    @Test
    void aMissingFileIsRefused() {
        Path file = dir.resolve("missing.json");

        ConfigException e = assertThrows(ConfigException.class, () -> CalibrationRequest.of(Optional.of(file), backend("m")));

        assertThat(e.getMessage(), startsWith("--calibration-request: cannot read " + file));
    }
}
