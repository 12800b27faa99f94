package io.vllmfactory.serve.dispatch;

import io.vllmfactory.serve.cli.CommandLine;
import io.vllmfactory.serve.config.DispatcherConfig;
import io.vllmfactory.serve.config.Settings;
import io.vllmfactory.serve.dispatch.admission.Backend;
import io.vllmfactory.serve.dispatch.admission.BackendPool;

import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Metrics;
import io.helidon.metrics.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class DispatcherMetricsTest {
    @Test
    void perBackendMetersFollowTheFleet() throws Exception {
        MeterRegistry registry = Metrics.createMeterRegistry();
        BackendPool pool = new BackendPool(0);
        DispatcherConfig config = DispatcherConfig.from(Settings.resolve(
                CommandLine.parse("--max-batch-size", "7").flags(), Map.of(), Optional.empty()));
        Dispatcher dispatcher = new Dispatcher(config, pool);
        Backend a = new Backend(3, URI.create("http://127.0.0.1:9103"), 7, true);
        pool.add(a);
        DispatcherMetrics.register(registry, dispatcher);
        List<Tag> tags = List.of(Tag.create("backend", "3"));

        assertThat(registry.gauge("vllm_factory_backend_max_batch", tags).orElseThrow().value().intValue(), is(7));
        Backend held = pool.acquire(null, null, 0, Long.MAX_VALUE, null);
        assertThat(registry.gauge("vllm_factory_backend_in_flight", tags).orElseThrow().value().intValue(), is(1));
        pool.release(held);

        Backend b = new Backend(4, URI.create("http://127.0.0.1:9104"), 7, true);
        pool.add(b);
        assertThat(registry.gauge("vllm_factory_backend_in_flight", List.of(Tag.create("backend", "4"))).isPresent(),
                is(true));
        pool.remove(a);
        assertThat(registry.gauge("vllm_factory_backend_in_flight", tags).isPresent(), is(false));
        dispatcher.close();
    }
}
