package io.vllmfactory.simulator;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The subset of {@code vllm serve}'s flags that change what the simulator does.
 *
 * @param model                the model path or name (vLLM's positional {@code MODEL})
 * @param servedModelNames     names the API answers to; the first is reported in responses and metrics
 * @param host                 address to bind
 * @param port                 port to bind; 0 picks a free one
 * @param gpuMemoryUtilization share of the GPU this instance reserves, in (0, 1]
 * @param maxNumSeqs           how many inference requests run at once; the rest wait
 * @param maxModelLen          context length: prompt plus completion tokens
 * @param ioProcessorPlugin    the IO processor plugin that answers {@code /pooling} requests with {@code data}
 */
record ServeOptions(String model,
                    List<String> servedModelNames,
                    String host,
                    int port,
                    double gpuMemoryUtilization,
                    int maxNumSeqs,
                    int maxModelLen,
                    Optional<String> ioProcessorPlugin) {

    static final String DEFAULT_HOST = "127.0.0.1";
    static final int DEFAULT_PORT = 8000;
    static final double DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;
    static final int DEFAULT_MAX_NUM_SEQS = 256;
    static final int DEFAULT_MAX_MODEL_LEN = 8192;

    ServeOptions {
        Objects.requireNonNull(model, "model");
        if (model.isBlank()) {
            throw new IllegalArgumentException("model: blank (expected: a model name or path)");
        }
        servedModelNames = servedModelNames == null || servedModelNames.isEmpty()
                ? List.of(model)
                : List.copyOf(servedModelNames);
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        if (!(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1)) {
            throw new IllegalArgumentException(
                    "gpuMemoryUtilization: " + gpuMemoryUtilization + " (expected: > 0 and <= 1)");
        }
        if (maxNumSeqs < 1) {
            throw new IllegalArgumentException("maxNumSeqs: " + maxNumSeqs + " (expected: >= 1)");
        }
        Objects.requireNonNull(ioProcessorPlugin, "ioProcessorPlugin");
        if (maxModelLen < 1) {
            throw new IllegalArgumentException("maxModelLen: " + maxModelLen + " (expected: >= 1)");
        }
    }

    /** The name reported in responses and metric labels, as vLLM does with the first served name. */
    String primaryName() {
        return servedModelNames.getFirst();
    }
}
