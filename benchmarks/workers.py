"""One timing job per process: `python -m benchmarks.workers IMPL JSON_ARGS` prints one JSON line.

Each implementation runs in its own fresh process so that its peak memory is its own, one library's thread
pool cannot slow the other, and a crash or an out-of-memory kill costs one row, not the whole table.
Device-agnostic: superpose uses JAX's default backend, the reference uses CUDA when torch sees a GPU.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def matmul_flops(n_instances: int, n_features: int, n_hidden: int, batch_size: int) -> int:
    """Matmul FLOPs of one training step of the whole grid: 2 forward matmuls (W x, W^T h) and 3 backward
    ones (dW from both uses of W, and dh; x needs no gradient), each 2 n m B."""
    return 10 * n_features * n_hidden * batch_size * n_instances


def superpose_job(
    n_instances, n_features, n_hidden, batch_size, chunk_steps, repeats, full_steps=0, feature_prob=0.1
):
    """Time chunks of a Sweep after compiling. full_steps > 0 also times a whole run of that many steps
    (the issue-2 bar) from a fresh state, compile excluded."""
    base_rss = rss_mb()
    from superpose.lab import runtime

    runtime.use_every_cpu_core()  # as every superpose entry point does: one JAX device per CPU core
    import jax
    import jax.numpy as jnp
    import numpy as np

    from superpose import config, data, models, sweep

    base_rss = max(base_rss, rss_mb())
    n_chunks = max(repeats + 2, full_steps // chunk_steps if full_steps else 0)
    cfg = config.TrainConfig(
        n_features=n_features,
        n_hidden=n_hidden,
        batch_size=batch_size,
        n_steps=chunk_steps * n_chunks,
        chunk_steps=chunk_steps,
        log_every=100 if chunk_steps % 100 == 0 else chunk_steps,  # the library's default where it fits
    )
    hyper = config.make_hyper(n_instances, n_features, feature_prob=feature_prob)
    s = sweep.Sweep(models.ReluOutput(), data.Independent(), cfg, hyper, np.arange(n_instances))
    state = jax.block_until_ready(s.init())

    # Compile time: trace, lower and compile the chunk ahead of time (the same work the first call does).
    start_step = np.int32(0)
    t0 = time.perf_counter()
    compiled = sweep._chunk.lower(
        s.task, s.hyper, s.seeds, s.root_seed, state, start_step, mesh=s.mesh, group_size=s.group_size
    ).compile()
    compile_s = time.perf_counter() - t0
    mem = compiled.memory_analysis()
    xla_mb = None
    if mem is not None:
        xla_mb = (
            mem.argument_size_in_bytes
            + mem.output_size_in_bytes
            + mem.temp_size_in_bytes
            - mem.alias_size_in_bytes
        ) / 2**20

    def chunk(state, c):
        state, log = s.run_chunk(state, c)
        return jax.block_until_ready(state), log

    # Warm-up: the first two calls may compile (the first call's cache, the state's output sharding).
    for c in range(2):
        state, _ = chunk(state, c)
    times = []
    for c in range(repeats):
        t0 = time.perf_counter()
        state, log = chunk(state, 2 + c % (n_chunks - 2))
        times.append(time.perf_counter() - t0)
    out = {
        "impl": "superpose",
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0].device_kind),
        "n_devices": jax.device_count(),
        "steps_per_s": chunk_steps / min(times),
        "steps_per_s_median": chunk_steps / float(np.median(times)),
        "compile_s": compile_s,
        "xla_buffers_mb": xla_mb,
        "loss": float(np.mean(np.asarray(log)[:n_instances])),
    }
    if full_steps:
        state = jax.block_until_ready(s.init())
        t0 = time.perf_counter()
        for c in range(full_steps // chunk_steps):
            state, log = s.run_chunk(state, c)
        jax.block_until_ready((state, log))
        out["full_steps"] = full_steps
        out["full_train_s"] = time.perf_counter() - t0
    # The device's own f32 matmul rate, for reference next to numpy's (matters on a GPU).
    size = 2048 if jax.default_backend() == "cpu" else 8192
    a = jnp.ones((size, size), jnp.float32)
    mm = jax.jit(lambda a: jnp.dot(a, a, precision="highest"))
    jax.block_until_ready(mm(a))
    best = min(_timed(lambda: jax.block_until_ready(mm(a))) for _ in range(3))
    out["device_matmul_gflops"] = 2 * size**3 / best / 1e9
    stats = jax.devices()[0].memory_stats() or {}
    out["device_peak_mb"] = stats.get("peak_bytes_in_use", 0) / 2**20 or None
    out["peak_rss_mb"], out["base_rss_mb"] = peak_rss_mb(), base_rss
    return out


def torch_job(n_instances, n_features, n_hidden, batch_size, steps, repeats, threads=0, feature_prob=0.1):
    """Time the notebook-style loop. threads=0 keeps torch's default intra-op thread count."""
    base_rss = rss_mb()
    import torch

    from benchmarks import reference_torch

    base_rss = max(base_rss, rss_mb())
    if threads:
        torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    r = reference_torch.time_training(
        n_instances, n_features, n_hidden, batch_size, steps, repeats, feature_prob, device
    )
    return {
        "impl": f"torch{'' if not threads else f'-{threads}t'}",
        "device": device,
        "threads": r["threads"],
        "torch": r["version"],
        "steps_per_s": steps / min(r["times"]),
        "steps_per_s_median": steps / sorted(r["times"])[len(r["times"]) // 2],
        "device_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
        "peak_rss_mb": peak_rss_mb(),
        "base_rss_mb": base_rss,
    }


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


JOBS = {"superpose": superpose_job, "torch": torch_job}

if __name__ == "__main__":
    impl, args = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(JOBS[impl](**args)), flush=True)
