package io.vllmfactory.simulator;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Parses {@code serve MODEL [flags]} the way the sidecar's launch template writes it. vLLM has hundreds of
 * flags; the few the simulator needs are interpreted and every other {@code --flag}, {@code --flag value} or
 * {@code --flag=value} is accepted and ignored, so a real vLLM command line runs unchanged. A token is a
 * flag's value when it is not itself a flag. Simulator knobs ({@code --sim-*}) fall back to {@code VLLM_SIM_*}
 * environment variables; the flag wins.
 */
final class CommandLine {

    /** The usage line {@code vllm serve} prints with its errors. */
    static final String VLLM_USAGE = "usage: vllm serve [model_tag] [options]";

    static final String SHORT_USAGE = "usage: vllm-sim serve MODEL [--host HOST] [--port PORT] "
            + "[--gpu-memory-utilization F] [--max-num-seqs N] [--max-model-len N] "
            + "[--served-model-name NAME ...] [--io-processor-plugin NAME] [--sim-KNOB VALUE ...] "
            + "[other vLLM flags (ignored)]";

    static final String HELP = SHORT_USAGE + """


            A stand-in for `vllm serve` that speaks vLLM's HTTP API without a GPU.

            vLLM options (as vLLM 0.19 takes them; all other vLLM flags are accepted and ignored, except
            --task, which vLLM 0.13 and later refuse, and so does the simulator):
              MODEL                          model name or path (or --model MODEL)
              --host HOST                    address to bind (default 127.0.0.1)
              --port PORT                    port to bind, 0 = any free port (default 8000)
              --gpu-memory-utilization F     share of the pretend GPU to reserve (default 0.9)
              --max-num-seqs N               inference requests processed at once (default 256)
              --max-model-len N              context length, e.g. 4096, 8k, auto (default 8192)
              --served-model-name NAME ...   names the API answers to (default MODEL)
              --io-processor-plugin NAME     POST /pooling answers {"data": ...} requests as this
                                             vllm-factory plugin does (e.g. mmbert_gliner_io,
                                             deberta_gliner2_io, embeddinggemma_io, moderncolbert_io)

            Simulator knobs (flag, or environment variable; the flag wins):
              --sim-startup-delay S     VLLM_SIM_STARTUP_DELAY     simulated loading in seconds; port
                                                                   unbound meanwhile (default 1.0)
              --sim-service-time-ms MS  VLLM_SIM_SERVICE_TIME_MS   time per pooling/embeddings request
                                                                   (default 20; header X-Sim-Service-Time-Ms)
              --sim-token-delay-ms MS   VLLM_SIM_TOKEN_DELAY_MS    time between generated tokens
                                                                   (default 10; header X-Sim-Token-Delay-Ms)
              --sim-crash-after N       VLLM_SIM_CRASH_AFTER       halt(1) after N answered inference requests
              --sim-hang-after N        VLLM_SIM_HANG_AFTER        stop answering everything after N
              --sim-crash-on TEXT       VLLM_SIM_CRASH_ON          halt(1) on an inference request whose input
                                                                   contains TEXT (a poison request)
              --sim-fail-startup MSG    VLLM_SIM_FAIL_STARTUP      print MSG to stderr after loading, exit 1
              --sim-fail-status CODE    VLLM_SIM_FAIL_STATUS       answer inference requests with CODE
              --sim-gpu-memory-gib G    VLLM_SIM_GPU_MEMORY_GIB    size of the pretend GPU (default 80)
              --sim-gpu-ledger FILE     VLLM_SIM_GPU_LEDGER        file shared by instances on one GPU; {device}
                                        in it stands for the first CUDA_VISIBLE_DEVICES id (default
                                        $TMPDIR/vllm-sim-gpu-{device}.ledger)

            Pretend GPU compute (off unless a preset or a number is given; then pooling and embeddings
            requests run in batched steps instead of taking the service time each):
              --sim-gpu-preset NAME     VLLM_SIM_GPU_PRESET        deberta-gliner2, modernbert-gliner or
                                                                   mt5-gliner: the seed's scaling curves
              --sim-gpu-step-ms MS      VLLM_SIM_GPU_STEP_MS       fixed cost of a step (reading the weights)
              --sim-gpu-request-ms MS   VLLM_SIM_GPU_REQUEST_MS    cost of each request in a step
              --sim-gpu-token-us US     VLLM_SIM_GPU_TOKEN_US      cost of each input token in a step
              --sim-gpu-contention C    VLLM_SIM_GPU_CONTENTION    0..1: while k instances share the GPU, a
                                                                   step takes 1 + C*(k-1) times as long
              A step takes the admitted requests (it starts when --max-num-seqs wait, or 25 ms after
              the first) and lasts STEP + n*REQUEST + tokens*TOKEN, so the time per request falls as
              the batch grows. Instances on one GPU (the ledger's {device}) share a busy table in
              LEDGER.busy; N busy instances do N/(1+C*(N-1)) times one's work: the GPU saturates at 1/C
              times one instance. Explicit numbers override the preset's.

            Test endpoints: /sim/stats, POST /sim/stats/reset, /sim/echo[/...] (any method),
            GET /sim/bytes?n=N.

            `vllm-sim warmup` starts and stops a throwaway instance (bin/vllm-sim records its classes for
            class-data sharing, which makes later starts faster).
            """;

