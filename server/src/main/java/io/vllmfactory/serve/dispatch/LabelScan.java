package io.vllmfactory.serve.dispatch;

/**
 * The schema size of the common request in one pass over its bytes, with no tokenizer and no
 * allocation: a JSON object whose {@code labels} (or {@code data.labels}) is a list, null or a single
 * value. It answers only when it is sure to agree with {@link SchemaSize#parsed}: a body that is
 * malformed in a way it recognises, or has a schema, repeated keys of interest, a label object,
 * unusual numbers, escapes in keys or deep nesting, gets {@link #UNSURE}, and the caller parses it
 * properly. Pure.
 */
final class LabelScan {
    /** Not decided here: parse the body. */
    static final int UNSURE = Integer.MIN_VALUE;
    private static final int MAX_DEPTH = 32;

    private final byte[] b;
    private int i;

    private LabelScan(byte[] b) {
        this.b = b;
    }

    /** @return the size, -1 for none, or {@link #UNSURE} */
    static int of(byte[] body) {
        try {
            return new LabelScan(body).root();
        } catch (Unsure e) {
            return UNSURE;
        }
    }

    /** Thrown on anything this scan does not decide; never escapes {@link #of}. */
    private static final class Unsure extends RuntimeException {
        private static final Unsure INSTANCE = new Unsure();

        private Unsure() {
            super(null, null, false, false);
        }
    }

    private static Unsure unsure() {
        return Unsure.INSTANCE;
    }

    private int root() {
        ws();
        if (i >= b.length) {
            return -1;
        }
        if (b[i] != '{') {
            throw unsure(); // not an object, or a byte-order mark in front of one: the parser decides
        }
        int size = members(true);
        return size == -2 ? -1 : size;
    }

    /**
     * The members of the object that starts here: the count of its labels (for the top level,
     * those of {@code data} first), or -2 when it has none.
     */
    private int members(boolean top) {
        i++; // the {
        ws();
        if (peek() == '}') {
            i++;
            return -2;
        }
        int labels = -2;
        int dataLabels = -2;
        boolean sawData = false;
        while (true) {
            ws();
            int keyStart = i + 1;
            int keyEnd = key();
            ws();
            expect(':');
            ws();
            if (is(keyStart, keyEnd, "labels")) {
                if (labels != -2) {
                    throw unsure();
                }
                labels = count();
            } else if (is(keyStart, keyEnd, "schema")) {
                throw unsure();
            } else if (top && is(keyStart, keyEnd, "data")) {
                if (sawData) {
                    throw unsure();
                }
                sawData = true;
                if (peek() == '{') {
                    dataLabels = members(false);
                } else {
                    skipValue(1);
                }
            } else {
                skipValue(1);
            }
            ws();
            byte c = next();
            if (c == '}') {
                return dataLabels != -2 ? dataLabels : labels;
            }
            if (c != ',') {
                throw unsure();
            }
        }
    }

    /** Items of a list, none for null, one for a single value; an object is left to the parser. */
    private int count() {
        byte c = peek();
        if (c == '{') {
            throw unsure();
        }
        if (c == 'n') {
            literal("null");
            return 0;
        }
        if (c != '[') {
            skipValue(1);
            return 1;
        }
        return elements(1);
    }

    /** Skips the list that starts here; the number of its items. */
    private int elements(int depth) {
        i++; // the [
        ws();
        if (peek() == ']') {
            i++;
            return 0;
        }
        int n = 0;
        while (true) {
            ws();
            skipValue(depth + 1);
            n++;
            ws();
            byte d = next();
            if (d == ']') {
                return n;
            }
            if (d != ',') {
                throw unsure();
            }
        }
    }

    private void skipValue(int depth) {
        if (depth > MAX_DEPTH) {
            throw unsure();
        }
        byte c = peek();
        switch (c) {
            case '"' -> string();
            case '{' -> {
                i++;
                ws();
                if (peek() == '}') {
                    i++;
                    return;
                }
                while (true) {
                    ws();
                    key();
                    ws();
                    expect(':');
                    ws();
                    skipValue(depth + 1);
                    ws();
                    byte d = next();
                    if (d == '}') {
                        return;
                    }
                    if (d != ',') {
                        throw unsure();
                    }
                }
            }
            case '[' -> elements(depth);
            case 't' -> literal("true");
            case 'f' -> literal("false");
            case 'n' -> literal("null");
            default -> number();
        }
    }

