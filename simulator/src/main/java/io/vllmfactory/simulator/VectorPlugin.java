package io.vllmfactory.simulator;

import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/**
 * The plugins that answer with vectors: dense embeddings ({@code embeddinggemma_io} as a list of floats,
 * {@code generic_pooling_io} as base64 float32s) and ColBERT-style token vectors, one vector per token in one
 * base64 block of float32s ({@code moderncolbert_io} inside {@code {"data": ...}}, a list of blocks for a list
 * of texts; {@code lfm2_colbert_io}, {@code collfm2_io}, {@code colqwen3_io} and {@code nemotron_colembed_io}
 * as the block itself).
 *
 * @param form how the vectors are written
 */
record VectorPlugin(Form form) implements IoPlugin {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** embeddinggemma's task prompts: the {@code task} a request may name. */
    private static final List<String> GEMMA_TASKS = List.of("query", "document", "BitextMining", "Clustering",
            "Classification", "InstructionRetrieval", "MultilabelClassification", "PairClassification", "Reranking",
            "Retrieval", "Retrieval-query", "Retrieval-document", "STS", "Summarization");
    private static final Set<Form> TOKENS = Set.of(Form.TOKEN_VECTORS, Form.TOKEN_VECTORS_IN_DATA);

    /** How a plugin writes its vectors. */
    enum Form {
        /** One dense vector as a JSON list of floats. */
        FLOATS,
        /** One dense vector as base64 little-endian float32s. */
        BASE64,
        /** A vector per token, all in one base64 block. */
        TOKEN_VECTORS,
        /** As {@link #TOKEN_VECTORS}, inside {@code {"data": ...}}; a list of blocks for a list of texts. */
        TOKEN_VECTORS_IN_DATA
    }

    @Override
    public JsonNode answer(JsonNode data) {
        if (!data.isObject()) {
            throw ApiError.badRequest("Expected dict with 'text' key, got " + Python.type(data));
        }
        if (form == Form.TOKEN_VECTORS_IN_DATA) {
            return modernColbert(data.path("text"));
        }
        String text = text(data);
        return switch (form) {
            case FLOATS -> floats(FakeModel.vector(gemmaTask(data) + ": " + text, FakeModel.DIMENSIONS));
            case BASE64 -> NODES.textNode(FakeModel.base64(FakeModel.vector(text, FakeModel.DIMENSIONS)));
            default -> NODES.textNode(tokenVectors(text));
        };
    }

    private String text(JsonNode data) {
        JsonNode text = data.get("text");
        if (text == null && TOKENS.contains(form) && data.path("image").isTextual()) {
            return data.get("image").asText(); // the image plugins embed an image URL or path as well
        }
        if (text == null) {
            throw ApiError.badRequest("Request data must contain a 'text' key");
        }
        return text.asText();
    }

    private static String gemmaTask(JsonNode data) {
        String task = data.path("task").asText("query");
        if (!GEMMA_TASKS.contains(task)) {
            List<String> quoted = GEMMA_TASKS.stream().map(t -> "'" + t + "'").toList();
            throw ApiError.badRequest("Unknown task '" + task + "'. Valid tasks: [" + String.join(", ", quoted) + "]");
        }
        return task;
    }

    private static JsonNode modernColbert(JsonNode text) {
        if (text.isTextual()) {
            return NODES.objectNode().put("data", tokenVectors(text.asText()));
        }
        if (!text.isArray()) {
            throw ApiError.badRequest("'text' must be a string or a list of strings");
        }
        if (text.isEmpty()) {
            throw ApiError.badRequest("Empty ModernColBERT batch");
        }
        ArrayNode rows = NODES.arrayNode();
        text.forEach(t -> rows.add(tokenVectors(t.asText())));
        return NODES.objectNode().set("data", rows);
    }

    /** One vector per word plus one for the query or document marker, as one base64 block. */
    static String tokenVectors(String text) {
        int tokens = FakeModel.tokenCount(text) + 1;
        float[] all = new float[tokens * FakeModel.DIMENSIONS];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(FakeModel.vector(t + ":" + text, FakeModel.DIMENSIONS), 0, all, t * FakeModel.DIMENSIONS,
                    FakeModel.DIMENSIONS);
        }
        return FakeModel.base64(all);
    }

    private static ArrayNode floats(float[] vector) {
        ArrayNode array = NODES.arrayNode();
        for (float v : vector) {
            array.add(v);
        }
        return array;
    }
}
