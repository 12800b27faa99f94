/**
 * {@code --num-instances auto}: start one instance, measure it with a calibration request, add instances while
 * the throughput grows enough and the GPU budget allows, keep the best count, and remember it per model,
 * plugin, GPUs and settings so the next start needs no measuring. The decision is a pure policy
 * ({@link io.vllmfactory.serve.autosize.SizingPolicy}); the changes go through the same fleet operations the
 * admin API uses.
 */
package io.vllmfactory.serve.autosize;
