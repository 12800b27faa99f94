package io.vllmfactory.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The sidecar itself stopped, killed, restarted at once, or left without disk for its logs, with load on.
 * One request in flight through a SIGTERM is {@code DispatcherProcessTest}'s; a SIGKILL leaving no backend
 * process behind (by command line) is {@code SidecarProcessTest}'s.
 */
class ReliabilitySidecarFaultsProcessTest {

    @TempDir
    Path dir;

    @Test
    void sigtermUnderLoadCompletesEveryAcceptedRequestAndRefusesNewOnesWithConnectionClose() throws Exception {
        int clients = Reliability.scaled(16, 64);
        try (FleetProcess fleet = FleetProcess.start(dir, List.of("--num-instances", "2", "--max-batch-size", "4",
                "--drain-timeout", "30s"), List.of());
             ExecutorService load = Executors.newVirtualThreadPerTaskExecutor()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong served = new AtomicLong();
            AtomicLong refused = new AtomicLong();
            AtomicLong notConnected = new AtomicLong();
            AtomicLong resetUnread = new AtomicLong();
            AtomicLong closedUnanswered = new AtomicLong();
            AtomicLong sigtermAt = new AtomicLong(Long.MAX_VALUE);
            Queue<String> failures = new ConcurrentLinkedQueue<>();
            List<Future<?>> loops = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                loops.add(load.submit(() -> {
                    while (!stop.get()) {
                        try (RawHttp http = new RawHttp(fleet.port())) {
                            String body = Clients.gliner("drain", "x");
                            try {
                                http.send("POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                          + "X-Sim-Service-Time-Ms: 200\r\nContent-Length: " + body.length() + "\r\n\r\n",
                                        body.getBytes());
                            } catch (IOException e) {
                                // reset before it read a byte: a connection still in the listen backlog when the
                                // listener closed after the drain, as with any server
                                resetUnread.incrementAndGet();
                                continue;
                            }
                            long sentAt = System.nanoTime();
                            http.input().mark(1);
                            if (http.input().read() < 0) {
                                if (sentAt < sigtermAt.get()) {
                                    failures.add("closed without an answer, sent before the SIGTERM");
                                } else {
                                    // closed before it read a byte, as the listener stops: never taken in
                                    closedUnanswered.incrementAndGet();
                                }
                                continue;
                            }
                            http.input().reset();
                            RawHttp.Response r = http.read();
                            if (r.status() == 200) {
                                served.incrementAndGet();
                            } else if (r.status() == 503 && "close".equals(r.header("connection"))
                                       && r.text().contains("shutting down")) {
                                refused.incrementAndGet();
                            } else {
                                failures.add(r.status() + " " + r.headers().stream().map(h -> h[0] + ": " + h[1]).toList()
                                             + " " + r.text());
                            }
                        } catch (ConnectException e) {
                            notConnected.incrementAndGet(); // the listener is closed: nothing was accepted
                        } catch (SocketException e) {
                            if (!String.valueOf(e.getMessage()).startsWith("Connection reset")) {
                                failures.add(e.toString());
                            }
                            // the kernel resets what still waits in the listen backlog when the listener closes
                            // after the drain: never accepted, never read (an accepted one unanswered ends in EOF)
                            resetUnread.incrementAndGet();
                        } catch (IOException e) {
                            failures.add(e.toString());
                        }
                    }
                    return null;
                }));
            }
            Poll.until(Duration.ofSeconds(30), "the load runs", () -> served.get() > clients * 2L);
            assertThat(fleet.process().pid() > 0, is(true));
            long inFlightAtStop = fleet.openRequests();
            sigtermAt.set(System.nanoTime());
            fleet.process().destroy(); // SIGTERM: every request sent before it must be answered 200
            assertThat("exits in time", fleet.process().waitFor(60, TimeUnit.SECONDS), is(true));
            stop.set(true);
            for (Future<?> f : loops) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertThat("requests lost in the stop; output:\n" + ReliabilityBackendFaultsProcessTest.tail(fleet),
                    List.copyOf(failures), is(empty()));
            assertThat(fleet.process().exitValue(), is(0));
            assertThat("some requests met the drain", refused.get() + resetUnread.get() + notConnected.get(), greaterThan(0L));
            Reliability.figure("sidecar SIGTERM under load", "clients; in flight at SIGTERM", clients + "; " + inFlightAtStop);
            Reliability.figure("sidecar SIGTERM under load", "served, 503 while draining, reset in the backlog, closed unread at the stop, refused after, lost",
                    served.get() + ", " + refused.get() + ", " + resetUnread.get() + ", " + closedUnanswered.get() + ", "
                    + notConnected.get() + ", 0");
        }
    }

    @Test
    void aSigkilledSidecarLeavesNoBackendPidAliveAndARestartAtOnceServesOnTheSamePorts() throws Exception {
        try (FleetProcess fleet = FleetProcess.start(dir, List.of("--num-instances", "2"), List.of())) {
            List<Long> pids = fleet.backendPids();
            assertThat(pids.size(), is(2));
            fleet.process().destroyForcibly();
            assertThat(fleet.process().waitFor(30, TimeUnit.SECONDS), is(true));
            fleet.relaunch(); // at once: the same public, admin and backend ports
            Poll.until(Duration.ofSeconds(30), "the old backends are gone",
                    () -> pids.stream().noneMatch(SupervisedSidecars::alive));
            assertThat(Clients.pooling(fleet.port(), Clients.gliner("again", "x"), 0).statusCode(), is(200));
            assertThat(fleet.backendPids().stream().filter(pids::contains).toList(), is(empty()));
            assertThat(fleet.stop(), is(0));
            assertThat(fleet.output(), not(containsString("Address already in use")));
        }
    }

    @Test
    void aFullLogDiskLeavesTheSidecarServingAndIsReportedOnce() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")),
                "mounting a small tmpfs for the log directory needs root; a full disk cannot be made otherwise");
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", logs.toString())
                .redirectErrorStream(true).start();
        String why = new String(mount.getInputStream().readAllBytes());
        assumeTrue(mount.waitFor() == 0, "cannot mount a tmpfs here: " + why);
        try (FleetProcess fleet = FleetProcess.start(dir, List.of("--num-instances", "2"), List.of())) {
            fill(logs.resolve("filler"));
            long first = fleet.backendPids().getFirst();
            ProcessHandle.of(first).ifPresent(ProcessHandle::destroyForcibly); // each restart writes to the log
            long[] second = new long[1];
            Poll.until(Duration.ofSeconds(60), "backend 0 is restarted", () -> {
                second[0] = fleet.instances().getFirst().path("pid").asLong(-1);
                return second[0] > 0 && second[0] != first;
            });
            ProcessHandle.of(second[0]).ifPresent(ProcessHandle::destroyForcibly); // a second run, a second try
            Poll.until(Duration.ofSeconds(60), "backend 0 is back", () -> fleet.allReady(2)
                    && !fleet.backendPids().contains(second[0]));
            for (int i = 0; i < 10; i++) {
                assertThat(Clients.pooling(fleet.port(), Clients.gliner("full", "x"), 0).statusCode(), is(200));
            }
            Matcher m = Pattern.compile("cannot write its log").matcher(fleet.output());
            int reports = 0;
            while (m.find()) {
                reports++;
            }
            assertThat(fleet.output(), reports, is(1));
            assertThat(fleet.stop(), is(0));
        } finally {
            new ProcessBuilder("umount", "-l", logs.toString()).start().waitFor();
        }
    }

    /** Writes until the file system says it is full. */
    private static void fill(Path file) throws IOException {
        byte[] block = new byte[4096];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(block);
                out.flush();
            }
        } catch (IOException e) {
            assertThat(e.getMessage(), containsString("No space left"));
        }
    }
}
