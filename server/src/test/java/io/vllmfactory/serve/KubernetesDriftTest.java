package io.vllmfactory.serve;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.vllmfactory.serve.admin.AdminApi;
import io.vllmfactory.serve.admin.AdminConfig;
import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.config.SupervisorConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * kubernetes/ against the sidecar's code: the ConfigMap is read by the sidecar's own configuration loader, and
 * the probes, ports, paths, mounts and grace period must agree with the settings it yields, so neither side can
 * change without the other.
 */
class KubernetesDriftTest {
    private static Deployment deployment;
    private static Container container;
    private static Path configFile;
    private static Settings settings;

    @TempDir
    static Path dir;

    @BeforeAll
    static void readTheManifestsAndTheConfigMapsConfiguration() throws Exception {
        deployment = Manifests.read(Deployment.class);
        container = deployment.getSpec().getTemplate().getSpec().getContainers().getFirst();
        ConfigMap configMap = Manifests.read(ConfigMap.class);
        assertThat(configMap.getData().keySet(), is(java.util.Set.of("gpu-vm.yaml")));
        configFile = Files.writeString(dir.resolve("gpu-vm.yaml"), configMap.getData().get("gpu-vm.yaml"));
        // the loader rejects a key that is no setting, naming it
        settings = Settings.resolve(Map.of(), Map.of(), Optional.of(configFile));
    }

    @Test
    void theConfigMapIsAValidSidecarConfiguration() {
        SupervisorConfig supervision = SupervisorConfig.from(settings);
        DispatcherConfig dispatch = DispatcherConfig.from(settings);
        assertThat(supervision.numInstances(), greaterThanOrEqualTo(1));
        assertThat(dispatch.port(), is(settings.integer("port")));
        assertThat(AdminApi.configuration(settings).isEmpty(), is(false));
    }

    @Test
    void theContainerRunsTheConfigMapAsItsConfigFile() {
        String config = container.getArgs().get(container.getArgs().indexOf("--config") + 1);
        Path mounted = Path.of(mount("config").getMountPath());
        assertThat(config, is(mounted.resolve("gpu-vm.yaml").toString()));
        assertThat(volume("config").getConfigMap().getName(), is(Manifests.read(ConfigMap.class).getMetadata().getName()));
    }

    @Test
    void theAdminListenerOffLoopbackHasItsTokenFromTheSecret() {
        String host = settings.string("admin-host").orElseThrow();
        assertThat("probes and Prometheus reach the admin port on the pod's address",
                AdminConfig.isLoopback(host), is(false));
        // without the token the sidecar would refuse to start
        assertThat(AdminConfig.of(host, settings.integer("admin-port"), Optional.empty(), Map.of()).exposureProblem()
                .isPresent(), is(true));
        Volume secret = volume("admin-token");
        assertThat("the pod does not start without the Secret", secret.getSecret().getOptional(), not(is(true)));
        String file = Path.of(mount("admin-token").getMountPath())
                .resolve(secret.getSecret().getItems().getFirst().getPath()).toString();
        assertThat(settings.string("admin-token-file").orElseThrow(), is(file));
        assertThat(secret.getSecret().getItems().getFirst().getKey(), is("token"));
    }

    @Test
    void theProbesAndPortsAreTheSidecarsOwn() {
        assertThat(containerPort("http"), is(settings.integer("port")));
        assertThat(containerPort("admin"), is(settings.integer("admin-port")));
        assertThat(path(container.getReadinessProbe()), is("/health"));
        assertThat(port(container.getReadinessProbe()), is(settings.integer("port")));
        assertThat(path(container.getStartupProbe()), is("/health"));
        assertThat(port(container.getStartupProbe()), is(settings.integer("port")));
        assertThat(path(container.getLivenessProbe()), is("/observe/health/live"));
        assertThat(port(container.getLivenessProbe()), is(settings.integer("admin-port")));
        Map<String, String> scrape = deployment.getSpec().getTemplate().getMetadata().getAnnotations();
        assertThat(scrape.get("prometheus.io/port"), is(Integer.toString(settings.integer("admin-port"))));
        assertThat(scrape.get("prometheus.io/path"), is("/observe/metrics"));
    }

