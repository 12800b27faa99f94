package io.vllmfactory.serve.config;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Every setting's value after layering its sources: command-line flags, then environment
 * variables, then the YAML file, then defaults. Typed getters turn a bad value into a
 * {@link ConfigException} that names where the value came from and what was expected.
 */
public final class Settings {
    private final Map<String, Object> values;
    private final Map<String, String> origins;
    private final Map<String, String> env;

    private Settings(Map<String, Object> values, Map<String, String> origins, Map<String, String> env) {
        this.values = values;
        this.origins = origins;
        this.env = env;
    }

    /**
     * @param flags values given on the command line, by setting key (String or List of String)
     * @param env   the process environment
     * @param yaml  the YAML file, if any
     */
    public static Settings resolve(Map<String, Object> flags, Map<String, String> env, Optional<Path> yaml) {
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        for (Setting s : SettingTable.ALL) {
            if (s.defaultValue() != null) {
                values.put(s.key(), s.kind() == Setting.Kind.LIST ? List.of() : s.defaultValue());
                origins.put(s.key(), "default of " + s.flag());
            }
        }
        yaml.ifPresent(path -> readYaml(path, values, origins));
        for (Setting s : SettingTable.ALL) {
            String v = env.get(s.env());
            if (v != null) {
                values.put(s.key(), s.kind() == Setting.Kind.LIST ? splitList(v) : v);
                origins.put(s.key(), "environment variable " + s.env());
            }
        }
        flags.forEach((key, v) -> {
            values.put(key, v);
            String flag = SettingTable.byKey(key).flag();
            origins.put(key, "--".equals(flag) ? "arguments after --" : flag);
        });
        return new Settings(values, origins, Map.copyOf(env));
    }

    private static void readYaml(Path path, Map<String, Object> values, Map<String, String> origins) {
        if (!Files.isReadable(path)) {
            throw new ConfigException("--config: " + path + " is not a readable file");
        }
        Config config;
        try {
            config = Config.just(ConfigSources.file(path));
        } catch (RuntimeException e) {
            throw new ConfigException("--config: " + path + " is not valid YAML: " + e.getMessage());
        }
        for (Config node : config.asNodeList().orElse(List.of())) {
            String key = node.name();
            Setting s = SettingTable.find(key).orElseThrow(() -> new ConfigException(
                    path + ": unknown key '" + key + "' (expected one of: " + SettingTable.keys() + ")"));
            Object v;
            if (s.kind() == Setting.Kind.LIST) {
                if (node.isLeaf()) {
                    throw new ConfigException(path + ": " + key + " (expected: a YAML list)");
                }
                v = List.copyOf(node.asList(String.class).get());
            } else if (s.kind() == Setting.Kind.WORDS) {
                v = node.isLeaf() ? node.asString().orElse("") : List.copyOf(node.asList(String.class).get());
            } else {
                if (!node.isLeaf()) {
                    throw new ConfigException(path + ": " + key + " (expected: a single value, not a list or map)");
                }
                v = node.asString().get();
            }
            values.put(key, v);
            origins.put(key, path + ": " + key);
        }
    }

