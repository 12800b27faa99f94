package io.vllmfactory.serve.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.regex.Pattern;

/**
 * The admin bearer token. Only its SHA-256 digest is kept, so the token cannot leak through a heap
 * dump of this object, a log line or {@link #toString()}; a presented token is digested and compared
 * with {@link MessageDigest#isEqual}, whose time depends only on the (fixed) digest length.
 */
public final class AdminToken {
    /** Shortest token accepted: a guessable token on an exposed port is worse than none. */
    public static final int MIN_LENGTH = 16;
    // RFC 6750 b64token: what a bearer token may hold.
    private static final Pattern B64TOKEN = Pattern.compile("[A-Za-z0-9\\-._~+/]+=*");

    private final byte[] digest;

    private AdminToken(byte[] digest) {
        this.digest = digest;
    }

    /**
     * @param token the secret, surrounding whitespace already removed
     * @throws IllegalArgumentException when it is too short or holds characters a bearer token cannot
     *                                  carry; the message never contains the token
     */
    public static AdminToken of(String token) {
        if (token.length() < MIN_LENGTH) {
            throw new IllegalArgumentException("the admin token has " + token.length()
                    + " characters (expected: at least " + MIN_LENGTH + ")");
        }
        if (!B64TOKEN.matcher(token).matches()) {
            throw new IllegalArgumentException("the admin token holds characters a bearer token cannot carry"
                    + " (expected: letters, digits and -._~+/, optionally ending in =)");
        }
        return new AdminToken(sha256(token));
    }

    /** True when {@code presented} is the token; takes the same time whatever is presented. */
    public boolean matches(String presented) {
        return MessageDigest.isEqual(digest, sha256(presented));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "AdminToken[redacted]";
    }
}
