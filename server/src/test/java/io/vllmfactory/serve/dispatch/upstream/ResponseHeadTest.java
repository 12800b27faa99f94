package io.vllmfactory.serve.dispatch.upstream;

import io.vllmfactory.serve.dispatch.upstream.UpstreamException.BadResponse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** How a backend's response head is read: framing, the headers relayed, and what is refused (pure). */
class ResponseHeadTest {
    private static ResponseHead parse(String head) throws BadResponse {
        return parse(head, false);
    }

    private static ResponseHead parse(String head, boolean headRequest) throws BadResponse {
        byte[] b = head.replace("\\r\\n", "\r\n").replace("\\t", "\t").getBytes(StandardCharsets.ISO_8859_1);
        return ResponseHead.parse(b, 0, b.length, headRequest);
    }

    @Test
    void relaysEveryEndToEndHeaderInOrderWithRepeatedOnesAndDropsHopByHopAndFraming() throws BadResponse {
        ResponseHead h = parse("HTTP/1.1 201 Created Here\r\nSet-Cookie: a=1\r\nContent-Length: 17\r\n"
                + "Connection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Cafe:  \t v\u00e9 \t\r\n"
                + "set-cookie: b=2; Path=/\r\nTE: trailers\r\nX-Hop: 1\r\n\r\n");
        assertThat(h.status(), is(201));
        assertThat(h.reason(), is("Created Here"));
        assertThat(h.contentLength(), is(17L));
        assertThat(h.reusable(), is(true));
        assertThat(h.headers().stream().map(kv -> kv[0] + "=" + kv[1]).toList(),
                contains("Set-Cookie=a=1", "X-Cafe=v\u00e9", "set-cookie=b=2; Path=/"));
    }

