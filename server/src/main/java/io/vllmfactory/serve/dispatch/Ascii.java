package io.vllmfactory.serve.dispatch;

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
