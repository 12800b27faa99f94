package io.vllmfactory.serve.admin;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.ServerRequest;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

/** The bearer-token check every {@code /admin} request passes (RFC 6750); open when no token is configured. */
final class AdminAuth {
    private static final String REALM = "Bearer realm=\"vllm-factory-serve admin\"";
    private static final Header CHALLENGE = HeaderValues.create(HeaderNames.WWW_AUTHENTICATE, REALM);
    private static final Header INVALID_TOKEN = HeaderValues.create(HeaderNames.WWW_AUTHENTICATE,
            REALM + ", error=\"invalid_token\"");
    private static final String BEARER = "bearer ";

    private final Optional<AdminToken> token;
    private final TokenAttempts attempts;

    AdminAuth(Optional<AdminToken> token) {
        this(token, new TokenAttempts(System::nanoTime));
    }

    AdminAuth(Optional<AdminToken> token, TokenAttempts attempts) {
        this.token = token;
        this.attempts = attempts;
    }

    /**
     * @throws RequestRefused (401) unless the request carries the token; the message never echoes what was
     *                        sent; (429) while the client's address is locked out after failed attempts
     */
    void check(ServerRequest req) {
        if (token.isEmpty()) {
            return;
        }
        String address = address(req);
        OptionalLong locked = attempts.lockedFor(address);
        if (locked.isPresent()) {
            long seconds = Math.max(1, (locked.getAsLong() + 999_999_999L) / 1_000_000_000L);
            throw RequestRefused.tooManyRequests("too many failed token attempts from " + address + "; try again in "
                    + seconds + " s", HeaderValues.create(HeaderNames.RETRY_AFTER, seconds));
        }
        boolean sent = req.headers().contains(HeaderNames.AUTHORIZATION);
        try {
            checkToken(req);
        } catch (RequestRefused e) {
            if (sent) { // a wrong guess; a request with no token at all guesses nothing
                attempts.failed(address);
            }
            throw e;
        }
        attempts.succeeded(address);
    }

    private static String address(ServerRequest req) {
        return req.remotePeer().address() instanceof InetSocketAddress isa && isa.getAddress() != null
                ? isa.getAddress().getHostAddress() : String.valueOf(req.remotePeer().address());
    }

    private void checkToken(ServerRequest req) {
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
