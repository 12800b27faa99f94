package io.vllmfactory.serve.admin;

import io.helidon.http.HttpMediaType;
import io.helidon.webserver.http.ServerRequest;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Reads what an admin request carries, strictly: a JSON body of the documented shape (no unknown
 * fields, no strings where numbers belong), integer ids and boolean flags. Anything else becomes a
 * {@link RequestRefused} whose message says what was expected.
 */
final class AdminRequests {
    /** Largest body accepted: the documented ones are a few bytes. */
    static final int MAX_BODY = 64 * 1024;
    /** Most instances a count may ask for; the GPU budget refuses far fewer in practice. */
    static final int MAX_COUNT = 64;

    private AdminRequests() {
    }

    /** The body, empty when there is none; JSON only. */
    static byte[] body(ServerRequest req) {
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        Optional<HttpMediaType> type = req.headers().contentType();
        if (type.isEmpty() || !isJson(type.get())) {
            req.content().consume();
            throw RequestRefused.unsupportedMediaType((type.isEmpty() ? "the body has no Content-Type"
                    : "the body is " + type.get().mediaType().text()) + "; send JSON with Content-Type: application/json");
        }
        byte[] bytes;
        try (InputStream in = req.content().inputStream()) {
            bytes = in.readNBytes(MAX_BODY + 1);
        } catch (IOException | RuntimeException e) { // the client went away mid-body, or broke its framing
            throw new ClientGone(e);
        }
        if (bytes.length > MAX_BODY) {
            throw RequestRefused.tooLarge("the body is larger than " + MAX_BODY + " bytes");
        }
        return bytes;
    }

    /** {@code {"count": k}} with 1 <= k <= {@value #MAX_COUNT}; empty when the body is empty and {@code required} is false. */
    static OptionalInt count(byte[] body, boolean required) {
        if (!required && (body.length == 0 || Json.parse(body).isNull())) {
            return OptionalInt.empty(); // generated clients send the JSON null for an absent optional body
        }
        if (body.length == 0) {
            throw RequestRefused.invalid("the body is empty (expected: a JSON object such as {\"count\": 2})");
        }
        JsonNode json = object(body, Set.of("count"), "{\"count\": 2}");
        JsonNode count = json.get("count");
        if (count == null) {
            if (required) {
                throw RequestRefused.invalid("count is missing (expected: an integer 1.." + MAX_COUNT + ")");
            }
            return OptionalInt.empty();
        }
        if (!count.canConvertToInt() || !count.isIntegralNumber() || count.intValue() < 1 || count.intValue() > MAX_COUNT) {
            throw RequestRefused.invalid("count: " + shown(count) + " (expected: an integer 1.." + MAX_COUNT + ")");
        }
        return OptionalInt.of(count.intValue());
    }

    /** {@code {"enabled": true|false}}. */
    static boolean enabled(byte[] body) {
        if (body.length == 0) {
            throw RequestRefused.invalid("the body is empty (expected: a JSON object such as {\"enabled\": true})");
        }
        JsonNode enabled = object(body, Set.of("enabled"), "{\"enabled\": true}").get("enabled");
        if (enabled == null) {
            throw RequestRefused.invalid("enabled is missing (expected: true or false)");
        }
        if (!enabled.isBoolean()) {
            throw RequestRefused.invalid("enabled: " + shown(enabled) + " (expected: true or false)");
        }
        return enabled.booleanValue();
    }

    /** The {@code rebalance} query parameter: absent, {@code true} or {@code false}. */
    static boolean rebalance(ServerRequest req) {
        if (!req.query().contains("rebalance")) {
            return false;
        }
        List<String> values = req.query().all("rebalance");
        String v = values.size() == 1 ? values.getFirst() : String.join(",", values);
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw RequestRefused.invalid("rebalance: '" + v + "' (expected: true or false)");
        };
    }

    /**
     * The {@code {id}} path parameter: ASCII digits only (Java would also read other scripts' digits
     * and a sign, so {@code ١} or {@code +1} would name instance 1); anything else names no instance.
     */
    static int id(ServerRequest req) {
        String raw = req.path().pathParameters().get("id");
        if (raw != null && !raw.isEmpty() && raw.length() <= 9 && raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return Integer.parseInt(raw);
        }
        throw RequestRefused.notFound("no instance " + shown(raw) + " (ids are integers >= 0 written in the digits 0-9)");
    }

    /** The body could not be read: the client left mid-body or sent broken framing; nobody to answer. */
    static final class ClientGone extends RuntimeException {
        ClientGone(Exception cause) {
            super("the client's body could not be read: " + cause.getMessage(), cause, false, false);
        }
    }

    private static boolean isJson(HttpMediaType type) {
        String subtype = type.mediaType().subtype();
        return type.mediaType().type().equals("application") && (subtype.equals("json") || subtype.endsWith("+json"));
    }

    private static JsonNode object(byte[] body, Set<String> fields, String example) {
        JsonNode json = Json.parse(body);
        if (!json.isObject()) {
            throw RequestRefused.invalid("the body is " + kind(json) + " (expected: a JSON object such as " + example + ")");
        }
        for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!fields.contains(name)) {
                throw RequestRefused.invalid("unknown field " + shown(name) + " (expected: " + String.join(", ", fields) + ")");
            }
        }
        return json;
    }

    private static String kind(JsonNode json) {
        return switch (json.getNodeType()) {
            case ARRAY -> "an array";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> "empty";
        };
    }

    private static String shown(Object value) {
        String s = value instanceof String str ? "'" + str + "'" : value.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
