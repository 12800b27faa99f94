package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/** The dispatcher as its own process, the way systemd runs it. */
class DispatcherProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Process startSidecar(Path log, String... args) throws IOException {
        List<String> withAdmin = new java.util.ArrayList<>(List.of(args));
        withAdmin.addAll(List.of("--admin-port", "0")); // the admin listener on a free port, not the default 8001
        return SidecarProcesses.launch(List.of("-Xmx48m", "-XX:+ExitOnOutOfMemoryError"), withAdmin, log,
                java.util.Map.of());
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void awaitHealthy(int port, Process p, Path log) {
        Poll.until(Duration.ofSeconds(30), "the sidecar answers /health", () -> {
            if (!p.isAlive()) {
                throw new AssertionError("sidecar exited: " + read(log));
            }
            try {
                return Clients.get(port, "/health").statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        });
    }

    @Test
    void sigtermLetsInFlightRequestsFinishRefusesNewOnesTurnsHealthDownAndExitsZero() throws Exception {
        Path log = Files.createTempFile("sidecar", ".log");
        try (SimulatorProcess sim = SimulatorProcess.start();
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            int port = freePort();
            Process sidecar = startSidecar(log, "--backend-url", sim.url(), "--host", "127.0.0.1",
                    "--port", Integer.toString(port), "--drain-timeout", "20s");
            try {
                awaitHealthy(port, sidecar, log);
                Future<HttpResponse<String>> slow = clients.submit(
                        () -> Clients.pooling(port, Clients.gliner("slow", "x"), 1500));
                Poll.until(Duration.ofSeconds(10), "the slow request reached the backend", () -> inFlight(sim) == 1);
                sidecar.destroy(); // SIGTERM
                // While it drains, new requests are refused with a problem that asks the client to go.
                RawHttp.Response[] refused = new RawHttp.Response[1];
                Poll.until(Duration.ofSeconds(10), "a new request is refused while draining", () -> {
                    try (RawHttp http = new RawHttp(port)) {
                        http.send("POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", null);
                        refused[0] = http.read();
                        return refused[0].status() == 503;
                    } catch (IOException e) {
                        return false;
                    }
                });
                assertThat(refused[0].header("connection"), is("close"));
                assertThat(refused[0].header("content-type"), is("application/problem+json"));
                assertThat(refused[0].text(), containsString("\"shutting down\""));
                // The public /health turns 503 too, so a load balancer's check takes the sidecar out early.
                try (RawHttp http = new RawHttp(port)) {
                    http.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", null);
                    RawHttp.Response health = http.read();
                    assertThat(health.status(), is(503));
                    assertThat(health.header("connection"), is("close"));
                    assertThat(health.text(), is("{\"error\": \"shutting down\"}"));
                }
                assertThat(slow.get().statusCode(), is(200));
                assertThat("exited in time", sidecar.waitFor(20, TimeUnit.SECONDS), is(true));
                assertThat("exit status; log: " + read(log), sidecar.exitValue(), is(0));
            } finally {
                sidecar.destroyForcibly();
            }
        }
    }

    @Test
    void hundredMegabyteBodiesPassBothWaysInASmallHeap() throws Exception {
        Path log = Files.createTempFile("sidecar", ".log");
        long size = 100L * 1024 * 1024;
        try (SimulatorProcess sim = SimulatorProcess.start()) {
            int port = freePort();
            Process sidecar = startSidecar(log, "--backend-url", sim.url(), "--host", "127.0.0.1",
                    "--port", Integer.toString(port));
            try {
                awaitHealthy(port, sidecar, log);
                try (Socket s = new Socket("127.0.0.1", port)) {
                    OutputStream out = s.getOutputStream();
                    out.write(("POST /sim/echo/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                               + "Content-Length: " + size + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    MessageDigest sent = MessageDigest.getInstance("SHA-256");
                    byte[] chunk = new byte[1 << 16];
                    for (long written = 0; written < size; written += chunk.length) {
                        for (int i = 0; i < chunk.length; i += 997) {
                            chunk[i] = (byte) (written / chunk.length + i);
                        }
                        sent.update(chunk);
                        out.write(chunk);
                    }
                    out.flush();
                    RawHttpReader in = new RawHttpReader(s.getInputStream());
                    JsonNode echo = JSON.readTree(in.readFixedResponse());
                    assertThat(echo.get("bodyLength").asLong(), is(size));
                    assertThat(echo.get("bodySha256").asText(), is(HexFormat.of().formatHex(sent.digest())));

                    out.write(("GET /sim/bytes?n=" + size + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    long received = in.countFixedResponseBody();
                    assertThat(received, is(size));
                }
                assertThat("the sidecar survived; log: " + read(log), sidecar.isAlive(), is(true));
            } finally {
                sidecar.destroyForcibly();
            }
        }
    }

    private static int inFlight(SimulatorProcess sim) {
        try {
            return sim.stats().get("inFlight").asInt();
        } catch (Exception e) {
            return -1;
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Reads Content-Length framed responses off a socket without holding big bodies in memory. */
    private static final class RawHttpReader {
        private final InputStream in;

        RawHttpReader(InputStream in) {
            this.in = new java.io.BufferedInputStream(in, 1 << 16);
        }

        byte[] readFixedResponse() throws IOException {
            long n = head();
            return in.readNBytes((int) n);
        }

        long countFixedResponseBody() throws IOException {
            long n = head();
            byte[] buf = new byte[1 << 16];
            long total = 0;
            while (total < n) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, n - total));
                if (r < 0) {
                    break;
                }
                for (int i = 0; i < r; i += 4093) {
                    long pos = total + i;
                    if (buf[i] != (byte) ((pos * 31 + 7) & 0xFF)) {
                        throw new AssertionError("byte " + pos + " differs");
                    }
                }
                total += r;
            }
            return total;
        }

        private long head() throws IOException {
            long length = -1;
            String status = line();
            if (!status.contains(" 200 ")) {
                throw new AssertionError("unexpected status: " + status);
            }
            String l;
            while (!(l = line()).isEmpty()) {
                if (l.toLowerCase().startsWith("content-length:")) {
                    length = Long.parseLong(l.substring(15).trim());
                }
            }
            return length;
        }

        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            int b;
            while ((b = in.read()) != '\n') {
                if (b < 0) {
                    throw new IOException("closed");
                }
                if (b != '\r') {
                    sb.append((char) b);
                }
            }
            return sb.toString();
        }
    }
}
