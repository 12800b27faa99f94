package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The operations files in {@code ops/} checked by a real Prometheus (Debian's {@code prometheus} and
 * {@code promtool}; skipped where they are missing): the rules and the example configuration pass promtool,
 * and a Prometheus that scrapes a sidecar process with two simulated backends finds every metric the
 * dashboard and the rules name, answers every dashboard query with data, and fires the alerts when the
 * backends fail and when the sidecar goes away. The Prometheus here runs the shipped {@code prometheus.yml}
 * with 1 s intervals and this sidecar's admin port, and a copy of {@code alerts.yml} whose {@code for:}
 * durations are cut to 1 s, so the alerts fire within seconds instead of minutes.
 */
class PrometheusCheckTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern METRIC = Pattern.compile("\\bvllm_factory_[a-z0-9_]+");
    private static final Pattern RULE_EXPR = Pattern.compile("(?m)^\\s+expr:\\s*(.+)$");
    private static final String JOB = "vllm-factory-serve";

    @TempDir
    Path dir;
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopWhatStarted() throws InterruptedException {
        for (Process p : started.reversed()) {
            if (p.isAlive()) {
                p.destroy();
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            }
        }
    }

    @Test
    void promtoolAcceptsTheRulesTheirUnitTestsAndTheExampleConfiguration() throws Exception {
        Path promtool = tool("promtool");
        Path rules = RepoFiles.file("ops/prometheus/alerts.yml");
        run(promtool, rules.getParent(), "check", "rules", "alerts.yml");
        run(promtool, rules.getParent(), "test", "rules", "alerts.test.yml");
        run(promtool, rules.getParent(), "check", "config", "prometheus.yml");
        assertThat("a rule for each alert the README names", ruleExprs().size(), is(5));
    }

    @Test
    void everyAlertIsExplainedInTheReadmesOperationsPart() throws IOException {
        String readme = Files.readString(RepoFiles.file("README.md"));
        String operations = readme.substring(readme.indexOf("### Operations"), readme.indexOf("## Benchmarks"));
        Matcher m = Pattern.compile("(?m)^\\s+- alert:\\s*(\\S+)$")
                .matcher(Files.readString(RepoFiles.file("ops/prometheus/alerts.yml")));
        List<String> alerts = new ArrayList<>();
        while (m.find()) {
            alerts.add(m.group(1));
        }
        assertThat(alerts.size(), is(ruleExprs().size()));
        assertThat("alerts the README does not explain", alerts.stream()
                .filter(a -> !operations.contains("`" + a + "`")).toList(), is(empty()));
    }

    @Test
    void theDashboardTakesItsDatasourceAsAnInputAndEveryQueryUsesIt() throws IOException {
        JsonNode dashboard = JSON.readTree(RepoFiles.file("ops/grafana/vllm-factory-serve.json").toFile());
        assertThat(dashboard.at("/__inputs/0/name").asText(), is("DS_PROMETHEUS"));
        assertThat(dashboard.at("/__inputs/0/pluginId").asText(), is("prometheus"));
        List<JsonNode> targets = dashboard.findParents("expr");
        assertThat(targets.size(), greaterThan(10));
        List<String> elsewhere = targets.stream().filter(t -> !"${DS_PROMETHEUS}".equals(t.at("/datasource/uid").asText()))
                .map(t -> t.get("expr").asText()).toList();
        assertThat("queries with another datasource", elsewhere, is(empty()));
    }

    @Test
    void prometheusFindsEveryMetricTheDashboardAndRulesUseAndFiresTheAlertsWhenBackendsAndSidecarFail()
            throws Exception {
        Path prometheus = tool("prometheus");
        int port = FreePorts.one();
        int admin = FreePorts.one();
        Process sidecar = launch(SidecarProcesses.launch(List.of(), SupervisedSidecars.args(dir, List.of(
                "--num-instances", "2", "--port", Integer.toString(port), "--admin-port", Integer.toString(admin),
                "--restart-max-failures", "1"), List.of()), dir.resolve("sidecar.out"), Map.of()));
        int web = startPrometheus(prometheus, admin);

        Poll.until(Duration.ofSeconds(60), "the public port serves", () -> {
            assertThat(log("sidecar.out"), sidecar.isAlive(), is(true));
            return Clients.statusOrNone(port, "/health") == 200;
        });
        for (int i = 0; i < 8; i++) { // every histogram gets samples, so their series exist
            assertThat(Clients.pooling(port, Clients.gliner("traffic " + i, "label"), 0).statusCode(), is(200));
        }

        Set<String> names = usedNames();
        Set<String> scraped = Scrape.parse(Clients.get(admin, "/observe/metrics").body()).samples().stream()
                .map(Scrape.Sample::name).collect(Collectors.toSet());
        assertThat("names the dashboard or the rules use that the sidecar does not export",
                names.stream().filter(n -> !scraped.contains(n)).toList(), is(empty()));
        Poll.until(Duration.ofSeconds(30), "Prometheus has stored every name the dashboard and the rules use",
                () -> missing(web, names).isEmpty(), () -> "not stored: " + missing(web, names));

        // every dashboard query answers with data; every rule's expression is valid PromQL there
        Set<String> waiting = new LinkedHashSet<>(dashboardExprs());
        Poll.until(Duration.ofSeconds(30), "every dashboard query has data", () -> {
            waiting.removeIf(expr -> query(web, expr).size() > 0);
            return waiting.isEmpty();
        }, () -> "still without data: " + waiting);
        for (String expr : ruleExprs()) {
            query(web, expr);
        }
        assertThat(query(web, "up{job=\"" + JOB + "\"}").get(0).at("/value/1").asText(), is("1"));
        Poll.until(Duration.ofSeconds(10), "no alert fires while both backends serve", () -> firing(web).isEmpty(),
                () -> "firing: " + firing(web));

        // both backends crash once: with --restart-max-failures 1 each is FAILED, and none is healthy
        for (JsonNode i : JSON.readTree(Clients.get(admin, "/admin/instances").body()).get("instances")) {
            ProcessHandle.of(i.get("pid").asLong()).ifPresent(ProcessHandle::destroyForcibly);
        }
        Set<String> expected = Set.of("VllmFactoryNoHealthyBackend", "VllmFactoryBackendFailed 0",
                "VllmFactoryBackendFailed 1");
        Poll.until(Duration.ofSeconds(30), "the alerts for failed backends fire", () -> firing(web).containsAll(expected),
                () -> "expected " + expected + ", firing: " + firing(web));

        sidecar.destroy();
        assertThat(sidecar.waitFor(30, TimeUnit.SECONDS), is(true));
        Poll.until(Duration.ofSeconds(30), "VllmFactoryDown fires once the sidecar is gone",
                () -> firing(web).contains("VllmFactoryDown"), () -> "firing: " + firing(web));
    }

    /** Starts Prometheus on the shipped configuration, sped up and pointed at {@code admin}; returns its port. */
    private int startPrometheus(Path prometheus, int admin) throws IOException {
        Path shipped = RepoFiles.file("ops/prometheus/prometheus.yml");
        Path conf = Files.createDirectory(dir.resolve("prometheus"));
        String config = Files.readString(shipped);
        config = replace(config, "scrape_interval: 15s", "scrape_interval: 1s");
        config = replace(config, "evaluation_interval: 15s", "evaluation_interval: 1s");
        config = replace(config, "'127.0.0.1:8001'", "'127.0.0.1:" + admin + "'");
        Files.writeString(conf.resolve("prometheus.yml"), config);
        String rules = Files.readString(shipped.resolveSibling("alerts.yml"));
        Files.writeString(conf.resolve("alerts.yml"), rules.replaceAll("(?m)^(\\s+for:) \\S+$", "$1 1s"));
        int web = FreePorts.one();
        launch(new ProcessBuilder(prometheus.toString(), "--config.file=" + conf.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + web,
                "--log.level=warn").redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.out").toFile())
                .start());
        Poll.until(Duration.ofSeconds(30), "Prometheus is ready", () -> {
            assertThat(log("prometheus.out"), started.getLast().isAlive(), is(true));
            return Clients.statusOrNone(web, "/-/ready") == 200;
        });
        return web;
    }

    /** The metric names the dashboard's queries and variables and the rules' expressions use. */
    private static Set<String> usedNames() throws IOException {
        List<String> exprs = new ArrayList<>(dashboardExprs());
        exprs.addAll(ruleExprs());
        JsonNode dashboard = JSON.readTree(RepoFiles.file("ops/grafana/vllm-factory-serve.json").toFile());
        dashboard.at("/templating/list").forEach(v -> exprs.add(v.path("definition").asText()));
        Set<String> names = new TreeSet<>();
        for (String expr : exprs) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                names.add(m.group());
            }
        }
        assertThat("names found", names.size(), greaterThan(20));
        return names;
    }

    /** The dashboard's queries with Grafana's variables filled in as Grafana would: all sidecars, a 1 m window. */
    private static List<String> dashboardExprs() throws IOException {
        JsonNode dashboard = JSON.readTree(RepoFiles.file("ops/grafana/vllm-factory-serve.json").toFile());
        List<String> exprs = new ArrayList<>();
        for (JsonNode target : dashboard.findParents("expr")) {
            String expr = target.get("expr").asText().replace("$__rate_interval", "1m").replace("$instance", ".*");
            assertThat("a variable left in " + expr, expr.contains("$"), is(false));
            exprs.add(expr);
        }
        return exprs;
    }

    private static List<String> ruleExprs() throws IOException {
        Matcher m = RULE_EXPR.matcher(Files.readString(RepoFiles.file("ops/prometheus/alerts.yml")));
        List<String> exprs = new ArrayList<>();
        while (m.find()) {
            exprs.add(m.group(1).strip());
        }
        return exprs;
    }

    private static Set<String> missing(int web, Set<String> names) {
        JsonNode stored = api(web, "/api/v1/label/__name__/values");
        Set<String> have = new TreeSet<>();
        stored.get("data").forEach(n -> have.add(n.asText()));
        return names.stream().filter(n -> !have.contains(n)).collect(Collectors.toSet());
    }

    /** The result of an instant query; a query Prometheus refuses fails the test. */
    private static JsonNode query(int web, String expr) {
        return api(web, "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)).at("/data/result");
    }

    /** The firing alerts, as {@code name} or {@code name backend}. */
    private static Set<String> firing(int web) {
        Set<String> firing = new TreeSet<>();
        for (JsonNode a : api(web, "/api/v1/alerts").at("/data/alerts")) {
            if ("firing".equals(a.get("state").asText())) {
                JsonNode backend = a.at("/labels/backend");
                firing.add(a.at("/labels/alertname").asText() + (backend.isMissingNode() ? "" : " " + backend.asText()));
            }
        }
        return firing;
    }

    private static JsonNode api(int web, String pathAndQuery) {
        try {
            HttpResponse<String> r = Clients.HTTP.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + web + pathAndQuery)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode body = JSON.readTree(r.body());
            assertThat(pathAndQuery + ": " + r.body(), body.path("status").asText(), is("success"));
            return body;
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private Process launch(Process p) {
        started.add(p);
        return p;
    }

    private static Path tool(String name) {
        Optional<Path> path = RepoFiles.onPath(name);
        assumeTrue(path.isPresent(), name + " is not installed (Debian/Ubuntu: apt-get install prometheus):"
                + " the ops/prometheus files are not checked");
        return path.get();
    }

    private static void run(Path tool, Path workDir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(tool.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(String.join(" ", args) + " finishes", p.waitFor(60, TimeUnit.SECONDS), is(true));
        assertThat(String.join(" ", args) + ":\n" + out, p.exitValue(), is(0));
    }

    private static String replace(String text, String from, String to) {
        assertThat("the shipped prometheus.yml has " + from, text.contains(from), is(true));
        return text.replace(from, to);
    }

    private String log(String name) {
        try {
            return Files.readString(dir.resolve(name));
        } catch (IOException e) {
            return "(no " + name + ")";
        }
    }

}