    @Test
    void readsLinesEndedByBareLineFeeds() throws BadResponse {
        ResponseHead h = parse("HTTP/1.0 200 OK\nContent-Type: text/plain\ncontent-length: 0\n\n");
        assertThat(h.status(), is(200));
        assertThat(h.contentLength(), is(0L));
        assertThat(h.reusable(), is(false)); // HTTP/1.0 without keep-alive
        assertThat(h.headers().size(), is(1));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "chunked, any case|Transfer-Encoding: Chunked|true|-1|true",
            "chunked wins over a length, and the connection closes|Transfer-Encoding: chunked\\r\\nContent-Length: 9"
                    + "|true|-1|false",
            "close ends the connection|Connection: Close\\r\\nContent-Length: 3|false|3|false",
            "equal lengths in a list|Content-Length: 7, 7\\r\\nContent-Length: 7|false|7|true",
            "no length: read until close|Content-Type: text/event-stream|false|-1|false"})
    void framesTheBody(String why, String headers, boolean chunked, long length, boolean reusable)
            throws BadResponse {
        ResponseHead h = parse("HTTP/1.1 200 OK\r\n" + headers + "\r\n\r\n");
        assertThat(h.chunked(), is(chunked));
        assertThat(h.contentLength(), is(length));
        assertThat(h.reusable(), is(reusable));
    }

    @Test
    void aHeadRequestOr204Or304HasNoBody() throws BadResponse {
        ResponseHead head = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true);
        assertThat(head.noBody(), is(true));
        assertThat("the length a GET would have is kept", head.contentLength(), is(5L));
        assertThat(parse("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").noBody(), is(true));
        assertThat(parse("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n").noBody(), is(true));
        assertThat(parse("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n").chunked(), is(false));
        assertThat(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n").noBody(), is(false));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not HTTP|ICY 200 OK\\r\\n\\r\\n|malformed status line",
            "HTTP/2|HTTP/2 200 OK\\r\\n\\r\\n|malformed status line",
            "HTTP/1.2|HTTP/1.2 200 OK\\r\\n\\r\\n|malformed status line",
            "signed status|HTTP/1.1 +20 OK\\r\\n\\r\\n|malformed status line",
            "no space after the code|HTTP/1.1 200OK\\r\\n\\r\\n|malformed status line",
            "short code|HTTP/1.1 20 OK\\r\\n\\r\\n|malformed status line",
            "code from 0|HTTP/1.1 099 OK\\r\\n\\r\\n|malformed status line",
            "bad status|HTTP/1.1 2x0 OK\\r\\n\\r\\n|malformed status line",
            "control character in the reason|HTTP/1.1 200 O\u0001K\\r\\n\\r\\n|control character",
            "no colon|HTTP/1.1 200 OK\\r\\nJust a line\\r\\n\\r\\n|malformed response header name",
            "empty name|HTTP/1.1 200 OK\\r\\n: value\\r\\n\\r\\n|malformed response header line",
            "space before the colon|HTTP/1.1 200 OK\\r\\nX-A : 1\\r\\n\\r\\n|malformed response header name",
            "obsolete line folding|HTTP/1.1 200 OK\\r\\nX-A: 1\\r\\n  2\\r\\n\\r\\n|obsolete line folding",
            "NUL in a value|HTTP/1.1 200 OK\\r\\nX-A: 1\u00002\\r\\n\\r\\n|control character",
            "bare CR in a value|HTTP/1.1 200 OK\\r\\nX-A: 1\r2\\r\\n\\r\\n|control character",
            "two different lengths|HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\n"
                    + "|two different Content-Length values",
            "two lengths in a list|HTTP/1.1 200 OK\\r\\nContent-Length: 5, 6\\r\\n\\r\\n|two different Content-Length",
            "non-numeric length|HTTP/1.1 200 OK\\r\\nContent-Length: 12a\\r\\n\\r\\n|invalid Content-Length",
            "signed length|HTTP/1.1 200 OK\\r\\nContent-Length: +12\\r\\n\\r\\n|invalid Content-Length",
            "empty length|HTTP/1.1 200 OK\\r\\nContent-Length: \\r\\n\\r\\n|invalid Content-Length",
            "overlong length|HTTP/1.1 200 OK\\r\\nContent-Length: 1234567890123456789\\r\\n\\r\\n|invalid Content-Length",
            "last coding not chunked|HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked, gzip\\r\\n\\r\\n"
                    + "|unsupported Transfer-Encoding",
            "unknown coding|HTTP/1.1 200 OK\\r\\nTransfer-Encoding: zstd\\r\\n\\r\\n|unsupported Transfer-Encoding",
            "chunked twice|HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                    + "|chunked applied more than once",
            "empty coding|HTTP/1.1 200 OK\\r\\nTransfer-Encoding: \\r\\n\\r\\n|unsupported Transfer-Encoding"})
    void refusesAMalformedOrAmbiguousHeadSayingWhatIsWrong(String why, String head, String message) {
        BadResponse e = assertThrows(BadResponse.class, () -> parse(head));
        assertThat(e.getMessage(), containsString(message));
    }

    @Test
    void refusesMoreHeadersThanTheLimit() {
        BadResponse e = assertThrows(BadResponse.class, () -> parse("HTTP/1.1 200 OK\r\n" + "X-A: 1\r\n".repeat(257) + "\r\n"));
        assertThat(e.getMessage(), containsString("more than 256 response headers"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {"0|0", "a|10", "1F|31", "0010|16", "5;name=value|5", "5 ;ext|5",
            "fffffffffffffff|1152921504606846975"})
    void readsChunkSizesInHexWithExtensions(String line, long size) throws BadResponse {
        assertThat(ResponseBody.chunkSize(line), is(size));
    }

    @ParameterizedTest(name = "''{0}''")
    @CsvSource(delimiter = '|', value = {"''", "-5", "+5", "' 5'", "'5 '", "0x5", "g", "5g", "1000000000000000",
            "\u0665"})
    void refusesSignedNonHexOrOverlongChunkSizes(String line) {
        assertThrows(BadResponse.class, () -> ResponseBody.chunkSize(line));
    }
}
