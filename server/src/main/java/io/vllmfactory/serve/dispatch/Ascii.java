package io.vllmfactory.serve.dispatch;

import java.util.Arrays;

/** Comparisons and numbers read straight from the bytes of an HTTP head, without making strings. */
final class Ascii {
    private Ascii() {
    }

    /** Whether {@code b[from, to)} is {@code lowerName} in any ASCII case. */
    static boolean isName(byte[] b, int from, int to, String lowerName) {
        if (to - from != lowerName.length()) {
            return false;
        }
        for (int i = 0; i < lowerName.length(); i++) {
            int c = b[from + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lowerName.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Lower-case header names, looked up by the bytes of a name in any case: only the names of the
     * same length are compared, so most headers cost one array read.
     */
    static final class Names {
        private final String[][] byLength;

        Names(String... lowerNames) {
            int longest = 0;
            for (String n : lowerNames) {
                longest = Math.max(longest, n.length());
            }
            byLength = new String[longest + 1][];
            for (String n : lowerNames) {
                String[] same = byLength[n.length()];
                same = same == null ? new String[1] : Arrays.copyOf(same, same.length + 1);
                same[same.length - 1] = n;
                byLength[n.length()] = same;
            }
        }

        /** The name {@code b[from, to)} is, from this set, else null. */
        String find(byte[] b, int from, int to) {
            int len = to - from;
            String[] same = len < byLength.length ? byLength[len] : null;
            if (same != null) {
                for (String n : same) {
                    if (isName(b, from, to, n)) {
                        return n;
                    }
                }
            }
            return null;
        }
    }

    /** The first index in {@code [from, to)} past optional whitespace (spaces and tabs), else {@code to}. */
    static int skipOws(byte[] b, int from, int to) {
        while (from < to && (b[from] == ' ' || b[from] == '\t')) {
            from++;
        }
        return from;
    }

    /** The end of {@code b[from, to)} without its trailing optional whitespace. */
    static int trimOws(byte[] b, int from, int to) {
        while (to > from && (b[to - 1] == ' ' || b[to - 1] == '\t')) {
            to--;
        }
        return to;
    }

    /** The decimal number {@code b[from, to)} of 1 to 18 digits, else -1. */
    static long decimal(byte[] b, int from, int to) {
        if (from == to || to - from > 18) {
            return -1;
        }
        long n = 0;
        for (int i = from; i < to; i++) {
            if (b[i] < '0' || b[i] > '9') {
                return -1;
            }
            n = n * 10 + (b[i] - '0');
        }
        return n;
    }
}
