package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.dispatch.admission.Backend;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One line per request, appended to a file (or standard output):
 * {@code 2026-12-06T10:15:30.123Z POST /pooling 200 backend=1 wait_ms=0.04 ms=12.31}. The status is
 * {@code -} when the client got none (it left, or the answer broke off), the backend {@code -} when the
 * dispatcher answered itself. Lines are buffered and written out every half second and when the sidecar
 * stops, so a request pays for formatting its line, not for a write.
 */
final class AccessLog implements RequestEvents, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(AccessLog.class.getName());
    private static final long FLUSH_MILLIS = 500;

    private final Writer out;
    private final boolean closeStream;
    private final ReentrantLock lock = new ReentrantLock();
    private final Thread flusher;
    private volatile boolean closed;
    private boolean warned;

    private AccessLog(OutputStream stream, boolean closeStream) {
        this.out = new OutputStreamWriter(stream, StandardCharsets.UTF_8);
        this.closeStream = closeStream;
        this.flusher = Thread.ofVirtual().name("access-log").start(this::flushPeriodically);
    }

    /**
     * @param where a file to append to, or {@code -} for standard output
     * @throws ConfigException when the file cannot be opened for appending
     */
    static AccessLog open(String where) {
        if ("-".equals(where)) {
            return new AccessLog(System.out, false);
        }
        try {
            return new AccessLog(new FileOutputStream(Path.of(where).toFile(), true), true);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("--access-log: cannot append to " + where + " (" + e.getMessage()
                    + ") (expected: a writable file, or - for standard output)");
        }
    }

    @Override
    public void finished(String method, String rawPath, Backend backend, int status, long waited, long nanos) {
        StringBuilder line = new StringBuilder(96 + rawPath.length());
        line.append(Instant.now()).append(' ').append(method).append(' ').append(rawPath).append(' ');
        if (status == 0) {
            line.append('-');
        } else {
            line.append(status);
        }
        line.append(" backend=");
        if (backend == null) {
            line.append('-');
        } else {
            line.append(backend.id());
        }
        line.append(" wait_ms=");
        millis(line, waited);
        line.append(" ms=");
        millis(line, nanos);
        line.append('\n');
        lock.lock();
        try {
            if (!closed) {
                out.append(line);
            }
        } catch (IOException e) {
            writeFailed(e);
        } finally {
            lock.unlock();
        }
    }

    /** Milliseconds with two decimals, without the cost of a formatter. */
    private static void millis(StringBuilder sb, long nanos) {
        long hundredths = (nanos + 5_000) / 10_000;
        sb.append(hundredths / 100).append('.');
        long frac = hundredths % 100;
        if (frac < 10) {
            sb.append('0');
        }
        sb.append(frac);
    }

    private void flushPeriodically() {
        while (!closed) {
            try {
                Thread.sleep(FLUSH_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            flush();
        }
    }

    private void flush() {
        lock.lock();
        try {
            out.flush();
        } catch (IOException e) {
            writeFailed(e);
        } finally {
            lock.unlock();
        }
    }

    private void writeFailed(IOException e) {
        if (!warned) { // a full disk must not fill the journal too
            warned = true;
            LOG.log(System.Logger.Level.WARNING, "access log: writing failed (" + e.getMessage()
                    + "); lines are lost until it works again");
        }
    }

    @Override
    public void close() {
        flush();
        lock.lock();
        try {
            closed = true;
            if (closeStream) {
                out.close();
            }
        } catch (IOException e) {
            writeFailed(e);
        } finally {
            lock.unlock();
        }
        flusher.interrupt();
    }
}
