package io.vllmfactory.serve.dispatch;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Headers that describe one connection, not the message (RFC 9110 section 7.6.1), and so are not
 * forwarded by a proxy; plus the ones the proxy writes itself.
 */
final class HopByHop {
    /** RFC 9110 section 7.6.1's connection-specific headers. */
    private static final List<String> CONNECTION_HEADERS = List.of(
            "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
            "proxy-authenticate", "proxy-authorization");
    /** Host, framing and Expect are written by the proxy itself; X-Forwarded-For is appended to. */
    private static final String[] DROPPED_FROM_REQUEST = with("host", "content-length", "expect", "x-forwarded-for");
    /** The server frames the body itself. */
    private static final String[] DROPPED_FROM_RESPONSE = with("content-length");
    private static final Ascii.Names REQUEST_NAMES = new Ascii.Names(DROPPED_FROM_REQUEST);
    private static final Ascii.Names RESPONSE_NAMES = new Ascii.Names(DROPPED_FROM_RESPONSE);

    private HopByHop() {
    }

    private static String[] with(String... more) {
        List<String> all = new ArrayList<>(CONNECTION_HEADERS);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    /** Not forwarded from client to backend; the name in any case, compared without a lower-cased copy. */
    static boolean dropFromRequest(String name) {
        for (String d : DROPPED_FROM_REQUEST) {
            if (d.length() == name.length() && d.equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** {@link #dropFromRequest(String)} for a name given as the bytes {@code b[from, to)}. */
    static boolean dropFromRequest(byte[] b, int from, int to) {
        return REQUEST_NAMES.find(b, from, to) != null;
    }

    /** Not relayed from backend to client, for a name given as the bytes {@code b[from, to)}. */
    static boolean dropFromResponse(byte[] b, int from, int to) {
        return RESPONSE_NAMES.find(b, from, to) != null;
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
