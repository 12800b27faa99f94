package io.vllmfactory.simulator;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Simulator-only settings: simulated timing and injected faults.
 *
 * @param startupDelay  simulated model loading; the port is not bound meanwhile
 * @param serviceTimeMs time a pooling or embeddings request takes once admitted
 * @param tokenDelayMs  time between generated tokens
 * @param crashAfter    halt the process after this many answered inference requests; 0 = never
 * @param hangAfter     stop answering anything after this many answered inference requests; 0 = never
 * @param failStartup   if present, print it to stderr and exit 1 instead of serving
 * @param failStatus    if not 0, every inference request is answered with this status and vLLM's error body
 * @param gpuMemoryGib  size of the pretend GPU
 * @param gpuLedger     file shared by the instances on one pretend GPU
 * @param crashOn       if present, halt the process when an inference request's input contains it (a poison
 *                      request: it kills whichever instance it reaches)
 */
record SimKnobs(Duration startupDelay,
                long serviceTimeMs,
                long tokenDelayMs,
                long crashAfter,
                long hangAfter,
                Optional<String> failStartup,
                int failStatus,
                double gpuMemoryGib,
                Path gpuLedger,
                Optional<String> crashOn) {

    static final double DEFAULT_STARTUP_DELAY_SECONDS = 1.0;
    static final long DEFAULT_SERVICE_TIME_MS = 20;
    static final long DEFAULT_TOKEN_DELAY_MS = 10;
    static final double DEFAULT_GPU_MEMORY_GIB = 80;

    SimKnobs {
        Objects.requireNonNull(startupDelay, "startupDelay");
        Objects.requireNonNull(failStartup, "failStartup");
        Objects.requireNonNull(gpuLedger, "gpuLedger");
        Objects.requireNonNull(crashOn, "crashOn");
        if (startupDelay.isNegative()) {
            throw new IllegalArgumentException("startupDelay: " + startupDelay + " (expected: >= 0)");
        }
        requireNonNegative("serviceTimeMs", serviceTimeMs);
        requireNonNegative("tokenDelayMs", tokenDelayMs);
        requireNonNegative("crashAfter", crashAfter);
        requireNonNegative("hangAfter", hangAfter);
        if (failStatus != 0 && (failStatus < 400 || failStatus > 599)) {
            throw new IllegalArgumentException("failStatus: " + failStatus + " (expected: 0 or 400..599)");
        }
        if (!(gpuMemoryGib > 0)) {
            throw new IllegalArgumentException("gpuMemoryGib: " + gpuMemoryGib + " (expected: > 0)");
        }
    }

    /** Stands in a ledger path for the instance's pretend GPU, so instances on different GPUs never share one. */
    static final String DEVICE = "{device}";
    /** The default ledger's name: one file per pretend GPU. */
    static final String DEFAULT_LEDGER = "vllm-sim-gpu-" + DEVICE + ".ledger";

    /** The pretend GPU an instance runs on: the first visible CUDA device, made safe for a file name. */
    static String device(String cudaVisibleDevices) {
        if (cudaVisibleDevices == null || cudaVisibleDevices.isBlank()) {
            return "0";
        }
        return cudaVisibleDevices.split(",")[0].trim().replaceAll("[^A-Za-z0-9_-]", "_");
    }

    private static void requireNonNegative(String name, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: >= 0)");
        }
    }
}
