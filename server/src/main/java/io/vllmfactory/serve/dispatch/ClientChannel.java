package io.vllmfactory.serve.dispatch;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.webserver.ServerConnectionException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.channels.SocketChannel;
import java.util.Arrays;

/**
 * A client connection of the public listener, read and written by the fast path straight on its
 * channel, non-blocking and registered with the dispatcher's {@link Reactor}, so that waiting for a
 * client's next request parks its virtual thread without a read that finds nothing and a poller
 * re-arm each time. Bytes arrive in one buffer that the fast path parses in place.
 *
 * <p>When a connection goes to Helidon's HTTP/1 (the general path), {@link #reader()} and
 * {@link #writer()} give it the same bytes and the same channel, starting with what was read already.
 */
final class ClientChannel {
    private static final Field NIO_SOCKET_CHANNEL = channelField();

    private final Reactor.Readiness readiness;
    /** Largest read buffer a connection keeps once a large request it held is taken. */
    private static final int KEPT = 16 * 1024;
    private byte[] in = new byte[4096];
    private int pos;
    private int lim;

    private ClientChannel(Reactor.Readiness readiness) {
        this.readiness = readiness;
    }

    /**
     * The channel under Helidon's socket, switched to non-blocking and registered, with the bytes
     * Helidon's reader holds already; null, with nothing read, when the
     * socket is not a plain NIO one (TLS, or a Helidon without the field), and then the connection
     * takes the general path.
     */
    static ClientChannel of(HelidonSocket socket, DataReader helidonReader, Reactor reactor) {
        if (NIO_SOCKET_CHANNEL == null || socket.isSecure()
                || !NIO_SOCKET_CHANNEL.getDeclaringClass().isInstance(socket)) {
            return null;
        }
        try {
            SocketChannel ch = (SocketChannel) NIO_SOCKET_CHANNEL.get(socket);
            ch.configureBlocking(false);
            ClientChannel c = new ClientChannel(reactor.register(ch));
            // Helidon read the first bytes already, to tell which protocol the connection speaks.
            int n = helidonReader.available();
            if (n > 0) {
                c.in = Arrays.copyOf(helidonReader.readBytes(n), Math.max(n, c.in.length));
                c.lim = n;
            }
            return c;
        } catch (IllegalAccessException | IOException | RuntimeException e) {
            return null;
        }
    }

    private static Field channelField() {
        try {
            Class<?> nio = Class.forName("io.helidon.common.socket.NioSocket");
            Field f = nio.getDeclaredField("delegate");
            f.setAccessible(true);
            return SocketChannel.class.isAssignableFrom(f.getType()) ? f : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The read buffer: the {@link #available()} bytes from {@link #position()} are read and not yet consumed. */
    byte[] buffer() {
        return in;
    }

    int position() {
        return pos;
    }

    int available() {
        return lim - pos;
    }

    /** Moves the unconsumed bytes to the start of the buffer. */
    void compact() {
        if (pos > 0) {
            System.arraycopy(in, pos, in, 0, lim - pos);
            lim -= pos;
            pos = 0;
        }
    }

    void skip(int n) {
        pos += n;
        if (pos == lim) {
            pos = 0;
            lim = 0;
        }
    }

    /**
     * Reads more bytes behind those buffered (parking until the client sends some), keeping at most
     * {@code max} unconsumed bytes, moved to the start of the buffer.
     *
     * @return false at end of stream
     */
    boolean fill(int max) throws IOException {
        compact();
        if (lim == in.length) {
            in = Arrays.copyOf(in, Math.min(in.length * 2, Math.max(max, in.length)));
        }
        int n = readiness.read(in, lim, in.length - lim);
        if (n < 0) {
            return false;
        }
        lim += n;
        return true;
    }

    /**
     * Reads the bytes the client sent already behind those buffered, without waiting, keeping at
     * most {@code max} unconsumed bytes: how many it read, 0 when none were there (or the buffer is
     * full at {@code max}), -1 at end of stream.
     */
    int fillNow(int max) throws IOException {
        compact();
        if (lim == in.length) {
            if (in.length >= max) {
                return 0;
            }
            in = Arrays.copyOf(in, Math.min(in.length * 2, max));
        }
        int n = readiness.readNow(in, lim, in.length - lim);
        if (n > 0) {
            lim += n;
        }
        return n;
    }

    Reactor.Readiness readiness() {
        return readiness;
    }

    /** Takes {@code n} bytes that are buffered already ({@code n <= available()}). */
    byte[] takeBuffered(int n) {
        byte[] out = Arrays.copyOfRange(in, pos, pos + n);
        skip(n);
        if (in.length > KEPT && lim - pos <= KEPT / 2) {
            // A large request grew the buffer: an idle connection keeps a small one.
            byte[] small = new byte[KEPT];
            System.arraycopy(in, pos, small, 0, lim - pos);
            lim -= pos;
            pos = 0;
            in = small;
        }
        return out;
    }

    /** Takes {@code n} bytes (buffered ones first, then from the channel). */
    byte[] readBytes(int n) throws IOException {
        byte[] out = new byte[n];
        int have = Math.min(n, lim - pos);
        System.arraycopy(in, pos, out, 0, have);
        skip(have);
        while (have < n) {
            int r = readiness.read(out, have, n - have);
            if (r < 0) {
                throw new ClientAbortException("client sent " + have + " of " + n + " body bytes");
            }
            have += r;
        }
        return out;
    }

    /** Writes all of {@code b[off, off + len)}, parking while the client's socket buffer is full. */
    synchronized void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int n = readiness.write(b, off, len);
            off += n;
            len -= n;
        }
    }

    /** Wakes a thread parked on this connection: it is being closed. */
    void closed() {
        readiness.closed();
    }

    /** A reader for Helidon's HTTP/1 that starts with the bytes buffered here. */
    DataReader reader() {
        return new DataReader(() -> {
            try {
                if (lim > pos) {
                    byte[] b = Arrays.copyOfRange(in, pos, lim);
                    pos = 0;
                    lim = 0;
                    return b;
                }
                byte[] b = new byte[16 * 1024];
                int n = readiness.read(b, 0, b.length);
                return n < 0 ? null : Arrays.copyOf(b, n);
            } catch (IOException e) {
                // what Helidon's own reader throws: the connection ends quietly
                throw new ServerConnectionException("Failed to get data from socket", new UncheckedIOException(e));
            }
        });
    }

    /** A writer for Helidon's HTTP/1 onto this channel. */
    DataWriter writer() {
        return new DataWriter() {
            @Override
            public void write(BufferData... buffers) {
                for (BufferData b : buffers) {
                    write(b);
                }
            }

            @Override
            public void write(BufferData buffer) {
                byte[] bytes = new byte[buffer.available()];
                buffer.read(bytes);
                try {
                    ClientChannel.this.write(bytes, 0, bytes.length);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public void writeNow(BufferData... buffers) {
                write(buffers);
            }

            @Override
            public void writeNow(BufferData buffer) {
                write(buffer);
            }
        };
    }
}
