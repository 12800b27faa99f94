package io.vllmfactory.simulator;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/**
 * The GLiNER plugins ({@code mmbert_gliner_io}, {@code deberta_gliner_io}, {@code mt5_gliner_io}, the linker and
 * the reranker): {@code {"text": ..., "labels": [...], "threshold": 0.5}} in, a list of entities
 * {@code {start, end, text, label, score}} out, where {@code text} is the input's characters from {@code start}
 * to {@code end}, {@code label} one of the request's labels and {@code score} at least the threshold.
 */
record GlinerPlugin() implements IoPlugin {
    static final double DEFAULT_THRESHOLD = 0.5;

    @Override
    public JsonNode answer(JsonNode data) {
        if (!data.isObject()) {
            throw ApiError.badRequest("Expected dict with 'text' and 'labels' keys, got " + Python.type(data));
        }
        JsonNode labelNode = data.path("labels");
        if (!labelNode.isArray() || labelNode.isEmpty()) {
            throw ApiError.badRequest("'labels' list must not be empty");
        }
        List<String> labels = new ArrayList<>();
        labelNode.forEach(l -> labels.add(l.asText()));
        String text = data.path("text").asText("");
        double threshold = Python.floatValue(data, "threshold", DEFAULT_THRESHOLD);
        ArrayNode entities = JsonNodeFactory.instance.arrayNode();
        for (FakeModel.Mention m : FakeModel.mentions(text)) {
            String label = FakeModel.pick(labels, "label:" + m.text());
            double score = score(m.text() + "|" + label);
            if (score >= threshold) {
                entities.addObject().put("start", m.start()).put("end", m.end()).put("text", m.text())
                        .put("label", label).put("score", score);
            }
        }
        return entities;
    }

    /** The pretend confidence in a mention: 0.55 to 0.99, four places, as GLiNER's decoders round it. */
    static double score(String key) {
        return Math.round((0.55 + 0.44 * FakeModel.unit("score:" + key)) * 10_000) / 10_000.0;
    }
}
