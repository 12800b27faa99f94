package io.vllmfactory.simulator;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The pretend model: pure functions from input text to token counts, vectors and generated tokens, so the
 * same input always gets the same answer from every instance (a proxy test can compare answers).
 */
final class FakeModel {
    /** Length of pooling and embedding vectors unless a request asks for other dimensions. */
    static final int DIMENSIONS = 8;

    private static final String[] VOCABULARY = {
        " the", " model", " is", " simulated", " token", " vLLM", " answer", " of", " a", " GPU",
        " batch", " stream", " fast", " and", " deterministic", " output", " here", " with", " some", " text",
        ".", ",", " data", " request", " served", " by", " one", " backend", " in", " order", " now", " ok"};

    /** A word: a letter or digit, then letters, digits and the marks inside names (O'Neil, AT&T, Rolls-Royce). */
    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N}'\u2019&-]*");

    private FakeModel() {
    }

    /**
     * A mention of something the pretend model recognises: a character span of the input.
     *
     * @param start index of its first character
     * @param end   index after its last character
     * @param text  the characters themselves
     */
    record Mention(int start, int end, String text) {
    }

    /**
     * The pretend model's entity mentions: runs of words that start with a capital letter or a digit, separated
     * by spaces only ("San Francisco", "Apple Inc" in "Apple Inc. announced"), in text order.
     */
    static List<Mention> mentions(String text) {
        List<Mention> mentions = new ArrayList<>();
        Matcher word = WORD.matcher(text);
        int start = -1;
        int end = -1;
        while (word.find()) {
            int first = text.codePointAt(word.start());
            boolean named = Character.isUpperCase(first) || Character.isDigit(first);
            boolean joins = start >= 0 && text.substring(end, word.start()).isBlank();
            if (named && joins) {
                end = word.end();
                continue;
            }
            if (start >= 0) {
                mentions.add(new Mention(start, end, text.substring(start, end)));
                start = -1;
            }
            if (named) {
                start = word.start();
                end = word.end();
            }
        }
        if (start >= 0) {
            mentions.add(new Mention(start, end, text.substring(start, end)));
        }
        return mentions;
    }

    /** A number in [0, 1) derived from the text: the pretend model's confidence, the same on every instance. */
    static double unit(String text) {
        byte[] hash = sha256(text);
        return ByteBuffer.wrap(hash).getInt() / (double) (1L << 32) + 0.5;
    }

    /** One of {@code choices}, picked by the text. */
    static <T> T pick(List<T> choices, String text) {
        return choices.get((int) (unit(text) * choices.size()));
    }

    /** Little-endian float32s in base64, as OpenAI's {@code encoding_format: base64} and numpy's tobytes give them. */
    static String base64(float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            bytes.putFloat(value);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    /**
     * The items of an OpenAI-style {@code input} or {@code prompt}: a string is one item, a list of strings or
     * of token-id lists is one item each, a token-id list is one item, anything else (a plugin's
     * {@code data} object) is one item rendered as JSON.
     */
    static List<String> items(JsonNode input) {
        if (input == null || input.isNull() || input.isMissingNode()) {
            return List.of();
        }
        if (input.isTextual()) {
            return List.of(input.asText());
        }
        if (input.isArray()) {
            boolean batch = !input.isEmpty();
            for (JsonNode element : input) {
                batch &= element.isTextual() || element.isArray();
            }
            if (!batch) {
                return List.of(joined(input));
            }
            List<String> items = new ArrayList<>();
            for (JsonNode element : input) {
                items.add(element.isTextual() ? element.asText() : joined(element));
            }
            return items;
        }
        return List.of(input.isValueNode() ? input.asText() : input.toString());
    }

    /** The text of chat messages: every content string or text part, one per line. */
    static String chatText(JsonNode messages) {
        StringJoiner text = new StringJoiner("\n");
        for (JsonNode message : messages) {
            JsonNode content = message.path("content");
            if (content.isTextual()) {
                text.add(content.asText());
            } else if (content.isArray()) {
                for (JsonNode part : content) {
                    if (part.path("text").isTextual()) {
                        text.add(part.path("text").asText());
                    }
                }
            }
        }
        return text.toString();
    }

    /** Whitespace-separated words stand in for tokens. */
    static int tokenCount(String text) {
        String trimmed = text.strip();
        return trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
    }

    /** A unit-length vector derived from the text. */
    static float[] vector(String text, int dimensions) {
        float[] vector = new float[dimensions];
        double norm = 0;
        byte[] block = new byte[0];
        for (int i = 0; i < dimensions; i++) {
            int offset = (i % 16) * 2;
            if (offset == 0) {
                block = sha256(i / 16 + ":" + text);
            }
            int bits = ((block[offset] & 0xFF) << 8) | (block[offset + 1] & 0xFF);
            vector[i] = bits / 32767.5f - 1f;
            norm += vector[i] * vector[i];
        }
        float scale = norm == 0 ? 1f : (float) (1 / Math.sqrt(norm));
        for (int i = 0; i < dimensions; i++) {
            vector[i] = Math.round(vector[i] * scale * 1e6f) / 1e6f;
        }
        return vector;
    }

    /** The {@code index}-th generated token for a prompt, with its leading space. */
    static String token(String prompt, int index) {
        byte[] hash = sha256(index + ":" + prompt);
        return VOCABULARY[(hash[0] & 0xFF) % VOCABULARY.length];
    }

    private static String joined(JsonNode array) {
        StringJoiner text = new StringJoiner(" ");
        for (JsonNode element : array) {
            text.add(element.asText());
        }
        return text.toString();
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
