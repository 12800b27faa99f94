package io.vllmfactory.serve;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Plain JDK HTTP client calls, as a user's script would make them. */
final class Clients {
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private Clients() {
    }

    /** POSTs a pooling request; {@code serviceMs} > 0 asks the simulator to take that long. */
    static HttpResponse<String> pooling(int port, String json, long serviceMs) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/pooling"))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (serviceMs > 0) {
            b.header("X-Sim-Service-Time-Ms", Long.toString(serviceMs));
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A POST without a body. */
    static HttpResponse<String> postEmpty(int port, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The status of a GET, or -1 while nothing answers there (for polling until something does). */
    static int statusOrNone(int port, String path) {
        try {
            return get(port, path).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while polling " + path, e);
        }
    }

    static int backendIndex(HttpResponse<?> r) {
        return Integer.parseInt(r.headers().firstValue("X-VLLM-Factory-Backend-Index").orElseThrow());
    }

    static String gliner(String input, String... labels) {
        StringBuilder sb = new StringBuilder("{\"model\":\"test-model\",\"input\":\"").append(input)
                .append("\",\"labels\":[");
        for (int i = 0; i < labels.length; i++) {
            sb.append(i > 0 ? "," : "").append('"').append(labels[i]).append('"');
        }
        return sb.append("],\"threshold\":0.5}").toString();
    }
}
