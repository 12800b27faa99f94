package io.vllmfactory.serve;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** kubernetes/: every manifest is one the API server would take, field by field. */
class KubernetesManifestsTest {
    @Test
    void everyManifestReadsStrictlyIntoTheKubernetesModel() throws Exception {
        Set<String> kinds = new TreeSet<>();
        for (Path file : Manifests.files()) {
            JsonNode tree = Manifests.tree(file);
            String kind = tree.path("kind").asString();
            kinds.add(kind);
            if (!Manifests.CUSTOM_KINDS.contains(kind)) {
                Object model = Manifests.strict(Files.readString(file));
                assertThat(file + " reads as its kind", model.getClass() == Manifests.KINDS.get(kind), is(true));
            }
        }
        assertThat(kinds, is(new TreeSet<>(List.of("ConfigMap", "Deployment", "PodDisruptionBudget", "PodMonitor",
                "Service"))));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "'readinessProbe:', 'readinesProbe:'",             // a container field
        "'periodSeconds: 5', 'periodSecond: 5'",           // deep in a probe
        "'terminationGracePeriodSeconds:', 'terminationGracePeriod:'", // the pod spec
        "'maxUnavailable: 0', 'maxUnavailible: 0'",        // the rollout strategy
        "'medium: Memory', 'mediun: Memory'",              // a volume source
    })
    void aMisspelledFieldFailsTheReadingAndIsNamed(String field, String misspelled) throws Exception {
        String yaml = Files.readString(Manifests.DIR.resolve("deployment.yaml"));
        assertThat("the manifest has " + field, yaml, containsString(field));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Manifests.strict(yaml.replaceFirst(java.util.regex.Pattern.quote(field), misspelled)));
        assertThat(e.getMessage(), containsString(misspelled.substring(0, misspelled.indexOf(':'))));
    }

    @Test
    void aFieldOfTheWrongTypeFailsTheReading() throws Exception {
        String yaml = Files.readString(Manifests.DIR.resolve("deployment.yaml"));
        assertThrows(IllegalArgumentException.class,
                () -> Manifests.strict(yaml.replace("replicas: 2", "replicas: two")));
    }

    @Test
    void theDeploymentAsksForAGpuAndRunsAsNonRoot() throws Exception {
        Deployment d = Manifests.read(Deployment.class);
        Container c = d.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertThat(c.getResources().getLimits().get("nvidia.com/gpu").toString(), is("1"));
        assertThat(d.getSpec().getTemplate().getSpec().getSecurityContext().getRunAsNonRoot(), is(true));
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation(), is(false));
    }

    /** The PodMonitor is a custom resource: checked for the fields the Prometheus Operator reads. */
    @Test
    void thePodMonitorScrapesTheAdminPortOfThePodsAtTheMetricsPath() throws Exception {
        JsonNode monitor = Manifests.tree(Manifests.DIR.resolve("podmonitor.yaml"));
        assertThat(monitor.path("apiVersion").asString(), is("monitoring.coreos.com/v1"));
        assertThat(fieldNames(monitor), is(List.of("apiVersion", "kind", "metadata", "spec")));
        JsonNode spec = monitor.path("spec");
        assertThat(fieldNames(spec), is(List.of("selector", "podMetricsEndpoints")));
        Deployment d = Manifests.read(Deployment.class);
        assertThat(Manifests.map(spec.path("selector").path("matchLabels")),
                is(d.getSpec().getTemplate().getMetadata().getLabels()));
        List<String> problems = new ArrayList<>();
        List<String> portNames = d.getSpec().getTemplate().getSpec().getContainers().getFirst().getPorts().stream()
                .map(p -> p.getName()).toList();
        for (JsonNode endpoint : spec.path("podMetricsEndpoints")) {
            for (String f : fieldNames(endpoint)) {
                if (!Set.of("port", "path", "interval", "scrapeTimeout", "scheme", "honorLabels").contains(f)) {
                    problems.add("unknown endpoint field " + f);
                }
            }
            assertThat(portNames, hasItem(endpoint.path("port").asString()));
            assertThat(endpoint.path("port").asString(), is("admin"));
            assertThat(endpoint.path("path").asString(), is("/observe/metrics"));
        }
        assertThat(problems, is(empty()));
    }

    private static List<String> fieldNames(JsonNode node) {
        return new ArrayList<>(node.propertyNames());
    }
}
