package io.vllmfactory.serve.dispatch.upstream;

import io.vllmfactory.serve.dispatch.upstream.UpstreamException.BadResponse;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A backend's response head, parsed strictly (RFC 9112), with its body's framing decided. Anything
 * a proxy could read two ways is refused: a malformed status line, a header name that is not a
 * token or has whitespace before its colon, obsolete line folding, control characters in a value,
 * two different {@code Content-Length} values, a non-numeric one, and any transfer coding but
 * {@code chunked} alone. Lines may end in CRLF or a bare LF (RFC 9112 section 2.2).
 *
 * <p>{@link #headers()} are the end-to-end headers to relay, in order, repeated ones repeated: the
 * hop-by-hop ones, those {@code Connection} names and the framing headers are left out (the
 * client's side frames the body itself).
 */
public final class ResponseHead {
    private static final int MAX_HEADERS = 256;

    private final int status;
    private final String reason;
    private final List<String[]> headers;
    private final long contentLength;
    private final boolean chunked;
    private final boolean reusable;
    private final boolean noBody;

    private ResponseHead(int status, String reason, List<String[]> headers, long contentLength, boolean chunked,
                         boolean reusable, boolean noBody) {
        this.status = status;
        this.reason = reason;
        this.headers = headers;
        this.contentLength = contentLength;
        this.chunked = chunked;
        this.reusable = reusable;
        this.noBody = noBody;
    }

    /**
     * Parses a whole head: {@code b[from, to)} holds the status line, the header lines and the empty
     * line that ends them.
     *
     * @param headRequest whether it answers a HEAD request (then it has no body, whatever it says)
     * @throws BadResponse when the head is malformed or its framing is ambiguous
     */
    static ResponseHead parse(byte[] b, int from, int to, boolean headRequest) throws BadResponse {
        int lineEnd = lineEnd(b, from, to);
        int statusEnd = contentEnd(b, from, lineEnd);
        boolean http10 = statusLine(b, from, statusEnd);
        int status = (b[from + 9] - '0') * 100 + (b[from + 10] - '0') * 10 + (b[from + 11] - '0');
        String reason = statusEnd > from + 13 ? text(b, from + 13, statusEnd) : "";
        checkText(b, from + 12, statusEnd, "status line");

        List<String[]> fields = new ArrayList<>(16);
        int p = lineEnd + 1;
        while (true) {
            lineEnd = lineEnd(b, p, to);
            int end = contentEnd(b, p, lineEnd);
            if (end == p) {
                break;
            }
            if (fields.size() == MAX_HEADERS) {
                throw new BadResponse("more than " + MAX_HEADERS + " response headers");
            }
            fields.add(field(b, p, end));
            p = lineEnd + 1;
        }
        return frame(status, reason, fields, http10, headRequest);
    }

    private static ResponseHead frame(int status, String reason, List<String[]> fields, boolean http10,
                                      boolean headRequest) throws BadResponse {
        long contentLength = -1;
        int transferCodings = 0;
        boolean close = http10;
        Set<String> connectionTokens = new HashSet<>();
        for (String[] f : fields) {
            String name = f[0];
            if (is(name, "content-length")) {
                contentLength = contentLength(f[1], contentLength);
            } else if (is(name, "transfer-encoding")) {
                transferCodings += transferCodings(f[1]);
            } else if (is(name, "connection")) {
                HopByHop.addConnectionTokens(f[1], connectionTokens);
            }
        }
        if (http10 && connectionTokens.contains("keep-alive")) {
            close = false;
        }
        close |= connectionTokens.contains("close");
        connectionTokens.remove("close"); // options, not header names (Keep-Alive is hop-by-hop anyway)
        connectionTokens.remove("keep-alive");
        if (transferCodings > 1) {
            throw new BadResponse("chunked applied more than once by the backend's Transfer-Encoding");
        }
        boolean chunked = transferCodings > 0;
        if (chunked) {
            // RFC 9112 section 6.1: with both, Transfer-Encoding frames the body and the connection must close.
            close |= contentLength >= 0;
            contentLength = -1;
        }
        boolean noBody = headRequest || status == 204 || status == 304;
        List<String[]> relayed = new ArrayList<>(fields.size());
        for (String[] f : fields) {
            String name = f[0];
            if (!is(name, "content-length") && !HopByHop.is(name)
                    && (connectionTokens.isEmpty() || !connectionTokens.contains(name.toLowerCase(Locale.ROOT)))) {
                relayed.add(f);
            }
        }
        return new ResponseHead(status, reason, relayed, noBody ? (headRequest ? contentLength : 0) : contentLength,
                chunked && !noBody, !close, noBody);
    }

    /** {@code HTTP/1.1 } or {@code HTTP/1.0 }, three digits, then a space or the end; returns whether 1.0. */
    private static boolean statusLine(byte[] b, int from, int end) throws BadResponse {
        boolean ok = end - from >= 12 && b[from] == 'H' && b[from + 1] == 'T' && b[from + 2] == 'T'
                && b[from + 3] == 'P' && b[from + 4] == '/' && b[from + 5] == '1' && b[from + 6] == '.'
                && (b[from + 7] == '1' || b[from + 7] == '0') && b[from + 8] == ' '
                && digit(b[from + 9]) && digit(b[from + 10]) && digit(b[from + 11])
                && (end == from + 12 || b[from + 12] == ' ') && b[from + 9] != '0';
        if (!ok) {
            throw new BadResponse("malformed status line from the backend: " + abbreviate(text(b, from, end)));
        }
        return b[from + 7] == '0';
    }

    private static String[] field(byte[] b, int start, int end) throws BadResponse {
        if (b[start] == ' ' || b[start] == '\t') {
            throw new BadResponse("obsolete line folding in a response header");
        }
        int colon = start;
        while (colon < end && b[colon] != ':') {
            if (!tchar(b[colon])) {
                throw new BadResponse("malformed response header name: " + abbreviate(text(b, start, end)));
            }
            colon++;
        }
        if (colon == end || colon == start) {
            throw new BadResponse("malformed response header line: " + abbreviate(text(b, start, end)));
        }
        int vs = colon + 1;
        while (vs < end && (b[vs] == ' ' || b[vs] == '\t')) {
            vs++;
        }
        int ve = end;
        while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
            ve--;
        }
        checkText(b, vs, ve, "response header " + text(b, start, colon));
        return new String[] {text(b, start, colon), text(b, vs, ve)};
    }

    /** One Content-Length field's value: digits, or a list of equal ones; all must agree with {@code before}. */
    private static long contentLength(String value, long before) throws BadResponse {
        long length = before;
        for (String part : value.split(",", -1)) {
            String v = part.strip();
            if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new BadResponse("invalid Content-Length from the backend: " + abbreviate(value));
            }
            long n = Long.parseLong(v);
            if (length >= 0 && n != length) {
                throw new BadResponse("two different Content-Length values from the backend: " + length + " and " + n);
            }
            length = n;
        }
        return length;
    }

    /** The count of {@code chunked} codings in one Transfer-Encoding field; any other coding is refused. */
    private static int transferCodings(String value) throws BadResponse {
        int chunked = 0;
        for (String part : value.split(",", -1)) {
            String coding = part.strip().toLowerCase(Locale.ROOT);
            if (!coding.equals("chunked")) {
                throw new BadResponse("unsupported Transfer-Encoding from the backend (expected: chunked alone): "
                        + abbreviate(value));
            }
            chunked++;
        }
        return chunked;
    }

    private static void checkText(byte[] b, int from, int to, String where) throws BadResponse {
        for (int i = from; i < to; i++) {
            int c = b[i] & 0xff;
            if (c < 0x20 && c != '\t' || c == 0x7f) {
                throw new BadResponse("control character in the " + where);
            }
        }
    }

    /** Index of the LF that ends the line starting at {@code from}. */
    private static int lineEnd(byte[] b, int from, int to) throws BadResponse {
        for (int i = from; i < to; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        throw new BadResponse("response head without an end");
    }

    /** End of a line's content: before its CR, if any. */
    private static int contentEnd(byte[] b, int start, int lf) {
        return lf > start && b[lf - 1] == '\r' ? lf - 1 : lf;
    }

    /** {@code name} equals {@code lower} in any case (compared without a copy). */
    private static boolean is(String name, String lower) {
        return name.length() == lower.length() && name.equalsIgnoreCase(lower);
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    /** RFC 9110 tchar. */
    static boolean tchar(byte c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+'
                || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~';
    }

    private static String text(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    public int status() {
        return status;
    }

    /** The reason phrase as the backend sent it, possibly empty. */
    public String reason() {
        return reason;
    }

    /** Whether this is an interim answer (1xx): not relayed, the final one follows. */
    boolean interim() {
        return status < 200;
    }

    /** End-to-end headers as {name, value}, in order, repeated ones repeated. */
    public List<String[]> headers() {
        return headers;
    }

    /**
     * The body's length when the backend declared one, else -1; for an answer to HEAD, the length
     * it declared for the GET (relayed as it is), for 204 and 304 zero.
     */
    public long contentLength() {
        return contentLength;
    }

    /** Whether the body comes in chunks. */
    public boolean chunked() {
        return chunked;
    }

    /** Whether the answer has no body at all (HEAD, 204, 304). */
    public boolean noBody() {
        return noBody;
    }

    /** Whether the body ends when the backend closes the connection (no length, not chunked). */
    public boolean closeDelimited() {
        return !noBody && !chunked && contentLength < 0;
    }

    /** Whether the connection may carry another request after this answer (as far as the head says). */
    boolean reusable() {
        return reusable && !closeDelimited();
    }
}
