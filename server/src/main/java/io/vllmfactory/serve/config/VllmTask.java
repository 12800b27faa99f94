package io.vllmfactory.serve.config;

import java.util.List;
import java.util.Optional;

/**
 * What a {@code --task} of old vLLM releases is on vLLM 0.13 and later, which have no {@code --task}: a
 * {@code --runner} and, for pooling tasks, a {@code --convert}, as vLLM's own deprecation path in
 * {@code vllm/config/model.py} resolved it for a model that is either generative or pooling. Pure.
 *
 * @param runner  the {@code --runner} to write, if any
 * @param convert the {@code --convert} to write, if any
 */
record VllmTask(Optional<String> runner, Optional<String> convert) {
    /** The runners vLLM takes ({@code RunnerOption}). */
    static final List<String> RUNNERS = List.of("auto", "generate", "pooling", "draft");
    /** The conversions vLLM takes ({@code ConvertOption}). */
    static final List<String> CONVERTS = List.of("auto", "none", "embed", "classify", "reward");
    /** The tasks old vLLM took ({@code TaskOption}). */
    static final List<String> TASKS = List.of("auto", "generate", "transcription", "embed", "embedding", "classify",
            "reward", "score", "draft");

    /**
     * @return the runner and conversion for {@code task}, or empty when the task is not one vLLM ever took
     */
    static Optional<VllmTask> translate(String task) {
        return Optional.ofNullable(switch (task) {
            case "auto" -> new VllmTask(Optional.empty(), Optional.empty());
            case "generate", "transcription" -> of("generate", null);
            case "embed", "embedding" -> of("pooling", "embed");
            case "classify" -> of("pooling", "classify");
            case "reward" -> of("pooling", "reward");
            // vLLM picked classify or embed by the model's architecture: --convert auto does the same
            case "score" -> of("pooling", null);
            case "draft" -> of("draft", null);
            default -> null;
        });
    }

    private static VllmTask of(String runner, String convert) {
        return new VllmTask(Optional.of(runner), Optional.ofNullable(convert));
    }
}
