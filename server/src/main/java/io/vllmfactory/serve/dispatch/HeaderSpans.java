package io.vllmfactory.serve.dispatch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where each header of a head sits in its bytes: name and value as offsets, so that a header is
 * relayed by copying bytes and becomes strings only when something asks for them.
 */
final class HeaderSpans {
    /** Per header: name start, name end, value start, value end. */
    private int[] spans = new int[32];
    private int count;

    void add(int nameStart, int nameEnd, int valueStart, int valueEnd) {
        if (count * 4 == spans.length) {
            spans = Arrays.copyOf(spans, spans.length * 2);
        }
        int i = count++ * 4;
        spans[i] = nameStart;
        spans[i + 1] = nameEnd;
        spans[i + 2] = valueStart;
        spans[i + 3] = valueEnd;
    }

    int size() {
        return count;
    }

    int nameStart(int k) {
        return spans[k * 4];
    }

    int nameEnd(int k) {
        return spans[k * 4 + 1];
    }

    int valueStart(int k) {
        return spans[k * 4 + 2];
    }

    int valueEnd(int k) {
        return spans[k * 4 + 3];
    }

    /** Appends header {@code k} of {@code raw} as {@code name: value} and CRLF. */
    void write(byte[] raw, int k, AsciiBuffer out) {
        int i = k * 4;
        int ne = spans[i + 1];
        if (spans[i + 2] == ne + 2 && raw[ne] == ':' && raw[ne + 1] == ' ') { // written that way already
            out.bytes(raw, spans[i], spans[i + 3] - spans[i]);
        } else {
            out.bytes(raw, spans[i], ne - spans[i]);
            out.text(": ");
            out.bytes(raw, spans[i + 2], spans[i + 3] - spans[i + 2]);
        }
        out.text("\r\n");
    }

    /** The headers as {name, value} pairs, in order, repeated ones repeated. */
    @SuppressWarnings("deprecation") // the ISO-8859-1 String constructor without a charset lookup
    List<String[]> pairs(byte[] raw) {
        List<String[]> out = new ArrayList<>(count);
        for (int i = 0; i < count * 4; i += 4) {
            out.add(new String[] {new String(raw, 0, spans[i], spans[i + 1] - spans[i]),
                    new String(raw, 0, spans[i + 2], spans[i + 3] - spans[i + 2])});
        }
        return out;
    }
}
