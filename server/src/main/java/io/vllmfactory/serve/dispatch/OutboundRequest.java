package io.vllmfactory.serve.dispatch;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The request line and headers as they go to a backend, encoded once per client request (a retry
 * on another backend reuses them): method, raw path and raw query byte for byte, every end-to-end
 * header, {@code X-Forwarded-For}/{@code X-Forwarded-Proto}, and the body's framing. Only the Host
 * line differs per backend.
 */
final class OutboundRequest {
    private static final byte[] HTTP11 = " HTTP/1.1\r\n".getBytes(StandardCharsets.ISO_8859_1);
    /** The request line in {@code bytes[0, lineEnd)}, the header lines and the blank line in {@code [lineEnd, end)}. */
    private final byte[] bytes;
    private final int lineEnd;
    private final int end;
    private final boolean head;
    private final String method;
    private final String rawPath;
    private final String rawQuery;

    private OutboundRequest(byte[] bytes, int lineEnd, int end, String method, String rawPath, String rawQuery) {
        this.bytes = bytes;
        this.lineEnd = lineEnd;
        this.end = end;
        this.method = method;
        this.head = "HEAD".equals(method);
        this.rawPath = rawPath;
        this.rawQuery = rawQuery;
    }

    static OutboundRequest from(ServerRequest req, RequestBody body) {
        List<String[]> headers = new ArrayList<>(16);
        for (Header h : req.headers()) {
            for (String v : h.allValues()) {
                headers.add(new String[] {h.name(), v});
            }
        }
        boolean entity = req.headers().contains(HeaderNames.CONTENT_LENGTH) || req.content().hasEntity();
        return create(req.prologue().method().text(), req.prologue().uriPath().rawPath(),
                req.prologue().query().rawValue(), headers, clientAddress(req.remotePeer().address()),
                req.isSecure(), body, entity);
    }

    /**
     * Encodes a request the fast path parsed, copying the request line's method and target and every
     * forwarded header as the bytes they came in (the same choices as {@link #create}).
     *
     * @param out empty; the request refers to its bytes, so it must stay untouched while the request is in use
     */
    @SuppressWarnings("deprecation") // the ISO-8859-1 String constructor without a charset lookup
    static OutboundRequest fromHead(ProxyConnection.Head h, String client, boolean secure, AsciiBuffer out) {
        byte[] raw = h.raw;
        out.bytes(raw, 0, h.targetEnd);
        out.bytes(HTTP11, 0, HTTP11.length);
        int lineEnd = out.length();
        String forwardedFor = null;
        boolean hasProto = false;
        HeaderSpans spans = h.spans;
        for (int k = 0; k < spans.size(); k++) {
            int ns = spans.nameStart(k);
            int ne = spans.nameEnd(k);
            if (Ascii.isName(raw, ns, ne, "x-forwarded-for")) {
                String v = new String(raw, 0, spans.valueStart(k), spans.valueEnd(k) - spans.valueStart(k));
                forwardedFor = forwardedFor == null ? v : forwardedFor + ", " + v;
                continue;
            }
            if (HopByHop.dropFromRequest(raw, ns, ne) || (!h.connectionTokens.isEmpty()
                    && h.connectionTokens.contains(new String(raw, 0, ns, ne - ns).toLowerCase(Locale.ROOT)))) {
                continue;
            }
            hasProto |= Ascii.isName(raw, ns, ne, "x-forwarded-proto");
            spans.write(raw, k, out);
        }
        finish(out, forwardedFor, client, hasProto, secure);
        if (h.contentLength >= 0) {
            out.header("Content-Length", h.contentLength);
        }
        out.text("\r\n");
        return new OutboundRequest(out.array(), lineEnd, out.length(), h.method, h.rawPath, h.rawQuery);
    }

    private static void finish(AsciiBuffer out, String forwardedFor, String client, boolean hasProto, boolean secure) {
        out.header("X-Forwarded-For", forwardedFor == null ? client : forwardedFor + ", " + client);
        if (!hasProto) {
            out.header("X-Forwarded-Proto", secure ? "https" : "http");
        }
    }

    /**
     * Encodes a request for the backends.
     *
     * @param headers the client's header fields as {name, value} pairs, in order, repeated ones repeated
     * @param entity  whether the client declared a body (a Content-Length, even 0, or chunked framing)
     */
    static OutboundRequest create(String method, String rawPath, String rawQuery, List<String[]> headers,
                                  String client, boolean secure, RequestBody body, boolean entity) {
        String target = rawQuery.isEmpty() ? rawPath : rawPath + "?" + rawQuery;
        AsciiBuffer out = new AsciiBuffer(512);
        out.text(method + " " + target + " HTTP/1.1\r\n");
        int lineEnd = out.length();
        String connection = null;
        for (String[] h : headers) {
            if ("connection".equalsIgnoreCase(h[0])) {
                connection = connection == null ? h[1] : connection + "," + h[1];
            }
        }
        Set<String> connectionTokens = HopByHop.connectionTokens(connection);
        String forwardedFor = null;
        boolean hasProto = false;
        for (String[] h : headers) {
            String name = h[0];
            if ("x-forwarded-for".equalsIgnoreCase(name)) {
                forwardedFor = forwardedFor == null ? h[1] : forwardedFor + ", " + h[1];
                continue;
            }
            // Most headers are none of these: compared in place, no lower-cased copy per header.
            if (HopByHop.dropFromRequest(name)
                    || (!connectionTokens.isEmpty() && connectionTokens.contains(name.toLowerCase(Locale.ROOT)))) {
                continue;
            }
            hasProto |= "x-forwarded-proto".equalsIgnoreCase(name);
            out.header(name, h[1]);
        }
        finish(out, forwardedFor, client, hasProto, secure);
        if (body.buffered()) {
            if (body.bytes().length > 0 || entity) {
                out.header("Content-Length", body.bytes().length);
            }
        } else if (body.length() >= 0) {
            out.header("Content-Length", body.length());
        } else {
            out.header("Transfer-Encoding", "chunked");
        }
        out.text("\r\n");
        return new OutboundRequest(out.array(), lineEnd, out.length(), method, rawPath, rawQuery);
    }

    static String clientAddress(SocketAddress address) {
        if (address instanceof InetSocketAddress isa) {
            return isa.getAddress() != null ? isa.getAddress().getHostAddress() : isa.getHostString();
        }
        return String.valueOf(address);
    }

    void writeHead(UpstreamConnection conn, byte[] hostLine) throws IOException {
        conn.write(bytes, 0, lineEnd);
        conn.write(hostLine, 0, hostLine.length);
        conn.write(bytes, lineEnd, end - lineEnd);
    }

    /** Bytes of the encoded head, without the Host line that {@link #writeHead} adds. */
    int length() {
        return end;
    }

    boolean head() {
        return head;
    }

    String method() {
        return method;
    }

    String rawPath() {
        return rawPath;
    }

    String rawQuery() {
        return rawQuery;
    }
}
