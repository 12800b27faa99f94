package io.vllmfactory.serve.cli;

import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.Setting;
import io.vllmfactory.serve.config.SettingTable;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the user typed: {@code vllm-factory-serve [MODEL] [--flag value ...] [-- EXTRA_ARGS...]}.
 * Flags come from {@link SettingTable}; {@code --flag=value} works too, and every switch has a
 * {@code --no-} form that turns it off (e.g. {@code --no-trust-remote-code}). Everything after {@code --}
 * is kept verbatim for the backends. MODEL and the words after {@code --} also land in {@link #flags()}
 * as the settings {@code model} and {@code extra-args}, so they take part in the precedence like flags.
 *
 * @param flags  values by setting key (a String, or a List for repeatable flags)
 * @param config the YAML file given with {@code --config}
 * @param model  the positional MODEL argument
 * @param extra  arguments after {@code --}
 * @param help   whether {@code --help} was asked for
 * @param version whether {@code --version} was asked for
 */
public record CommandLine(Map<String, Object> flags, Optional<Path> config, Optional<String> model,
                          List<String> extra, boolean help, boolean version) {

    /** @throws ConfigException for an unknown flag or a flag missing its value */
    public static CommandLine parse(String... args) {
        Map<String, Object> flags = new LinkedHashMap<>();
        Path config = null;
        String model = null;
        List<String> extra = new ArrayList<>();
        boolean help = false;
        boolean version = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if ("--".equals(arg)) {
                extra.addAll(List.of(args).subList(i + 1, args.length));
                break;
            }
            if ("--help".equals(arg) || "-h".equals(arg)) {
                help = true;
                continue;
            }
            if ("--version".equals(arg)) {
                version = true;
                continue;
            }
            if (!arg.startsWith("--")) {
                if (model != null) {
                    throw new ConfigException("unexpected argument '" + arg + "': MODEL is already '" + model
                            + "' (put arguments for the backends after --)");
                }
                model = arg;
                continue;
            }
            int eq = arg.indexOf('=');
            String name = eq > 0 ? arg.substring(0, eq) : arg;
            String inline = eq > 0 ? arg.substring(eq + 1) : null;
            if ("--config".equals(name)) {
                String v = inline != null ? inline : value(args, ++i, name);
                config = Path.of(v);
                continue;
            }
            Optional<Setting> negated = negated(name);
            if (negated.isPresent()) {
                if (inline != null) {
                    throw new ConfigException(name + " takes no value (expected: " + name + " alone, or "
                            + negated.get().flag() + "=" + inline + ")");
                }
                flags.put(negated.get().key(), "false");
                continue;
            }
            Setting s = SettingTable.byFlag(name).orElseThrow(() -> new ConfigException(
                    "unknown flag " + name + " (see --help; arguments for the backends go after --)"));
            String v;
            if (s.isSwitch()) {
                v = inline != null ? inline : "true";
            } else if (s.kind() == Setting.Kind.WORDS && inline == null) {
                // command-line words may start with --, e.g. --backend-fixed-args "--disable-log-stats"
                if (++i >= args.length) {
                    throw new ConfigException(name + " needs a value (see --help)");
                }
                v = args[i];
            } else {
                v = inline != null ? inline : value(args, ++i, name);
            }
            if (s.kind() == Setting.Kind.LIST) {
                @SuppressWarnings("unchecked")
                List<String> list = (List<String>) flags.computeIfAbsent(s.key(), k -> new ArrayList<String>());
                list.add(v);
            } else {
                flags.put(s.key(), v);
            }
        }
        if (model != null) {
            if (flags.containsKey("model")) {
                throw new ConfigException("MODEL is given twice: '" + model + "' and --model " + flags.get("model"));
            }
            flags.put("model", model);
        }
        if (!extra.isEmpty()) {
            flags.put("extra-args", extra);
        }
        flags.replaceAll((k, v) -> v instanceof List<?> l ? List.copyOf(l) : v);
        return new CommandLine(Map.copyOf(flags), Optional.ofNullable(config), Optional.ofNullable(model),
                List.copyOf(extra), help, version);
    }

    /** The switch that {@code --no-NAME} turns off, if {@code flag} is such a form. */
    private static Optional<Setting> negated(String flag) {
        if (!flag.startsWith("--no-")) {
            return Optional.empty();
        }
        return SettingTable.byFlag("--" + flag.substring(5)).filter(Setting::isSwitch);
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length || (args[i].startsWith("--") && args[i].length() > 2)) {
            throw new ConfigException(flag + " needs a value (see --help)");
        }
        return args[i];
    }

    /** The {@code --help} text, generated from the setting table. */
    public static String usage() {
        StringBuilder sb = new StringBuilder();
        sb.append("Usage: vllm-factory-serve MODEL [OPTIONS] [-- EXTRA_BACKEND_ARGS...]\n")
          .append("       vllm-factory-serve --backend-url URL [--backend-url URL ...] [OPTIONS]\n\n")
          .append("Launches N model-server backends for MODEL (vllm serve by default), keeps them alive and serves\n")
          .append("them behind one endpoint; or serves backends that run already (--backend-url). The backends'\n")
          .append("command line is written for vLLM >= ").append(SettingTable.VLLM_VERSION)
          .append(" (what the Python vllm-factory needs; a --task becomes\n")
          .append("--runner/--convert, since vLLM 0.13 takes no --task).\n\n")
          .append("Every option is also an environment variable VLLM_FACTORY_<NAME> and a key of the --config YAML\n")
          .append("file (precedence: flags, environment, file, defaults). Durations: 30s, 5m, 500ms; sizes: 1MiB.\n");
        line(sb, "--config FILE", "YAML file with any of the settings below (keys without the leading --)");
        line(sb, "-h, --help", "show this help");
        line(sb, "--version", "show the version and the Java it runs on");
        for (SettingTable.Section section : SettingTable.SECTIONS) {
            sb.append('\n').append(section.title()).append(":\n");
            for (Setting s : section.settings()) {
                String left = "--".equals(s.flag()) ? "-- ARGS..."
                        : s.isSwitch() && "true".equals(s.defaultValue()) ? s.flag() + ", --no-" + s.flag().substring(2)
                        : s.flag() + (s.isSwitch() ? "" : " " + s.kind().name());
                String def = s.defaultValue() == null || s.defaultValue().isEmpty() ? ""
                        : " [default: " + s.defaultValue() + "]";
                line(sb, left, s.help() + def);
            }
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String left, String right) {
        sb.append("  ").append(left);
        int pad = Math.max(1, 34 - left.length());
        if (left.length() >= 34) {
            sb.append('\n').append(" ".repeat(36));
        } else {
            sb.append(" ".repeat(pad));
        }
        sb.append(right).append('\n');
    }
}
