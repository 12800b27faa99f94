package io.vllmfactory.serve.admin;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/** The admin API's JSON: strict on input (no duplicate keys, nothing after the value), plain on output. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final Header JSON_TYPE = HeaderValues.createCached(HeaderNames.CONTENT_TYPE, "application/json");

    private Json() {
    }

    /** Answers with {@code node} as {@code application/json}, keeping the status already set. */
    static void send(ServerResponse res, JsonNode node) {
        res.header(JSON_TYPE);
        res.send(bytes(node));
    }

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    static JsonNode tree(Object value) {
        return MAPPER.valueToTree(value);
    }

    /** @throws RequestRefused when the bytes are not one JSON value */
    static JsonNode parse(byte[] body) {
        try {
            return MAPPER.readTree(body);
        } catch (StreamConstraintsException e) {
            throw RequestRefused.invalid("the body nests too deep or holds a value too long to read"
                    + " (expected: a small JSON object such as {\"count\": 2})");
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            throw RequestRefused.invalid("the body is not valid JSON" + plain(e.getOriginalMessage())
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        } catch (IOException e) {
            throw RequestRefused.invalid("the body could not be read as JSON");
        }
    }

    /**
     * Jackson's own wording when it says what is wrong with the JSON ("Duplicate field 'count'"),
     * nothing when it would name Jackson's classes or limits.
     */
    private static String plain(String message) {
        if (message == null) {
            return "";
        }
        String line = message.lines().findFirst().orElse("");
        int detail = line.indexOf(" (");
        line = detail > 0 ? line.substring(0, detail) : line; // what follows names Jackson's types and features
        if (line.isBlank() || line.contains("`") || line.contains("com.fasterxml") || line.contains("Constraints")) {
            return "";
        }
        return ": " + (line.length() > 120 ? line.substring(0, 117) + "..." : line);
    }

    static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree is always serialisable", e);
        }
    }
}
