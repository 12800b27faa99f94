/**
 * Backend health: {@link io.vllmfactory.serve.dispatch.health.HealthPoller} probes every backend's
 * {@code /health} in the background and takes backends out of routing and back. Depends on
 * {@code admission}.
 */
package io.vllmfactory.serve.dispatch.health;
