package io.vllmfactory.simulator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * An IO processor plugin of the Python vllm-factory, as the simulator plays it. With
 * {@code --io-processor-plugin NAME}, {@code POST /pooling} with a {@code data} object is answered with what
 * that plugin's post-processing returns, wrapped as vLLM wraps it ({@code request_id}, {@code created_at},
 * {@code data}). The names are the entry points of vllm-factory's {@code pyproject.toml}; the request checks
 * and answer shapes follow each plugin's {@code io_processor.py}. Answers are pure functions of the request.
 */
sealed interface IoPlugin permits GlinerPlugin, Gliner2Plugin, VectorPlugin {

    /**
     * The plugin's answer to one request.
     *
     * @param data the request's {@code data}
     * @return what goes into the response's {@code data}
     * @throws ApiError a 400 with the plugin's own message when the request is not what it takes
     */
    JsonNode answer(JsonNode data);

    /** The plugins vllm-factory registers, by entry-point name, in its {@code pyproject.toml} order. */
    Map<String, IoPlugin> INSTALLED = installed();

    /** The installed plugin of that name. */
    static Optional<IoPlugin> named(String name) {
        return Optional.ofNullable(INSTALLED.get(name));
    }

    /** vLLM's start-up error for a plugin that is not installed, listing those that are. */
    static String notInstalled(String name) {
        List<String> quoted = new ArrayList<>();
        INSTALLED.keySet().forEach(n -> quoted.add("'" + n + "'"));
        return "ValueError: The model requires the '" + name + "' IO Processor plugin but it is not installed. "
                + "Available plugins: [" + String.join(", ", quoted) + "]";
    }

    /** The texts of a request's {@code data}, for vLLM's context-length check: {@code text}, a string or a list. */
    static List<String> texts(JsonNode data) {
        JsonNode text = data.path("text");
        if (text.isTextual()) {
            return List.of(text.asText());
        }
        List<String> texts = new ArrayList<>();
        if (text.isArray()) {
            text.forEach(t -> texts.add(t.asText()));
        }
        return texts;
    }

    private static Map<String, IoPlugin> installed() {
        GlinerPlugin gliner = new GlinerPlugin();
        Gliner2Plugin gliner2 = new Gliner2Plugin();
        VectorPlugin tokens = new VectorPlugin(VectorPlugin.Form.TOKEN_VECTORS);
        Map<String, IoPlugin> plugins = new LinkedHashMap<>();
        plugins.put("mmbert_gliner_io", gliner);
        plugins.put("colqwen3_io", tokens);
        plugins.put("deberta_gliner_io", gliner);
        plugins.put("mt5_gliner_io", gliner);
        plugins.put("deberta_gliner2_io", gliner2);
        plugins.put("mmbert_gliner2_io", gliner2);
        plugins.put("moderncolbert_io", new VectorPlugin(VectorPlugin.Form.TOKEN_VECTORS_IN_DATA));
        plugins.put("collfm2_io", tokens);
        plugins.put("deberta_gliner_linker_io", gliner);
        plugins.put("modernbert_gliner_rerank_io", gliner);
        plugins.put("nemotron_colembed_io", tokens);
        plugins.put("lfm2_colbert_io", tokens);
        plugins.put("embeddinggemma_io", new VectorPlugin(VectorPlugin.Form.FLOATS));
        plugins.put("generic_pooling_io", new VectorPlugin(VectorPlugin.Form.BASE64));
        return Collections.unmodifiableMap(plugins);
    }
}
