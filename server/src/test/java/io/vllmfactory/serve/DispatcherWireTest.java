package io.vllmfactory.serve;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/**
 * Answers that reach the dispatcher in unusual pieces: a response head that arrives a byte at a
 * time, one whose lines end in bare LF, and one whose body ends early, from a backend that writes
 * its bytes by hand.
 */
class DispatcherWireTest {
    private static ServerSocket backend;
    private static Thread acceptor;
    private static Sidecar sidecar;

    @BeforeAll
    static void start() throws Exception {
        backend = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofVirtual().start(DispatcherWireTest::accept);
        sidecar = TestSidecars.startInFrontOf(List.of("http://127.0.0.1:" + backend.getLocalPort()));
    }

    @AfterAll
    static void stop() throws Exception {
        sidecar.close();
        backend.close();
        acceptor.join();
    }

    private static void accept() {
        while (!backend.isClosed()) {
            try {
                Socket s = backend.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return; // closed: the test is over
            }
        }
    }

    /** HTTP/1.1 keep-alive, GET only: /health, /dribble (a byte per write), /truncated, /then-close, /bare-lf. */
    private static void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            s.setTcpNoDelay(true);
            String head;
            while ((head = readHead(in)) != null) {
                String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
                switch (path) {
                    case "/dribble" -> {
                        byte[] answer = ("HTTP/1.1 200 OK\r\nX-Piece: one\r\nX-Piece: two\r\n"
                                + "Content-Length: 7\r\n\r\ndribble").getBytes(StandardCharsets.ISO_8859_1);
                        for (byte b : answer) {
                            out.write(b);
                            out.flush();
                        }
                    }
                    case "/truncated" -> { // a head, 3 of its 10 body bytes, then the connection ends
                        out.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                        return;
                    }
                    case "/then-close" -> { // an answer that leaves the connection open, then the backend closes it
                        out.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nclosed".getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                        return;
                    }
                    case "/bare-lf" -> out.write("HTTP/1.1 201 Created\nX-Lf: yes\nContent-Length: 2\n\nlf"
                            .getBytes(StandardCharsets.ISO_8859_1));
                    default -> out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                            .getBytes(StandardCharsets.ISO_8859_1));
                }
                out.flush();
            }
        } catch (IOException e) {
            // the dispatcher closed the connection
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            head.write(c);
            byte[] b = head.toByteArray();
            int n = b.length;
            if (n >= 4 && b[n - 4] == '\r' && b[n - 3] == '\n' && b[n - 2] == '\r' && b[n - 1] == '\n') {
                return head.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    @ParameterizedTest(name = "twice on one connection: {0}")
    @ValueSource(booleans = {false, true})
    void relaysAResponseHeadThatArrivesAByteAtATime(boolean twiceOnOneConnection) throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            for (int i = 0; i < (twiceOnOneConnection ? 2 : 1); i++) {
                http.send("GET /dribble HTTP/1.1\r\nHost: x\r\n\r\n", null);
                RawHttp.Response r = http.read();
                assertThat(r.status(), is(200));
                assertThat(r.all("X-Piece"), is(List.of("one", "two")));
                assertThat(r.text(), is("dribble"));
            }
        }
    }

    @Test
    void requestsOnConnectionsTheBackendClosedWhileIdleAreRetriedOnFreshOnes() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            for (int i = 0; i < 5; i++) { // each answer leaves a pooled connection behind that is closed
                http.send("GET /then-close HTTP/1.1\r\nHost: x\r\n\r\n", null);
                RawHttp.Response r = http.read();
                assertThat("request " + i, r.status(), is(200));
                assertThat(r.text(), is("closed"));
            }
            http.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n", null);
            assertThat(http.read().text(), is("ok"));
        }
    }

    @Test
    void aBodyThatEndsEarlySendsTheClientNoneOfItsHeadOnlyAProblem() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("GET /truncated HTTP/1.1\r\nHost: x\r\n\r\n", null);
            RawHttp.Response r = http.read();
            assertThat("the only backend failed before the client saw a byte: 502", r.status(), is(502));
            assertThat(r.header("Content-Type"), is("application/problem+json"));
            assertThat(r.text(), containsString("before the end of the body"));
        }
    }

    @Test
    void relaysAResponseHeadWhoseLinesEndInBareLineFeeds() throws Exception {
        try (RawHttp http = new RawHttp(sidecar.port())) {
            http.send("GET /bare-lf HTTP/1.1\r\nHost: x\r\n\r\n", null);
            RawHttp.Response r = http.read();
            assertThat(r.status(), is(201));
            assertThat(r.header("X-Lf"), is("yes"));
            assertThat(r.text(), is("lf"));
        }
    }
}
