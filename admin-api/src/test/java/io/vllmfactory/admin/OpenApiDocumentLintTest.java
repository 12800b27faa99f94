package io.vllmfactory.admin;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;

/**
 * The OpenAPI document is valid (swagger-parser reports nothing) and keeps the house rules every
 * operation needs: an id, a summary, documented errors as problem bodies, the token where it belongs.
 */
public class OpenApiDocumentLintTest {
    /** The document in the source tree. */
    public static final Path DOCUMENT = Path.of(System.getProperty("openapi.document", "../openapi/admin-api.yaml"));
    private static OpenAPI api;

    @BeforeAll
    static void parse() {
        assertThat("document at " + DOCUMENT.toAbsolutePath(), Files.isReadable(DOCUMENT), is(true));
        ParseOptions options = new ParseOptions();
        options.setResolve(true);
        options.setResolveFully(true);
        SwaggerParseResult result = new OpenAPIV3Parser().readLocation(DOCUMENT.toString(), null, options);
        assertThat(result.getMessages(), is(empty()));
        api = result.getOpenAPI();
    }

    @Test
    void theDocumentParsesWithoutAnyMessage() {
        assertThat(api.getOpenapi(), is("3.0.3"));
        assertThat(api.getPaths().size(), is(6));
    }

    @Test
    void everyOperationHasAnIdASummaryATagAndDocumentedErrors() {
        List<String> problems = new ArrayList<>();
        forEachOperation((where, op) -> {
            if (op.getOperationId() == null) {
                problems.add(where + ": no operationId");
            }
            if (op.getSummary() == null) {
                problems.add(where + ": no summary");
            }
            if (op.getTags() == null || op.getTags().isEmpty()) {
                problems.add(where + ": no tag");
            }
            if (op.getResponses().keySet().stream().noneMatch(code -> code.startsWith("4"))) {
                problems.add(where + ": no 4xx response");
            }
            op.getResponses().forEach((code, response) -> {
                if (code.startsWith("4") || code.startsWith("5")) {
                    if (!content(response).keySet().equals(java.util.Set.of("application/problem+json"))) {
                        problems.add(where + " " + code + ": not an application/problem+json body");
                    }
                }
            });
            if (op.getRequestBody() != null) {
                for (String code : List.of("400", "413", "415")) {
                    if (!op.getResponses().containsKey(code)) {
                        problems.add(where + ": takes a body but documents no " + code);
                    }
                }
            }
        });
        assertThat(problems, is(empty()));
    }

    @Test
    void everyAdminOperationNeedsTheTokenAndTheDocumentDoesNot() {
        assertThat(api.getSecurity().getFirst().keySet(), is(java.util.Set.of("bearerAuth")));
        List<String> problems = new ArrayList<>();
        forEachOperation((where, op) -> {
            boolean open = op.getSecurity() != null && op.getSecurity().isEmpty();
            boolean admin = where.contains(" /admin/");
            if (admin == open) {
                problems.add(where + (open ? ": needs no token" : ": needs a token"));
            }
            if (admin && !op.getResponses().containsKey("401")) {
                problems.add(where + ": documents no 401");
            }
        });
        assertThat(problems, is(empty()));
    }

    private static Map<String, ?> content(ApiResponse response) {
        return response.getContent() == null ? Map.of() : response.getContent();
    }

    private static void forEachOperation(java.util.function.BiConsumer<String, Operation> check) {
        api.getPaths().forEach((path, item) -> item.readOperationsMap().forEach(
                (PathItem.HttpMethod method, Operation op) -> check.accept(method + " " + path, op)));
    }
}
