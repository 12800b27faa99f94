package io.vllmfactory.serve.dispatch;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Headers that describe one connection, not the message (RFC 9110 section 7.6.1), and so are not
 * forwarded by a proxy; plus the ones the proxy writes itself.
 */
final class HopByHop {
    private static final Set<String> CONNECTION_HEADERS = Set.of(
            "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
            "proxy-authenticate", "proxy-authorization");

    private HopByHop() {
    }

    private static final String[] DROPPED_FROM_REQUEST = {
            "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
            "proxy-authenticate", "proxy-authorization", "host", "content-length", "expect", "x-forwarded-for"};

    /**
     * Not forwarded from client to backend: hop-by-hop, Host, framing and Expect (we send the body
     * ourselves); the name in any case, compared without a lower-cased copy.
     */
    static boolean dropFromRequestIgnoringCase(String name) {
        for (String d : DROPPED_FROM_REQUEST) {
            if (d.length() == name.length() && d.equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** {@link #dropFromRequestIgnoringCase} for a name given as bytes. */
    static boolean dropFromRequest(byte[] b, int from, int to) {
        for (String d : DROPPED_FROM_REQUEST) {
            if (Ascii.isName(b, from, to, d)) {
                return true;
            }
        }
        return false;
    }

    /** Not relayed from backend to client: hop-by-hop and framing (the server frames the body itself). */
    static boolean dropFromResponse(String lowerName) {
        return CONNECTION_HEADERS.contains(lowerName) || "content-length".equals(lowerName);
    }

    /** Lower-cased tokens of a Connection header value: further headers that are hop-by-hop. */
    static Set<String> connectionTokens(String connectionValue) {
        if (connectionValue == null || connectionValue.isBlank()) {
            return Set.of();
        }
        HashSet<String> out = new HashSet<>();
        for (String t : connectionValue.split(",")) {
            String token = t.trim().toLowerCase(Locale.ROOT);
            if (!token.isEmpty()) {
                out.add(token);
            }
        }
        return out;
    }
}
