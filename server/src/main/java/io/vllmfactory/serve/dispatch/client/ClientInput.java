package io.vllmfactory.serve.dispatch.client;

import io.helidon.common.buffers.DataReader;
import io.helidon.webserver.CloseConnectionException;

import java.util.Arrays;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The bytes a client connection's HTTP/1 parser reads, pulled from Helidon's reader of the socket.
 * Three things happen on the way, none of them parsing HTTP:
 * <ul>
 *   <li>Every read tells the connection that bytes came ({@link ClientConnection#bytesArrived}),
 *       which starts its header-read clock.</li>
 *   <li>While a request waits in line, a virtual thread reads ahead ({@link #watch}): end of stream
 *       there means the client left, and the request gives up its place. Bytes it reads (a
 *       pipelined request) are handed to the parser when it asks next.</li>
 *   <li>A connection whose first request line ends in {@code HTTP/1.0} gets that one digit read as
 *       {@code 1}, because Helidon's parser refuses HTTP/1.0 (RFC 9110 section 2.5 lets a server
 *       answer a 1.0 client with HTTP/1.1); the connection remembers it, so its one answer is framed
 *       for HTTP/1.0 and the connection closes after it.</li>
 * </ul>
 */
final class ClientInput implements Supplier<byte[]> {
    private static final byte[] HTTP10_CRLF = " HTTP/1.0\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final DataReader socket;
    private final ClientConnection connection;
    private final int maxFirstLine;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readAheadDone = lock.newCondition();
    private boolean firstLineSeen;
    /**
     * Whether a read-ahead began and its outcome was not taken yet: only then does {@link #get()}
     * take the lock. Both are called on the connection's thread, so no read-ahead can begin while
     * {@link #get()} reads.
     */
    private volatile boolean watched;
    private boolean readingAhead;
    private byte[] ahead;
    private boolean ended;
    private RuntimeException failure;

    ClientInput(DataReader socket, ClientConnection connection, int maxFirstLine) {
        this.socket = socket;
        this.connection = connection;
        this.maxFirstLine = maxFirstLine;
    }

    /** The next bytes from the client, or null at the end of the stream (Helidon's parser calls this). */
    @Override
    public byte[] get() {
        byte[] bytes = watched ? takeAhead() : null;
        if (bytes == null && !ended) {
            connection.readStarts();
            try {
                bytes = pull();
            } finally {
                connection.readEnds();
            }
        }
        if (bytes == null) {
            return null;
        }
        if (!firstLineSeen) {
            bytes = firstLine(bytes);
        }
        connection.bytesArrived();
        return bytes;
    }

    /**
     * Starts reading ahead while a request waits in line; {@code gone} runs if the client closes
     * its connection (perhaps long after, or never). Does nothing when bytes are read ahead already.
     */
    void watch(Runnable gone) {
        lock.lock();
        try {
            if (ended) {
                gone.run();
                return;
            }
            if (readingAhead || ahead != null) {
                return;
            }
            readingAhead = true;
            watched = true;
        } finally {
            lock.unlock();
        }
        Thread.ofVirtual().name("client-watch").start(() -> {
            byte[] bytes = null;
            RuntimeException failed = null;
            try {
                bytes = pull();
            } catch (RuntimeException e) {
                failed = e;
            }
            lock.lock();
            try {
                readingAhead = false;
                ahead = bytes;
                ended = bytes == null;
                failure = failed;
                readAheadDone.signalAll();
            } finally {
                lock.unlock();
            }
            if (bytes == null) {
                gone.run();
            }
        });
    }

    /** Bytes read ahead, waiting for a read-ahead under way; null when there are none. */
    private byte[] takeAhead() {
        lock.lock();
        try {
            while (readingAhead) {
                try {
                    readAheadDone.await();
                } catch (InterruptedException e) { // the server closes the connection (idle, stopping)
                    Thread.currentThread().interrupt();
                    throw new CloseConnectionException("connection closed while the client was idle");
                }
            }
            if (failure != null) {
                RuntimeException f = failure;
                failure = null;
                throw f;
            }
            byte[] bytes = ahead;
            ahead = null;
            watched = ended; // once ended, every later read ends too
            return bytes;
        } finally {
            lock.unlock();
        }
    }

    private byte[] pull() {
        try {
            socket.ensureAvailable();
        } catch (DataReader.InsufficientDataAvailableException e) {
            return null;
        }
        return socket.readBytes(socket.available());
    }

    /** The connection's first bytes, up to the end of the request line, with HTTP/1.0 read as 1.1. */
    private byte[] firstLine(byte[] bytes) {
        while (indexOf(bytes, (byte) '\n') < 0 && bytes.length < maxFirstLine) {
            byte[] more = pull();
            if (more == null) {
                break;
            }
            bytes = concat(bytes, more);
        }
        firstLineSeen = true;
        int lf = indexOf(bytes, (byte) '\n');
        int start = lf + 1 - HTTP10_CRLF.length;
        if (start > 0 && Arrays.equals(bytes, start, lf + 1, HTTP10_CRLF, 0, HTTP10_CRLF.length)) {
            bytes[lf - 2] = '1';
            connection.markHttp10();
        }
        return bytes;
    }

    private static int indexOf(byte[] b, byte c) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
