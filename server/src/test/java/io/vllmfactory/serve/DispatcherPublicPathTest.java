package io.vllmfactory.serve;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/** The public port refuses vLLM's operator endpoints, which would let anyone stop the fleet. */
class DispatcherPublicPathTest {
    @Test
    void operatorEndpointsGet403AndNeverReachABackendUnlessAllowed() throws Exception {
        try (RawBackend backend = new RawBackend()) {
            try (Sidecar sidecar = TestSidecars.startInFrontOf(List.of(backend.url()));
                 RawHttp http = new RawHttp(sidecar.port())) {
                for (String path : List.of("/sleep", "/collective_rpc", "/%73leep", "/v1/../pause")) {
                    http.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", null);
                    RawHttp.Response r = http.read();
                    assertThat(path, r.status(), is(403));
                    assertThat(r.header("content-type"), is("application/problem+json"));
                    assertThat(r.text(), containsString("--public-allow-path"));
                }
                http.send("POST /pooling HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", null);
                assertThat("the connection serves on", http.read().text(), is("from /pooling"));
            }
            assertThat(backend.requests("/sleep") + backend.requests("/collective_rpc") + backend.requests("/pause"),
                    is(0));
            try (Sidecar sidecar = TestSidecars.startInFrontOf(List.of(backend.url()), "--public-allow-path", "/sleep");
                 RawHttp http = new RawHttp(sidecar.port())) {
                http.send("POST /sleep HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", null);
                assertThat(http.read().text(), is("from /sleep"));
            }
        }
    }
}
