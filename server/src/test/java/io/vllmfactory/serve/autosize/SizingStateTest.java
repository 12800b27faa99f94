package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.supervise.Sizing;
import io.vllmfactory.serve.supervise.Sizing.Measurement;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

class SizingStateTest {
    @TempDir
    Path dir;

    private static SupervisorConfig supervision(String... args) {
        CommandLine cl = CommandLine.parse(args);
        return SupervisorConfig.from(Settings.resolve(cl.flags(), Map.of(), Optional.empty()));
    }

    private SizingState state(double minGain, String... args) {
        SupervisorConfig c = supervision(args);
        return SizingState.of(dir, c, CalibrationRequest.of(Optional.empty(), c.backend()), minGain);
    }

    private static Sizing measured() {
        return new Sizing("measured", 3, "4 instances made 150.0 req/s, +2.0 % over 3 (less than the 10 % asked)",
                List.of(new Measurement(1, 100), new Measurement(2, 130), new Measurement(3, 147.1),
                        new Measurement(4, 150)), Optional.empty());
    }

    @Test
    void aWrittenChoiceIsReadBackAsRemembered() throws Exception {
        state(0.1, "m", "--io-processor-plugin", "mmbert_gliner_io").write(measured());

        Sizing read = state(0.1, "m", "--io-processor-plugin", "mmbert_gliner_io").read().orElseThrow();

        assertThat(read.state(), is("remembered"));
        assertThat(read.instances(), is(3));
        assertThat(read.table(), is(measured().table()));
        assertThat(read.reason(), startsWith("4 instances made 150.0 req/s"));
    }

    @Test
    void anotherModelPluginGpuOrSettingIsMeasuredAnew() {
        Path file = state(0.1, "m").file();

        assertThat(state(0.1, "other").file(), is(not(file)));
        assertThat(state(0.1, "m", "--io-processor-plugin", "mmbert_gliner_io").file(), is(not(file)));
        assertThat(state(0.1, "m", "--cuda-devices", "1").file(), is(not(file)));
        assertThat(state(0.1, "m", "--max-batch-size", "16").file(), is(not(file)));
        assertThat(state(0.2, "m").file(), is(not(file)));
        assertThat(state(0.1, "m").file(), is(file));
    }

    @Test
    void nothingRememberedOrAnUnreadableFileMeansMeasuring() throws Exception {
        SizingState state = state(0.1, "m");
        assertThat(state.read(), is(Optional.empty()));

        Files.createDirectories(dir);
        Files.writeString(state.file(), "{\"instances\": 0}");

        assertThat(state.read(), is(Optional.empty()));
    }
}