    private static final Set<String> SINGLE_VALUED = Set.of(
            "--model", "--host", "--port", "--gpu-memory-utilization", "--max-num-seqs", "--max-model-len",
            "--sim-startup-delay", "--sim-service-time-ms", "--sim-token-delay-ms", "--sim-crash-after",
            "--sim-hang-after", "--sim-crash-on", "--sim-fail-startup", "--sim-fail-status", "--sim-gpu-memory-gib",
            "--sim-gpu-ledger", "--io-processor-plugin", "--sim-gpu-preset", "--sim-gpu-step-ms",
            "--sim-gpu-request-ms", "--sim-gpu-token-us", "--sim-gpu-contention");
    private static final Set<String> MULTI_VALUED = Set.of("--served-model-name");

    /** Flags vLLM's argparse no longer knows: {@code --task} went in vLLM 0.13 (use --runner/--convert). */
    private static final Set<String> REMOVED = Set.of("--task");

    private final Map<String, List<String>> flags = new HashMap<>();
    private final List<String> unrecognized = new ArrayList<>();
    private final Map<String, String> env;

    private CommandLine(Map<String, String> env) {
        this.env = env;
    }

    /**
     * Parses a command line.
     *
     * @param args   the arguments after the program name
     * @param env    environment variables ({@code VLLM_SIM_*}, {@code CUDA_VISIBLE_DEVICES})
     * @param tmpDir directory of the default GPU ledger
     * @return the command to run
     * @throws UsageException if the command line is malformed
     */
    static Command parse(List<String> args, Map<String, String> env, String tmpDir) throws UsageException {
        if (args.contains("--help") || args.contains("-h")) {
            return new Command.Help();
        }
        if (args.equals(List.of("warmup"))) {
            return new Command.Warmup();
        }
        if (args.isEmpty() || !args.getFirst().equals("serve")) {
            throw new UsageException("the first argument must be the subcommand 'serve'");
        }
        CommandLine line = new CommandLine(env);
        String model = line.readTokens(args.subList(1, args.size()));
        if (!line.unrecognized.isEmpty()) {
            throw UsageException.vllm("unrecognized arguments: " + String.join(" ", line.unrecognized));
        }
        model = model != null ? model : line.flag("--model").orElse(null);
        if (model == null) {
            throw new UsageException("the following arguments are required: MODEL");
        }
        try {
            return new Command.Serve(new SimulatorConfig(line.serveOptions(model), line.simKnobs(tmpDir),
                    GpuModel.from(line::knobText)));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** Records the flags of interest and returns the positional MODEL, if any. */
    private String readTokens(List<String> tokens) throws UsageException {
        String model = null;
        String lastFlag = null;
        int i = 0;
        while (i < tokens.size()) {
            String token = tokens.get(i++);
            if (!isFlag(token)) {
                if (model == null) {
                    model = token;
                } else if (lastFlag == null || isKnown(lastFlag)) {
                    throw new UsageException("unrecognized arguments: " + token);
                }
                // otherwise a further value of an ignored multi-valued vLLM flag (e.g. --allowed-origins a b)
                continue;
            }
            int eq = token.indexOf('=');
            String name = (eq > 0 ? token.substring(0, eq) : token).replace('_', '-');
            lastFlag = name;
            List<String> values = new ArrayList<>();
            if (eq > 0) {
                values.add(token.substring(eq + 1));
            } else {
                boolean many = MULTI_VALUED.contains(name);
                while (i < tokens.size() && !isFlag(tokens.get(i)) && (many || values.isEmpty())) {
                    values.add(tokens.get(i++));
                }
            }
            if (REMOVED.contains(name)) {
                unrecognized.add(token);
                if (eq < 0) {
                    unrecognized.addAll(values);
                }
            } else if (isKnown(name)) {
                if (values.isEmpty()) {
                    throw new UsageException("argument " + name + ": expected "
                            + (MULTI_VALUED.contains(name) ? "at least one argument" : "one argument"));
                }
                flags.put(name, values);
            } else if (name.startsWith("--sim-")) {
                throw new UsageException("unrecognized simulator flag: " + name + " (see --help)");
            }
        }
        return model;
    }

    private ServeOptions serveOptions(String model) throws UsageException {
        return new ServeOptions(model,
                flags.getOrDefault("--served-model-name", List.of()),
                flag("--host").orElse(ServeOptions.DEFAULT_HOST),
                number("--port", Integer::parseInt, "int", ServeOptions.DEFAULT_PORT),
                number("--gpu-memory-utilization", Double::parseDouble, "float",
                        ServeOptions.DEFAULT_GPU_MEMORY_UTILIZATION),
                number("--max-num-seqs", Integer::parseInt, "int", ServeOptions.DEFAULT_MAX_NUM_SEQS),
                number("--max-model-len", CommandLine::parseModelLen, "int", ServeOptions.DEFAULT_MAX_MODEL_LEN),
                flag("--io-processor-plugin"));
    }

    private SimKnobs simKnobs(String tmpDir) throws UsageException {
        double delaySeconds = knob("--sim-startup-delay", Double::parseDouble, "float",
                SimKnobs.DEFAULT_STARTUP_DELAY_SECONDS);
        if (!Double.isFinite(delaySeconds) || delaySeconds < 0) {
            throw new UsageException("startupDelay: " + delaySeconds + " (expected: >= 0 seconds)");
        }
        String device = SimKnobs.device(env.get("CUDA_VISIBLE_DEVICES"));
        Path ledger = knobText("--sim-gpu-ledger").map(p -> Path.of(p.replace(SimKnobs.DEVICE, device)))
                .orElseGet(() -> Path.of(tmpDir, SimKnobs.DEFAULT_LEDGER.replace(SimKnobs.DEVICE, device)));
        return new SimKnobs(Duration.ofNanos(Math.round(delaySeconds * 1e9)),
                knob("--sim-service-time-ms", Long::parseLong, "int", SimKnobs.DEFAULT_SERVICE_TIME_MS),
                knob("--sim-token-delay-ms", Long::parseLong, "int", SimKnobs.DEFAULT_TOKEN_DELAY_MS),
                knob("--sim-crash-after", Long::parseLong, "int", 0L),
                knob("--sim-hang-after", Long::parseLong, "int", 0L),
                knobText("--sim-fail-startup"),
                knob("--sim-fail-status", Integer::parseInt, "int", 0),
                knob("--sim-gpu-memory-gib", Double::parseDouble, "float", SimKnobs.DEFAULT_GPU_MEMORY_GIB),
                ledger,
                knobText("--sim-crash-on"));
    }

    private Optional<String> flag(String name) {
        return Optional.ofNullable(flags.get(name)).map(List::getFirst);
    }

    private <T> T number(String name, Function<String, T> parser, String type, T fallback)
            throws UsageException {
        Optional<String> text = flag(name);
        return text.isEmpty() ? fallback : parse("argument " + name, text.get(), parser, type);
    }

    private Optional<String> knobText(String name) {
        return flag(name).or(() -> Optional.ofNullable(env.get(envName(name))).filter(v -> !v.isEmpty()));
    }

    private <T> T knob(String name, Function<String, T> parser, String type, T fallback) throws UsageException {
        Optional<String> fromFlag = flag(name);
        if (fromFlag.isPresent()) {
            return parse("argument " + name, fromFlag.get(), parser, type);
        }
        String fromEnv = env.get(envName(name));
        return fromEnv == null || fromEnv.isEmpty() ? fallback : parse(envName(name), fromEnv, parser, type);
    }

    private static <T> T parse(String source, String text, Function<String, T> parser, String type)
            throws UsageException {
        try {
            return parser.apply(text.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(source + ": invalid " + type + " value: '" + text + "'");
        }
    }

    /** {@code --sim-crash-after} is {@code VLLM_SIM_CRASH_AFTER}. */
    static String envName(String flag) {
        return "VLLM_" + flag.substring(2).replace('-', '_').toUpperCase(Locale.ROOT);
    }

    /** vLLM's forms: an integer, {@code auto} or -1 for the model's default, or a k/m/g suffix (K = 1024). */
    static int parseModelLen(String text) {
        if (text.equals("auto") || text.equals("-1")) {
            return ServeOptions.DEFAULT_MAX_MODEL_LEN;
        }
        char suffix = text.isEmpty() ? ' ' : text.charAt(text.length() - 1);
        long unit = switch (suffix) {
            case 'k' -> 1_000L;
            case 'K' -> 1L << 10;
            case 'm' -> 1_000_000L;
            case 'M' -> 1L << 20;
            case 'g' -> 1_000_000_000L;
            case 'G' -> 1L << 30;
            default -> 1L;
        };
        String digits = unit == 1 ? text : text.substring(0, text.length() - 1);
        double value = Double.parseDouble(digits);
        long result = Math.round(value * unit);
        if (unit == 1 && !digits.matches("-?\\d+") || result > Integer.MAX_VALUE || result < Integer.MIN_VALUE) {
            throw new NumberFormatException(text);
        }
        return (int) result;
    }

    private static boolean isKnown(String name) {
        return SINGLE_VALUED.contains(name) || MULTI_VALUED.contains(name);
    }

    /** Flags start with a dash; negative numbers are values. */
    private static boolean isFlag(String token) {
        return token.length() > 1 && token.charAt(0) == '-' && !token.matches("-\\d.*|-\\.\\d.*");
    }
}
