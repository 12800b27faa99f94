package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.config.SupervisorConfig.BackendSpec;
import org.junit.jupiter.api.Test;

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
                + " --max-num-seqs 32 --dtype auto --no-enable-prefix-caching --no-enable-chunked-prefill"
                + " --disable-log-stats")));
    }

    @Test
    void everyOptionalFlagThatIsSetFollowsInOrderThenFixedThenForwardedArguments() {
        BackendSpec s = spec("BAAI/bge-m3", "--max-batch-size", "64", "--dtype", "float16", "--enforce-eager",
                "--io-processor-plugin", "gliner", "--max-model-len", "512", "--task", "embed",
                "--max-num-batched-tokens", "16384", "--tokenizer", "tok", "--served-model-name", "bge",
                "--trust-remote-code", "--backend-command", "/opt/venv/bin/vllm serve",
                "--", "--seed", "7", "--kv-cache-dtype", "fp8");
        assertThat(BackendCommand.argv(s, "127.0.0.1", 9100, 0.23), is(words(
                "/opt/venv/bin/vllm serve BAAI/bge-m3 --host 127.0.0.1 --port 9100 --gpu-memory-utilization 0.23"
                + " --max-num-seqs 64 --dtype float16 --enforce-eager --io-processor-plugin gliner --max-model-len 512"
                + " --task embed --max-num-batched-tokens 16384 --tokenizer tok --served-model-name bge"
                + " --trust-remote-code --no-enable-prefix-caching --no-enable-chunked-prefill --disable-log-stats"
                + " --seed 7 --kv-cache-dtype fp8")));
    }

    @Test
    void aForwardedGpuMemoryUtilizationIsDroppedInEachSpelling() {
        for (List<String> extra : List.of(List.of("--gpu-memory-utilization", "0.9", "--seed", "1"),
                List.of("--gpu-memory-utilization=0.9", "--seed", "1"), List.of("--gpu_memory_utilization", "0.9", "--seed", "1"))) {
            List<String> args = new java.util.ArrayList<>(List.of("m", "--backend-fixed-args", "", "--"));
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
                         + " --disable-log-stats")));
        assertThat(BackendCommand.argv(spec("m", "--backend-fixed-args", ""), "h", 1, 0.8),
                is(words("vllm serve m --host h --port 1 --gpu-memory-utilization 0.8 --max-num-seqs 32 --dtype auto")));
    }

    @Test
    void cudaDevicesBecomeTheBackendsVisibleDevices() {
        assertThat(BackendCommand.environment(spec("m", "--cuda-devices", "1,2")),
                is(Map.of("CUDA_VISIBLE_DEVICES", "1,2", "PYTHONUNBUFFERED", "1")));
        assertThat(BackendCommand.environment(spec("m")), is(Map.of("PYTHONUNBUFFERED", "1")));
    }
}
