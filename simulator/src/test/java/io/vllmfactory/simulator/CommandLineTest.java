package io.vllmfactory.simulator;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CommandLineTest {

    private static SimulatorConfig parse(String line) throws UsageException {
        return parse(line, Map.of());
    }

    private static SimulatorConfig parse(String line, Map<String, String> env) throws UsageException {
        Command command = CommandLine.parse(List.of(line.split(" ")), env, "/tmp");
        assertThat(command, instanceOf(Command.Serve.class));
        return ((Command.Serve) command).config();
    }

    @Test
    void defaultsMatchVllmServe() throws UsageException {
        SimulatorConfig config = parse("serve org/my-model");

        ServeOptions serve = config.serve();
        assertThat(serve.model(), is("org/my-model"));
        assertThat(serve.servedModelNames(), is(List.of("org/my-model")));
        assertThat(serve.host(), is("127.0.0.1"));
        assertThat(serve.port(), is(8000));
        assertThat(serve.gpuMemoryUtilization(), is(0.9));
        assertThat(serve.maxNumSeqs(), is(256));
        SimKnobs sim = config.sim();
        assertThat(sim.startupDelay(), is(Duration.ofSeconds(1)));
        assertThat(sim.serviceTimeMs(), is(20L));
        assertThat(sim.tokenDelayMs(), is(10L));
        assertThat(sim.crashAfter(), is(0L));
        assertThat(sim.failStartup(), is(Optional.empty()));
        assertThat(sim.gpuLedger(), is(Path.of("/tmp", "vllm-sim-gpu-0.ledger")));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            serve m --port 0 --max-num-seqs 4                                          | 0 | 4 | 0.9
            serve m --port=9001 --max-num-seqs=8 --gpu-memory-utilization=0.25         | 9001 | 8 | 0.25
            serve m --enforce-eager --port 1 --max-num-seqs 2                          | 1 | 2 | 0.9
            serve m --dtype auto --port 1 --no-enable-prefix-caching --max-num-seqs 3  | 1 | 3 | 0.9
            serve m --disable-log-stats --tensor-parallel-size=1 --port 2              | 2 | 256 | 0.9
            serve m -tp 2 --port 3 --allowed-origins a b c --max-num-seqs 5            | 3 | 5 | 0.9
            serve m --max_num_seqs 6 --port 4 --seed -1                                | 4 | 6 | 0.9
            serve m --gpu-memory-utilization 0.3 --dtype auto --port 5                 | 5 | 256 | 0.3
            """)
    void unknownVllmFlagsAreAcceptedAndIgnored(String line, int port, int maxNumSeqs, double gpu)
            throws UsageException {
        ServeOptions serve = parse(line.strip()).serve();

        assertThat(serve.model(), is("m"));
        assertThat(serve.port(), is(port));
        assertThat(serve.maxNumSeqs(), is(maxNumSeqs));
        assertThat(serve.gpuMemoryUtilization(), is(gpu));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            ''                                          | the first argument must be the subcommand 'serve'
            run m                                       | the first argument must be the subcommand 'serve'
            serve                                       | the following arguments are required: MODEL
            serve --enforce-eager m                     | the following arguments are required: MODEL
            serve m --port abc                          | argument --port: invalid int value: 'abc'
            serve m --port                              | argument --port: expected one argument
            serve m --port --dtype auto                 | argument --port: expected one argument
            serve m --port 70000                        | port: 70000 (expected: 0..65535)
            serve m --max-num-seqs 0                    | maxNumSeqs: 0 (expected: >= 1)
            serve m --gpu-memory-utilization 1.5        | gpuMemoryUtilization: 1.5 (expected: > 0 and <= 1)
            serve m --gpu-memory-utilization x          | argument --gpu-memory-utilization: invalid float value: 'x'
            serve m --max-model-len 4q                  | argument --max-model-len: invalid int value: '4q'
            serve m --port 1 extra                      | unrecognized arguments: extra
            serve m --sim-crash-after many              | argument --sim-crash-after: invalid int value: 'many'
            serve m --sim-fail-status 200               | failStatus: 200 (expected: 0 or 400..599)
            serve m --sim-startup-delay -1              | startupDelay: -1.0 (expected: >= 0 seconds)
            serve m --sim-bogus 1                       | unrecognized simulator flag: --sim-bogus (see --help)
            """)
    void malformedCommandLinesAreRejected(String line, String message) {
        List<String> args = line.isEmpty() ? List.of() : Arrays.asList(line.split(" "));
        UsageException e = assertThrows(UsageException.class, () -> CommandLine.parse(args, Map.of(), "/tmp"));
        assertThat(e.getMessage(), is(message));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            serve m --task embed --port 1           | unrecognized arguments: --task embed
            serve m --port 1 --task=classify        | unrecognized arguments: --task=classify
            serve m --task --runner pooling         | unrecognized arguments: --task
            """)
    void taskIsRefusedAsVllmRefusesItSince0Point13(String line, String message) {
        UsageException e = assertThrows(UsageException.class,
                () -> CommandLine.parse(Arrays.asList(line.strip().split(" ")), Map.of(), "/tmp"));
        assertThat(e.getMessage(), is(message));
        assertThat(e.asVllm(), is(true));
    }

    @Test
    void theIoProcessorPluginIsReadAndTheLedgerIsPerDevice() throws UsageException {
        SimulatorConfig config = parse("serve m --io-processor-plugin mmbert_gliner_io --sim-gpu-ledger /x/gpu-{device}.l",
                Map.of("CUDA_VISIBLE_DEVICES", "1"));
        assertThat(config.serve().ioProcessorPlugin(), is(Optional.of("mmbert_gliner_io")));
        assertThat(config.sim().gpuLedger(), is(Path.of("/x/gpu-1.l")));
        assertThat(parse("serve m").serve().ioProcessorPlugin(), is(Optional.empty()));
    }

    @Test
    void servedModelNameTakesSeveralNamesAndTheFirstIsReported() throws UsageException {
        ServeOptions serve = parse("serve /models/x --served-model-name a b --port 0").serve();

        assertThat(serve.servedModelNames(), is(List.of("a", "b")));
        assertThat(serve.primaryName(), is("a"));
        assertThat(serve.model(), is("/models/x"));
    }

    @Test
    void modelMayComeFromTheModelFlag() throws UsageException {
        assertThat(parse("serve --model m2 --port 0").serve().model(), is("m2"));
    }

    @ParameterizedTest
    @CsvSource({"4096, 4096", "8k, 8000", "8K, 8192", "auto, 8192", "-1, 8192", "1m, 1000000"})
    void maxModelLenTakesVllmForms(String text, int expected) {
        assertThat(CommandLine.parseModelLen(text), is(expected));
    }

    @Test
    void knobsComeFromEnvironmentAndTheFlagWins() throws UsageException {
        Map<String, String> env = Map.of(
                "VLLM_SIM_SERVICE_TIME_MS", "55",
                "VLLM_SIM_TOKEN_DELAY_MS", "7",
                "VLLM_SIM_FAIL_STARTUP", "RuntimeError: CUDA error: out of memory",
                "VLLM_SIM_GPU_LEDGER", "/var/tmp/env.ledger",
                "VLLM_SIM_STARTUP_DELAY", "0.25");

        SimKnobs sim = parse("serve m --sim-token-delay-ms 3", env).sim();

        assertThat(sim.serviceTimeMs(), is(55L));
        assertThat(sim.tokenDelayMs(), is(3L));
        assertThat(sim.failStartup(), is(Optional.of("RuntimeError: CUDA error: out of memory")));
        assertThat(sim.gpuLedger(), is(Path.of("/var/tmp/env.ledger")));
        assertThat(sim.startupDelay(), is(Duration.ofMillis(250)));
    }

    @Test
    void malformedEnvironmentKnobNamesTheVariable() {
        UsageException e = assertThrows(UsageException.class,
                () -> parse("serve m", Map.of("VLLM_SIM_HANG_AFTER", "soon")));
        assertThat(e.getMessage(), is("VLLM_SIM_HANG_AFTER: invalid int value: 'soon'"));
    }

    @Test
    void defaultLedgerIsPerFirstVisibleDevice() throws UsageException {
        SimKnobs sim = parse("serve m", Map.of("CUDA_VISIBLE_DEVICES", "2,3")).sim();
        assertThat(sim.gpuLedger(), is(Path.of("/tmp", "vllm-sim-gpu-2.ledger")));
    }

    @Test
    void helpWinsOverEverythingElse() throws UsageException {
        assertThat(CommandLine.parse(List.of("serve", "--port", "x", "--help"), Map.of(), "/tmp"),
                instanceOf(Command.Help.class));
        assertThat(CommandLine.HELP, containsString("VLLM_SIM_CRASH_AFTER"));
    }
}
