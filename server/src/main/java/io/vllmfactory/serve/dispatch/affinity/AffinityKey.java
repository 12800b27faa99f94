package io.vllmfactory.serve.dispatch.affinity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;

import java.util.Set;

/**
 * The request-affinity key: requests with the same key are likely to share work on a backend
 * (same labels, same schema, same model), so they prefer the backend that took the key last.
 *
 * <p>For a JSON body the key is its shape: object keys sorted, the values of the volatile fields
 * ({@code input}, {@code inputs}, {@code prompt}, {@code prompts}, {@code text}, {@code texts}, at any
 * depth) replaced by a size bucket, every other value kept as it is. A body that is not JSON keys on
 * its bytes, an empty body on method, path and query alone. Pure: same input, same key.
 */
public final class AffinityKey {
    private static final Set<String> VOLATILE = Set.of("input", "inputs", "prompt", "prompts", "text", "texts");
    static final ObjectMapper JSON = new ObjectMapper();

    private AffinityKey() {
    }

    /** The key of a request whose whole body is {@code body}. */
    public static String of(String method, String rawPath, String rawQuery, byte[] body) {
        JsonNode json = parse(body);
        StringBuilder sb = new StringBuilder(128).append(method).append(' ').append(rawPath);
        if (!rawQuery.isEmpty()) {
            sb.append('?').append(rawQuery);
        }
        if (json != null) {
            sb.append(" json:");
            canonical(json, sb);
        } else if (body.length > 0) {
            sb.append(" bytes:").append(sha256(body));
        }
        return sb.length() <= 256 ? sb.toString() : sha256(sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The bucket that stands for a volatile field's value. */
    public static String bucket(JsonNode value) {
        if (value.isTextual()) {
            int n = value.textValue().length();
            return "str" + (n <= 256 ? "<=256" : n <= 1024 ? "<=1024" : n <= 4096 ? "<=4096" : ">4096");
        }
        if (value.isArray()) {
            long chars = 0;
            for (JsonNode item : value) {
                if (item.isTextual()) {
                    chars += item.textValue().length();
                }
            }
            String size = chars <= 512 ? "<=512" : chars <= 2048 ? "<=2048" : chars <= 8192 ? "<=8192" : ">8192";
            return "list" + size + "x" + value.size();
        }
        return "other";
    }

    private static void canonical(JsonNode node, StringBuilder sb) {
        if (node.isObject()) {
            List<String> names = new ArrayList<>(node.size());
            Iterator<String> it = node.fieldNames();
            while (it.hasNext()) {
                names.add(it.next());
            }
            names.sort(null);
            sb.append('{');
            for (String name : names) {
                sb.append(quote(name)).append(':');
                JsonNode value = node.get(name);
                if (VOLATILE.contains(name)) {
                    sb.append('<').append(bucket(value)).append('>');
                } else {
                    canonical(value, sb);
                }
                sb.append(',');
            }
            sb.append('}');
        } else if (node.isArray()) {
            sb.append('[');
            for (JsonNode item : node) {
                canonical(item, sb);
                sb.append(',');
            }
            sb.append(']');
        } else {
            sb.append(node.toString());
        }
    }

    /** The body as a JSON tree, or null when it is empty or not JSON. */
    private static JsonNode parse(byte[] b) {
        int i = 0;
        while (i < b.length && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) {
            i++;
        }
        if (i == b.length || b[i] != '{' && b[i] != '[') {
            return null;
        }
        try {
            return JSON.readTree(b);
        } catch (IOException e) { // malformed JSON included: keyed on its bytes
            return null;
        }
    }

    private static String quote(String s) {
        return com.fasterxml.jackson.databind.node.TextNode.valueOf(s).toString();
    }

    private static String sha256(byte[] bytes) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
            return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java runtime", e);
        }
    }

}
