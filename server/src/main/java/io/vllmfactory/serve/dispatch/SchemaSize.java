package io.vllmfactory.serve.dispatch;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * How many things a GLiNER-style request asks the model to find, reported in
 * {@code X-VLLM-Factory-Schema-Size}: the first of {@code data.schema}, {@code data.labels},
 * {@code schema}, {@code labels} found. Labels count one each; a schema counts its entities,
 * classifications and relations, and each structure plus its fields. Pure.
 */
public final class SchemaSize {
    private SchemaSize() {
    }

    /** @return the size, or -1 when the body has none of the fields */
    public static int of(JsonNode json) {
        if (json == null || !json.isObject()) {
            return -1;
        }
        JsonNode data = json.get("data");
        if (data != null && data.isObject()) {
            if (data.has("schema")) {
                return schema(data.get("schema"));
            }
            if (data.has("labels")) {
                return count(data.get("labels"));
            }
        }
        if (json.has("schema")) {
            return schema(json.get("schema"));
        }
        if (json.has("labels")) {
            return count(json.get("labels"));
        }
        return -1;
    }

    private static int schema(JsonNode schema) {
        if (!schema.isObject()) {
            return count(schema);
        }
        int n = count(schema.get("entities")) + count(schema.get("classifications")) + count(schema.get("relations"));
        JsonNode structures = schema.get("structures");
        if (structures != null) {
            if (structures.isObject()) {
                for (JsonNode structure : structures) {
                    n += 1 + fields(structure);
                }
            } else if (structures.isArray()) {
                for (JsonNode structure : structures) {
                    n += 1 + fields(structure);
                }
            }
        }
        return n;
    }

    private static int fields(JsonNode structure) {
        if (structure.isObject() && structure.has("fields")) {
            return count(structure.get("fields"));
        }
        return count(structure);
    }

    /** Items of a list, keys of an object, one for a single value, none for null. */
    private static int count(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return 0;
        }
        if (node.isArray() || node.isObject()) {
            return node.size();
        }
        return 1;
    }
}
