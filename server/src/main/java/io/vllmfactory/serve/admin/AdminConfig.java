package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.config.ConfigException;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where the admin listener binds and the token it asks for.
 *
 * @param host  address of the admin listener ({@code --admin-host}, 127.0.0.1 by default)
 * @param port  its port, 0 for any free one ({@code --admin-port}, 8001 by default)
 * @param token the bearer token every {@code /admin} operation must present; empty: none is asked
 *              for, which {@link #exposureProblem()} allows on loopback only
 */
public record AdminConfig(String host, int port, Optional<AdminToken> token) {
    /** Environment variable that holds the token itself (a flag would show it in {@code ps}). */
    public static final String TOKEN_ENV = "VLLM_FACTORY_ADMIN_TOKEN";
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8001;

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    public AdminConfig {
        Objects.requireNonNull(token, "token");
        if (host == null || host.isBlank()) {
            throw new ConfigException("--admin-host: '" + host + "' (expected: an address such as 127.0.0.1)");
        }
        if (port < 0 || port > 65535) {
            throw new ConfigException("--admin-port: " + port + " (expected: 0..65535)");
        }
    }

    /**
     * Reads the token from {@value #TOKEN_ENV} or from {@code tokenFile} (its whole content, surrounding
     * whitespace removed); giving both is an error, so it is always clear which one is in force.
     *
     * @throws ConfigException naming the source when the token is unreadable, empty, too short or
     *                         malformed; the message never contains the token
     */
    public static AdminConfig of(String host, int port, Optional<Path> tokenFile, Map<String, String> env) {
        String fromEnv = env.get(TOKEN_ENV);
        if (fromEnv != null && tokenFile.isPresent()) {
            throw new ConfigException("the admin token is given twice, by " + TOKEN_ENV + " and --admin-token-file "
                    + tokenFile.get() + " (expected: one of them)");
        }
        Optional<AdminToken> token = Optional.empty();
        if (fromEnv != null) {
            token = Optional.of(parse(fromEnv.strip(), TOKEN_ENV));
        } else if (tokenFile.isPresent()) {
            token = Optional.of(parse(read(tokenFile.get()), "--admin-token-file " + tokenFile.get()));
        }
        return new AdminConfig(host, port, token);
    }

    /**
     * Why the sidecar must not start with this admin configuration, or empty when it may: an admin
     * listener on a non-loopback address without a token would let anyone who reaches it change the
     * fleet.
     */
    public Optional<String> exposureProblem() {
        if (token.isPresent() || isLoopback(host)) {
            return Optional.empty();
        }
        return Optional.of("--admin-host " + host + " is not a loopback address and no admin token is set"
                + " (expected: set " + TOKEN_ENV + " or --admin-token-file, or keep --admin-host on 127.0.0.1)");
    }

    /**
     * Whether {@code host} names only this machine: {@code localhost}, 127.0.0.0/8 or ::1. Decided without
     * a name lookup; any other name counts as reachable from outside.
     */
    public static boolean isLoopback(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.equals("localhost")) {
            return true;
        }
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (IPV4.matcher(h).matches()) {
            for (String octet : h.split("\\.")) {
                if (Integer.parseInt(octet) > 255) {
                    return false;
                }
            }
            return h.startsWith("127.");
        }
        if (!h.contains(":")) {
            return false; // a name: resolving it here would make a start-up check depend on DNS
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress(); // an IPv6 literal: parsed, never looked up
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static AdminToken parse(String token, String source) {
        try {
            return AdminToken.of(token);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source + ": " + e.getMessage());
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("--admin-token-file " + file + ": cannot be read ("
                    + e.getClass().getSimpleName() + ") (expected: a readable file holding the admin token)");
        }
    }
}
