package io.vllmfactory.serve.dispatch;

/** The public port refuses this path: one of vLLM's operator endpoints, or configured so (403). */
final class ForbiddenPathException extends RuntimeException {
    ForbiddenPathException(String rawPath) {
        super(abbreviate(rawPath) + " is an operator endpoint of the backends, refused on the public port"
                + " (see --public-deny-path and --public-allow-path)", null, false, false);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
