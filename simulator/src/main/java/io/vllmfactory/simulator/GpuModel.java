package io.vllmfactory.simulator;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * How long a batch takes on a pretend GPU, for encoder models that are memory-bound: a step reads the
 * weights once whatever the batch ({@code stepMs}), and each request adds a little ({@code requestMs} plus
 * {@code tokenUs} per input token). So one instance's time per request falls as its batch grows, up to its
 * {@code --max-num-seqs}. Instances on one GPU get in each other's way: while {@code k} of them are busy, every
 * step takes {@code 1 + contention * (k - 1)} times as long, so {@code N} busy instances do
 * {@code N / (1 + contention * (N - 1))} times one instance's work, and the GPU saturates at
 * {@code 1 / contention} times one instance's throughput. Pure: no clocks, no threads.
 *
 * @param stepMs     fixed cost of one step, in milliseconds
 * @param requestMs  cost of each request in a step, in milliseconds
 * @param tokenUs    cost of each input token in a step, in microseconds
 * @param contention share of a step that each other busy instance on the GPU adds to it, 0..1
 */
record GpuModel(double stepMs, double requestMs, double tokenUs, double contention) {

    /** The presets: the shapes of the seed's table (RTX A5000, max batch 32, GLiNER bodies of ~80 words). */
    static final Map<String, GpuModel> PRESETS = Map.of(
            "deberta-gliner2", new GpuModel(24, 2.0, 60, 0.51),
            "modernbert-gliner", new GpuModel(20, 1.6, 52, 0.33),
            "mt5-gliner", new GpuModel(22, 1.9, 57, 0.45));

    GpuModel {
        requireRange("stepMs", stepMs, 0, 60_000);
        requireRange("requestMs", requestMs, 0, 60_000);
        requireRange("tokenUs", tokenUs, 0, 1_000_000);
        requireRange("contention", contention, 0, 1);
        if (stepMs + requestMs == 0) {
            throw new IllegalArgumentException("stepMs + requestMs: 0 (expected: > 0, or a step takes no time)");
        }
    }

    /** Time of one step alone on the GPU: {@code requests} requests with {@code tokens} input tokens in all. */
    double stepMillis(int requests, long tokens) {
        return stepMs + requests * requestMs + tokens * tokenUs / 1000.0;
    }

    /** How much longer a step takes while {@code busyInstances} (this one included) use the GPU. */
    double stretch(int busyInstances) {
        return 1 + contention * Math.max(0, busyInstances - 1);
    }

    /**
     * Requests per second of {@code instances} instances kept busy with full batches of {@code batch} requests
     * of {@code tokensPerRequest} tokens each: the curve the model draws.
     */
    double requestsPerSecond(int instances, int batch, int tokensPerRequest) {
        double step = stepMillis(batch, (long) batch * tokensPerRequest) * stretch(instances);
        return instances * batch * 1000.0 / step;
    }

    /**
     * Reads the model from the simulator's knobs: a preset, each number overriding the preset's. No preset
     * and no number: no GPU model (requests take {@code --sim-service-time-ms}, each on its own).
     *
     * @param knob a knob's text by flag name, from the command line or its environment variable
     * @throws IllegalArgumentException with the fix, for an unknown preset or a number out of range
     */
    static Optional<GpuModel> from(Function<String, Optional<String>> knob) {
        Optional<String> preset = knob.apply("--sim-gpu-preset");
        Optional<String> step = knob.apply("--sim-gpu-step-ms");
        Optional<String> request = knob.apply("--sim-gpu-request-ms");
        Optional<String> token = knob.apply("--sim-gpu-token-us");
        Optional<String> contention = knob.apply("--sim-gpu-contention");
        if (preset.isEmpty() && step.isEmpty() && request.isEmpty() && token.isEmpty() && contention.isEmpty()) {
            return Optional.empty();
        }
        GpuModel base = preset.map(GpuModel::preset).orElse(new GpuModel(20, 2, 0, 0.5));
        return Optional.of(new GpuModel(
                number("--sim-gpu-step-ms", step, base.stepMs()),
                number("--sim-gpu-request-ms", request, base.requestMs()),
                number("--sim-gpu-token-us", token, base.tokenUs()),
                number("--sim-gpu-contention", contention, base.contention())));
    }

    private static GpuModel preset(String name) {
        GpuModel model = PRESETS.get(name.trim());
        if (model == null) {
            throw new IllegalArgumentException("--sim-gpu-preset: '" + name + "' (expected one of: "
                    + String.join(", ", PRESETS.keySet().stream().sorted().toList()) + ")");
        }
        return model;
    }

    private static double number(String flag, Optional<String> text, double fallback) {
        if (text.isEmpty()) {
            return fallback;
        }
        try {
            return Double.parseDouble(text.get().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + ": invalid float value: '" + text.get() + "'");
        }
    }

    private static void requireRange(String name, double value, double min, double max) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%s: %s (expected: %s..%s)",
                    name, value, min, max));
        }
    }
}
