package io.vllmfactory.serve.admin;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * {@code GET /openapi}: the admin API's OpenAPI document, byte for byte as {@code openapi/admin-api.yaml},
 * which the build copies onto the classpath: one source for the server, the generated client and readers.
 */
final class OpenApiDocument {
    static final String RESOURCE = "/openapi/admin-api.yaml";
    private static final Header YAML = HeaderValues.createCached(HeaderNames.CONTENT_TYPE,
            MediaTypes.APPLICATION_YAML_VALUE + "; charset=UTF-8");

    private final byte[] document;

    private OpenApiDocument(byte[] document) {
        this.document = document;
    }

    static OpenApiDocument load() {
        try (InputStream in = OpenApiDocument.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the classpath; the build copies it from openapi/");
            }
            return new OpenApiDocument(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void get(ServerRequest req, ServerResponse res) {
        if (!req.headers().isAccepted(MediaTypes.APPLICATION_YAML)) {
            throw RequestRefused.notAcceptable("the document is served as application/yaml (Accept: "
                    + req.headers().get(HeaderNames.ACCEPT).values() + " was given)");
        }
        res.header(YAML);
        res.send(document);
    }
}
