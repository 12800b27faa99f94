package io.vllmfactory.serve.dispatch;

import java.io.IOException;
import java.util.Arrays;

/**
 * A growable byte buffer for HTTP heads: ISO-8859-1 text (one byte per char, no encoder) and raw
 * bytes. Used to encode a request head for the backends and a response for the client.
 */
final class AsciiBuffer {
    private byte[] buf;
    private int count;

    /** @param size initial capacity; 0 allocates on first use */
    AsciiBuffer(int size) {
        this.buf = new byte[size];
    }

    /** Appends {@code name: value} and CRLF. */
    void header(String name, String value) {
        text(name);
        text(": ");
        text(value);
        text("\r\n");
    }

    /** Appends {@code name: value} and CRLF for a number, without making a string of it. */
    void header(String name, long value) {
        text(name);
        text(": ");
        decimal(value);
        text("\r\n");
    }

    void text(String s) {
        int len = s.length();
        ensure(len);
        for (int i = 0; i < len; i++) {
            buf[count++] = (byte) s.charAt(i);
        }
    }

    /** Appends a non-negative number in decimal, without making a string. */
    void decimal(long n) {
        if (n < 0) {
            text(Long.toString(n));
            return;
        }
        int digits = 1;
        for (long m = n; m >= 10; m /= 10) {
            digits++;
        }
        ensure(digits);
        for (int i = count + digits - 1; i >= count; i--) {
            buf[i] = (byte) ('0' + n % 10);
            n /= 10;
        }
        count += digits;
    }

    void bytes(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, count, len);
        count += len;
    }

    /** Appends {@code len} bytes read from a backend connection. */
    void readFrom(UpstreamConnection in, int len) throws IOException {
        ensure(len);
        in.readFully(buf, count, len);
        count += len;
    }

    /** Appends up to {@code len} bytes a backend sent already, without waiting: how many, -1 at end of stream. */
    int readNowFrom(UpstreamConnection in, int len) throws IOException {
        ensure(len);
        int n = in.readNow(buf, count, len);
        if (n > 0) {
            count += n;
        }
        return n;
    }

    /** Makes room for {@code extra} more bytes at once. */
    void ensure(int extra) {
        if (count + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(Math.max(buf.length * 2, 256), count + extra));
        }
    }

    /** The backing array: valid up to {@link #length()}. */
    byte[] array() {
        return buf;
    }

    int length() {
        return count;
    }

    void clear() {
        count = 0;
    }

    /** Empties the buffer for its next use; one that grew past {@code maxKept} bytes lets its array go. */
    void recycle(int maxKept) {
        count = 0;
        if (buf.length > maxKept) {
            buf = new byte[0];
        }
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, count);
    }
}
