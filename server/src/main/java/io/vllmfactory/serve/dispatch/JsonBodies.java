package io.vllmfactory.serve.dispatch;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Parsing request bodies as JSON, only when something needs the tree. */
final class JsonBodies {
    private static final byte[] LABELS = "labels".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SCHEMA = "schema".getBytes(StandardCharsets.US_ASCII);

    private JsonBodies() {
    }

    /** The body as a JSON tree, or null when it is empty, not buffered or not JSON. */
    static JsonNode parse(RequestBody body) {
        if (!body.buffered() || !looksLikeJson(body.bytes())) {
            return null;
        }
        try {
            return Problems.mapper().readTree(body.bytes());
        } catch (IOException e) { // malformed JSON included
            return null;
        }
    }

    /**
     * A byte scan that rules out the schema-size header without parsing: parsing every body would
     * cost more than the rest of the request path when affinity is off.
     */
    static boolean mayHaveSchema(RequestBody body) {
        byte[] b = body.bytes();
        if (!body.buffered()) {
            return false;
        }
        // One pass: a quote, six letters, a quote ("labels" and "schema" are both that long).
        for (int i = 0; i + 7 < b.length; i++) {
            if (b[i] == '"' && b[i + 7] == '"'
                && (Arrays.equals(b, i + 1, i + 7, LABELS, 0, 6) || Arrays.equals(b, i + 1, i + 7, SCHEMA, 0, 6))) {
                return true;
            }
        }
        return false;
    }

    private static boolean looksLikeJson(byte[] b) {
        for (byte c : b) {
            if (c == '{' || c == '[') {
                return true;
            }
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                return false;
            }
        }
        return false;
    }
}
