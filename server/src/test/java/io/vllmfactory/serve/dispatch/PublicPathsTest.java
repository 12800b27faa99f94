package io.vllmfactory.serve.dispatch;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** Which paths the public port refuses: vLLM's operator endpoints however they are spelled (pure). */
class PublicPathsTest {
    private static final PublicPaths DEFAULTS = PublicPaths.of(List.of(), List.of());

    @ParameterizedTest(name = "{0} refused: {1}")
    @CsvSource({
            "/sleep, true", "/wake_up, true", "/collective_rpc, true", "/collective_rpc/foo, true",
            "/scale_elastic_ep, true", "/v1/load_lora_adapter, true", "/update_weights, true",
            "/SLEEP, true", "/sleep/, true", "//sleep, true", "/v1/../sleep, true", "/%73leep, true",
            "/./reset_prefix_cache, true", "/collective_rpc/%66oo, true",
            "/pooling, false", "/v1/chat/completions, false", "/health, false", "/collective_rpcx, false",
            "/v1/embeddings, false", "/metrics, false", "/%2573leep, false", "/v1/models, false"})
    void refusesVllmsOperatorEndpointsHoweverTheyAreWritten(String path, boolean refused) {
        assertThat(DEFAULTS.refused(path), is(refused));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"/, /", "/pooling, /pooling", "/v1/embeddings, /v1/embeddings", "/v1/embeddings/, /v1/embeddings",
            "/V1/Embeddings, /v1/embeddings", "//v1//x, /v1/x", "/a/./b/../c, /a/c", "/%41b, /ab", "/a+b, /a+b",
            "/a\\b, /a/b", "/v1.0/x, /v1.0/x"})
    void pathsAreComparedInOneNormalForm(String raw, String normal) {
        assertThat(PublicPaths.normalize(raw), is(normal));
    }

    @ParameterizedTest(name = "{0} refused: {1}")
    @CsvSource({"/sleep, false", "/wake_up, true", "/metrics, true", "/metrics/x, true", "/pooling, false"})
    void theListCanBeExtendedAndShortened(String path, boolean refused) {
        PublicPaths paths = PublicPaths.of(List.of("/metrics"), List.of("/sleep"));
        assertThat(paths.refused(path), is(refused));
    }
}
