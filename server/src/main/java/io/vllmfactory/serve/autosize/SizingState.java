package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.config.SupervisorConfig;
import io.vllmfactory.serve.supervise.Sizing;
import io.vllmfactory.serve.supervise.Sizing.Measurement;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The remembered choice of {@code --num-instances auto}: one JSON file per model, plugin, GPUs and settings that
 * change the answer (batch size, memory budget and share, dtype, context length, backend command and
 * arguments, calibration request, minimum gain), named by a hash of them, so another setting measures anew.
 */
final class SizingState {
    private static final System.Logger LOG = System.getLogger(SizingState.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Map<String, String> key;

    private SizingState(Path file, Map<String, String> key) {
        this.file = file;
        this.key = key;
    }

    static SizingState of(Path dir, SupervisorConfig c, CalibrationRequest request, double minGain) {
        SupervisorConfig.BackendSpec b = c.backend();
        Map<String, String> key = new LinkedHashMap<>();
        key.put("model", b.model());
        key.put("io_processor_plugin", b.ioProcessorPlugin().orElse(""));
        key.put("cuda_devices", String.join(",", b.cudaDevices()));
        key.put("max_batch_size", Integer.toString(b.maxNumSeqs()));
        key.put("gpu_memory_budget", Double.toString(c.gpuMemoryBudget()));
        key.put("gpu_memory_utilization", c.gpuMemoryUtilization().isPresent()
                ? Double.toString(c.gpuMemoryUtilization().getAsDouble()) : "auto");
        key.put("dtype", b.dtype());
        key.put("max_model_len", b.maxModelLen().isPresent() ? Integer.toString(b.maxModelLen().getAsInt()) : "");
        key.put("tensor_parallel_size", Integer.toString(b.tensorParallelSize()));
        key.put("backend_command", String.join(" ", b.command()));
        key.put("extra_args", String.join(" ", b.extraArgs()));
        key.put("calibration_request", request.path() + " " + request.body());
        key.put("calibration_min_gain", Double.toString(minGain));
        return new SizingState(dir.resolve("num-instances-" + hash(key) + ".json"), key);
    }

    Path file() {
        return file;
    }

    /** The remembered choice; empty when there is none, or it cannot be read (then it is measured again). */
    Optional<Sizing> read() {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            JsonNode node = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
            int instances = node.path("instances").asInt(0);
            if (instances < 1) {
                throw new IOException("no instances >= 1 in it");
            }
            List<Measurement> table = new ArrayList<>();
            node.path("table").forEach(m -> table.add(new Measurement(m.path("instances").asInt(),
                    m.path("requests_per_second").asDouble())));
            return Optional.of(new Sizing("remembered", instances, node.path("reason").asText("")
                    + " (measured " + node.path("measured_at").asText("?") + ")", table, Optional.of(file.toString())));
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "--num-instances auto: ignoring the unreadable state file {0} ({1}); measuring again",
                    file, e.getMessage());
            return Optional.empty();
        }
    }

    /** Remembers a measured choice (written to a temporary file first, so a crash leaves no torn file). */
    void write(Sizing sizing) throws IOException {
        ObjectNode node = JSON.createObjectNode();
        node.put("instances", sizing.instances());
        node.put("reason", sizing.reason());
        node.put("measured_at", Instant.now().toString());
        var table = node.putArray("table");
        sizing.table().forEach(m -> table.addObject().put("instances", m.instances())
                .put("requests_per_second", Math.round(m.requestsPerSecond() * 10) / 10.0));
        ObjectNode keyNode = node.putObject("key");
        key.forEach(keyNode::put);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n");
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String hash(Map<String, String> key) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            key.forEach((k, v) -> sha.update((k + "=" + v + "\n").getBytes(StandardCharsets.UTF_8)));
            return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
