package io.vllmfactory.simulator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The GLiNER2 plugins ({@code deberta_gliner2_io}, {@code mmbert_gliner2_io}): {@code {"text": ...,
 * "schema": {...}}} (or {@code "labels"} for entities only) in, the schema's answers out: {@code entities} by
 * label, one answer per classification task, a list of instances per structure and
 * {@code relation_extraction} by relation. A found span is its text, or {@code {text, confidence, start, end}}
 * with {@code include_confidence} / {@code include_spans}.
 */
record Gliner2Plugin() implements IoPlugin {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** What one request asks, checked as the plugin checks it. */
    private record Request(String text, double threshold, boolean confidence, boolean spans, Gliner2Schema schema) {
    }

    @Override
    public JsonNode answer(JsonNode data) {
        Request r = parse(data);
        List<FakeModel.Mention> mentions = FakeModel.mentions(r.text());
        ObjectNode out = NODES.objectNode();
        Gliner2Schema schema = r.schema();
        if (!schema.entities().isEmpty()) {
            out.set("entities", entities(r, mentions));
        }
        for (Gliner2Schema.Classification c : schema.classifications()) {
            out.set(c.task(), classify(r, c));
        }
        for (Map.Entry<String, List<Gliner2Schema.Field>> s : schema.structures().entrySet()) {
            out.set(s.getKey(), structure(r, mentions, s.getKey(), s.getValue()));
        }
        if (!schema.relations().isEmpty()) {
            ObjectNode relations = out.putObject("relation_extraction");
            for (Gliner2Schema.Field relation : schema.relations()) {
                relations.set(relation.name(), relation(r, mentions, relation));
            }
        }
        return out;
    }

    private static Request parse(JsonNode data) {
        if (!data.isObject()) {
            throw ApiError.badRequest("Expected request data dict");
        }
        JsonNode text = data.path("text");
        if (!text.isTextual() || text.asText().isBlank()) {
            throw ApiError.badRequest("'text' is required");
        }
        double threshold;
        try {
            threshold = Python.floatValue(data, "threshold", GlinerPlugin.DEFAULT_THRESHOLD);
        } catch (ApiError e) {
            throw ApiError.badRequest("'threshold' must be a number");
        }
        if (threshold < 0 || threshold > 1) {
            throw ApiError.badRequest("'threshold' must be between 0 and 1");
        }
        Gliner2Schema schema;
        if (data.has("schema") && !data.get("schema").isNull()) {
            schema = Gliner2Schema.parse(data.get("schema"));
        } else if (data.has("labels") && !data.get("labels").isNull()) {
            schema = Gliner2Schema.parse(NODES.objectNode().set("entities", data.get("labels")));
        } else {
            throw ApiError.badRequest("Request must include schema or labels");
        }
        return new Request(text.asText(), threshold, bool(data, "include_confidence"), bool(data, "include_spans"),
                schema);
    }

    private static boolean bool(JsonNode data, String field) {
        JsonNode value = data.path(field);
        if (value.isMissingNode()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw ApiError.badRequest("'" + field + "' must be a boolean");
        }
        return value.asBoolean();
    }

    private static ObjectNode entities(Request r, List<FakeModel.Mention> mentions) {
        List<String> labels = r.schema().entities().stream().map(Gliner2Schema.Field::name).toList();
        ObjectNode byLabel = NODES.objectNode();
        labels.forEach(byLabel::putArray);
        for (FakeModel.Mention m : mentions) {
            Gliner2Schema.Field label = FakeModel.pick(r.schema().entities(), "label:" + m.text());
            double score = GlinerPlugin.score(m.text() + "|" + label.name());
            if (score >= label.threshold().orElse(r.threshold())) {
                ((ArrayNode) byLabel.get(label.name())).add(span(r, m, score));
            }
        }
        return byLabel;
    }

    private static JsonNode classify(Request r, Gliner2Schema.Classification c) {
        double threshold = c.threshold().orElse(r.threshold());
        if (c.multiLabel()) {
            ArrayNode chosen = NODES.arrayNode();
            for (String label : c.labels()) {
                double score = GlinerPlugin.score(r.text() + "|" + c.task() + "|" + label);
                if (score >= threshold) {
                    chosen.add(r.confidence() ? labelled(label, score) : NODES.textNode(label));
                }
            }
            return chosen;
        }
        String best = FakeModel.pick(c.labels(), c.task() + ":" + r.text());
        double score = GlinerPlugin.score(r.text() + "|" + c.task() + "|" + best);
        if (score < threshold) {
            return NODES.nullNode();
        }
        return r.confidence() ? labelled(best, score) : NODES.textNode(best);
    }

    private static ArrayNode structure(Request r, List<FakeModel.Mention> mentions, String name,
                                       List<Gliner2Schema.Field> fields) {
        ArrayNode instances = NODES.arrayNode();
        if (mentions.isEmpty()) {
            return instances;
        }
        ObjectNode instance = instances.addObject();
        for (Gliner2Schema.Field field : fields) {
            FakeModel.Mention m = FakeModel.pick(mentions, name + "." + field.name());
            double score = GlinerPlugin.score(m.text() + "|" + name + "." + field.name());
            instance.set(field.name(), score >= field.threshold().orElse(r.threshold()) ? span(r, m, score)
                    : NODES.nullNode());
        }
        return instances;
    }

    private static ArrayNode relation(Request r, List<FakeModel.Mention> mentions, Gliner2Schema.Field relation) {
        ArrayNode instances = NODES.arrayNode();
        if (mentions.size() < 2) {
            return instances;
        }
        FakeModel.Mention head = FakeModel.pick(mentions, "head:" + relation.name());
        List<FakeModel.Mention> others = new ArrayList<>(mentions);
        others.remove(head);
        FakeModel.Mention tail = FakeModel.pick(others, "tail:" + relation.name());
        double score = GlinerPlugin.score(head.text() + "|" + relation.name() + "|" + tail.text());
        if (score >= relation.threshold().orElse(r.threshold())) {
            ObjectNode instance = instances.addObject();
            instance.set("head", span(r, head, score));
            instance.set("tail", span(r, tail, score));
        }
        return instances;
    }

    /** A found span as the plugin formats it: its text, or a record when confidence or spans are asked for. */
    private static JsonNode span(Request r, FakeModel.Mention m, double score) {
        if (!r.confidence() && !r.spans()) {
            return NODES.textNode(m.text());
        }
        ObjectNode record = NODES.objectNode().put("text", m.text());
        if (r.confidence()) {
            record.put("confidence", score);
        }
        if (r.spans()) {
            record.put("start", m.start()).put("end", m.end());
        }
        return record;
    }

    private static ObjectNode labelled(String label, double score) {
        return NODES.objectNode().put("label", label).put("confidence", score);
    }
}
