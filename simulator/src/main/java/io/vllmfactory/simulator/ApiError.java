package io.vllmfactory.simulator;

/**
 * A request vLLM would refuse; the routing's error handler answers it with vLLM's error body
 * {@code {"object":"error","message":..,"type":..,"param":null,"code":status}}.
 */
final class ApiError extends RuntimeException {
    private final int status;
    private final String type;

    ApiError(int status, String type, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
    }

    static ApiError badRequest(String message) {
        return new ApiError(400, "BadRequestError", message);
    }

    static ApiError notFound(String message) {
        return new ApiError(404, "NotFoundError", message);
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }
}
