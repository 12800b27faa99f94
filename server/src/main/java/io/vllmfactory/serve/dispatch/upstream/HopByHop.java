package io.vllmfactory.serve.dispatch.upstream;

import java.util.Locale;
import java.util.Set;

/**
 * Headers that describe one connection, not the message (RFC 9110 section 7.6.1, plus the older
 * proxy ones), and so are never forwarded by a proxy in either direction; plus those a
 * {@code Connection} header names.
 */
public final class HopByHop {
    private static final Set<String> NAMES = Set.of("connection", "keep-alive", "proxy-connection", "transfer-encoding",
            "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization");

    private HopByHop() {
    }

    /** Whether {@code name} (any case) is hop-by-hop by itself. */
    public static boolean is(String name) {
        return NAMES.contains(name.toLowerCase(Locale.ROOT));
    }

    /**
     * Adds the lower-cased tokens of a {@code Connection} header value to {@code into}: the further
     * headers that are hop-by-hop in this message.
     */
    public static void addConnectionTokens(String value, Set<String> into) {
        for (String t : value.split(",")) {
            String token = t.trim().toLowerCase(Locale.ROOT);
            if (!token.isEmpty()) {
                into.add(token);
            }
        }
    }
}
