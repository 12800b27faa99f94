package io.vllmfactory.serve.dispatch;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;

/** Parsing request bodies as JSON, only when something needs the tree. */
final class JsonBodies {
    private static final byte[] LABELS = "\"labels\"".getBytes();
    private static final byte[] SCHEMA = "\"schema\"".getBytes();

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
        return body.buffered() && b.length > 0 && (contains(b, LABELS) || contains(b, SCHEMA));
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

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
