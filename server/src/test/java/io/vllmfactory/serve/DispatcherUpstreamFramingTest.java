package io.vllmfactory.serve;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The dispatcher reads backend answers as strictly as HAProxy: against a backend that writes its
 * answers by hand, an answer it cannot prove complete never reaches a client as a complete one,
 * bytes after an answer never become another client's answer, and ambiguous framing gets 502.
 */
class DispatcherUpstreamFramingTest {
    private static final AtomicBoolean STRAY_WRITTEN = new AtomicBoolean();
    private static volatile java.util.concurrent.CountDownLatch writeStray = new java.util.concurrent.CountDownLatch(1);
    private static RawBackend backend;
    private static Sidecar sidecar;

    @BeforeAll
    static void start() throws Exception {
        backend = new RawBackend()
                .answer("/chunked-cut", RawBackend.thenClose("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "5\r\nhello\r\n6\r\n world\r\n"))
                .answer("/length-cut", out -> {
                    out.write(("HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(new byte[100_000]);
                    return false;
                })
                .answer("/extra-bytes", RawBackend.bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nnot your own!"))
                .answer("/extra-later", out -> {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    try { // while the connection sits idle in the dispatcher's pool
                        writeStray.await();
                    } catch (InterruptedException e) {
                        return false;
                    }
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nnot your own!"
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    STRAY_WRITTEN.set(true);
                    return true;
                })
                .answer("/head-with-body", RawBackend.bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra"))
                .answer("/no-content-with-body", RawBackend.bytes("HTTP/1.1 204 No Content\r\n\r\noops"))
                .answer("/close-delimited", RawBackend.thenClose("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                        + "until the backend closes"))
                .answer("/sse", RawBackend.bytes("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n6;ext=1\r\ndata:1\r\n6\r\ndata:2\r\n0\r\nX-Trailer: t\r\n\r\n"));
        for (String[] bad : BAD_ANSWERS) {
            backend.answer("/" + bad[0], RawBackend.bytes(bad[1]));
        }
        sidecar = TestSidecars.startInFrontOf(List.of(backend.url()), "--unavailable-timeout", "1s");
    }

    /** Path, answer: each gets 502 before any byte of it goes to the client. */
    private static final String[][] BAD_ANSWERS = {
            {"two-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
            {"gzip-coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx"},
            {"last-not-chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxxxx"},
            {"signed-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n"},
            {"hex-prefix-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"},
            {"overlong-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0\r\n\r\n"},
            {"bad-status", "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok"},
            {"not-http", "ICY 200 OK\r\nContent-Length: 2\r\n\r\nok"},
    };

    @AfterAll
    static void stop() throws Exception {
        sidecar.close();
        backend.close();
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }

    @Test
    void aChunkedAnswerCutBeforeItsLastChunkAbortsTheClientsConnection() throws Exception {
        long failedBefore = sidecar.dispatcher().counts().failed().sum();
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(get("/chunked-cut"), null);
            assertThat(http.line(), is("HTTP/1.1 200 OK"));
            String line;
            while (!(line = http.line()).isEmpty()) {
                assertThat(line.toLowerCase(), not(containsString("content-length")));
            }
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            assertThrows(EOFException.class, () -> readChunks(http, seen), "no last-chunk marker may come");
            assertThat(seen.toString(StandardCharsets.US_ASCII), is("hello world"));
        }
        assertThat("the request counts as failed", sidecar.dispatcher().counts().failed().sum(), is(failedBefore + 1));
        assertThat("no retry once the answer began", backend.requests("/chunked-cut"), is(1));
    }

    @Test
    void aLengthFramedAnswerCutShortEndsWithFewerBytesAndAClosedConnection() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(get("/length-cut"), null);
            assertThat(http.line(), is("HTTP/1.1 200 OK"));
            String length = null;
            String line;
            while (!(line = http.line()).isEmpty()) {
                if (line.toLowerCase().startsWith("content-length:")) {
                    length = line.substring(15).trim();
                }
            }
            assertThat(length, is("200000"));
            byte[] got = http.input().readAllBytes(); // up to the close
            assertThat(got.length, lessThan(200_000));
        }
    }

    @Test
    void bytesAfterACompleteAnswerAreNeverAnotherRequestsAnswer() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(get("/extra-bytes"), null);
            assertThat(http.read().text(), is("ok"));
            for (int i = 0; i < 3; i++) {
                http.send(get("/mine-" + i), null);
                assertThat(http.read().text(), is("from /mine-" + i));
            }
            assertThat("that connection was closed, not reused", backend.connectionOf("/mine-0"),
                    not(is(backend.connectionOf("/extra-bytes"))));
        }
        STRAY_WRITTEN.set(false);
        writeStray = new java.util.concurrent.CountDownLatch(1);
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(get("/extra-later"), null);
            assertThat(http.read().text(), is("ok"));
            writeStray.countDown();
            Poll.until(Duration.ofSeconds(10), "the backend wrote its stray answer", STRAY_WRITTEN::get);
            for (int i = 0; i < 3; i++) {
                http.send(get("/later-" + i), null);
                assertThat(http.read().text(), is("from /later-" + i));
            }
        }
    }

    @Test
    void aHeadAnswerOrA204WithABodyIsRelayedWithoutOneAndItsConnectionIsNotReused() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("HEAD /head-with-body HTTP/1.1\r\nHost: x\r\n\r\n", null);
            assertThat(http.line(), is("HTTP/1.1 200 OK"));
            String line;
            String length = null;
            while (!(line = http.line()).isEmpty()) {
                if (line.toLowerCase().startsWith("content-length:")) {
                    length = line.substring(15).trim();
                }
            }
            assertThat("the length a GET would have", length, is("5"));
            http.send(get("/no-content-with-body"), null);
            RawHttp.Response noContent = http.read();
            assertThat(noContent.status(), is(204));
            assertThat(noContent.body().length, is(0));
            http.send(get("/after-them"), null);
            assertThat(http.read().text(), is("from /after-them"));
        }
    }

    @Test
    void aCloseDelimitedAnswerIsRelayedWholeWithAProperEnd() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(get("/close-delimited"), null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(200));
            assertThat(r.text(), is("until the backend closes"));
            http.send(get("/next"), null);
            assertThat(http.read().text(), is("from /next"));
        }
    }

    @Test
    void chunkExtensionsAndTrailersFromTheBackendAreAcceptedAndTheDataRelayed() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(get("/sse"), null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(200));
            assertThat(r.text(), is("data:1data:2"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"two-lengths", "gzip-coding", "last-not-chunked", "signed-chunk", "hex-prefix-chunk", "overlong-chunk",
            "bad-status", "not-http"})
    void anAmbiguousOrMalformedAnswerGets502BeforeAnyOfItReachesTheClient(String path) throws Exception {
        long badBefore = sidecar.dispatcher().pool().backends().getFirst().badResponses();
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send(get("/" + path), null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(502));
            assertThat(r.header("content-type"), is("application/problem+json"));
            assertThat(r.header("x-vllm-factory-backend-index"), nullValue());
            http.send(get("/then"), null);
            assertThat(http.read().text(), is("from /then"));
        }
        assertThat(sidecar.dispatcher().pool().backends().getFirst().badResponses(), is(badBefore + 1));
    }

    /** Reads chunked data into {@code into} until the last chunk; EOF when it never comes. */
    private static void readChunks(RawHttp http, ByteArrayOutputStream into) throws IOException {
        InputStream in = http.input();
        while (true) {
            int size = Integer.parseInt(http.line().split(";")[0].trim(), 16);
            if (size == 0) {
                return;
            }
            byte[] data = in.readNBytes(size);
            into.write(data);
            if (data.length < size) {
                throw new EOFException("chunk cut");
            }
            http.line();
        }
    }
}
