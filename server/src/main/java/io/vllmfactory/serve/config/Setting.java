package io.vllmfactory.serve.config;

import java.util.Locale;

/**
 * One setting, known under three names: a YAML key, a command-line flag and an environment variable.
 *
 * @param key          YAML key (kebab-case)
 * @param flag         command-line flag, e.g. {@code --max-batch-size}
 * @param kind         value type
 * @param defaultValue value when set nowhere, or null for none
 * @param help         one line for {@code --help}
 */
public record Setting(String key, String flag, Kind kind, String defaultValue, String help) {
    /**
     * Value types. LIST settings repeat their flag, are comma-separated in the environment and YAML
     * sequences in the file. WORDS settings are command-line words: one string split on whitespace as a
     * flag or environment variable, a string or a sequence in the file; their flag takes the next
     * argument even when it starts with {@code --}.
     */
    public enum Kind {
        STRING, INT, DOUBLE, BOOLEAN, DURATION, SIZE, LIST, WORDS
    }

    public Setting {
        if (!flag.startsWith("--")) {
            throw new IllegalArgumentException("flag: " + flag + " (expected: --name)");
        }
    }

    static Setting of(String key, Kind kind, String defaultValue, String help) {
        return new Setting(key, "--" + key, kind, defaultValue, help);
    }

    /** {@code VLLM_FACTORY_MAX_BATCH_SIZE} for {@code max-batch-size}. */
    public String env() {
        return "VLLM_FACTORY_" + key.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /** Flags that take no value. */
    public boolean isSwitch() {
        return kind == Kind.BOOLEAN;
    }
}
