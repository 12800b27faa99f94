package io.vllmfactory.serve.dispatch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/**
 * The one place where the dispatcher's failures become HTTP answers: an RFC 9457 problem body
 * (always valid JSON, never a stack trace) with the status that fits.
 */
final class Problems {
    static final String CONTENT_TYPE = "application/problem+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Problems() {
    }

    /** A problem answer: status, RFC 9457 fields, and the headers that go with it. */
    record Problem(int status, String title, String detail, String instance, String retryAfter, boolean close) {
        byte[] body() {
            ObjectNode body = JSON.createObjectNode();
            body.put("type", "about:blank");
            body.put("title", title);
            body.put("status", status);
            body.put("detail", detail == null ? title : detail);
            if (instance != null) {
                body.put("instance", instance);
            }
            try {
                return JSON.writeValueAsBytes(body);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a problem body is always serialisable", e);
            }
        }
    }

    /** The answer for a failure; null when there is no client left to answer. */
    static Problem of(Throwable failure, String instance) {
        return switch (failure) {
            case ClientAbortException e -> null;
            case QueueFullException e -> new Problem(503, "queue full", e.getMessage(), instance, "1", false);
            case QueueTimeoutException e -> new Problem(503, "queue timeout", e.getMessage(), instance, "1", false);
            case NoBackendException e -> new Problem(503, "no healthy backends", e.getMessage(), instance, "5", false);
            case PayloadTooLargeException e ->
                    new Problem(413, "request body too large", e.getMessage(), instance, null, false);
            case UpstreamFailure e when e.timeout() ->
                    new Problem(504, "backend timeout", e.getMessage(), instance, null, false);
            case UpstreamFailure e ->
                    new Problem(502, "no backend could take the request", e.getMessage(), instance, null, false);
            case DrainingException e -> new Problem(503, "shutting down", e.getMessage(), instance, "1", true);
            default -> new Problem(500, "dispatcher error",
                    failure.getClass().getSimpleName() + ": " + failure.getMessage(), instance, null, false);
        };
    }

    /** Answers the client for a failure; returns false when there is no client left to answer. */
    static boolean send(ClientResponse res, Throwable failure, String instance) {
        Problem problem = of(failure, instance);
        if (problem == null || res.started()) {
            return false;
        }
        try {
            res.problem(problem);
            return true;
        } catch (IOException e) {
            return false;
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
