package io.vllmfactory.serve.config;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.SupervisorConfig.BackendOutput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SupervisorConfigTest {
    @TempDir
    Path dir;

    private static SupervisorConfig parse(Map<String, String> env, Optional<Path> yaml, String... args) {
        CommandLine cl = CommandLine.parse(args);
        return SupervisorConfig.from(Settings.resolve(cl.flags(), env, yaml.or(cl::config)));
    }

    @Test
    void thePythonToolsDefaults() {
        SupervisorConfig c = parse(Map.of(), Optional.empty(), "urchade/gliner_multi-v2.1");
        assertThat(c.numInstances(), is(1));
        assertThat(c.port(), is(8000));
        assertThat(c.portStart(), is(9100));
        assertThat(c.gpuMemoryUtilization(), is(OptionalDouble.empty()));
        assertThat(c.backend().maxNumSeqs(), is(32));
        assertThat(c.backend().dtype(), is("auto"));
        assertThat(c.backend().command(), is(List.of("vllm", "serve")));
        assertThat(c.backend().fixedArgs(), is(List.of("--no-enable-prefix-caching", "--no-enable-chunked-prefill",
                "--uvicorn-log-level", "warning", "--disable-log-stats")));
        assertThat(c.backend().trustRemoteCode(), is(true));
        assertThat(c.backend().deviceGroups(), is(List.of("0")));
        assertThat(c.backend().maxModelLen(), is(OptionalInt.empty()));
        assertThat(c.adminHost() + ":" + c.adminPort(), is("127.0.0.1:8001"));
        assertThat(c.startupTimeout(), is(Duration.ofSeconds(600)));
        assertThat(c.restarts().backoff(), is(Duration.ofSeconds(1)));
        assertThat(c.restarts().backoffMax(), is(Duration.ofSeconds(60)));
        assertThat(c.restarts().resetAfter(), is(Duration.ofMinutes(5)));
        assertThat(c.direct(), is(true));
    }

    @Test
    void flagsBeatEnvironmentWhichBeatsTheFileWhichBeatsDefaults() throws Exception {
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), """
                model: from-file
                num-instances: 4
                port-start: 9200
                dtype: bfloat16
                startup-timeout: 20m
                backend-command: [/opt/vllm/bin/vllm, serve]
                extra-args: [--seed, "1"]
                """);
        SupervisorConfig c = parse(Map.of("VLLM_FACTORY_NUM_INSTANCES", "3", "VLLM_FACTORY_PORT_START", "9300",
                        "VLLM_FACTORY_BACKEND_OUTPUT", "file"), Optional.empty(),
                "--config", yaml.toString(), "--num-instances", "2", "--", "--seed", "2");
        assertThat(c.numInstances(), is(2));                   // flag over environment and file
        assertThat(c.portStart(), is(9300));                   // environment over file
        assertThat(c.backend().dtype(), is("bfloat16"));       // file over default
        assertThat(c.backendOutput(), is(BackendOutput.FILE)); // environment over default
        assertThat(c.startupTimeout(), is(Duration.ofMinutes(20)));
        assertThat(c.backend().model(), is("from-file"));
        assertThat(c.backend().command(), is(List.of("/opt/vllm/bin/vllm", "serve")));
        assertThat(c.backend().extraArgs(), is(List.of("--seed", "2"))); // words after -- replace the file's
    }

    @Test
    void thePositionalModelBeatsTheFilesModel() throws Exception {
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), "model: from-file\n");
        assertThat(parse(Map.of(), Optional.empty(), "BAAI/bge-m3", "--config", yaml.toString()).backend().model(),
                is("BAAI/bge-m3"));
    }

    @Test
    void aBackendCommandIsWordsAsAFlagOrVariableAndAStringOrListInTheFile() throws Exception {
        assertThat(parse(Map.of(), Optional.empty(), "m", "--backend-command", "python -m vllm.entrypoints.openai.api_server")
                .backend().command(), is(List.of("python", "-m", "vllm.entrypoints.openai.api_server")));
        assertThat(parse(Map.of("VLLM_FACTORY_BACKEND_COMMAND", " bin/vllm-sim  serve "), Optional.empty(), "m")
                .backend().command(), is(List.of("bin/vllm-sim", "serve")));
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), "backend-command: bin/vllm-sim serve\n");
        assertThat(parse(Map.of(), Optional.of(yaml), "m").backend().command(), is(List.of("bin/vllm-sim", "serve")));
    }

    @Test
    void theFixedArgumentsAreAVisibleSettingThatCanBeEmptied() throws Exception {
        assertThat(parse(Map.of(), Optional.empty(), "m", "--backend-fixed-args", "--disable-log-stats")
                .backend().fixedArgs(), is(List.of("--disable-log-stats")));
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), "backend-fixed-args: []\n");
        assertThat(parse(Map.of(), Optional.of(yaml), "m").backend().fixedArgs(), is(List.of()));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "--num-instances 0          | --num-instances: 0 (expected: >= 1)",
            "--num-instances two        | --num-instances: 'two' (expected: an integer)",
            "--port-start 65535 --num-instances 2 --always-proxy | --port-start: 65535 (expected: at most 65534 so that 2 backend ports fit below 65536)",
            "--gpu-memory-utilization lots | --gpu-memory-utilization: 'lots' (expected: auto, or a fraction such as 0.45)",
            "--gpu-memory-utilization 1.5  | --gpu-memory-utilization: 1.5 (expected: auto, or > 0 and <= 1)",
            "--gpu-memory-utilization 0.4 --num-instances 3 | --gpu-memory-utilization: 0.4 (expected: at most 0.33 for 3 instances on one GPU, or auto)",
            "--gpu-memory-budget 0      | --gpu-memory-budget: 0.0 (expected: > 0 and <= 1)",
            "--max-batch-size 0         | --max-batch-size: 0 (expected: >= 1)",
            "--max-model-len -5         | --max-model-len: -5 (expected: >= 1)",
            "--backend-command ''       | --backend-command: '' (expected: a command such as 'vllm serve')",
            "--backend-output syslog    | --backend-output: 'syslog' (expected: file, stderr or both)",
            "--restart-max-failures 0   | --restart-max-failures: 0 (expected: >= 1)",
            "--startup-timeout soon     | --startup-timeout: 'soon' (expected: a duration such as 30s, 5m or 500ms)",
            "--admin-port 70000         | --admin-port: 70000 (expected: 0..65535)",
            "-- --port 9000             | arguments after --: --port (expected: no --host, --port or --max-num-seqs: the sidecar writes them from --port-start and --max-batch-size)",
            "-- --task embed            | arguments after --: --task (expected: no --task, which vLLM 0.13 and later refuse: give --task (or --runner and --convert) to the sidecar, which writes what vLLM takes)",
            "--task plugin              | --task: 'plugin' (expected: one of auto, generate, transcription, embed, embedding, classify, reward, score, draft; a model with an IO processor plugin needs no task)",
            "--task embed --runner pooling | --task: 'embed' (expected: --task or --runner/--convert, not both)",
            "--runner encode            | --runner: 'encode' (expected: auto, generate, pooling, draft)",
            "--convert mean             | --convert: 'mean' (expected: auto, none, embed, classify, reward)",
            "--tensor-parallel-size 0   | --tensor-parallel-size: 0 (expected: >= 1)",
            "--pooler-config {mean}     | --pooler-config: '{mean}' (expected: a JSON object such as {\"pooling_type\": \"MEAN\", \"normalize\": true})",
            "--cuda-devices 0,,1        | --cuda-devices: '0,,1' (expected: CUDA device ids separated by commas, each once, e.g. 0,1)",
            "--cuda-devices 0,1,0       | --cuda-devices: '0,1,0' (expected: CUDA device ids separated by commas, each once, e.g. 0,1)",
            "--cuda-devices 0,1,2 --tensor-parallel-size 2 | --cuda-devices: '0,1,2' (expected: a multiple of --tensor-parallel-size 2 devices: each backend takes 2)",
            "--cuda-devices 0,1 --num-instances 5 --gpu-memory-utilization 0.4 | --gpu-memory-utilization: 0.4 (expected: at most 0.33 for 3 instances on one GPU, or auto)",
            "--trust-remote-code=maybe  | --trust-remote-code: 'maybe' (expected: true or false)",
    })
    void aBadValueFailsWithTheSettingAndWhatWasExpected(String flags, String message) {
        String[] args = ("m " + flags).replace("''", "\u0000").split(" ");
        for (int k = 0; k < args.length; k++) {
            args[k] = args[k].replace("\u0000", "");
        }
        ConfigException e = assertThrows(ConfigException.class, () -> parse(Map.of(), Optional.empty(), args));
        assertThat(e.getMessage(), is(message));
    }

    @Test
    void devicesComeFromTheFlagElseTheSidecarsOwnVisibleDevicesElseGpuZero() {
        assertThat(parse(Map.of("CUDA_VISIBLE_DEVICES", "2,3"), Optional.empty(), "m", "--cuda-devices", "1")
                .backend().cudaDevices(), is(List.of("1")));
        assertThat(parse(Map.of("CUDA_VISIBLE_DEVICES", "2,3"), Optional.empty(), "m").backend().deviceGroups(),
                is(List.of("2", "3")));
        assertThat(parse(Map.of("CUDA_VISIBLE_DEVICES", " "), Optional.empty(), "m").backend().deviceGroups(),
                is(List.of("0")));
        assertThat("four instances on two GPUs: two each, so 0.46 each fits",
                parse(Map.of(), Optional.empty(), "m", "--cuda-devices", "0,1", "--num-instances", "4",
                        "--gpu-memory-utilization", "0.46").gpuMemoryUtilization(), is(OptionalDouble.of(0.46)));
    }

    @Test
    void trustRemoteCodeIsOnUnlessTurnedOffByFlagVariableOrFile() throws Exception {
        assertThat(parse(Map.of(), Optional.empty(), "m", "--no-trust-remote-code").backend().trustRemoteCode(), is(false));
        assertThat(parse(Map.of("VLLM_FACTORY_TRUST_REMOTE_CODE", "false"), Optional.empty(), "m").backend()
                .trustRemoteCode(), is(false));
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), "trust-remote-code: false\n");
        assertThat(parse(Map.of(), Optional.of(yaml), "m").backend().trustRemoteCode(), is(false));
        assertThat(parse(Map.of(), Optional.of(yaml), "m", "--trust-remote-code").backend().trustRemoteCode(), is(true));
    }

    @Test
    void aBadValueInTheFileNamesTheFileAndKey() throws Exception {
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), "num-instances: 0\n");
        ConfigException e = assertThrows(ConfigException.class, () -> parse(Map.of(), Optional.of(yaml), "m"));
        assertThat(e.getMessage(), is(yaml + ": num-instances: 0 (expected: >= 1)"));
    }

    @Test
    void anUnknownKeyInTheFileIsNamed() throws Exception {
        Path yaml = Files.writeString(dir.resolve("serve.yaml"), "instances: 4\n");
        ConfigException e = assertThrows(ConfigException.class, () -> parse(Map.of(), Optional.of(yaml), "m"));
        assertThat(e.getMessage().startsWith(yaml + ": unknown key 'instances' (expected one of: model, num-instances,"),
                is(true));
    }
}
