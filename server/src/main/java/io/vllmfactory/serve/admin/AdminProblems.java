package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.supervise.FleetException;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * The one place where admin failures become HTTP answers: a status and an RFC 9457 problem body whose
 * {@code type} names the kind of problem, never a stack trace.
 */
final class AdminProblems {
    static final String TYPE_PREFIX = "urn:vllm-factory-serve:problem:";
    private static final Header PROBLEM_JSON = HeaderValues.createCached(HeaderNames.CONTENT_TYPE,
            "application/problem+json");

    private AdminProblems() {
    }

    /** What a failure means for the client. */
    record Problem(Status status, String kind, String title, String detail, List<Header> headers) {
        boolean internal() {
            return status.code() >= 500;
        }
    }

    static Problem of(Throwable failure) {
        return switch (failure) {
            case RequestRefused e -> new Problem(e.status, e.kind, title(e.kind), e.getMessage(), e.headers);
            case FleetException.Busy e -> conflict("busy", e);
            case FleetException.OverBudget e -> conflict("over-budget", e);
            case FleetException.WrongState e -> conflict("wrong-state", e);
            case FleetException.DirectMode e -> conflict("direct-mode", e);
            case FleetException.NotLaunched e -> conflict("not-launched", e);
            case FleetException.UnknownInstance e ->
                    new Problem(Status.NOT_FOUND_404, "not-found", title("not-found"), e.getMessage(), List.of());
            case FleetException.Invalid e -> new Problem(Status.BAD_REQUEST_400, "invalid-request",
                    title("invalid-request"), e.getMessage(), List.of());
            default -> new Problem(Status.INTERNAL_SERVER_ERROR_500, "internal", title("internal"),
                    "the admin API failed unexpectedly (" + failure.getClass().getSimpleName()
                    + "); the sidecar's log has the cause", List.of());
        };
    }

    static void send(ServerResponse res, Problem problem, String path) {
        ObjectNode body = Json.object();
        body.put("type", TYPE_PREFIX + problem.kind());
        body.put("title", problem.title());
        body.put("status", problem.status().code());
        body.put("detail", problem.detail() == null ? problem.title() : problem.detail());
        body.put("instance", path);
        res.status(problem.status());
        problem.headers().forEach(res::header);
        res.header(PROBLEM_JSON);
        res.send(Json.bytes(body));
    }

    private static Problem conflict(String kind, FleetException e) {
        return new Problem(Status.CONFLICT_409, kind, title(kind), e.getMessage(), List.of());
    }

    private static String title(String kind) {
        return switch (kind) {
            case "over-budget" -> "over GPU memory budget";
            case "internal" -> "internal error";
            default -> kind.replace('-', ' ');
        };
    }
}
