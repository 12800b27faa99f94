package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.Poll;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * The reactor over real loopback sockets, with direct socket calls and with the channel's: a reader
 * parks until bytes come, bytes nobody reads stop being watched and are still read when a reader
 * asks, a writer parks while the peer does not read, closing or interrupting wakes whoever waits,
 * a closed connection's descriptor is never used again, and a connection handed to a handler is read
 * by the poller itself until it is given back. The timeouts below only bound a hang.
 */
class ReactorTest {
    @Nested
    class DirectSocketCalls extends Cases {
        DirectSocketCalls() {
            super(true);
        }

        @Test
        void areWhatTheTestsUseAsProductionDoes() {
            assertThat("why not: " + NativeSocketIo.UNAVAILABLE, readiness.direct(), is(true));
        }
    }

    @Nested
    class ChannelCalls extends Cases {
        ChannelCalls() {
            super(false);
        }

        @Test
        void areUsedWhenDirectCallsAreOff() {
            assertThat(readiness.direct(), is(false));
        }
    }

    abstract static class Cases {
        private static final Duration DEADLINE = Duration.ofSeconds(30);

        private final boolean direct;
        private Reactor reactor;

        Cases(boolean direct) {
            this.direct = direct;
        }
        private ServerSocketChannel listener;
        private SocketChannel ours;
        private SocketChannel peer;
        Reactor.Readiness readiness;

        @BeforeEach
        void connect() throws IOException {
            reactor = new Reactor(direct);
            listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            peer = SocketChannel.open(listener.getLocalAddress());
            ours = listener.accept();
            ours.configureBlocking(false);
            readiness = reactor.register(ours);
        }

        @AfterEach
        void close() throws IOException {
            reactor.close();
            ours.close();
            peer.close();
            listener.close();
        }

        @Test
        void aReaderParksUntilBytesComeThenGetsThemAll() throws Exception {
            Waiter<String> got = onVirtualThread(() -> readExactly(5));
            got.awaitParked();
            peer.write(ByteBuffer.wrap("hello".getBytes()));
            assertThat(got.result(), is("hello"));
        }

        @Test
        void bytesNobodyReadsStopBeingWatchedAndAreReadWhenAReaderAsks() throws Exception {
            peer.write(ByteBuffer.wrap("early".getBytes()));
            Poll.until(DEADLINE, "the poller stops reporting bytes nobody reads", readiness::disarmed);
            assertThat(readExactly(5), is("early"));
            // The next bytes come while the reader waits: its wait re-armed the connection.
            Waiter<String> got = onVirtualThread(() -> readExactly(4));
            got.awaitParked();
            peer.write(ByteBuffer.wrap("late".getBytes()));
            assertThat(got.result(), is("late"));
        }

        /**
         * Many rounds in which the reader comes at a random moment around the poller's decision to stop
         * watching unread bytes: every round's byte arrives, no reader is left waiting.
         */
        @Test
        void aReaderArrivingAsThePollerStopsWatchingIsNeverLeftWaiting() throws Exception {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int round = 0; round < 3000; round++) {
                byte b = (byte) round;
                peer.write(ByteBuffer.wrap(new byte[] {b}));
                for (int spin = random.nextInt(20_000); spin > 0; spin--) {
                    Thread.onSpinWait();
                }
                Waiter<String> read = onVirtualThread(() -> readExactly(1));
                assertThat("round " + round, read.result().charAt(0), is((char) (b & 0xFF)));
            }
        }

        @Test
        void aWriterParksWhileThePeerDoesNotReadAndFinishesWhenItDoes() throws Exception {
            byte[] big = new byte[32 * 1024 * 1024]; // more than both sockets' buffers hold
            Waiter<Integer> wrote = onVirtualThread(() -> {
                int done = 0;
                while (done < big.length) {
                    done += readiness.write(big, done, big.length - done);
                }
                return done;
            });
            wrote.awaitParked();
            ByteBuffer sink = ByteBuffer.allocate(1 << 20);
            long total = 0;
            while (total < big.length) {
                sink.clear();
                total += peer.read(sink);
            }
            assertThat(wrote.result(), is(big.length));
            assertThat(total, is((long) big.length));
        }

        @Test
        void closingWakesAParkedReaderWithAnError() throws Exception {
            Waiter<String> got = onVirtualThread(() -> readExactly(1));
            got.awaitParked();
            readiness.closed();
            assertThat(got.failure() instanceof ClosedChannelException, is(true));
        }

        @Test
        void theReaderSeesThePeerCloseAsEndOfStream() throws Exception {
            Waiter<String> got = onVirtualThread(() -> readExactly(1));
            got.awaitParked();
            peer.close();
            assertThat(got.result(), is("<eof>"));
        }

