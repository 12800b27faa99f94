package io.vllmfactory.simulator;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** Reading request bodies and writing JSON answers, with vLLM's error shape. */
final class Json {
    private final ObjectMapper mapper = new ObjectMapper();

    ObjectNode object() {
        return mapper.createObjectNode();
    }

    /** The request body as a JSON object; a 400 {@link ApiError} if it is missing or malformed. */
    ObjectNode readObject(ServerRequest req) {
        if (!req.content().hasEntity()) {
            throw ApiError.badRequest("Request body is missing (expected: a JSON object)");
        }
        try (InputStream in = req.content().inputStream()) {
            JsonNode node = mapper.readTree(in);
            if (node instanceof ObjectNode object) {
                return object;
            }
            throw ApiError.badRequest("Request body is not a JSON object");
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest("Malformed JSON in request body: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.badRequest("Could not read request body: " + e.getMessage());
        }
    }

    String write(JsonNode node) {
        try {
            return mapper.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree must serialise", e);
        }
    }

    void send(ServerResponse res, int status, JsonNode body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(write(body).getBytes(StandardCharsets.UTF_8));
    }

    /** vLLM's error body. */
    ObjectNode error(int status, String type, String message) {
        ObjectNode body = object();
        body.put("object", "error");
        body.put("message", message);
        body.put("type", type);
        body.putNull("param");
        body.put("code", status);
        return body;
    }

    void sendError(ServerResponse res, int status, String type, String message) {
        send(res, status, error(status, type, message));
    }
}
