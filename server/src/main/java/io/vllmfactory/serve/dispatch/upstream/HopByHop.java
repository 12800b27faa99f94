package io.vllmfactory.serve.dispatch.upstream;

import java.util.Locale;
import java.util.Set;

/**
 * Headers that describe one connection, not the message (RFC 9110 section 7.6.1, plus the older
 * proxy ones), and so are never forwarded by a proxy in either direction; plus those a
 * {@code Connection} header names.
 */
public final class HopByHop {
    private HopByHop() {
    }

    /** Whether {@code name} (any case) is hop-by-hop by itself; no lower-cased copy is made. */
    public static boolean is(String name) {
        return switch (name.length()) {
            case 2 -> name.equalsIgnoreCase("te");
            case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
            case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
            case 16 -> name.equalsIgnoreCase("proxy-connection");
            case 17 -> name.equalsIgnoreCase("transfer-encoding");
            case 18 -> name.equalsIgnoreCase("proxy-authenticate");
            case 19 -> name.equalsIgnoreCase("proxy-authorization");
            default -> false;
        };
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
