package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.config.Setting;
import io.vllmfactory.serve.config.SettingTable;
import io.vllmfactory.serve.config.Settings;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The settings in force as {@code GET /admin/status} reports them: every setting that has a value, typed
 * where the type is plain (integers, decimals, booleans, lists), otherwise as given. Command-line words
 * for the backends may carry secrets (vLLM's {@code --api-key}, {@code HF_TOKEN=...}): those values are
 * replaced by {@value #REDACTED}.
 */
final class ConfigurationReport {
    static final String REDACTED = "<redacted>";
    private static final Pattern SECRET = Pattern.compile("key|token|secret|password|passwd|credential",
            Pattern.CASE_INSENSITIVE);

    private ConfigurationReport() {
    }

    static Map<String, Object> of(Settings settings) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Setting s : SettingTable.ALL) {
            value(settings, s).ifPresent(v -> out.put(s.key(), v));
        }
        return out;
    }

    private static Optional<Object> value(Settings settings, Setting s) {
        String key = s.key();
        return switch (s.kind()) {
            case LIST -> Optional.of(settings.list(key));
            case WORDS -> Optional.of(redact(settings.words(key)));
            default -> settings.string(key).map(raw -> typed(settings, s, raw));
        };
    }

    private static Object typed(Settings settings, Setting s, String raw) {
        return switch (s.kind()) {
            case INT -> "auto".equalsIgnoreCase(raw) ? raw : settings.integer(s.key()); // --num-instances auto
            case DOUBLE -> settings.decimal(s.key());
            case BOOLEAN -> settings.bool(s.key());
            default -> raw;
        };
    }

    /** Command-line words with the values of secret-looking flags and variables replaced. */
    static List<String> redact(List<String> words) {
        List<String> out = new ArrayList<>(words.size());
        boolean nextIsSecret = false;
        for (String w : words) {
            if (nextIsSecret && !w.startsWith("--")) {
                out.add(REDACTED);
                nextIsSecret = false;
                continue;
            }
            nextIsSecret = false;
            int eq = w.indexOf('=');
            String name = eq < 0 ? w : w.substring(0, eq);
            boolean secret = SECRET.matcher(name.toLowerCase(Locale.ROOT)).find();
            if (secret && eq >= 0) {
                out.add(name + "=" + REDACTED);
            } else {
                out.add(w);
                nextIsSecret = secret && w.startsWith("--");
            }
        }
        return List.copyOf(out);
    }
}
