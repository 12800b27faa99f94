package io.vllmfactory.serve;

import io.vllmfactory.admin.OpenApiDocumentLintTest;
import io.vllmfactory.admin.client.model.AddInstancesRequest;
import io.vllmfactory.admin.client.model.Affinity;
import io.vllmfactory.admin.client.model.Problem;
import io.vllmfactory.admin.client.model.ScaleRequest;
import io.vllmfactory.serve.admin.AdminApi;
import io.vllmfactory.serve.admin.AdminConfig;
import io.vllmfactory.serve.admin.AdminServer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.File;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/**
 * What the admin API refuses, and how: no token, a wrong token, malformed or mistyped bodies, counts out of
 * range, unknown ids, other media types and methods, a second change while one runs. Every refusal is a
 * 4xx problem body as documented, and the fleet stays as it was.
 */
class AdminRefusalsTest {
    @TempDir
    static Path dir;
    private static AdminSidecar s;
    private static AdminClient admin;

    @BeforeAll
    static void start() {
        s = AdminSidecar.start(dir, List.of("--num-instances", "2"), List.of());
        admin = s.client;
    }

    @AfterAll
    static void stop() {
        admin.assertContentTypesAsDocumented();
        s.close();
    }

    @Test
    void everyAdminOperationNeedsTheBearerToken() throws Exception {
        // From addresses of their own: their failed attempts must not lock the operator out.
        for (AdminClient intruder : List.of(s.clientFrom(null, "127.0.0.2"),
                s.clientFrom("not-the-admin-token-at-all", "127.0.0.3"))) {
            List<AdminClient.Call> calls = List.of(
                    () -> intruder.instances.listInstances(),
                    () -> intruder.instances.getInstance(0),
                    () -> intruder.instances.addInstances(false, new AddInstancesRequest().count(1)),
                    () -> intruder.instances.scaleInstances(new ScaleRequest().count(1), false),
                    () -> intruder.instances.removeInstance(0),
                    () -> intruder.instances.restartInstance(0),
                    () -> intruder.affinity.getAffinity(),
                    () -> intruder.affinity.setAffinity(new Affinity().enabled(true)),
                    () -> intruder.status.getStatus());
            for (AdminClient.Call call : calls) {
                intruder.refused(401, "unauthorized", call);
            }
            intruder.assertContentTypesAsDocumented();
        }
        HttpResponse<String> none = s.clientFrom(null, "127.0.0.2").raw("GET", "/admin/instances", null, null);
        assertThat(none.headers().firstValue("WWW-Authenticate").orElseThrow(), is("Bearer realm=\"vllm-factory-serve admin\""));
        HttpResponse<String> wrong = s.clientFrom("not-the-admin-token-at-all", "127.0.0.4")
                .raw("GET", "/admin/status", null, null);
        assertThat(wrong.headers().firstValue("WWW-Authenticate").orElseThrow(),
                is("Bearer realm=\"vllm-factory-serve admin\", error=\"invalid_token\""));
        assertThat(wrong.body(), not(containsString("not-the-admin-token-at-all")));
        assertThat("nothing changed", admin.instances.listInstances().getInstances().size(), is(2));
        assertThat(admin.affinity.getAffinity().getEnabled(), is(false));
    }

    @Test
    void onALoopbackListenerWithoutATokenNoneIsAskedFor() throws Exception {
        AdminConfig open = AdminConfig.of("127.0.0.1", 0, Optional.empty(), Map.of());
        assertThat(open.exposureProblem().isPresent(), is(false));
        AdminApi api = new AdminApi(s.sidecar.fleet(), s.sidecar.dispatcher(), open, Map.of());
        try (AdminServer server = AdminServer.start(open, api)) {
            AdminClient anyone = new AdminClient(server.port(), null);
            assertThat(AdminClient.complete(anyone.instances.listInstances()).getInstances().size(), is(2));
            assertThat(AdminClient.complete(anyone.status.getStatus()).getFleet().getInstances(), is(2));
            anyone.assertContentTypesAsDocumented();
        }
        assertThat(AdminConfig.of("0.0.0.0", 0, Optional.empty(), Map.of()).exposureProblem().isPresent(), is(true));
    }