        /**
         * A connection closes while a reader loops on it, and a new connection (which the kernel
         * tends to give the same descriptor number) gets bytes at once: the old reader never sees
         * them, however the close and its reads interleave.
         */
        @Test
        void aClosedConnectionsReaderNeverReadsFromTheSocketThatReusesItsDescriptor() throws Exception {
            for (int round = 0; round < 200; round++) {
                SocketChannel oldPeer = SocketChannel.open(listener.getLocalAddress());
                SocketChannel old = listener.accept();
                old.configureBlocking(false);
                Reactor.Readiness oldReadiness = reactor.register(old);
                StringBuilder seen = new StringBuilder();
                Waiter<String> reader = onVirtualThread(() -> {
                    byte[] dst = new byte[64];
                    try {
                        int n;
                        while ((n = oldReadiness.read(dst, 0, dst.length)) >= 0) {
                            seen.append(new String(dst, 0, n, StandardCharsets.ISO_8859_1));
                        }
                    } catch (IOException e) { // closed: the expected end
                    }
                    return seen.toString();
                });
                oldPeer.write(ByteBuffer.wrap("old".getBytes(StandardCharsets.ISO_8859_1)));
                oldReadiness.closed();
                old.close();
                try (SocketChannel newPeer = SocketChannel.open(listener.getLocalAddress());
                     SocketChannel reused = listener.accept()) {
                    newPeer.write(ByteBuffer.wrap("NEW".getBytes(StandardCharsets.ISO_8859_1)));
                    String got = reader.result();
                    assertThat("round " + round + ": " + got, got.contains("NEW") || got.contains("N"), is(false));
                    assertThat(reused.isOpen(), is(true));
                }
                oldPeer.close();
            }
        }

        @Test
        void anInterruptedReaderStopsWaiting() throws Exception {
            Waiter<String> got = onVirtualThread(() -> readExactly(1));
            got.awaitParked();
            got.thread.interrupt();
            assertThat(got.failure() instanceof InterruptedIOException, is(true));
        }

        @Test
        void aHandedOverConnectionIsReadOnThePollerThenGoesBackToBlockingReads() throws Exception {
            peer.write(ByteBuffer.wrap("one".getBytes()));
            Poll.until(DEADLINE, "the poller stops reporting bytes nobody reads", readiness::disarmed);
            Recorder handler = new Recorder();
            readiness.handle(handler);
            // bytes that came before the hand-over are reported at once, later ones as they come
            Poll.until(DEADLINE, "the handler reads the early bytes", () -> handler.text().equals("one"));
            peer.write(ByteBuffer.wrap("two".getBytes()));
            Poll.until(DEADLINE, "the handler reads the next bytes", () -> handler.text().equals("onetwo"));
            assertThat(handler.threads, everyItem(startsWith("connection-poller")));

            readiness.handle(null);
            Waiter<String> got = onVirtualThread(() -> readExactly(5));
            got.awaitParked();
            peer.write(ByteBuffer.wrap("three".getBytes()));
            assertThat(got.result(), is("three"));
            assertThat(handler.text(), is("onetwo"));
        }

        @Test
        void aHandedOverConnectionsHandlerHearsOfItsClose() throws Exception {
            Recorder handler = new Recorder();
            readiness.handle(handler);
            readiness.closed();
            Poll.until(DEADLINE, "the handler hears of the close", () -> handler.closed);
        }

        /** A handler that reads what is there and notes who called it. */
        private static final class Recorder implements Reactor.Handler {
            private final StringBuffer text = new StringBuffer();
            final Set<String> threads = ConcurrentHashMap.newKeySet();
            volatile boolean closed;

            @Override
            public void ready(Reactor.Readiness r) {
                threads.add(Thread.currentThread().getName());
                byte[] b = new byte[64];
                try {
                    int n;
                    while ((n = r.readNow(b, 0, b.length)) > 0) {
                        text.append(new String(b, 0, n, StandardCharsets.ISO_8859_1));
                    }
                } catch (IOException e) {
                    text.append("<").append(e.getMessage()).append(">");
                }
            }

            @Override
            public void closed(Reactor.Readiness r) {
                closed = true;
            }

            String text() {
                return text.toString();
            }
        }

        private String readExactly(int bytes) throws IOException {
            byte[] dst = new byte[bytes];
            int got = 0;
            while (got < bytes) {
                int n = readiness.read(dst, got, bytes - got);
                if (n < 0) {
                    return "<eof>";
                }
                got += n;
            }
            return new String(dst, 0, got, StandardCharsets.ISO_8859_1);
        }

        private static <T> Waiter<T> onVirtualThread(Callable<T> work) {
            CompletableFuture<T> f = new CompletableFuture<>();
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    f.complete(work.call());
                } catch (Exception e) {
                    f.completeExceptionally(e);
                }
            });
            return new Waiter<>(t, f);
        }

        /** Work on its own virtual thread; the timeouts only bound a hang. */
        private record Waiter<T>(Thread thread, CompletableFuture<T> future) {
            void awaitParked() {
                Poll.until(DEADLINE, thread.getName() + " parks", () -> thread.getState() == Thread.State.WAITING);
            }

            T result() throws Exception {
                return future.get(30, TimeUnit.SECONDS);
            }

            Throwable failure() throws Exception {
                try {
                    future.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    return e.getCause();
                }
                throw new AssertionError("expected the wait to fail");
            }
        }

    }
}
