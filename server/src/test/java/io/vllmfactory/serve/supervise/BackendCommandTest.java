package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.config.SupervisorConfig.BackendSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class BackendCommandTest {
    private static BackendSpec spec(String... args) {
        return SupervisorConfig.from(Settings.resolve(CommandLine.parse(args).flags(), Map.of(), Optional.empty()))
                .backend();
    }

    private static List<String> words(String line) {
        return List.of(line.split(" "));
    }

    @Test
    void theDefaultsGiveThePythonToolsCommandLine() {
        assertThat(BackendCommand.argv(spec("urchade/gliner_multi-v2.1"), "127.0.0.1", 9101, 0.46), is(words(
                "vllm serve urchade/gliner_multi-v2.1 --host 127.0.0.1 --port 9101 --gpu-memory-utilization 0.46"
                + " --max-num-seqs 32 --dtype auto --trust-remote-code --no-enable-prefix-caching"
                + " --no-enable-chunked-prefill --uvicorn-log-level warning --disable-log-stats")));
    }

    @Test
    void everyOptionalFlagThatIsSetFollowsInOrderThenFixedThenForwardedArguments() {
        BackendSpec s = spec("BAAI/bge-m3", "--max-batch-size", "64", "--dtype", "float16", "--enforce-eager",
                "--io-processor-plugin", "embeddinggemma_io", "--max-model-len", "512", "--task", "embed",
                "--max-num-batched-tokens", "16384", "--quantization", "fp8", "--tensor-parallel-size", "2",
                "--cuda-devices", "0,1", "--tokenizer", "tok", "--served-model-name", "bge",
                "--pooler-config", "{\"pooling_type\":\"MEAN\"}", "--backend-command", "/opt/venv/bin/vllm serve",
                "--", "--seed", "7", "--kv-cache-dtype", "fp8");
        assertThat(BackendCommand.argv(s, "127.0.0.1", 9100, 0.23), is(words(
                "/opt/venv/bin/vllm serve BAAI/bge-m3 --host 127.0.0.1 --port 9100 --gpu-memory-utilization 0.23"
                + " --max-num-seqs 64 --dtype float16 --runner pooling --convert embed --enforce-eager"
                + " --io-processor-plugin embeddinggemma_io --max-model-len 512 --max-num-batched-tokens 16384"
                + " --quantization fp8 --tensor-parallel-size 2 --tokenizer tok --served-model-name bge"
                + " --pooler-config {\"pooling_type\":\"MEAN\"} --trust-remote-code --no-enable-prefix-caching"
                + " --no-enable-chunked-prefill --uvicorn-log-level warning --disable-log-stats"
                + " --seed 7 --kv-cache-dtype fp8")));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "--task embed                      | --runner pooling --convert embed",
            "--task embedding                  | --runner pooling --convert embed",
            "--task classify                   | --runner pooling --convert classify",
            "--task score                      | --runner pooling",
            "--task generate                   | --runner generate",
            "--task auto                       | ''",
            "--runner pooling --convert reward | --runner pooling --convert reward",
            "--quantization none               | ''",
            "--tensor-parallel-size 1          | ''",
            "--no-trust-remote-code            | ''",
    })
    void aTaskBecomesRunnerAndConvertAndDefaultsAreLeftOut(String flags, String written) {
        List<String> args = new java.util.ArrayList<>(List.of("m", "--backend-fixed-args", ""));
        args.addAll(words(flags.strip()));
        if (!flags.contains("trust-remote-code")) {
            args.add("--no-trust-remote-code");
        }
        String expected = "vllm serve m --host h --port 1 --gpu-memory-utilization 0.8 --max-num-seqs 32 --dtype auto"
                + (written.isEmpty() ? "" : " " + written);
        assertThat(BackendCommand.argv(spec(args.toArray(String[]::new)), "h", 1, 0.8), is(words(expected)));
    }

    @Test
    void aForwardedGpuMemoryUtilizationIsDroppedInEachSpelling() {
        for (List<String> extra : List.of(List.of("--gpu-memory-utilization", "0.9", "--seed", "1"),
                List.of("--gpu-memory-utilization=0.9", "--seed", "1"), List.of("--gpu_memory_utilization", "0.9", "--seed", "1"))) {
            List<String> args = new java.util.ArrayList<>(List.of("m", "--backend-fixed-args", "",
                    "--no-trust-remote-code", "--"));
            args.addAll(extra);
            BackendSpec s = spec(args.toArray(String[]::new));
            assertThat(BackendCommand.forwardsUtilization(s.extraArgs()), is(true));
            assertThat(BackendCommand.argv(s, "127.0.0.1", 9100, 0.46), is(words(
                    "vllm serve m --host 127.0.0.1 --port 9100 --gpu-memory-utilization 0.46 --max-num-seqs 32"
                    + " --dtype auto --seed 1")));
        }
    }

    @Test
    void theFixedArgumentsCanBeReplacedOrEmptied() {
        assertThat(BackendCommand.argv(spec("m", "--backend-fixed-args", "--disable-log-stats"), "h", 1, 0.8),
                is(words("vllm serve m --host h --port 1 --gpu-memory-utilization 0.8 --max-num-seqs 32 --dtype auto"
                         + " --trust-remote-code --disable-log-stats")));
        assertThat(BackendCommand.argv(spec("m", "--backend-fixed-args", ""), "h", 1, 0.8),
                is(words("vllm serve m --host h --port 1 --gpu-memory-utilization 0.8 --max-num-seqs 32 --dtype auto"
                         + " --trust-remote-code")));
    }

    @Test
    void eachBackendSeesOnlyItsOwnDevices() {
        assertThat(BackendCommand.environment("1"), is(Map.of("CUDA_VISIBLE_DEVICES", "1", "PYTHONUNBUFFERED", "1")));
        assertThat(spec("m", "--cuda-devices", "2, 3").deviceGroups(), is(List.of("2", "3")));
        assertThat(spec("m", "--cuda-devices", "0,1,2,3", "--tensor-parallel-size", "2").deviceGroups(),
                is(List.of("0,1", "2,3")));
        assertThat("by default GPU 0, or the first ones a tensor-parallel backend needs", spec("m").deviceGroups(),
                is(List.of("0")));
        assertThat(spec("m", "--tensor-parallel-size", "2").deviceGroups(), is(List.of("0,1")));
    }
}