    @Test
    void theServiceExposesThePublicPortOnly() {
        Service service = Manifests.read(Service.class);
        assertThat(service.getSpec().getPorts().size(), is(1));
        IntOrString target = service.getSpec().getPorts().getFirst().getTargetPort();
        assertThat(target.getStrVal(), is("http"));
        assertThat(service.getSpec().getSelector(), is(deployment.getSpec().getTemplate().getMetadata().getLabels()));
    }

    @Test
    void theStartupProbeWaitsForEveryInstanceToLoad() {
        Probe p = container.getStartupProbe();
        long allowed = (long) p.getPeriodSeconds() * p.getFailureThreshold();
        long loads = settings.integer("num-instances") * settings.duration("startup-timeout").toSeconds();
        assertThat("startup probe window (s) vs instances x startup-timeout", allowed, greaterThanOrEqualTo(loads));
    }

    @Test
    void theGracePeriodCoversThePauseTheDrainAndTheBackendsStop() {
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        List<String> pause = container.getLifecycle().getPreStop().getExec().getCommand();
        long preStop = pause.getFirst().endsWith("sleep") ? Long.parseLong(pause.get(1)) : 0;
        Duration needed = Duration.ofSeconds(preStop).plus(settings.duration("drain-timeout"))
                .plus(settings.duration("stop-grace"));
        assertThat("terminationGracePeriodSeconds vs preStop + drain-timeout + stop-grace (" + needed + ")",
                pod.getTerminationGracePeriodSeconds(), greaterThan(needed.toSeconds()));
    }

    /** The probes' paths and ports as the kubelet would use them, on a sidecar started from the ConfigMap. */
    @Test
    void theProbesPassOnASidecarStartedFromTheConfigMap() throws Exception {
        Path token = Files.writeString(dir.resolve("admin-token"), "k8s-drift-test-token-0123456789abcdef");
        List<String> args = new ArrayList<>(List.of("--config", configFile.toString()));
        // What a test machine must change: free ports, no GPU, simulated backends, one instance behind the dispatcher.
        args.addAll(SupervisedSidecars.args(dir, List.of("--num-instances", "1", "--always-proxy",
                "--admin-token-file", token.toString(), "--admin-host", "127.0.0.1"), List.of()));
        CommandLine cl = CommandLine.parse(args.toArray(String[]::new));
        Settings s = Settings.resolve(cl.flags(), Map.of(), cl.config());
        SupervisorConfig supervision = SupervisorConfig.from(s);
        AdminConfig admin = AdminConfig.of(s.string("admin-host").orElseThrow(), s.integer("admin-port"),
                s.string("admin-token-file").map(Path::of), Map.of());
        try (Sidecar sidecar = Sidecar.supervised(DispatcherConfig.from(s), supervision, Optional.of(admin),
                AdminApi.configuration(s))) {
            sidecar.start();
            Map<Integer, Integer> ports = Map.of(settings.integer("port"), sidecar.port(),
                    settings.integer("admin-port"), sidecar.adminPort().orElseThrow());
            for (Probe p : List.of(container.getStartupProbe(), container.getReadinessProbe(),
                    container.getLivenessProbe())) {
                int actual = ports.get(port(p));
                assertThat(path(p) + " on " + port(p), Clients.get(actual, path(p)).statusCode(), is(200));
            }
        }
    }

    private static String path(Probe p) {
        return p.getHttpGet().getPath();
    }

    /** A probe's port as a number: a name is looked up in the container's ports. */
    private static int port(Probe p) {
        IntOrString port = p.getHttpGet().getPort();
        return port.getIntVal() != null ? port.getIntVal() : containerPort(port.getStrVal());
    }

    private static int containerPort(String name) {
        return container.getPorts().stream().filter(p -> name.equals(p.getName())).map(ContainerPort::getContainerPort)
                .findFirst().orElseThrow(() -> new AssertionError("no container port named " + name));
    }

    private static VolumeMount mount(String volume) {
        return container.getVolumeMounts().stream().filter(m -> volume.equals(m.getName())).findFirst()
                .orElseThrow(() -> new AssertionError("no mount of volume " + volume));
    }

    private static Volume volume(String name) {
        return deployment.getSpec().getTemplate().getSpec().getVolumes().stream().filter(v -> name.equals(v.getName()))
                .findFirst().orElseThrow(() -> new AssertionError("no volume " + name));
    }
}
