package io.vllmfactory.simulator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A GLiNER2 request's schema, read as the plugin's {@code normalize_gliner2_schema} reads it: {@code entities}
 * and {@code relations} as a list of names or a map of name to description or {@code {description,
 * threshold}}; {@code classifications} as a list of {@code {task, labels, multi_label, cls_threshold}};
 * {@code structures} as a map of name to {@code {fields: [{name, dtype, threshold}, ...]}}. At least one
 * section must be there.
 *
 * @param entities        entity labels
 * @param classifications classification tasks
 * @param relations       relation names
 * @param structures      structure names with their fields
 */
record Gliner2Schema(List<Field> entities, List<Classification> classifications, List<Field> relations,
                     Map<String, List<Field>> structures) {

    /**
     * A label, relation or structure field, with the threshold the schema gives it, if any.
     *
     * @param name      its name
     * @param threshold its own threshold; else the request's applies
     */
    record Field(String name, OptionalDouble threshold) {
    }

    /**
     * One classification task.
     *
     * @param task       its name, also its key in the answer
     * @param labels     the labels to choose from
     * @param multiLabel whether several labels may apply
     * @param threshold  its {@code cls_threshold}, if any
     */
    record Classification(String task, List<String> labels, boolean multiLabel, OptionalDouble threshold) {
    }

    /** @throws ApiError a 400 with the plugin's message for a schema it refuses */
    static Gliner2Schema parse(JsonNode schema) {
        if (!schema.isObject()) {
            throw ApiError.badRequest("'schema' must be a dict");
        }
        Gliner2Schema parsed = new Gliner2Schema(named(schema.get("entities"), "entities"),
                classifications(schema.get("classifications")), named(schema.get("relations"), "relations"),
                structures(schema.get("structures")));
        if (parsed.entities.isEmpty() && parsed.classifications.isEmpty() && parsed.relations.isEmpty()
            && parsed.structures.isEmpty()) {
            throw ApiError.badRequest("GLiNER2 schema must include at least one task section");
        }
        return parsed;
    }

    private static List<Field> named(JsonNode section, String what) {
        List<Field> fields = new ArrayList<>();
        if (section == null || section.isNull()) {
            return fields;
        }
        if (section.isArray()) {
            section.forEach(name -> fields.add(new Field(name.asText(), OptionalDouble.empty())));
        } else if (section.isObject()) {
            section.properties().forEach(e -> fields.add(new Field(e.getKey(),
                    threshold(e.getValue().get("threshold"), what + " '" + e.getKey() + "'"))));
        } else {
            throw ApiError.badRequest("'" + what + "' must be a list or a dict");
        }
        return fields;
    }

    private static List<Classification> classifications(JsonNode section) {
        List<Classification> tasks = new ArrayList<>();
        if (section == null || section.isNull()) {
            return tasks;
        }
        if (!section.isArray()) {
            throw ApiError.badRequest("'classifications' must be a list");
        }
        for (JsonNode task : section) {
            if (!task.isObject() || !task.path("task").isTextual()) {
                throw ApiError.badRequest("Each classification must be a dict with a 'task' name");
            }
            String name = task.get("task").asText();
            JsonNode labels = task.path("labels");
            if (!labels.isArray() || labels.isEmpty()) {
                throw ApiError.badRequest("Classification '" + name + "' must include a non-empty labels list");
            }
            List<String> names = new ArrayList<>();
            labels.forEach(l -> names.add(l.asText()));
            tasks.add(new Classification(name, names, task.path("multi_label").asBoolean(false),
                    threshold(task.get("cls_threshold"), "classification '" + name + "'")));
        }
        return tasks;
    }

    private static Map<String, List<Field>> structures(JsonNode section) {
        Map<String, List<Field>> structures = new LinkedHashMap<>();
        if (section == null || section.isNull()) {
            return structures;
        }
        if (!section.isObject()) {
            throw ApiError.badRequest("'structures' must be a dict");
        }
        section.properties().forEach(e -> {
            String parent = e.getKey();
            JsonNode fields = e.getValue().path("fields");
            if (!fields.isArray() || fields.isEmpty()) {
                throw ApiError.badRequest("Structure '" + parent + "' must include a non-empty fields list");
            }
            List<Field> parsed = new ArrayList<>();
            for (JsonNode field : fields) {
                if (!field.isObject()) {
                    throw ApiError.badRequest("Structure '" + parent + "' fields must be dict objects");
                }
                String name = field.path("name").asText("");
                if (name.isEmpty()) {
                    throw ApiError.badRequest("Structure '" + parent + "' field is missing name");
                }
                parsed.add(new Field(name, threshold(field.get("threshold"),
                        "structure '" + parent + "' field '" + name + "'")));
            }
            structures.put(parent, parsed);
        });
        return structures;
    }

    private static OptionalDouble threshold(JsonNode value, String where) {
        if (value == null || value.isNull()) {
            return OptionalDouble.empty();
        }
        if (!value.isNumber() || value.asDouble() < 0 || value.asDouble() > 1) {
            throw ApiError.badRequest("threshold of " + where + " must be a number between 0 and 1");
        }
        return OptionalDouble.of(value.asDouble());
    }
}
