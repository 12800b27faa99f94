package io.vllmfactory.serve.dispatch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** How a backend's response head is read: framing, the headers relayed, and their bytes (pure). */
class ResponseHeadTest {
    private static Relay.ResponseHead parse(String head) throws IOException {
        return Relay.ResponseHead.parse(head.getBytes(StandardCharsets.ISO_8859_1), 256);
    }

    private static String relayed(Relay.ResponseHead head) {
        AsciiBuffer out = new AsciiBuffer(0);
        head.writeHeaders(out);
        return new String(out.toByteArray(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void relaysEveryEndToEndHeaderInOrderWithRepeatedOnesAndDropsHopByHopAndFraming() throws IOException {
        Relay.ResponseHead h = parse("HTTP/1.1 201 Created Here\r\nSet-Cookie: a=1\r\nContent-Length: 17\r\n"
                + "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Caf\u00e9:  \t v\u00e9 \t\r\n"
                + "set-cookie: b=2; Path=/\r\nTE: trailers\r\n\r\n");
        assertThat(h.status(), is(201));
        assertThat(h.reason(), is("Created Here"));
        assertThat(h.contentLength(), is(17L));
        assertThat(h.keepAlive(), is(true));
        assertThat(relayed(h), is("Set-Cookie: a=1\r\nX-Caf\u00e9: v\u00e9\r\nset-cookie: b=2; Path=/\r\n"));
        assertThat(h.headers().stream().map(kv -> kv[0] + "=" + kv[1]).toList(),
                contains("Set-Cookie=a=1", "X-Caf\u00e9=v\u00e9", "set-cookie=b=2; Path=/"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "HTTP/1.1 200 OK|HTTP/1.1 200 OK|OK",
            "HTTP/1.0 404 Not Found|HTTP/1.1 404 Not Found|Not Found",
            "HTTP/1.1 299 Odd  reason\t|HTTP/1.1 299 Odd  reason\t|Odd  reason\t",
            "HTTP/1.1 200|'HTTP/1.1 200 '|''",     // no reason phrase: the space before it stays (RFC 9112)
            "'HTTP/1.1 200 '|'HTTP/1.1 200 '|''"})
    void theStatusLineReachesTheClientAsHttp11WithTheBackendsCodeAndReason(String line, String written,
                                                                           String reason) throws IOException {
        Relay.ResponseHead h = parse(line.replace("\\t", "\t") + "\r\n\r\n");
        AsciiBuffer out = new AsciiBuffer(0);
        h.writeStatusLine(out);
        assertThat(new String(out.toByteArray(), StandardCharsets.ISO_8859_1), is(written.replace("\\t", "\t") + "\r\n"));
        assertThat(h.reason(), is(reason.replace("\\t", "\t")));
    }

    @Test
    void readsLinesEndedByBareLineFeeds() throws IOException {
        Relay.ResponseHead h = parse("HTTP/1.0 200 OK\nContent-Type: text/plain\ncontent-length: 0\n\n");
        assertThat(h.status(), is(200));
        assertThat(h.contentLength(), is(0L));
        assertThat(h.keepAlive(), is(false)); // HTTP/1.0
        assertThat(relayed(h), is("Content-Type: text/plain\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "chunked wins over a length|Transfer-Encoding: gzip, Chunked\\r\\nContent-Length: 9|true|-1|true",
            "close ends the connection|Connection: Close\\r\\nContent-Length: 3|false|3|false",
            "no length: read until close|Content-Type: text/event-stream|false|-1|true"})
    void framesTheBody(String why, String headers, boolean chunked, long length, boolean keepAlive)
            throws IOException {
        Relay.ResponseHead h = parse("HTTP/1.1 200 OK\r\n" + headers.replace("\\r\\n", "\r\n") + "\r\n\r\n");
        h.frame(false);
        assertThat(h.chunked(), is(chunked));
        assertThat(h.contentLength(), is(length));
        assertThat(h.keepAlive(), is(keepAlive));
    }

    @Test
    void aHeadRequestOr204Or304HasNoBody() throws IOException {
        Relay.ResponseHead head = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        head.frame(true);
        Relay.ResponseHead noContent = parse("HTTP/1.1 204 No Content\r\n\r\n");
        noContent.frame(false);
        Relay.ResponseHead notModified = parse("HTTP/1.1 304 Not Modified\r\n\r\n");
        notModified.frame(false);
        Relay.ResponseHead ok = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        ok.frame(false);
        assertThat(head.noBody() && noContent.noBody() && notModified.noBody(), is(true));
        assertThat(ok.noBody(), is(false));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not HTTP|ICY 200 OK\\r\\n\\r\\n|not an HTTP/1.x status line",
            "HTTP/2|HTTP/2 200 OK\\r\\n\\r\\n|not an HTTP/1.x status line",
            "signed status|HTTP/1.1 +20 OK\\r\\n\\r\\n|bad status code",
            "no space after the code|HTTP/1.1 200OK\\r\\n\\r\\n|bad status code",
            "short code|HTTP/1.1 20 OK\\r\\n\\r\\n|bad status code",
            "bad status|HTTP/1.1 2x0 OK\\r\\n\\r\\n|bad status code",
            "no colon|HTTP/1.1 200 OK\\r\\nJust a line\\r\\n\\r\\n|malformed response header",
            "empty name|HTTP/1.1 200 OK\\r\\n: value\\r\\n\\r\\n|malformed response header",
            "bad length|HTTP/1.1 200 OK\\r\\nContent-Length: 12a\\r\\n\\r\\n|bad Content-Length",
            "empty length|HTTP/1.1 200 OK\\r\\nContent-Length: \\r\\n\\r\\n|empty Content-Length"})
    void refusesAMalformedHeadSayingWhatIsWrong(String why, String head, String message) {
        IOException e = assertThrows(IOException.class, () -> parse(head.replace("\\r\\n", "\r\n")));
        assertThat(e.getMessage(), containsString(message));
    }

    @Test
    void refusesMoreHeadersThanTheLimit() {
        String head = "HTTP/1.1 200 OK\r\n" + "X-A: 1\r\n".repeat(257) + "\r\n";
        IOException e = assertThrows(IOException.class, () -> parse(head));
        assertThat(e.getMessage(), containsString("more than 256 response headers"));
    }
}
