package io.vllmfactory.serve.config;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** vLLM's own deprecation path for --task (vllm/config/model.py), for a model that generates or pools. */
class VllmTaskTest {
    @ParameterizedTest(name = "--task {0} -> --runner {1} --convert {2}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
            "embed         | pooling  | embed",
            "embedding     | pooling  | embed",
            "classify      | pooling  | classify",
            "reward        | pooling  | reward",
            "score         | pooling  | -",
            "generate      | generate | -",
            "transcription | generate | -",
            "draft         | draft    | -",
            "auto          | -        | -",
    })
    void aTaskIsTheRunnerAndConversionVllmResolvedItTo(String task, String runner, String convert) {
        assertThat(VllmTask.translate(task), is(Optional.of(new VllmTask(Optional.ofNullable(runner),
                Optional.ofNullable(convert)))));
    }

    @ParameterizedTest
    @CsvSource({"plugin", "Embed", "pooling"})
    void anythingElseIsNoTask(String task) {
        assertThat(VllmTask.translate(task), is(Optional.empty()));
    }
}
