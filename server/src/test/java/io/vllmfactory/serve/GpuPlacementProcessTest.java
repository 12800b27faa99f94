package io.vllmfactory.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * Instances spread over two GPUs, as on a VM with two: a stand-in {@code nvidia-smi} on the PATH reports them,
 * the sidecar runs as its own process, and each simulated backend reserves its share of its own pretend GPU.
 */
class GpuPlacementProcessTest {
    private static final Duration DEADLINE = Duration.ofSeconds(120);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    @RegisterExtension
    final LaunchedSidecar sidecars = new LaunchedSidecar();

    /** An nvidia-smi that knows GPUs 0 and 1, each 80 GiB, with the MiB free given. */
    private String pathWithTwoGpus(long free0, long free1) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path smi = Files.writeString(bin.resolve("nvidia-smi"), "#!/bin/sh\n"
                + "case \"$*\" in\n"
                + "  *--id=0*) echo '81920, " + free0 + "' ;;\n"
                + "  *--id=1*) echo '81920, " + free1 + "' ;;\n"
                + "  *) echo 'No devices were found'; exit 6 ;;\n"
                + "esac\n");
        Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin + ":" + System.getenv("PATH");
    }

    private Process launch(List<String> flags, String path) throws IOException {
        List<String> backendArgs = List.of("--sim-gpu-ledger", dir.resolve("gpu-{device}.ledger").toString());
        return sidecars.launch(SupervisedSidecars.args(dir, flags, backendArgs),
                dir.resolve("sidecar.out"), Map.of("PATH", path));
    }

    @Test
    void fourInstancesOnTwoGpusTakeThemInTurnEachSeeingOnlyItsOwnAndAScaleUpReSplitsOneGpu() throws Exception {
        int port = FreePorts.one();
        int adminPort = FreePorts.one();
        Process sidecar = launch(List.of("--num-instances", "4", "--cuda-devices", "0,1", "--port",
                Integer.toString(port), "--admin-port", Integer.toString(adminPort)), pathWithTwoGpus(81000, 81000));
        Poll.until(DEADLINE, "all four serve", () -> {
            assertThat("sidecar alive", sidecar.isAlive(), is(true));
            return Clients.statusOrNone(port, "/health") == 200
                   && json(adminPort, "/admin/status").path("fleet").path("operation").isNull();
        });
        JsonNode list = json(adminPort, "/admin/instances");
        List<String> devices = new ArrayList<>();
        for (JsonNode i : list.path("instances")) {
            devices.add(i.path("device").asText());
            assertThat(i.path("gpu_memory_fraction").asDouble(), is(0.46));
            assertThat("instance " + i.path("id") + " sees only its own GPU",
                    SupervisedSidecars.environment(i.path("pid").asLong(), "CUDA_VISIBLE_DEVICES").orElseThrow(),
                    is(i.path("device").asText()));
        }
        assertThat(devices, is(List.of("0", "1", "0", "1")));
        for (String gpu : List.of("0", "1")) {
            assertThat("two reservations of 0.46 on pretend GPU " + gpu,
                    Files.readString(dir.resolve("gpu-" + gpu + ".ledger")).lines().map(l -> l.split(" ")[1]).toList(),
                    is(List.of("0.46", "0.46")));
        }
        JsonNode gpus = list.path("gpu").path("devices");
        assertThat(gpus.size(), is(2));
        assertThat(gpus.get(1).path("instances").asInt(), is(2));
        assertThat(gpus.get(1).path("in_use").asDouble(), is(0.92));
        assertThat(sidecars.output(), org.hamcrest.Matchers.containsString("GPU 1: 81000 MiB free of 81920 MiB; 2 instances"
                + " at 0.46 fit"));

        long onGpu1 = list.path("instances").get(1).path("pid").asLong();
        HttpResponse<String> added = post(adminPort, "/admin/instances");
        assertThat(added.body(), added.statusCode(), is(202));
        assertThat(JSON.readTree(added.body()).path("plan").path("summary").asText(), is("instances 0 and 2 restart"
                + " one at a time at 0.31 of GPU 0 while the others serve, then instance 4 starts at 0.31 of GPU 0"));
        Poll.until(DEADLINE, "five serve", () -> {
            JsonNode all = json(adminPort, "/admin/instances").path("instances");
            return all.size() == 5 && json(adminPort, "/admin/status").path("fleet").path("operation").isNull()
                   && all.findValuesAsText("state").stream().allMatch("ready"::equals);
        });
        JsonNode after = json(adminPort, "/admin/instances").path("instances");
        assertThat("GPU 1 was left alone", after.get(1).path("pid").asLong(), is(onGpu1));
        assertThat(after.get(0).path("pid").asLong(), is(not(list.path("instances").get(0).path("pid").asLong())));
        assertThat(after.get(4).path("device").asText(), is("0"));
        assertThat(Files.readString(dir.resolve("gpu-0.ledger")).lines().map(l -> l.split(" ")[1]).toList(),
                is(List.of("0.31", "0.31", "0.31")));

        sidecar.destroy();
        assertThat(sidecar.waitFor(60, TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), sidecar.exitValue(), is(0));
    }

    @Test
    void aGpuWithoutTheMemoryForItsInstancesIsNamedBeforeAnyBackendStarts() throws Exception {
        Process sidecar = launch(List.of("--num-instances", "4", "--cuda-devices", "0,1"), pathWithTwoGpus(81000, 20480));
        assertThat(sidecar.waitFor(60, TimeUnit.SECONDS), is(true));
        assertThat(sidecars.output(), sidecar.exitValue(), is(1));
        assertThat(sidecars.output().strip().lines().toList().getLast(), is("vllm-factory-serve: error: GPU 1 has 20.0 GiB free"
                + " of 80.0 GiB, but 2 instances at --gpu-memory-utilization 0.46 need 73.6 GiB: free the GPU"
                + " (nvidia-smi lists what holds it), or lower --num-instances or --gpu-memory-utilization"));
        assertThat(Files.exists(dir.resolve("logs/backend-0.log")), is(false));
    }

    /** The JSON answer, or a missing node while the listener is not up. */
    private static JsonNode json(int port, String path) {
        try {
            return JSON.readTree(Clients.get(port, path).body());
        } catch (IOException e) {
            return JSON.missingNode();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static HttpResponse<String> post(int port, String path) throws IOException, InterruptedException {
        return Clients.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
