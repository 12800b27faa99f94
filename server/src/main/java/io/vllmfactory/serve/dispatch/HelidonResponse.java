package io.vllmfactory.serve.dispatch;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import java.io.OutputStream;
import java.util.List;

/** A {@link ClientResponse} through Helidon's server response (the general request path). */
final class HelidonResponse implements ClientResponse {
    private final ServerResponse res;

    HelidonResponse(ServerResponse res) {
        this.res = res;
    }

    @Override
    public boolean started() {
        return res.isSent();
    }

    private void head(Relay.ResponseHead head, ResponseDecoration decoration) {
        res.status(Status.create(head.status(), head.reason()));
        List<String[]> headers = head.headers();
        for (int i = 0; i < headers.size(); i++) {
            String[] h = headers.get(i);
            res.headers().add(HeaderValues.create(h[0], h[1]));
        }
        res.header(HeaderValues.create(ResponseDecoration.BACKEND_INDEX, decoration.backend().id()));
        res.header(decoration.affinity().header());
        if (decoration.schemaSize() >= 0) {
            res.header(HeaderValues.create(ResponseDecoration.SCHEMA_SIZE, decoration.schemaSize()));
        }
    }

    @Override
    public void send(Relay.ResponseHead head, ResponseDecoration decoration, byte[] body) {
        head(head, decoration);
        if (head.noBody()) {
            res.send();
        } else {
            res.send(body);
        }
    }

    @Override
    public OutputStream stream(Relay.ResponseHead head, ResponseDecoration decoration, long length) {
        head(head, decoration);
        if (length >= 0) {
            res.headers().set(HeaderValues.create(HeaderNames.CONTENT_LENGTH, length));
        }
        return res.outputStream();
    }

    @Override
    public void problem(Problems.Problem p) {
        res.status(Status.create(p.status()));
        if (p.retryAfter() != null) {
            res.header(HeaderValues.create(HeaderNames.RETRY_AFTER, p.retryAfter()));
        }
        if (p.close()) {
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
        res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, Problems.CONTENT_TYPE));
        res.send(p.body());
    }
}
