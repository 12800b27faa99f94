package io.vllmfactory.serve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * The reliability suite's two sizes and its figures. CI runs the short form; {@code bench/reliability.sh}
 * sets {@code -Dreliability.form=long} for the same cases with bigger numbers and prints the figures each
 * case appended to {@code -Dreliability.figures=FILE}.
 */
final class Reliability {
    static final boolean LONG = "long".equals(System.getProperty("reliability.form"));

    private Reliability() {
    }

    /** {@code ci} in the short form, {@code long} in the long one. */
    static int scaled(int ci, int longForm) {
        return LONG ? longForm : ci;
    }

    /** Appends one figure (case, what, value) to the figures file, when one is named. */
    static void figure(String testCase, String what, Object value) {
        String file = System.getProperty("reliability.figures");
        String line = String.format(Locale.ROOT, "%s\t%s\t%s%n", testCase, what, value);
        System.out.print("figure: " + line);
        if (file == null || file.isBlank()) {
            return;
        }
        try {
            Files.writeString(Path.of(file), line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException("cannot append to " + file, e);
        }
    }
}
