package io.vllmfactory.serve.dispatch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;

/** Which request heads the fast path takes, and what it reads from them (pure). */
class ProxyConnectionHeadTest {
    private static ProxyConnection.Head parse(String head) {
        byte[] b = head.getBytes(StandardCharsets.ISO_8859_1);
        return ProxyConnection.Head.parse(b, b.length);
    }

    @Test
    void takesAPlainRequestWithPathQueryAndHeadersAsSent() {
        ProxyConnection.Head h = parse("POST /v1/embeddings?x=%20a&y HTTP/1.1\r\nHost: d:8000\r\n"
                + "Content-Length: 12\r\nX-Tag: \t caf\u00e9 \t\r\nX-Tag: two\r\n\r\n");
        assertThat(h, notNullValue());
        assertThat(h.problem, nullValue());
        assertThat(h.method, is("POST"));
        assertThat(h.rawPath, is("/v1/embeddings"));
        assertThat(h.rawQuery, is("x=%20a&y"));
        assertThat(h.contentLength, is(12L));
        assertThat(h.close, is(false));
        assertThat(h.headers().stream().map(kv -> kv[0] + "=" + kv[1]).toList(),
                contains("Host=d:8000", "Content-Length=12", "X-Tag=caf\u00e9", "X-Tag=two"));
    }

    @Test
    void notesConnectionCloseAndAMissingBody() {
        ProxyConnection.Head h = parse("GET /a HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n");
        assertThat(h.close, is(true));
        assertThat(h.contentLength, is(-1L));
        assertThat(h.rawQuery, is(""));
    }

    @Test
    void takesHttp10WithoutHostAndClosesAfterItUnlessAskedToKeepAlive() {
        ProxyConnection.Head plain = parse("GET /a HTTP/1.0\r\n\r\n");
        assertThat(plain.problem, nullValue());
        assertThat(plain.http10, is(true));
        assertThat(plain.close, is(true));
        ProxyConnection.Head kept = parse("GET /a HTTP/1.0\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n");
        assertThat(kept.http10, is(true));
        assertThat(kept.close, is(false));
        assertThat(parse("GET /a HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n").problem, containsString("more than one Host"));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "GET /a HTTP/2.0\r\nHost: x\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",    // streamed body
            "POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n",
            "GET a HTTP/1.1\r\nHost: x\r\n\r\n",                                    // not origin-form
            "GET /a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n",                            // control in target
            "GET  /a HTTP/1.1\r\nHost: x\r\n\r\n",                                  // double space
            "G(T /a HTTP/1.1\r\nHost: x\r\n\r\n",                                   // not a token
            "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",                              // the general path's route
            "GET /health?verbose HTTP/1.1\r\nHost: x\r\n\r\n",
    })
    void leavesUnusualRequestsAndRequestLinesToTheGeneralPath(String head) {
        assertThat(parse(head), nullValue());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "GET /a HTTP/1.1\\r\\n\\r\\n | no Host header",
            "GET /a HTTP/1.1\\r\\nHost: x\\r\\nHost: y\\r\\n\\r\\n | more than one Host header",
            "GET /a HTTP/1.1\\r\\nHost:\\r\\n\\r\\n | an empty Host header",
            "POST /a HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 2\\r\\nContent-Length: 2\\r\\n\\r\\n | more than one Content-Length",
            "POST /a HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1x\\r\\n\\r\\n | Content-Length '1x' is not",
            "POST /a HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: -1\\r\\n\\r\\n | Content-Length '-1' is not",
            "POST /a HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 99999999999999999999\\r\\n\\r\\n | is not a decimal number",
            "GET /a HTTP/1.1\\r\\nHost: x\\r\\nX-A: 1\\r\\n  folded\\r\\n\\r\\n | obsolete line folding",
            "GET /a HTTP/1.1\\r\\nHost : x\\r\\n\\r\\n | whitespace between the header name 'Host'",
            "GET /a HTTP/1.1\\r\\nHost: x\\r\\nBad Name: 1\\r\\n\\r\\n | not 'name: value'",
            "GET /a HTTP/1.1\\r\\nHost: x\\r\\nNo colon here\\r\\n\\r\\n | not 'name: value'",
            "GET /a HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\0b\\r\\n\\r\\n | control character in the value of the X-A header",
            "GET /a HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\rb\\r\\n\\r\\n | a bare CR",
    })
    void saysWhatIsWrongWithAMalformedHeaderSection(String head, String why) {
        ProxyConnection.Head h = parse(head.translateEscapes());
        assertThat(h, notNullValue());
        assertThat(h.problem, containsString(why));
    }

    @Test
    void leavesOverlongRequestLinesToTheGeneralPath() {
        assertThat(parse("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), nullValue());
        assertThat(parse("GET /" + "a".repeat(4000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), notNullValue());
    }
}
