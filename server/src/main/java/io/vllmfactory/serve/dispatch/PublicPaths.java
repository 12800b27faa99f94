package io.vllmfactory.serve.dispatch;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which paths the public port refuses (403): vLLM's operator endpoints, which put a backend to sleep,
 * pause or abort its requests, reload or swap its weights, run code on its workers or rescale it.
 * Anyone who can reach the public port could otherwise stop the fleet. The built-in list comes from
 * vLLM's API server; {@code --public-deny-path} adds paths, {@code --public-allow-path} takes them
 * out. A path matches itself and everything under it.
 *
 * <p>A path is compared as a backend would route it, and then some: percent-decoded once (as
 * Starlette does), dot segments removed, slashes collapsed, a trailing slash dropped, in any case.
 * Pure: the same paths, the same verdicts.
 */
public final class PublicPaths {
    /** vLLM's operator endpoints (many only with VLLM_SERVER_DEV_MODE=1, some always). */
    public static final List<String> VLLM_OPERATOR_PATHS = List.of(
            "/sleep", "/wake_up", "/is_sleeping", "/pause", "/resume", "/is_paused", "/abort_requests",
            "/collective_rpc", "/reload_weights", "/reset_prefix_cache", "/reset_mm_cache", "/reset_encoder_cache",
            "/init_weight_transfer_engine", "/start_weight_update", "/update_weights", "/finish_weight_update",
            "/update_weight_version", "/weight_info", "/get_world_size", "/scale_elastic_ep",
            "/is_scaling_elastic_ep", "/start_profile", "/stop_profile", "/server_info",
            "/load_lora_adapter", "/v1/load_lora_adapter", "/v1/unload_lora_adapter");

    private final Set<String> denied;

    private PublicPaths(Set<String> denied) {
        this.denied = denied;
    }

    /**
     * @param deny  paths refused besides vLLM's operator endpoints
     * @param allow paths taken out of the refused ones
     */
    public static PublicPaths of(List<String> deny, List<String> allow) {
        Set<String> denied = new LinkedHashSet<>();
        VLLM_OPERATOR_PATHS.forEach(p -> denied.add(normalize(p)));
        deny.forEach(p -> denied.add(normalize(p)));
        allow.forEach(p -> denied.remove(normalize(p)));
        return new PublicPaths(Set.copyOf(denied));
    }

    /** Whether a request for {@code rawPath} (as sent, percent-encoded) is refused. */
    public boolean refused(String rawPath) {
        if (denied.isEmpty()) {
            return false;
        }
        String path = normalize(rawPath);
        for (String p = path; !p.isEmpty(); p = parent(p)) {
            if (denied.contains(p)) {
                return true;
            }
        }
        return false;
    }

    /** The paths refused, normalized. */
    public Set<String> denied() {
        return denied;
    }

    private static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "" : path.substring(0, slash);
    }

    static String normalize(String raw) {
        if (isNormal(raw)) {
            return raw; // what nearly every request sends: nothing to decode, fold or resolve
        }
        String decoded;
        try {
            decoded = URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            decoded = raw; // a broken escape: compared as it is
        }
        Deque<String> segments = new ArrayDeque<>();
        for (String s : decoded.replace('\\', '/').split("/")) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                segments.pollLast();
            } else {
                segments.addLast(s.toLowerCase(Locale.ROOT));
            }
        }
        return "/" + String.join("/", segments);
    }

    /**
     * Whether {@code raw} is its own normal form: {@code /} and lower-case letters, digits, {@code -} and {@code _}
     * only (no escapes, dots or backslashes), no empty segment and no trailing slash.
     */
    private static boolean isNormal(String raw) {
        int n = raw.length();
        if (n == 0 || raw.charAt(0) != '/') {
            return false;
        }
        if (n == 1) {
            return true;
        }
        char previous = '/';
        for (int i = 1; i < n; i++) {
            char c = raw.charAt(i);
            boolean word = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_';
            if (!word && !(c == '/' && previous != '/')) {
                return false;
            }
            previous = c;
        }
        return previous != '/';
    }
}
