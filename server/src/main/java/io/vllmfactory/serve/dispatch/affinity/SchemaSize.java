package io.vllmfactory.serve.dispatch.affinity;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * How many things a GLiNER-style request asks the model to find, reported in
 * {@code X-VLLM-Factory-Schema-Size}: the first of {@code data.schema}, {@code data.labels},
 * {@code schema}, {@code labels} found. Labels count one each; a schema counts its entities,
 * classifications and relations, and each structure plus its fields. Pure.
 *
 * <p>Read with Jackson's tokenizer: the labels are counted from its tokens and only a schema becomes
 * a tree; everything else (the input text included) is skipped. A body without a quoted
 * {@code "labels"} or {@code "schema"} in it is not tokenized at all, nor is one larger than
 * {@link #MAX_BODY} (the header is for GLiNER-style requests, which are far smaller; reading a
 * megabyte body for it would cost more than forwarding it).
 */
public final class SchemaSize {
    /** Largest body whose schema size is reported. */
    public static final int MAX_BODY = 64 * 1024;

    private static final byte[] LABELS = "labels".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SCHEMA = "schema".getBytes(StandardCharsets.US_ASCII);

    private SchemaSize() {
    }

    /** @return the size, or -1 when the body has none of the fields, is not a JSON object, or is larger than {@link #MAX_BODY} */
    public static int of(byte[] body) {
        if (body.length > MAX_BODY || !mayHaveSchema(body)) {
            return -1;
        }
        JsonNode dataSchema = null;
        int dataLabels = -1;
        JsonNode schema = null;
        int labels = -1;
        try (JsonParser p = AffinityKey.JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return -1;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                switch (name) {
                    case "schema" -> schema = tree(p);
                    case "labels" -> labels = count(p);
                    case "data" -> {
                        // As in a tree, a repeated key replaces the earlier value.
                        dataSchema = null;
                        dataLabels = -1;
                        if (value != JsonToken.START_OBJECT) {
                            p.skipChildren();
                            continue;
                        }
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String inner = p.currentName();
                            p.nextToken();
                            switch (inner) {
                                case "schema" -> dataSchema = tree(p);
                                case "labels" -> dataLabels = count(p);
                                default -> p.skipChildren();
                            }
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT) {
                return -1;
            }
        } catch (IOException e) { // malformed JSON included
            return -1;
        }
        if (dataSchema != null) {
            return schema(dataSchema);
        }
        if (dataLabels >= 0) {
            return dataLabels;
        }
        if (schema != null) {
            return schema(schema);
        }
        return labels;
    }

    /** One pass for a quote, six letters and a quote: "labels" and "schema" are both that long. */
    static boolean mayHaveSchema(byte[] b) {
        for (int i = 0; i + 7 < b.length; i++) {
            if (b[i] == '"' && b[i + 7] == '"'
                && (Arrays.equals(b, i + 1, i + 7, LABELS, 0, 6) || Arrays.equals(b, i + 1, i + 7, SCHEMA, 0, 6))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The count of the value under the parser, as {@link #count(JsonNode)} counts it, read from its
     * tokens: a list's items and an object's keys are skipped, not built.
     */
    private static int count(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return 0;
        }
        if (t != JsonToken.START_ARRAY && t != JsonToken.START_OBJECT) {
            return 1;
        }
        JsonToken end = t == JsonToken.START_ARRAY ? JsonToken.END_ARRAY : JsonToken.END_OBJECT;
        java.util.Set<String> keys = t == JsonToken.START_OBJECT ? new java.util.HashSet<>() : null;
        int n = 0;
        for (JsonToken next = p.nextToken(); next != end; next = p.nextToken()) {
            if (next == null) {
                throw new IOException("unexpected end of the body");
            }
            if (keys != null) { // an object: its distinct keys, as a tree keeps only the last of repeated ones
                keys.add(p.currentName());
                p.nextToken();
            } else {
                n++;
            }
            p.skipChildren();
        }
        return keys != null ? keys.size() : n;
    }

    private static JsonNode tree(JsonParser p) throws IOException {
        JsonNode node = p.readValueAsTree();
        return node == null ? NullNode.getInstance() : node;
    }

    private static int schema(JsonNode schema) {
        if (!schema.isObject()) {
            return count(schema);
        }
        int n = count(schema.get("entities")) + count(schema.get("classifications")) + count(schema.get("relations"));
        JsonNode structures = schema.get("structures");
        if (structures != null && (structures.isObject() || structures.isArray())) {
            for (JsonNode structure : structures) {
                n += 1 + fields(structure);
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
