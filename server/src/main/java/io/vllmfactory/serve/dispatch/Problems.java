package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.dispatch.admission.ClientLeftException;
import io.vllmfactory.serve.dispatch.admission.NoBackendException;
import io.vllmfactory.serve.dispatch.admission.QueueFullException;
import io.vllmfactory.serve.dispatch.admission.QueueTimeoutException;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The one place where the dispatcher's failures become HTTP answers: an RFC 9457 problem body
 * (always valid JSON, never a stack trace) with the status that fits, or none at all when there is
 * no client left to answer.
 */
final class Problems {
    static final String CONTENT_TYPE = "application/problem+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Problems() {
    }

    /** A problem answer: status, RFC 9457 fields, and the headers that go with it. */
    record Problem(int status, String title, String detail, String retryAfter, boolean close) {
        byte[] body(String instance) {
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
    static Problem of(Throwable failure) {
        return switch (failure) {
            case ClientAbortException e -> null;
            case ClientLeftException e -> null;
            case DrainingException e -> new Problem(503, "shutting down", e.getMessage(), "1", true);
            case QueueFullException e -> new Problem(503, "queue full", e.getMessage(), "1", false);
            case QueueTimeoutException e -> new Problem(503, "queue timeout", e.getMessage(), "1", false);
            case NoBackendException e -> new Problem(503, "no healthy backends", e.getMessage(), "5", false);
            case PayloadTooLargeException e -> new Problem(413, "request body too large", e.getMessage(), null, true);
            case BadRequestException e -> new Problem(e.status(), e.status() == 431 ? "request header fields too large"
                    : e.status() == 413 ? "request body too large" : "bad request", e.getMessage(), null, true);
            case PoisonException e -> new Problem(502, "request not retried", e.getMessage(), null, false);
            case ForbiddenPathException e -> new Problem(403, "forbidden", e.getMessage(), null, false);
            case UpstreamException.Timeout e -> new Problem(504, "backend timeout", e.getMessage(), null, false);
            case UpstreamException.BadResponse e -> new Problem(502, "bad answer from the backend", e.getMessage(),
                    null, false);
            case UpstreamException e -> new Problem(502, "no backend could take the request", e.getMessage(), null,
                    false);
            default -> new Problem(500, "dispatcher error", failure.getClass().getSimpleName()
                    + (failure.getMessage() == null ? "" : ": " + failure.getMessage()), null, false);
        };
    }

    /** Answers with the problem for {@code failure}; false when there is nobody to answer or the answer began. */
    static boolean send(ServerResponse res, Throwable failure, String instance) {
        Problem p = of(failure);
        if (p == null || res.isSent()) {
            return false;
        }
        res.status(Status.create(p.status()));
        if (p.retryAfter() != null) {
            res.header(HeaderValues.create(HeaderNames.RETRY_AFTER, p.retryAfter()));
        }
        if (p.close()) {
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
        res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, CONTENT_TYPE));
        try {
            res.send(p.body(instance));
            return true;
        } catch (RuntimeException e) {
            return false; // the client is gone
        }
    }

    /** A fresh JSON object node (for status bodies). */
    static ObjectNode object() {
        return JSON.createObjectNode();
    }
}
