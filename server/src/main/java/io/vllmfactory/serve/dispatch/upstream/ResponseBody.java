package io.vllmfactory.serve.dispatch.upstream;

import io.vllmfactory.serve.dispatch.upstream.UpstreamException.BadResponse;
import io.vllmfactory.serve.dispatch.upstream.UpstreamException.Lost;

/**
 * The body of one answer, as data bytes, framed as its head says: a {@code Content-Length}, chunks,
 * or (HTTP/1.0 style) everything until the backend closes. {@link #read} returns -1 only at the
 * body's proper end; a body the backend cuts short throws {@link Lost}, never a clean end, and a
 * chunk framing it cannot read for sure throws {@link BadResponse}. Chunk sizes are hex digits
 * only (no sign, no space before them), at most 15 of them; chunk extensions are skipped and
 * trailers are read and dropped.
 */
public final class ResponseBody {
    private static final int MAX_LINE = 8 * 1024;
    private static final int MAX_TRAILERS = 64;
    private static final int MAX_SIZE_DIGITS = 15;

    private final UpstreamConnection conn;
    private final boolean chunked;
    private final boolean untilClose;
    private final long length;
    /** Bytes left in the body (length framing) or in the current chunk; -1 before the first chunk. */
    private long left;
    private boolean done;

    ResponseBody(UpstreamConnection conn, ResponseHead head) {
        this.conn = conn;
        this.chunked = head.chunked();
        this.untilClose = head.closeDelimited();
        this.left = chunked ? 0 : head.noBody() ? 0 : head.contentLength();
        this.length = left;
        this.done = !chunked && !untilClose && left == 0;
    }

    /** Whether the body has a known length, and so {@link #length()} is it. */
    public boolean lengthKnown() {
        return !chunked && !untilClose;
    }

    /** The whole body's length when {@link #lengthKnown()}. */
    public long length() {
        return length;
    }

    /** Whether more body bytes can be read now without waiting (flush what was relayed when not). */
    public boolean ready() {
        return !done && conn.available() > 0;
    }

    /**
     * Reads body bytes into {@code b}.
     *
     * @return the count read, or -1 at the proper end of the body
     * @throws Lost        when the backend ends the connection before the end of the body
     * @throws BadResponse when the chunk framing is malformed
     */
    public int read(byte[] b, int off, int len) throws UpstreamException {
        if (done) {
            return -1;
        }
        if (untilClose) {
            int n = conn.read(b, off, len);
            done = n < 0;
            return n;
        }
        if (chunked && left == 0 && !nextChunk()) {
            done = true;
            return -1;
        }
        int n = conn.read(b, off, (int) Math.min(len, left));
        if (n < 0) {
            throw new Lost("the backend closed the connection " + left + " bytes before the end of "
                    + (chunked ? "a chunk" : "the body"), null, false);
        }
        left -= n;
        if (left == 0) {
            if (chunked) {
                chunkEnd();
            } else {
                done = true;
            }
        }
        return n;
    }

    /** Reads and discards the rest of the body (an answer nobody wants any more). */
    public void skip() throws UpstreamException {
        byte[] scratch = new byte[8192];
        while (read(scratch, 0, scratch.length) >= 0) {
            // discarding
        }
    }

    /** Reads the next chunk's size line; false after the last chunk and its trailers. */
    private boolean nextChunk() throws UpstreamException {
        String line = line("a chunk size");
        long size = chunkSize(line);
        if (size > 0) {
            left = size;
            return true;
        }
        for (int i = 0; ; i++) {
            String trailer = line("the trailers");
            if (trailer.isEmpty()) {
                return false;
            }
            if (i == MAX_TRAILERS || trailer.indexOf(':') <= 0 || trailer.charAt(0) == ' ' || trailer.charAt(0) == '\t') {
                throw new BadResponse("malformed trailer section from the backend");
            }
        }
    }

    /** The CRLF after a chunk's data. */
    private void chunkEnd() throws UpstreamException {
        if (!line("a chunk's end").isEmpty()) {
            throw new BadResponse("a chunk from the backend is longer than its size says");
        }
    }

    private String line(String what) throws UpstreamException {
        String line = conn.readLine(MAX_LINE);
        if (line == null) {
            throw new Lost("the backend closed the connection before " + what + " of a chunked body", null, false);
        }
        return line;
    }

    /** {@code 1*HEXDIG [ BWS ";" chunk-ext ]}, strictly. */
    static long chunkSize(String line) throws BadResponse {
        int i = 0;
        long size = 0;
        while (i < line.length() && Character.digit(line.charAt(i), 16) >= 0 && line.charAt(i) < 0x80) {
            if (i == MAX_SIZE_DIGITS) {
                throw new BadResponse("an overlong chunk size from the backend: " + abbreviate(line));
            }
            size = size * 16 + Character.digit(line.charAt(i), 16);
            i++;
        }
        int digits = i;
        while (i < line.length() && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
            i++;
        }
        if (digits == 0 || i < line.length() && line.charAt(i) != ';' || i == line.length() && i != digits) {
            throw new BadResponse("a malformed chunk size from the backend: " + abbreviate(line));
        }
        return size;
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