    private static List<String> splitList(String v) {
        List<String> out = new ArrayList<>();
        for (String part : v.split(",")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return List.copyOf(out);
    }

    /**
     * A variable of the environment the settings were resolved in that is not a setting itself but decides a
     * default, e.g. {@code CUDA_VISIBLE_DEVICES}; empty when unset or blank.
     */
    public Optional<String> environment(String name) {
        return Optional.ofNullable(env.get(name)).map(String::strip).filter(v -> !v.isEmpty());
    }

    /** Where a setting's value came from, for error messages. */
    public String origin(String key) {
        return origins.getOrDefault(key, SettingTable.byKey(key).flag());
    }

    public boolean isSet(String key) {
        return values.containsKey(key);
    }

    public Optional<String> string(String key) {
        Object v = values.get(key);
        if (v == null) {
            return Optional.empty();
        }
        String s = v.toString().trim();
        return s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    public List<String> list(String key) {
        Object v = values.get(key);
        if (v == null) {
            return List.of();
        }
        if (v instanceof List<?> l) {
            return l.stream().map(Object::toString).toList();
        }
        return List.of(v.toString());
    }

    /** A WORDS setting: a list as given, or a string split on whitespace. */
    public List<String> words(String key) {
        Object v = values.get(key);
        if (v instanceof List<?> l) {
            return l.stream().map(Object::toString).toList();
        }
        String text = v == null ? "" : v.toString().trim();
        return text.isEmpty() ? List.of() : List.of(text.split("\\s+"));
    }

    /** An integer that may be left unset. */
    public OptionalInt optionalInteger(String key) {
        return string(key).isEmpty() ? OptionalInt.empty() : OptionalInt.of(integer(key));
    }

    public int integer(String key) {
        String v = required(key);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw bad(key, v, "an integer");
        }
    }

    public double decimal(String key) {
        String v = required(key);
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw bad(key, v, "a decimal number");
        }
    }

    public boolean bool(String key) {
        String v = required(key).toLowerCase(Locale.ROOT);
        return switch (v) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw bad(key, v, "true or false");
        };
    }

    /** {@code 300s}, {@code 5m}, {@code 500ms}, {@code 1h}, or a plain number of seconds. */
    public Duration duration(String key) {
        String v = required(key).toLowerCase(Locale.ROOT);
        try {
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2).trim()));
            }
            char unit = v.charAt(v.length() - 1);
            String number = Character.isLetter(unit) ? v.substring(0, v.length() - 1).trim() : v;
            double amount = Double.parseDouble(number);
            if (amount < 0) {
                throw bad(key, v, "a duration >= 0 such as 30s, 5m or 500ms");
            }
            double seconds = switch (unit) {
                case 's' -> amount;
                case 'm' -> amount * 60;
                case 'h' -> amount * 3600;
                default -> {
                    if (Character.isLetter(unit)) {
                        throw new NumberFormatException();
                    }
                    yield amount;
                }
            };
            return Duration.ofMillis(Math.round(seconds * 1000));
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw bad(key, v, "a duration such as 30s, 5m or 500ms");
        }
    }

    /** {@code 1MiB}, {@code 512KiB}, {@code 100MB}, {@code 2GiB}, or a plain number of bytes. */
    public long size(String key) {
        String v = required(key).replace(" ", "");
        String lower = v.toLowerCase(Locale.ROOT);
        long factor = 1;
        String number = lower;
        String[][] units = {{"kib", "1024"}, {"mib", "1048576"}, {"gib", "1073741824"},
                            {"kb", "1000"}, {"mb", "1000000"}, {"gb", "1000000000"}, {"b", "1"}};
        for (String[] u : units) {
            if (lower.endsWith(u[0])) {
                factor = Long.parseLong(u[1]);
                number = lower.substring(0, lower.length() - u[0].length());
                break;
            }
        }
        try {
            long n = Long.parseLong(number);
            if (n < 0) {
                throw bad(key, v, "a size >= 0 such as 1MiB or 65536");
            }
            return Math.multiplyExact(n, factor);
        } catch (NumberFormatException | ArithmeticException e) {
            throw bad(key, v, "a size such as 1MiB, 512KiB or 65536");
        }
    }

    private String required(String key) {
        return string(key).orElseThrow(() -> new ConfigException(
                SettingTable.byKey(key).flag() + " is required (" + SettingTable.byKey(key).help() + ")"));
    }

    /** A ConfigException for a value that has the right type but not an allowed value. */
    public ConfigException invalid(String key, Object value, String expected) {
        return new ConfigException(origin(key) + ": " + value + " (expected: " + expected + ")");
    }

    private ConfigException bad(String key, String value, String expected) {
        return invalid(key, "'" + value + "'", expected);
    }
}
