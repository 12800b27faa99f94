/**
 * The supervisor: launches the backends ({@code vllm serve} or any command like it), keeps them alive and
 * stops them. {@link io.vllmfactory.serve.supervise.Supervisor} is the fleet the sidecar runs and the
 * {@link io.vllmfactory.serve.supervise.Fleet} the admin API changes at runtime; each backend is a state
 * machine ({@link io.vllmfactory.serve.supervise.BackendState}) driven by the package-private
 * {@code Lifecycle}, and runs under a small shell guard ({@code guard.sh}) that takes its whole process group
 * down when the sidecar stops or dies. The memory split, where instances run on the GPUs and what a
 * scale-up re-splits ({@code GpuBudget}), the backend command line, the backoff and the port layout are pure
 * functions. {@link io.vllmfactory.serve.supervise.ExternalFleet} is the read-only fleet of backends the
 * sidecar did not launch ({@code --backend-url}). {@link io.vllmfactory.serve.supervise.Preflight} checks what
 * can be checked before anything starts. Depends on {@code config} and {@code dispatch} (ready backends join its pool).
 */
package io.vllmfactory.serve.supervise;
