package io.vllmfactory.simulator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.IntSupplier;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Test hooks that vLLM does not have: {@code /sim/stats} (what a proxy did to this backend),
 * {@code /sim/echo} (what a proxy forwarded, byte for byte) and {@code /sim/bytes} (a large response a proxy
 * must stream). Bodies are streamed through fixed buffers, so 100 MB and more cost no memory.
 */
final class SimService implements HttpService {
    static final HeaderName STATUS = HeaderNames.create("X-Sim-Status");
    static final HeaderName RESPONSE_HEADER = HeaderNames.create("X-Sim-Response-Header");
    private static final int BUFFER = 64 * 1024; // a multiple of the pattern's period, 256

    private final ServeOptions serve;
    private final Stats stats;
    private final Scheduler scheduler;
    private final Json json;
    private final long pid;
    private final IntSupplier port;
    private final byte[] pattern = new byte[BUFFER];

    SimService(ServeOptions serve, Stats stats, Scheduler scheduler, Json json, long pid, IntSupplier port) {
        this.serve = serve;
        this.stats = stats;
        this.scheduler = scheduler;
        this.json = json;
        this.pid = pid;
        this.port = port;
        for (int i = 0; i < BUFFER; i++) {
            pattern[i] = patternByte(i);
        }
    }

    /** Byte {@code i} of every {@code /sim/bytes} answer. */
    static byte patternByte(long i) {
        return (byte) ((i * 31 + 7) & 0xFF);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/sim/stats", (req, res) -> json.send(res, 200, stats()))
                .post("/sim/stats/reset", (req, res) -> {
                    stats.reset();
                    scheduler.resetPeak();
                    json.send(res, 200, stats());
                })
                .any("/sim/echo", this::echo)
                .any("/sim/echo/*", this::echo)
                .get("/sim/bytes", this::bytes);
    }

    private ObjectNode stats() {
        ObjectNode node = json.object();
        node.put("pid", pid);
        node.put("port", port.getAsInt());
        node.put("model", serve.primaryName());
        node.put("maxNumSeqs", serve.maxNumSeqs());
        node.put("inFlight", stats.inFlight());
        node.put("peakInFlight", stats.peakInFlight());
        node.put("served", stats.served());
        node.put("gpuMemoryUtilization", serve.gpuMemoryUtilization());
        node.put("running", scheduler.running());
        node.put("waiting", scheduler.waiting());
        node.put("peakRunning", scheduler.peakRunning());
        node.put("requestsTotal", stats.requestsTotal());
        node.put("inferenceSucceeded", stats.inferenceSucceeded());
        return node;
    }

    /**
     * Describes the request as received: raw path and query from the request line, every header value
     * separately, and the body's length and SHA-256. Request headers steer the answer:
     * {@code X-Sim-Status: 418} and repeatable {@code X-Sim-Response-Header: Name: value}.
     */
    private void echo(ServerRequest req, ServerResponse res) throws IOException {
        int status = status(req);
        List<String> extraHeaders = req.headers().all(RESPONSE_HEADER, List::of);
        MessageDigest sha256 = sha256();
        long length = 0;
        if (req.content().hasEntity()) {
            try (InputStream in = req.content().inputStream()) {
                byte[] buffer = new byte[BUFFER];
                for (int n = in.read(buffer); n != -1; n = in.read(buffer)) {
                    sha256.update(buffer, 0, n);
                    length += n;
                }
            }
        }
        ObjectNode echo = json.object();
        echo.put("method", req.prologue().method().text());
        echo.put("path", req.prologue().uriPath().rawPath());
        echo.put("query", req.prologue().query().rawValue());
        ArrayNode headers = echo.putArray("headers");
        for (Header header : req.headers()) {
            for (String value : header.allValues()) {
                headers.addArray().add(header.name()).add(value);
            }
        }
        echo.put("bodyLength", length);
        echo.put("bodySha256", HexFormat.of().formatHex(sha256.digest()));

        for (String line : extraHeaders) {
            int colon = line.indexOf(':');
            if (colon < 1) {
                throw ApiError.badRequest(RESPONSE_HEADER.defaultCase() + ": '" + line + "' (expected: Name: value)");
            }
            res.headers().add(HeaderNames.create(line.substring(0, colon).trim()), line.substring(colon + 1).trim());
        }
        res.status(status);
        if (status == 204 || status == 304 || status < 200) {
            res.send();
            return;
        }
        if (!res.headers().contains(HeaderNames.CONTENT_TYPE)) {
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
        }
        res.send(json.write(echo).getBytes(StandardCharsets.UTF_8));
    }

    private static int status(ServerRequest req) {
        String value = req.headers().first(STATUS).orElse("200").trim();
        try {
            int status = Integer.parseInt(value);
            if (status >= 100 && status <= 599) {
                return status;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiError.badRequest(STATUS.defaultCase() + ": '" + value + "' (expected: 100..599)");
    }

    /** {@code n} deterministic bytes with a Content-Length, streamed from one fixed buffer. */
    private void bytes(ServerRequest req, ServerResponse res) throws IOException {
        String text = req.query().first("n").orElse("");
        long count;
        try {
            count = Long.parseLong(text);
        } catch (NumberFormatException e) {
            count = -1;
        }
        if (count < 0) {
            throw ApiError.badRequest("n: '" + text + "' (expected: a byte count >= 0)");
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
        if (count == 0) {
            res.send(new byte[0]);
            return;
        }
        res.contentLength(count);
        try (OutputStream out = res.outputStream()) {
            for (long left = count; left > 0; left -= BUFFER) {
                out.write(pattern, 0, (int) Math.min(left, BUFFER));
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
