package io.vllmfactory.serve.config;

import java.util.Locale;
import java.util.Map;

/**
 * A record constructor's complaint about one field. {@code from(Settings)} factories turn it into a
 * {@link ConfigException} that names the flag, variable or file key the value came from.
 */
final class InvalidValue extends IllegalArgumentException {
    /** Fields whose setting key is not simply their kebab-case name. */
    private static final Map<String, String> KEYS = Map.of(
            "request-affinity", "enable-request-affinity",
            "max-num-seqs", "max-batch-size",
            "command", "backend-command",
            "fixed-args", "backend-fixed-args");

    private final String key;
    private final Object value;
    private final String expected;

    InvalidValue(String field, Object value, String expected) {
        super(field + ": " + value + " (expected: " + expected + ")");
        String kebab = field.replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
        this.key = KEYS.getOrDefault(kebab, kebab);
        this.value = value;
        this.expected = expected;
    }

    static void check(boolean ok, String field, Object value, String expected) {
        if (!ok) {
            throw new InvalidValue(field, value, expected);
        }
    }

    /** The same complaint, naming where the value came from. */
    ConfigException in(Settings settings) {
        return settings.invalid(key, value, expected);
    }
}
