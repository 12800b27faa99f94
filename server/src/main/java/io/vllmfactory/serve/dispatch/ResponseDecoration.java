package io.vllmfactory.serve.dispatch;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;

/** The headers the dispatcher adds to every relayed response, as the Python dispatcher does. */
record ResponseDecoration(Backend backend, AffinityState affinity, int schemaSize) {
    static final HeaderName BACKEND_INDEX = HeaderNames.create("X-VLLM-Factory-Backend-Index");
    static final HeaderName AFFINITY_STATE = HeaderNames.create("X-VLLM-Factory-Affinity-State");
    static final HeaderName SCHEMA_SIZE = HeaderNames.create("X-VLLM-Factory-Schema-Size");
}
