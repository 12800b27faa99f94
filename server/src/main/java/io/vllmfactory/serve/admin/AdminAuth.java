package io.vllmfactory.serve.admin;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.ServerRequest;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The bearer-token check every {@code /admin} request passes (RFC 6750); open when no token is configured. */
final class AdminAuth {
    private static final String REALM = "Bearer realm=\"vllm-factory-serve admin\"";
    private static final Header CHALLENGE = HeaderValues.create(HeaderNames.WWW_AUTHENTICATE, REALM);
    private static final Header INVALID_TOKEN = HeaderValues.create(HeaderNames.WWW_AUTHENTICATE,
            REALM + ", error=\"invalid_token\"");
    private static final String BEARER = "bearer ";

    private final Optional<AdminToken> token;

    AdminAuth(Optional<AdminToken> token) {
        this.token = token;
    }

    /** @throws RequestRefused (401) unless the request carries the token; the message never echoes what was sent */
    void check(ServerRequest req) {
        if (token.isEmpty()) {
            return;
        }
        List<String> values = req.headers().contains(HeaderNames.AUTHORIZATION)
                ? req.headers().get(HeaderNames.AUTHORIZATION).allValues() : List.of();
        if (values.isEmpty()) {
            throw RequestRefused.unauthorized("send the admin token as Authorization: Bearer <token>", CHALLENGE);
        }
        String value = values.getFirst();
        if (values.size() > 1 || value.length() <= BEARER.length()
                || !value.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
            throw RequestRefused.unauthorized("expected one Authorization: Bearer <token> header", CHALLENGE);
        }
        if (!token.get().matches(value.substring(BEARER.length()).strip())) {
            throw RequestRefused.unauthorized("the bearer token is not the admin token", INVALID_TOKEN);
        }
    }
}
