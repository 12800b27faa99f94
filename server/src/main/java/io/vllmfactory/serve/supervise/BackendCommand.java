package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.config.SupervisorConfig.BackendSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One backend's command line and environment, a pure function of its spec, address, memory share and devices:
 * {@code <command> MODEL --host H --port P --gpu-memory-utilization G --max-num-seqs B --dtype D}, then the
 * optional flags that were set, then the fixed arguments, then the forwarded ones (a forwarded
 * {@code --gpu-memory-utilization} is dropped: the sidecar's share wins). Written for vLLM 0.19 and later:
 * a {@code --task} arrives here as {@code --runner}/{@code --convert} already.
 */
public final class BackendCommand {
    private static final String UTILIZATION = "--gpu-memory-utilization";

    private BackendCommand() {
    }

    public static List<String> argv(BackendSpec spec, String host, int port, double fraction) {
        List<String> a = new ArrayList<>(spec.command());
        a.add(spec.model());
        a.addAll(List.of("--host", host, "--port", Integer.toString(port), UTILIZATION, MemorySplit.format(fraction),
                "--max-num-seqs", Integer.toString(spec.maxNumSeqs()), "--dtype", spec.dtype()));
        spec.runner().ifPresent(v -> a.addAll(List.of("--runner", v)));
        spec.convert().ifPresent(v -> a.addAll(List.of("--convert", v)));
        if (spec.enforceEager()) {
            a.add("--enforce-eager");
        }
        spec.ioProcessorPlugin().ifPresent(v -> a.addAll(List.of("--io-processor-plugin", v)));
        spec.maxModelLen().ifPresent(v -> a.addAll(List.of("--max-model-len", Integer.toString(v))));
        spec.maxNumBatchedTokens().ifPresent(v -> a.addAll(List.of("--max-num-batched-tokens", Integer.toString(v))));
        spec.quantization().filter(q -> !q.equalsIgnoreCase("none"))
                .ifPresent(v -> a.addAll(List.of("--quantization", v)));
        if (spec.tensorParallelSize() > 1) {
            a.addAll(List.of("--tensor-parallel-size", Integer.toString(spec.tensorParallelSize())));
        }
        spec.tokenizer().ifPresent(v -> a.addAll(List.of("--tokenizer", v)));
        spec.servedModelName().ifPresent(v -> a.addAll(List.of("--served-model-name", v)));
        spec.poolerConfig().ifPresent(v -> a.addAll(List.of("--pooler-config", v)));
        if (spec.trustRemoteCode()) {
            a.add("--trust-remote-code");
        }
        a.addAll(spec.fixedArgs());
        a.addAll(withoutUtilization(spec.extraArgs()));
        return List.copyOf(a);
    }

    /**
     * Variables added to the sidecar's environment: {@code CUDA_VISIBLE_DEVICES}, only the backend's own
     * devices, and unbuffered Python output so a backend's last lines reach its log before it dies.
     *
     * @param devices the devices this backend runs on, e.g. {@code 1} ({@link BackendSpec#deviceGroups()})
     */
    public static Map<String, String> environment(String devices) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CUDA_VISIBLE_DEVICES", devices);
        env.put("PYTHONUNBUFFERED", "1");
        return env;
    }

    /** Whether the forwarded arguments carry a {@code --gpu-memory-utilization} that will be dropped. */
    public static boolean forwardsUtilization(List<String> extra) {
        return withoutUtilization(extra).size() != extra.size();
    }

    private static List<String> withoutUtilization(List<String> extra) {
        List<String> out = new ArrayList<>(extra.size());
        for (int i = 0; i < extra.size(); i++) {
            String arg = extra.get(i);
            String flag = arg.replace('_', '-');
            if (flag.startsWith(UTILIZATION + "=")) {
                continue;
            }
            if (flag.equals(UTILIZATION)) {
                if (i + 1 < extra.size() && !extra.get(i + 1).startsWith("--")) {
                    i++;
                }
                continue;
            }
            out.add(arg);
        }
        return out;
    }
}
