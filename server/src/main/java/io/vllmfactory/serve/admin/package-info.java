/**
 * The admin API: an operator's HTTP interface to change the fleet while the sidecar runs (list, add,
 * remove and restart instances, set their count, toggle request affinity, read the status), served
 * on its own listener and described by the OpenAPI document {@code openapi/admin-api.yaml}, which it
 * also serves at {@code GET /openapi}.
 *
 * <p>{@link io.vllmfactory.serve.admin.AdminApi#routing} registers the routes;
 * {@link io.vllmfactory.serve.admin.AdminConfig} holds the listener's address and the bearer token.
 * Everything else is package-private: strict request parsing, the one place that turns failures into
 * RFC 9457 problem bodies, the token check. This package drives {@code supervise.Fleet} and
 * {@code dispatch.Dispatcher}; nothing depends on it but the composition root.
 */
package io.vllmfactory.serve.admin;