    @Test
    void theDocumentNeedsNoTokenAndIsTheSourceFileByteForByte() throws Exception {
        File served = s.client(null).document.getOpenApiDocument();
        assertThat(Files.readAllBytes(served.toPath()),
                is(Files.readAllBytes(OpenApiDocumentLintTest.DOCUMENT)));
        Files.delete(served.toPath());
    }

    @Test
    void theAdminApiIsNotServedOnThePublicPort() throws Exception {
        HttpResponse<String> r = Clients.get(s.publicPort(), "/admin/instances");
        assertThat("the dispatcher forwarded it to a backend", r.headers().firstValue("X-VLLM-Factory-Backend-Index")
                .isPresent(), is(true));
        assertThat(r.body(), not(containsString("\"instances\"")));
        assertThat(Clients.get(s.publicPort(), "/openapi").body(), not(containsString("openapi: 3.0.3")));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource(delimiter = '|', value = {
            "POST | /admin/instances | {\"count\": \"two\"}       | count: \"two\" (expected: an integer 1..64)",
            "POST | /admin/instances | {\"count\": 1.5}           | count: 1.5 (expected: an integer 1..64)",
            "POST | /admin/instances | {count: 1}                 | the body is not valid JSON: Unexpected character",
            "POST | /admin/instances | [1]                        | the body is an array (expected: a JSON object",
            "POST | /admin/instances | {\"count\": 1, \"gpu\": 1} | unknown field 'gpu' (expected: count)",
            "PUT  | /admin/instances | {}                         | count is missing (expected: an integer 1..64)",
            "PUT  | /admin/instances | ''                         | the body is empty (expected: a JSON object such as {\"count\": 2})",
            "PUT  | /admin/instances | {\"count\": 2} trailing    | the body is not valid JSON",
            "PUT  | /admin/affinity  | {\"enabled\": \"yes\"}     | enabled: \"yes\" (expected: true or false)",
            "PUT  | /admin/affinity  | {\"enabled\": null}        | enabled: null (expected: true or false)",
            "POST | /admin/instances?rebalance=yes | {}           | rebalance: 'yes' (expected: true or false)"})
    void malformedOrMistypedInputIs400(String method, String path, String body, String detail) throws Exception {
        Problem p = admin.problem(admin.raw(method, path, "application/json", body), 400, "invalid-request");
        assertThat(p.getDetail(), startsWith(detail));
        assertThat("nothing changed", admin.instances.listInstances().getInstances().size(), is(2));
    }

    @Test
    void countsOutOfRangeAre400() throws Exception {
        for (int count : new int[] {-1, 0, 65, Integer.MAX_VALUE}) {
            Problem add = admin.refused(400, "invalid-request",
                    () -> admin.instances.addInstances(false, new AddInstancesRequest().count(count)));
            assertThat(add.getDetail(), is("count: " + count + " (expected: an integer 1..64)"));
            admin.refused(400, "invalid-request",
                    () -> admin.instances.scaleInstances(new ScaleRequest().count(count), true));
        }
        assertThat(admin.status.getStatus().getFleet().getOperation(), is((String) null));
    }

    @Test
    void unknownInstancesAre404() throws Exception {
        assertThat(admin.refused(404, "not-found", () -> admin.instances.getInstance(99)).getDetail(), is("no instance 99"));
        admin.refused(404, "not-found", () -> admin.instances.removeInstance(99));
        admin.refused(404, "not-found", () -> admin.instances.restartInstance(99));
        admin.problem(admin.raw("GET", "/admin/instances/abc", null, null), 404, "not-found");
        admin.problem(admin.raw("DELETE", "/admin/instances/-1", null, null), 404, "not-found");
        admin.problem(admin.raw("GET", "/admin/nothing-here", null, null), 404, "not-found");
    }

    @Test
    void otherMediaTypesMethodsAndSizesAreRefused() throws Exception {
        Problem type = admin.problem(admin.raw("PUT", "/admin/instances", "application/x-www-form-urlencoded",
                "count=2"), 415, "unsupported-media-type");
        assertThat(type.getDetail(), is("the body is application/x-www-form-urlencoded; send JSON with Content-Type:"
                + " application/json"));
        admin.problem(admin.raw("PUT", "/admin/instances", "application/json", " ".repeat(70_000) + "{}"), 413,
                "payload-too-large");
        HttpResponse<String> patch = admin.raw("PATCH", "/admin/instances", "application/json", "{\"count\": 2}");
        admin.problem(patch, 405, "method-not-allowed");
        assertThat(patch.headers().firstValue("Allow").orElseThrow(), is("GET, POST, PUT"));
        admin.problem(admin.raw("DELETE", "/admin/affinity", null, null), 405, "method-not-allowed");
        admin.problem(admin.raw("POST", "/openapi", null, null), 405, "method-not-allowed");
        HttpResponse<String> json = Clients.HTTP.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + s.adminPort() + "/openapi"))
                .header("Accept", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        admin.problem(json, 406, "not-acceptable");
        assertThat("nothing changed", admin.instances.listInstances().getInstances().size(), is(2));
    }

