package io.vllmfactory.serve.dispatch;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.ServerResponse;

/** The headers the dispatcher adds to every relayed response, as the Python dispatcher does. */
record ResponseDecoration(Backend backend, AffinityState affinity, int schemaSize) {
    static final HeaderName BACKEND_INDEX = HeaderNames.create("X-VLLM-Factory-Backend-Index");
    static final HeaderName AFFINITY_STATE = HeaderNames.create("X-VLLM-Factory-Affinity-State");
    static final HeaderName SCHEMA_SIZE = HeaderNames.create("X-VLLM-Factory-Schema-Size");

    void apply(ServerResponse res) {
        res.header(HeaderValues.create(BACKEND_INDEX, backend.id()));
        res.header(affinity.header());
        if (schemaSize >= 0) {
            res.header(HeaderValues.create(SCHEMA_SIZE, schemaSize));
        }
    }
}
