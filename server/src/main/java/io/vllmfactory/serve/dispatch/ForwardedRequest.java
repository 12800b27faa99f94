package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.dispatch.upstream.HopByHop;
import io.vllmfactory.serve.dispatch.upstream.UpstreamConnection;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A client request as it goes to a backend, encoded once (a retry on another backend sends the same
 * bytes): method, raw path and raw query byte for byte, every end-to-end header,
 * {@code X-Forwarded-For} (appended to) and {@code X-Forwarded-Proto} (added when absent), and the
 * body's framing. Only the {@code Host} line differs per backend. Hop-by-hop headers, those
 * {@code Connection} names, {@code Expect} and the client's framing headers are not forwarded.
 */
final class ForwardedRequest {
    private final byte[] line;
    private final byte[] fields;
    private final String method;
    private final String rawPath;
    private final String rawQuery;

    private ForwardedRequest(byte[] line, byte[] fields, String method, String rawPath, String rawQuery) {
        this.line = line;
        this.fields = fields;
        this.method = method;
        this.rawPath = rawPath;
        this.rawQuery = rawQuery;
    }

    static ForwardedRequest of(ServerRequest req, RequestBody body) {
        String method = req.prologue().method().text();
        String rawPath = req.prologue().uriPath().rawPath();
        String rawQuery = req.prologue().query().rawValue();
        String target = rawQuery.isEmpty() ? rawPath : rawPath + "?" + rawQuery;
        Set<String> connectionTokens = new HashSet<>();
        for (String each : req.headers().all(HeaderNames.CONNECTION, List::of)) {
            HopByHop.addConnectionTokens(each, connectionTokens);
        }
        StringBuilder out = new StringBuilder(512);
        String forwardedFor = null;
        boolean hasProto = false;
        for (Header h : req.headers()) {
            String name = h.name();
            String lower = h.headerName().lowerCase();
            switch (lower) {
                case "host", "content-length", "expect" -> {
                    continue;
                }
                case "x-forwarded-for" -> {
                    for (String v : h.allValues()) {
                        forwardedFor = forwardedFor == null ? v : forwardedFor + ", " + v;
                    }
                    continue;
                }
                case "x-forwarded-proto" -> hasProto = true;
                default -> {
                    if (HopByHop.is(lower) || connectionTokens.contains(lower)) {
                        continue;
                    }
                }
            }
            if (h.valueCount() == 1) {
                out.append(name).append(": ").append(h.get()).append("\r\n");
            } else {
                for (String v : h.allValues()) {
                    out.append(name).append(": ").append(v).append("\r\n");
                }
            }
        }
        String client = clientAddress(req.remotePeer().address());
        out.append("X-Forwarded-For: ").append(forwardedFor == null ? client : forwardedFor + ", " + client).append("\r\n");
        if (!hasProto) {
            out.append("X-Forwarded-Proto: ").append(req.isSecure() ? "https" : "http").append("\r\n");
        }
        out.append(body.framing()).append("\r\n");
        return new ForwardedRequest((method + " " + target + " HTTP/1.1\r\n").getBytes(StandardCharsets.ISO_8859_1),
                out.toString().getBytes(StandardCharsets.ISO_8859_1), method, rawPath, rawQuery);
    }

    private static String clientAddress(SocketAddress address) {
        if (address instanceof InetSocketAddress isa) {
            return isa.getAddress() != null ? isa.getAddress().getHostAddress() : isa.getHostString();
        }
        return String.valueOf(address);
    }

    /** Writes the request line, the backend's Host line and the header section into the connection's buffer. */
    void writeHead(UpstreamConnection conn, byte[] hostLine) throws UpstreamException {
        conn.write(line, 0, line.length);
        conn.write(hostLine, 0, hostLine.length);
        conn.write(fields, 0, fields.length);
    }

    boolean head() {
        return "HEAD".equals(method);
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