    /** A key without escapes; returns the index of its closing quote. */
    private int key() {
        expect('"');
        int k = i;
        while (k < b.length) {
            byte c = b[k++];
            if (c == '"') {
                i = k;
                return k - 1;
            }
            if (c == '\\' || c < 0x20) { // negative: non-ASCII
                throw unsure(); // escapes, control characters, non-ASCII: the parser decides
            }
        }
        throw unsure();
    }

    /** A string value: escapes and UTF-8 checked strictly, anything doubtful left to the parser. */
    private void string() {
        i++;
        while (true) {
            plainRun();
            int c = next() & 0xff;
            if (c == '"') {
                return;
            }
            if (c < 0x20) {
                throw unsure();
            }
            if (c == '\\') {
                int e = next();
                switch (e) {
                    case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> {
                    }
                    case 'u' -> {
                        for (int k = 0; k < 4; k++) {
                            if (Character.digit(next(), 16) < 0) {
                                throw unsure();
                            }
                        }
                    }
                    default -> throw unsure();
                }
            } else if (c >= 0x80) {
                int more;
                if (c >= 0xc2 && c <= 0xdf) {
                    more = 1;
                } else if (c >= 0xe1 && c <= 0xef && c != 0xed) {
                    more = 2;
                } else if (c >= 0xf1 && c <= 0xf3) {
                    more = 3;
                } else {
                    throw unsure(); // invalid, or a lead byte whose overlong and surrogate forms need care
                }
                for (int k = 0; k < more; k++) {
                    if ((next() & 0xc0) != 0x80) {
                        throw unsure();
                    }
                }
            }
        }
    }

    /** Skips printable ASCII other than the quote and the backslash: most of a string, in a local loop. */
    private void plainRun() {
        int k = i;
        while (k < b.length) {
            byte c = b[k];
            if (c < 0x20 || c == '"' || c == '\\') { // negative: non-ASCII
                break;
            }
            k++;
        }
        i = k;
    }

    /** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? followed by a delimiter. */
    private void number() {
        if (peek() == '-') {
            i++;
        }
        if (peek() == '0') {
            i++;
        } else if (digits() == 0) {
            throw unsure();
        }
        if (i < b.length && b[i] == '.') {
            i++;
            if (digits() == 0) {
                throw unsure();
            }
        }
        if (i < b.length && (b[i] == 'e' || b[i] == 'E')) {
            i++;
            if (i < b.length && (b[i] == '+' || b[i] == '-')) {
                i++;
            }
            if (digits() == 0) {
                throw unsure();
            }
        }
        delimiter();
    }

    private int digits() {
        int start = i;
        while (i < b.length && b[i] >= '0' && b[i] <= '9') {
            i++;
        }
        return i - start;
    }

    private void literal(String word) {
        for (int k = 0; k < word.length(); k++) {
            if (next() != word.charAt(k)) {
                throw unsure();
            }
        }
        delimiter();
    }

    /** A number or literal must end at a structural character or whitespace. */
    private void delimiter() {
        byte c = peek();
        if (c != ',' && c != '}' && c != ']' && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            throw unsure();
        }
    }

    private void ws() {
        int k = i;
        while (k < b.length && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n' || b[k] == '\r')) {
            k++;
        }
        i = k;
    }

    private void expect(char c) {
        if (next() != c) {
            throw unsure();
        }
    }

    private byte peek() {
        if (i >= b.length) {
            throw unsure();
        }
        return b[i];
    }

    private byte next() {
        if (i >= b.length) {
            throw unsure();
        }
        return b[i++];
    }

    private boolean is(int start, int end, String word) {
        if (end - start != word.length()) {
            return false;
        }
        for (int k = 0; k < word.length(); k++) {
            if (b[start + k] != word.charAt(k)) {
                return false;
            }
        }
        return true;
    }
}
