/**
 * Configuration: one table of settings ({@link io.vllmfactory.serve.config.SettingTable}) known as
 * flags, environment variables and YAML keys; {@link io.vllmfactory.serve.config.Settings} layers the
 * sources (flags, environment, file, defaults) and immutable, validated records such as
 * {@link io.vllmfactory.serve.config.DispatcherConfig} are built from it. Depends on nothing else
 * of ours.
 */
package io.vllmfactory.serve.config;
