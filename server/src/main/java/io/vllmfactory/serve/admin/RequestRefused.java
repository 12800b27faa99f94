package io.vllmfactory.serve.admin;

import io.helidon.http.Header;
import io.helidon.http.Status;

import java.util.List;

/** A request the admin API refuses before it reaches the fleet: bad input, no token, no such route. */
final class RequestRefused extends RuntimeException {
    final Status status;
    final String kind;
    final List<Header> headers;

    private RequestRefused(Status status, String kind, String detail, List<Header> headers) {
        super(detail, null, false, false);
        this.status = status;
        this.kind = kind;
        this.headers = headers;
    }

    static RequestRefused invalid(String detail) {
        return new RequestRefused(Status.BAD_REQUEST_400, "invalid-request", detail, List.of());
    }

    static RequestRefused unauthorized(String detail, Header wwwAuthenticate) {
        return new RequestRefused(Status.UNAUTHORIZED_401, "unauthorized", detail, List.of(wwwAuthenticate));
    }

    static RequestRefused notFound(String detail) {
        return new RequestRefused(Status.NOT_FOUND_404, "not-found", detail, List.of());
    }

    static RequestRefused methodNotAllowed(String detail, Header allow) {
        return new RequestRefused(Status.METHOD_NOT_ALLOWED_405, "method-not-allowed", detail, List.of(allow));
    }

    static RequestRefused notAcceptable(String detail) {
        return new RequestRefused(Status.NOT_ACCEPTABLE_406, "not-acceptable", detail, List.of());
    }

    static RequestRefused tooLarge(String detail) {
        return new RequestRefused(Status.REQUEST_ENTITY_TOO_LARGE_413, "payload-too-large", detail, List.of());
    }

    static RequestRefused tooManyRequests(String detail, Header retryAfter) {
        return new RequestRefused(Status.TOO_MANY_REQUESTS_429, "too-many-requests", detail, List.of(retryAfter));
    }

    static RequestRefused unsupportedMediaType(String detail) {
        return new RequestRefused(Status.UNSUPPORTED_MEDIA_TYPE_415, "unsupported-media-type", detail, List.of());
    }
}
