package io.vllmfactory.serve.autosize;

import io.vllmfactory.serve.config.ConfigException;
import io.vllmfactory.serve.config.SupervisorConfig.BackendSpec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The request {@code --num-instances auto} measures with: a path and a JSON body.
 *
 * @param path the backend path, e.g. {@code /pooling}
 * @param body the JSON body
 */
public record CalibrationRequest(String path, String body) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** About 80 words with a few names, the length of a typical GLiNER input. */
    private static final String TEXT = "Apple Inc. announced a partnership with OpenAI in San Francisco on Monday, "
            + "and Tim Cook said the company would open a research office in Paris next year. Maria Chen, who "
            + "leads the team at Siemens in Berlin, joined the board of the new venture after the deal was "
            + "signed in London. The agreement covers products sold in Tokyo, Nairobi and Lima, and the market "
            + "reported the news within the hour, while analysts in Oslo expected more deals in the quarter.";

    /**
     * The request in {@code file}, or one that fits the backends' plugin.
     *
     * @throws ConfigException with the fix, when the file is unreadable or not {@code {"path", "body"}}
     */
    public static CalibrationRequest of(Optional<Path> file, BackendSpec backend) {
        return file.map(CalibrationRequest::read).orElseGet(() -> fitting(backend));
    }

    /** GLiNER plugins get text and labels, other plugins text, no plugin an {@code input} to pool. */
    static CalibrationRequest fitting(BackendSpec backend) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", backend.servedModelName().orElse(backend.model()));
        Optional<String> plugin = backend.ioProcessorPlugin();
        if (plugin.isEmpty()) {
            body.put("input", TEXT);
        } else {
            ObjectNode data = body.putObject("data").put("text", TEXT);
            if (plugin.get().contains("gliner")) {
                data.putArray("labels").add("person").add("organization").add("location");
                data.put("threshold", 0.5);
            }
        }
        return new CalibrationRequest("/pooling", body.toString());
    }

    private static CalibrationRequest read(Path file) {
        String expected = " (expected: a JSON object {\"path\": \"/pooling\", \"body\": {...}})";
        JsonNode node;
        try {
            node = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ConfigException("--calibration-request: cannot read " + file + ": " + e.getMessage() + expected);
        }
        if (node == null || !node.isObject() || !node.path("path").isTextual()
                || !node.path("path").asText().startsWith("/") || !node.path("body").isObject()) {
            throw new ConfigException("--calibration-request: " + file + " holds no path and body" + expected);
        }
        return new CalibrationRequest(node.get("path").asText(), node.get("body").toString());
    }
}
