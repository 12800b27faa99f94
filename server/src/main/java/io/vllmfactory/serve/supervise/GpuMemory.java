package io.vllmfactory.serve.supervise;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** What {@code nvidia-smi} says about a GPU the backends will use, and whether the instances placed on it fit. */
final class GpuMemory {
    private static final double MIB_PER_GIB = 1024;

    private GpuMemory() {
    }

    /**
     * One GPU's memory.
     *
     * @param device   its CUDA id as the backends see it
     * @param totalMib total memory
     * @param freeMib  memory free right now
     */
    record Gpu(String device, long totalMib, long freeMib) {
    }

    /** Reads {@code nvidia-smi --query-gpu=memory.total,memory.free --format=csv,noheader,nounits} output. */
    static Optional<Gpu> parse(String device, String output) {
        for (String line : output.lines().toList()) {
            String[] parts = line.split(",");
            if (parts.length == 2) {
                try {
                    return Optional.of(new Gpu(device, Long.parseLong(parts[0].strip()), Long.parseLong(parts[1].strip())));
                } catch (NumberFormatException e) {
                    // e.g. "[N/A]": not a figure to check against
                }
            }
        }
        return Optional.empty();
    }

    /** Why {@code instances} backends of {@code each} of the GPU cannot start on it, or empty when they can. */
    static Optional<String> shortfall(Gpu gpu, int instances, double each) {
        double needMib = gpu.totalMib() * each * instances;
        if (gpu.freeMib() >= needMib) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT,
                "GPU %s has %.1f GiB free of %.1f GiB, but %d instance%s at --gpu-memory-utilization %s need %.1f GiB:"
                + " free the GPU (nvidia-smi lists what holds it), or lower --num-instances or --gpu-memory-utilization",
                gpu.device(), gpu.freeMib() / MIB_PER_GIB, gpu.totalMib() / MIB_PER_GIB, instances,
                instances == 1 ? "" : "s", MemorySplit.format(each), needMib / MIB_PER_GIB));
    }

    /** Asks {@code nvidia-smi} found on {@code path}; empty when there is none or it says nothing usable. */
    static Optional<Gpu> query(String device, Path nvidiaSmi) {
        try {
            Process p = new ProcessBuilder(List.of(nvidiaSmi.toString(), "--query-gpu=memory.total,memory.free",
                    "--format=csv,noheader,nounits", "--id=" + device)).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(15, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                System.getLogger(GpuMemory.class.getName()).log(System.Logger.Level.WARNING,
                        "nvidia-smi could not report GPU {0} ({1}); its memory is not checked", device, out.strip());
                return Optional.empty();
            }
            return parse(device, out);
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
