package io.vllmfactory.simulator;

import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderName;
import io.helidon.webserver.http.ServerRequest;

/**
 * The checks vLLM makes before it schedules a request, each failing with vLLM's status and wording: the model
 * must be served, prompts must fit the context length, {@code max_tokens} must be positive. Also reads the
 * simulator's per-request timing headers.
 */
final class RequestChecks {
    static final int DEFAULT_MAX_TOKENS = 16;

    private final ServeOptions serve;

    RequestChecks(ServeOptions serve) {
        this.serve = serve;
    }

    /** The reported model name; like vLLM, a request naming a model this server does not serve is a 404. */
    String model(ObjectNode body) {
        JsonNode model = body.get("model");
        if (model != null && !model.isNull() && !serve.servedModelNames().contains(model.asText())) {
            throw ApiError.notFound("The model `" + model.asText() + "` does not exist.");
        }
        return serve.primaryName();
    }

    int inputTokens(List<String> items) {
        int total = 0;
        for (String item : items) {
            int tokens = FakeModel.tokenCount(item);
            if (tokens > serve.maxModelLen()) {
                throw ApiError.badRequest("This model's maximum context length is " + serve.maxModelLen()
                        + " tokens. However, you requested " + tokens + " tokens in the input for embedding "
                        + "generation. Please reduce the length of the input.");
            }
            total += tokens;
        }
        return total;
    }

    int promptTokens(List<String> prompts, int maxTokens) {
        int total = 0;
        for (String prompt : prompts) {
            int tokens = FakeModel.tokenCount(prompt);
            if ((long) tokens + maxTokens > serve.maxModelLen()) {
                throw ApiError.badRequest("This model's maximum context length is " + serve.maxModelLen()
                        + " tokens. However, you requested " + (tokens + maxTokens) + " tokens (" + tokens
                        + " in the messages, " + maxTokens + " in the completion). Please reduce the length of "
                        + "the messages or completion.");
            }
            total += tokens;
        }
        return total;
    }

    static int maxTokens(ObjectNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return DEFAULT_MAX_TOKENS;
        }
        if (!value.canConvertToInt() || !value.isIntegralNumber() || value.asInt() < 1) {
            throw ApiError.badRequest(field + " must be at least 1, got " + value + ".");
        }
        return value.asInt();
    }

    /** A per-request override of a simulated time, in milliseconds. */
    static long millis(ServerRequest req, HeaderName header, long fallback) {
        Optional<String> value = req.headers().first(header);
        if (value.isEmpty()) {
            return fallback;
        }
        try {
            long millis = Long.parseLong(value.get().trim());
            if (millis >= 0) {
                return millis;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiError.badRequest(header.defaultCase() + ": '" + value.get() + "' (expected: milliseconds >= 0)");
    }
}
