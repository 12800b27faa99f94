package io.vllmfactory.serve.dispatch;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The one place where the dispatcher's failures become HTTP answers: an RFC 9457 problem body
 * (always valid JSON, never a stack trace) with the status that fits.
 */
final class Problems {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final io.helidon.http.Header PROBLEM_JSON =
            HeaderValues.createCached(HeaderNames.CONTENT_TYPE, "application/problem+json");

    private Problems() {
    }

    /** Answers the client for a failure; returns false when there is no client left to answer. */
    static boolean send(ServerResponse res, Throwable failure, String instance) {
        if (res.isSent() || failure instanceof ClientAbortException) {
            return false;
        }
        switch (failure) {
            case QueueFullException e -> {
                res.header(HeaderValues.create(HeaderNames.RETRY_AFTER, "1"));
                write(res, Status.SERVICE_UNAVAILABLE_503, "queue full", e.getMessage(), instance);
            }
            case QueueTimeoutException e -> {
                res.header(HeaderValues.create(HeaderNames.RETRY_AFTER, "1"));
                write(res, Status.SERVICE_UNAVAILABLE_503, "queue timeout", e.getMessage(), instance);
            }
            case NoBackendException e -> {
                res.header(HeaderValues.create(HeaderNames.RETRY_AFTER, "5"));
                write(res, Status.SERVICE_UNAVAILABLE_503, "no healthy backends", e.getMessage(), instance);
            }
            case PayloadTooLargeException e ->
                    write(res, Status.REQUEST_ENTITY_TOO_LARGE_413, "request body too large", e.getMessage(), instance);
            case UpstreamFailure e when e.timeout() ->
                    write(res, Status.GATEWAY_TIMEOUT_504, "backend timeout", e.getMessage(), instance);
            case UpstreamFailure e ->
                    write(res, Status.BAD_GATEWAY_502, "no backend could take the request", e.getMessage(), instance);
            case DrainingException e -> {
                res.header(HeaderValues.CONNECTION_CLOSE);
                res.header(HeaderValues.create(HeaderNames.RETRY_AFTER, "1"));
                write(res, Status.SERVICE_UNAVAILABLE_503, "shutting down", e.getMessage(), instance);
            }
            default -> write(res, Status.INTERNAL_SERVER_ERROR_500, "dispatcher error",
                    failure.getClass().getSimpleName() + ": " + failure.getMessage(), instance);
        }
        return true;
    }

    static void write(ServerResponse res, Status status, String title, String detail, String instance) {
        ObjectNode body = JSON.createObjectNode();
        body.put("type", "about:blank");
        body.put("title", title);
        body.put("status", status.code());
        body.put("detail", detail == null ? title : detail);
        if (instance != null) {
            body.put("instance", instance);
        }
        res.status(status);
        res.header(PROBLEM_JSON);
        try {
            res.send(JSON.writeValueAsBytes(body));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a problem body is always serialisable", e);
        }
    }

    /** A fresh JSON object node (for status bodies). */
    static ObjectNode object() {
        return JSON.createObjectNode();
    }

    static ObjectMapper mapper() {
        return JSON;
    }
}
