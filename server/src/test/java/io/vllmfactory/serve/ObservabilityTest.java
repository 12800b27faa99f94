package io.vllmfactory.serve;

import io.vllmfactory.serve.dispatch.Dispatcher;

import io.helidon.webserver.WebServer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;

/**
 * The Prometheus endpoint as an operator scrapes it, over HTTP. (Helidon's registries share meters
 * by name within one JVM, so a test that reads a fleet-wide gauge does it here, once.)
 */
class ObservabilityTest {
    @Test
    void theGlobalCountersStillCountAfterGarbageCollections() throws Exception {
        try (SimulatorProcess backend = SimulatorProcess.start();
             Sidecar sidecar = TestSidecars.start(List.of(backend))) {
            Dispatcher dispatcher = sidecar.dispatcher();
            WebServer admin = WebServer.builder().port(0).shutdownHook(false).featuresDiscoverServices(false)
                    .addFeature(Observability.feature(dispatcher, dispatcher.pool(), sidecar.fleet(), () -> true)).build().start();
            try {
                for (int i = 0; i < 3; i++) {
                    Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0);
                }
                for (int i = 0; i < 3; i++) {
                    System.gc(); // a meter bound to a throwaway holder would read nothing from here on
                }
                Clients.pooling(sidecar.port(), Clients.gliner("x", "y"), 0);
                String metrics = Clients.get(admin.port(), "/observe/metrics").body();
                assertThat(metrics, containsString("vllm_factory_requests_served_total{scope=\"application\",} 4.0"));
                assertThat(metrics, containsString(
                        "vllm_factory_backend_requests_served_total{backend=\"0\",scope=\"application\",} 4.0"));
                assertThat(metrics, containsString("vllm_factory_requests_poison_refused_total{scope=\"application\",} 0.0"));
                assertThat(metrics, containsString("vllm_factory_healthy_backends{scope=\"application\",} 1.0"));
            } finally {
                admin.stop();
            }
        }
    }
}
