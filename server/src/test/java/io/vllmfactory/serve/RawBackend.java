package io.vllmfactory.serve;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend that writes its answers by hand, byte for byte, so tests can make it misbehave in ways
 * no real server would: cut bodies, bytes after an answer, ambiguous framing. It reads each request
 * head (and a {@code Content-Length} body), counts it by path, and answers with what the test gave
 * for that path; {@code GET /health} is always 200.
 */
final class RawBackend implements AutoCloseable {
    /** What the backend does with one request: write to {@code out}; false closes the connection after it. */
    @FunctionalInterface
    interface Answer {
        boolean write(OutputStream out) throws IOException;
    }

    private final ServerSocket server;
    private final Thread acceptor;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final Map<String, Integer> connectionOf = new ConcurrentHashMap<>();

    RawBackend() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofVirtual().start(this::accept);
        answer("/health", bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    }

    /** An answer that writes {@code raw} and keeps the connection. */
    static Answer bytes(String raw) {
        return out -> {
            out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
            return true;
        };
    }

    /** An answer that writes {@code raw} and then closes the connection. */
    static Answer thenClose(String raw) {
        return out -> {
            out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
            return false;
        };
    }

    RawBackend answer(String path, Answer answer) {
        answers.put(path, answer);
        return this;
    }

    String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    /** Requests seen for {@code path}. */
    int requests(String path) {
        return requests.getOrDefault(path, new AtomicInteger()).get();
    }

    /** Which accepted connection (counted from 1) carried the last request for {@code path}. */
    int connectionOf(String path) {
        return connectionOf.getOrDefault(path, 0);
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                int id = connections.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(s, id));
            } catch (IOException e) {
                return; // closed: the test is over
            }
        }
    }

    private void serve(Socket s, int id) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            s.setTcpNoDelay(true);
            String head;
            while ((head = readHead(in)) != null) {
                String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
                int length = contentLength(head);
                if (length > 0) {
                    in.readNBytes(length);
                }
                requests.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
                connectionOf.put(path, id);
                Answer answer = answers.getOrDefault(path, bytes("HTTP/1.1 200 OK\r\nContent-Length: "
                        + (path.length() + 5) + "\r\n\r\nfrom " + path));
                boolean keep = answer.write(out);
                out.flush();
                if (!keep) {
                    return;
                }
            }
        } catch (IOException e) {
            // the dispatcher closed the connection
        }
    }

    private static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                return Integer.parseInt(line.substring(15).trim());
            }
        }
        return 0;
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

    @Override
    public void close() throws Exception {
        server.close();
        acceptor.join();
    }
}