    @Test
    void aSecondChangeWhileOneRunsIs409Busy() throws Exception {
        admin.instances.restartInstance(0);
        Problem busy = admin.refused(409, "busy", () -> admin.instances.restartInstance(1));
        assertThat(busy.getDetail(), containsString("'restart 0' is under way"));
        admin.refused(409, "busy", () -> admin.instances.removeInstance(1));
        admin.refused(409, "busy", () -> admin.instances.addInstances(true, null));
        admin.refused(409, "busy", () -> admin.instances.scaleInstances(new ScaleRequest().count(1), false));
        assertThat(admin.status.getStatus().getFleet().getOperation(), is("restart 0"));
        s.awaitSettled(2);
        assertThat(admin.instances.getInstance(1).getRestarts(), is(0));
    }

    @Test
    void failedTokenAttemptsFromOneAddressAreRateLimitedAndOthersAreNotHeldUp() throws Exception {
        AdminClient guesser = s.clientFrom("a-wrong-guess-of-the-token", "127.0.0.5");
        for (int i = 0; i < 10; i++) {
            guesser.problem(guesser.raw("GET", "/admin/status", null, null), 401, "unauthorized");
        }
        HttpResponse<String> locked = guesser.raw("GET", "/admin/status", null, null);
        Problem p = guesser.problem(locked, 429, "too-many-requests");
        assertThat(p.getDetail(), containsString("too many failed token attempts"));
        assertThat(Integer.parseInt(locked.headers().firstValue("Retry-After").orElseThrow()) > 0, is(true));
        HttpResponse<String> evenTheToken = s.clientFrom(AdminSidecar.TOKEN, "127.0.0.5").raw("GET", "/admin/status",
                null, null);
        assertThat("the address is refused, whatever it sends", evenTheToken.statusCode(), is(429));
        assertThat("the operator is served", admin.status.getStatus().getFleet().getInstances(), is(2));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"%D9%A1", "%EF%BC%92", "+1", "-0", "1.0", "01x", "9999999999"})
    void onlyTheDigitsZeroToNineWriteAnInstanceId(String id) throws Exception {
        admin.problem(admin.raw("DELETE", "/admin/instances/" + id, null, null), 404, "not-found");
        admin.problem(admin.raw("GET", "/admin/instances/" + id, null, null), 404, "not-found");
        assertThat("nothing changed", admin.instances.listInstances().getInstances().size(), is(2));
    }

    @Test
    void aBodyWithoutContentTypeIs415AndJacksonsWordingNeverReachesTheClient() throws Exception {
        Problem untyped = admin.problem(admin.raw("PUT", "/admin/instances", null, "{\"count\": 2}"), 415,
                "unsupported-media-type");
        assertThat(untyped.getDetail(), containsString("no Content-Type"));
        Problem deep = admin.problem(admin.raw("PUT", "/admin/instances", "application/json",
                "[".repeat(2000) + "]".repeat(2000)), 400, "invalid-request");
        assertThat(deep.getDetail(), not(containsString("StreamReadConstraints")));
        assertThat(deep.getDetail(), not(containsString("com.fasterxml")));
        assertThat(deep.getDetail(), not(containsString("`")));
        assertThat("nothing changed", admin.instances.listInstances().getInstances().size(), is(2));
    }
}
