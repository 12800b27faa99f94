package io.vllmfactory.serve.dispatch.client;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;

import java.nio.charset.StandardCharsets;

/**
 * What a client gets when Helidon's HTTP/1 parser refuses its request before any handler runs:
 * the status Helidon chose (400, 413, 414, 505, ...), with an RFC 9457 problem body instead of
 * plain text, and 431 for a header section past the limit (Helidon says 400 there). The
 * connection closes, as Helidon does after every refusal.
 */
public final class Refusals implements DirectHandler {
    /** Helidon's text for a header section past {@code max-headers-size}. */
    private static final String HEADER_SIZE_EXCEEDED = "Header size exceeded";
    private static final Status HEADERS_TOO_LARGE = Status.create(431, "Request Header Fields Too Large");

    private Refusals() {
    }

    /** Direct handlers for every kind of refusal. */
    public static DirectHandlers all() {
        DirectHandlers.Builder b = DirectHandlers.builder();
        for (EventType type : EventType.values()) {
            b.addHandler(type, new Refusals());
        }
        return b.build();
    }

    @Override
    public TransportResponse handle(TransportRequest request, EventType eventType, Status status,
                                    ServerResponseHeaders headers, String message) {
        Status answer = status;
        String detail = message;
        if (message != null && message.contains(HEADER_SIZE_EXCEEDED)) {
            answer = HEADERS_TOO_LARGE;
            detail = "the request's header section is larger than the limit (max-header-size)";
        } else if (status.code() == 414) {
            detail = "the request line is longer than the limit (max-request-line)";
        } else if (eventType == EventType.INTERNAL_ERROR && request.method().isEmpty()) {
            // Failed before a request line was made of the bytes: Helidon's parser lets a method that is no
            // token (G\1T) escape as a plain IllegalArgumentException, a 500 with a logged stack trace. It is
            // the client's malformed request line.
            answer = Status.BAD_REQUEST_400;
            detail = "the request line is malformed";
        }
        String title = answer.reasonPhrase() == null || answer.reasonPhrase().isEmpty()
                ? "request refused" : answer.reasonPhrase().toLowerCase(java.util.Locale.ROOT);
        String body = "{\"type\":\"about:blank\",\"title\":" + quote(title) + ",\"status\":" + answer.code()
                + ",\"detail\":" + quote(detail == null || detail.isBlank() ? title : detail) + "}";
        headers.set(HeaderNames.CONTENT_TYPE, "application/problem+json");
        return TransportResponse.builder()
                .status(answer)
                .headers(headers)
                .keepAlive(false)
                .entity(body.getBytes(StandardCharsets.UTF_8))
                .build();
    }

    /** A JSON string literal. */
    private static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
