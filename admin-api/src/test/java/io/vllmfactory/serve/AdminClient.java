package io.vllmfactory.serve;

import io.vllmfactory.admin.client.ApiClient;
import io.vllmfactory.admin.client.ApiException;
import io.vllmfactory.admin.client.api.AffinityApi;
import io.vllmfactory.admin.client.api.DocumentApi;
import io.vllmfactory.admin.client.api.InstancesApi;
import io.vllmfactory.admin.client.api.StatusApi;
import io.vllmfactory.admin.client.model.Problem;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.lang.reflect.Method;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The client generated from {@code openapi/admin-api.yaml}, made strict so that the server cannot drift
 * from the document unnoticed: a field the document does not name fails the read, {@link #complete}
 * checks that every field the document requires is there, and every answer's content type is checked
 * against the documented one.
 */
final class AdminClient {
    private static final String PROBLEM_PREFIX = "urn:vllm-factory-serve:problem:";

    final InstancesApi instances;
    final AffinityApi affinity;
    final StatusApi status;
    final DocumentApi document;
    private final ObjectMapper strict;
    private final String baseUri;
    private final String token;
    private final List<String> contentTypeViolations = Collections.synchronizedList(new ArrayList<>());

    private final java.net.http.HttpClient http;

    /** @param token the bearer token to send, or null for none */
    AdminClient(int port, String token) {
        this(port, token, null);
    }

    /**
     * @param token the bearer token to send, or null for none
     * @param from  the loopback address to send from (another client address than the operator's), or null
     */
    AdminClient(int port, String token, java.net.InetAddress from) {
        this.baseUri = "http://127.0.0.1:" + port;
        this.token = token;
        java.net.http.HttpClient.Builder httpBuilder = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10));
        if (from != null) {
            httpBuilder.localAddress(from);
        }
        this.http = httpBuilder.build();
        ApiClient client = new ApiClient();
        client.setHttpClientBuilder(httpBuilder);
        client.updateBaseUri(baseUri);
        client.setReadTimeout(Duration.ofSeconds(30));
        strict = ApiClient.createDefaultObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        client.setObjectMapper(strict);
        if (token != null) {
            client.setRequestInterceptor(b -> b.header("Authorization", "Bearer " + token));
        }
        client.setResponseInterceptor(r -> {
            String path = r.request().uri().getPath();
            String type = r.headers().firstValue("Content-Type").orElse("");
            String expected = r.statusCode() >= 400 ? "application/problem+json"
                    : path.equals("/openapi") ? "application/yaml; charset=UTF-8" : "application/json";
            if (!type.equals(expected)) {
                contentTypeViolations.add(r.request().method() + " " + path + " " + r.statusCode() + ": " + type);
            }
        });
        instances = new InstancesApi(client);
        affinity = new AffinityApi(client);
        status = new StatusApi(client);
        document = new DocumentApi(client);
    }

    /** Fails when an answer came with another content type than the document gives. */
    void assertContentTypesAsDocumented() {
        assertThat(contentTypeViolations, is(List.of()));
    }

    /**
     * Asserts the call is refused with {@code status} and a problem body of {@code kind} that reads
     * strictly as the document's Problem; returns it.
     */
    Problem refused(int status, String kind, Call call) {
        ApiException e = assertThrows(ApiException.class, call::run);
        assertThat(e.getCode() + " " + e.getResponseBody(), e.getCode(), is(status));
        Problem p;
        try {
            p = strict.readValue(e.getResponseBody(), Problem.class);
        } catch (Exception parse) {
            throw new AssertionError("not a problem body: " + e.getResponseBody(), parse);
        }
        complete(p);
        assertThat(p.getType(), is(PROBLEM_PREFIX + kind));
        assertThat(p.getStatus(), is(status));
        return p;
    }

    /**
     * Sends a request the typed client cannot express (a malformed body, another media type) to the
     * same server, with this client's token.
     */
    HttpResponse<String> raw(String method, String path, String contentType, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUri + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Asserts a raw answer is the problem {@code kind} with {@code status}, read strictly as the document's Problem. */
    Problem problem(HttpResponse<String> r, int status, String kind) {
        assertThat(r.statusCode() + " " + r.body(), r.statusCode(), is(status));
        assertThat(r.headers().firstValue("Content-Type").orElse(""), is("application/problem+json"));
        Problem p;
        try {
            p = strict.readValue(r.body(), Problem.class);
        } catch (Exception parse) {
            throw new AssertionError("not a problem body: " + r.body(), parse);
        }
        complete(p);
        assertThat(p.getType(), is(PROBLEM_PREFIX + kind));
        assertThat(p.getStatus(), is(status));
        assertThat(p.getInstance(), is(r.request().uri().getRawPath()));
        return p;
    }

    /**
     * Asserts that every property the document marks required (generated as {@code @Nonnull} getters)
     * is present, in {@code model} and every model it holds; returns it.
     */
    static <T> T complete(T model) {
        check(model, model.getClass().getSimpleName());
        return model;
    }

    private static void check(Object model, String where) {
        if (model == null) {
            return;
        }
        if (model instanceof Collection<?> c) {
            int i = 0;
            for (Object o : c) {
                check(o, where + "[" + i++ + "]");
            }
            return;
        }
        if (!model.getClass().getPackageName().endsWith(".client.model") || model.getClass().isEnum()) {
            return;
        }
        for (Method m : model.getClass().getMethods()) {
            if (!m.getName().startsWith("get") || m.getParameterCount() > 0 || m.getDeclaringClass() == Object.class) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(model);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(where + "." + m.getName(), e);
            }
            if (m.isAnnotationPresent(jakarta.annotation.Nonnull.class)) {
                assertThat(where + "." + m.getName() + "() is required by the document", value, notNullValue());
            }
            check(value, where + "." + m.getName() + "()");
        }
    }

    @FunctionalInterface
    interface Call {
        void run() throws Exception;
    }

}
