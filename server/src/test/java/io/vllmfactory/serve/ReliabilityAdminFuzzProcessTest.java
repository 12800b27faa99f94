package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

/**
 * The admin API fuzzed from its own OpenAPI document, operation by operation: wrong types, huge and
 * negative numbers, unicode, empty and missing bodies, wrong content types, a 10 MB body, no token and a
 * wrong one. Every answer is a 4xx problem (a read may also answer 200), none hangs, and afterwards the
 * instances listed are exactly the backend processes that run. The fixed probes (ASCII ids, 415 without
 * Content-Type, no Jackson internals) are the admin module's own tests.
 */
class ReliabilityAdminFuzzProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "fuzz-token-0123456789abcdef";
    private static final Path DOCUMENT = Path.of(System.getProperty("user.dir")).getParent()
            .resolve("openapi/admin-api.yaml");
    private static final List<String> BAD_IDS = List.of("-1", "99999999999999999999", "abc", "1.5", "%C3%A9",
            "%00", "0x1", "%20", "999");
    private static final List<String> BAD_VALUES = List.of("\"two\"", "-1", "0", "-99999999999999999999",
            "99999999999999999999", "1e308", "1.5", "true", "null", "[]", "{}", "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
            "\"" + "x".repeat(10_000) + "\"");
    private static final List<String> BAD_BODIES = List.of("", "null", "[]", "\"text\"", "{", "{\"a\":", "{}}",
            "{\"\\u00e9\\u4e2d\": 1}", "\u00ff\u00fe", "{\"count\": 1, \"count\": \"x\"}");

    @TempDir
    Path dir;

    @Test
    void everyOperationAnswersMalformedInputWithA4xxProblemAndTheFleetStaysAsListed() throws Exception {
        Path tokenFile = Files.writeString(dir.resolve("token"), TOKEN + "\n");
        try (FleetProcess fleet = FleetProcess.start(dir, List.of("--num-instances", "2", "--admin-token-file",
                tokenFile.toString()), List.of())) {
            fleet.useToken(TOKEN);
            List<Probe> probes = probes(operations());
            List<String> wrong = new ArrayList<>();
            Map<Integer, Integer> statuses = new java.util.TreeMap<>();
            for (Probe p : probes) {
                String problem = check(fleet.adminPort(), p, statuses);
                if (problem != null) {
                    wrong.add(p + " -> " + problem);
                }
            }
            assertThat(wrong.size() + " of " + probes.size() + " probes", wrong, is(empty()));
            Poll.until(Duration.ofSeconds(30), "the fleet is settled", () -> fleet.allReady(2));
            Set<Long> listed = new HashSet<>(fleet.backendPids());
            assertThat(listed, is(running(dir, fleet.process().pid())));
            Reliability.figure("admin API fuzz", "operations, probes", operations().size() + ", " + probes.size());
            Reliability.figure("admin API fuzz", "answers by status", statuses);
        }
    }

    /** Each operation of the document: method, path template, whether it takes a body, its body's properties. */
    record Operation(String method, String path, boolean hasBody, boolean bodyRequired, Map<String, String> properties) {
    }

    record Probe(String method, String path, String contentType, byte[] body, String token) {
        @Override
        public String toString() {
            String shown = body == null ? "no body" : body.length > 80 ? body.length + " bytes"
                    : new String(body, StandardCharsets.UTF_8);
            return method + " " + path + " [" + contentType + "] " + shown + (TOKEN.equals(token) ? "" : " token=" + token);
        }
    }

    @SuppressWarnings("unchecked")
    static List<Operation> operations() throws IOException {
        Map<String, Object> doc;
        try (InputStream in = Files.newInputStream(DOCUMENT)) {
            doc = new Yaml().load(in);
        }
        Map<String, Object> schemas = (Map<String, Object>) ((Map<String, Object>) doc.get("components")).get("schemas");
        List<Operation> out = new ArrayList<>();
        for (var path : ((Map<String, Object>) doc.get("paths")).entrySet()) {
            for (var op : ((Map<String, Object>) path.getValue()).entrySet()) {
                if (!Set.of("get", "post", "put", "delete", "patch").contains(op.getKey())) {
                    continue;
                }
                Map<String, Object> operation = (Map<String, Object>) op.getValue();
                Map<String, String> properties = new LinkedHashMap<>();
                Map<String, Object> body = (Map<String, Object>) operation.get("requestBody");
                if (body != null) {
                    Map<String, Object> media = (Map<String, Object>) ((Map<String, Object>) body.get("content"))
                            .get("application/json");
                    Map<String, Object> schema = (Map<String, Object>) media.get("schema");
                    Object ref = schema.get("$ref");
                    if (ref != null) {
                        schema = (Map<String, Object>) schemas.get(ref.toString().substring(ref.toString().lastIndexOf('/') + 1));
                    }
                    Map<String, Object> props = (Map<String, Object>) schema.getOrDefault("properties", Map.of());
                    props.forEach((name, spec) -> properties.put(name, String.valueOf(((Map<String, Object>) spec).get("type"))));
                }
                out.add(new Operation(op.getKey().toUpperCase(java.util.Locale.ROOT), path.getKey(), body != null,
                        body != null && Boolean.TRUE.equals(body.get("required")), properties));
            }
        }
        return out;
    }

    /** The probes for every operation; none of them is a valid change. */
    static List<Probe> probes(List<Operation> operations) {
        List<Probe> out = new ArrayList<>();
        byte[] huge = new byte[10 * 1024 * 1024];
        java.util.Arrays.fill(huge, (byte) ' ');
        huge[0] = '{';
        huge[huge.length - 1] = '}';
        for (Operation op : operations) {
            List<String> paths = new ArrayList<>();
            if (op.path().contains("{id}")) {
                BAD_IDS.forEach(id -> paths.add(op.path().replace("{id}", id)));
            } else {
                paths.add(op.path());
            }
            if (op.hasBody()) {
                paths.add(op.path().replace("{id}", "999") + "?rebalance=maybe");
            }
            boolean reading = op.method().equals("GET");
            for (String path : paths) {
                if (!op.hasBody() || op.bodyRequired()) { // without a body an optional one takes its defaults
                    out.add(new Probe(op.method(), path, null, null, TOKEN));
                }
                if (reading) {
                    continue;
                }
                for (String body : BAD_BODIES) {
                    if ((body.isEmpty() || body.equals("null")) && !op.bodyRequired()) {
                        continue; // an empty body or JSON null is no body: an optional one takes its defaults
                    }
                    out.add(new Probe(op.method(), path, "application/json", body.getBytes(StandardCharsets.UTF_8), TOKEN));
                }
                out.add(new Probe(op.method(), path, "text/plain", "{}".getBytes(StandardCharsets.UTF_8), TOKEN));
                out.add(new Probe(op.method(), path, null, "{}".getBytes(StandardCharsets.UTF_8), TOKEN));
                out.add(new Probe(op.method(), path, "application/xml", "<count>2</count>".getBytes(StandardCharsets.UTF_8), TOKEN));
                for (var property : op.properties().entrySet()) {
                    for (String value : BAD_VALUES) {
                        if (property.getValue().equals("boolean") && value.equals("true")) {
                            continue; // a valid change
                        }
                        out.add(new Probe(op.method(), path, "application/json",
                                ("{\"" + property.getKey() + "\": " + value + "}").getBytes(StandardCharsets.UTF_8), TOKEN));
                    }
                }
                if (op.properties().isEmpty() && op.hasBody()) {
                    out.add(new Probe(op.method(), path, "application/json", "{\"unknown\": 1}".getBytes(StandardCharsets.UTF_8), TOKEN));
                }
            }
            out.add(new Probe(op.method(), paths.getFirst(), "application/json", huge, TOKEN));
        }
        // A few without a token or with a wrong one: failed attempts are rate-limited per address.
        Operation first = operations.getFirst();
        out.add(new Probe(first.method(), first.path(), null, null, null));
        out.add(new Probe("PUT", "/admin/affinity", "application/json", "{\"enabled\": true}".getBytes(StandardCharsets.UTF_8),
                "wrong-token"));
        out.add(new Probe("DELETE", "/admin/instances/0", null, null, TOKEN.toUpperCase(java.util.Locale.ROOT)));
        return out;
    }

    /** Sends a probe; null when its answer is right, else what is wrong with it. */
    private static String check(int adminPort, Probe p, Map<Integer, Integer> statuses) throws InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + p.path()))
                .timeout(Duration.ofSeconds(30))
                .method(p.method(), p.body() == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(p.body()));
        if (p.contentType() != null) {
            b.header("Content-Type", p.contentType());
        }
        if (p.token() != null) {
            b.header("Authorization", "Bearer " + p.token());
        }
        HttpResponse<String> r;
        try {
            r = Clients.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.net.http.HttpTimeoutException e) {
            return "no answer within 30 s";
        } catch (IOException e) {
            // a server may close after refusing a body it will not read; only a 10 MB body may do so
            return p.body() != null && p.body().length > 1 << 20 ? null : e.toString();
        }
        statuses.merge(r.statusCode(), 1, Integer::sum);
        boolean reading = p.method().equals("GET") && p.token() != null && TOKEN.equals(p.token());
        if (r.statusCode() == 200 && reading) {
            return null;
        }
        if (r.statusCode() < 400 || r.statusCode() > 499) {
            return "status " + r.statusCode() + " " + r.body();
        }
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json")) {
            return r.statusCode() + " without a problem body: " + r.headers().map() + " " + r.body();
        }
        try {
            JsonNode problem = JSON.readTree(r.body());
            if (problem.path("status").asInt() != r.statusCode() || !problem.path("type").isTextual()) {
                return "problem body does not match: " + r.body();
            }
            if (r.body().contains("com.fasterxml") || r.body().contains("at io.")) {
                return "internals in the problem: " + r.body();
            }
        } catch (IOException e) {
            return "problem body is no JSON: " + r.body();
        }
        return null;
    }

    /** The simulator processes that run for this test's pretend GPU (the sidecar's command line names it too). */
    private static Set<Long> running(Path dir, long sidecar) {
        String ledger = SupervisedSidecars.ledger(dir).toString();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            Set<Long> out = new HashSet<>();
            procs.filter(p -> p.getFileName().toString().matches("\\d+")).forEach(p -> {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    if (cmd.contains(ledger) && cmd.contains("io.vllmfactory.simulator.Main")
                        && cmd.split("\u0000")[0].endsWith("/java")
                        && !p.getFileName().toString().equals(Long.toString(sidecar))) {
                        out.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            });
            assertThat(out.size(), greaterThan(0));
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
