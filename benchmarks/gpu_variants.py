"""Which formulation of a training step runs fastest on this device: the four benchmark configs under a few
variants, side by side in one session, each variant in a process of its own (XLA flags are per process).

    python -m benchmarks.gpu_variants --out DIR             # on the GPU machine
    python -m benchmarks.gpu_variants --out DIR --tiny      # the same at toy sizes, to test on a CPU

Variants: `base` (the library as it is), `unroll8` / `unroll32` (TrainConfig.unroll: fewer iterations of the
compiled step loop, whose per-iteration cost on a GPU is a host round trip for the loop condition), `cmdbuf`
(XLA's command buffers, i.e. CUDA graphs, for the loop body), and `elementwise` (the tied model's two
products written as broadcast-multiply-sums, which XLA can fuse with the sampler instead of calling a
batched GEMM on a materialised batch; only where n x m is small). Each job checks its first chunk's loss
against `base` (printed), reports steps/s, and for config (c) the step time against the memory roofline.
Writes DIR/variants.json and prints a table last.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = {"a": (10, 20, 5), "b": (20, 200, 20), "c": (1000, 10, 5), "d": (20, 400, 30)}
CHUNK = {"a": 5000, "b": 1000, "c": 1000, "d": 1000}  # steps per timed chunk on a GPU (~0.05-0.5 s)
VARIANTS = {
    "base": {},
    "unroll8": {"unroll": 8},
    "unroll32": {"unroll": 32},
    "cmdbuf": {
        "flags": "--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,WHILE,CONDITIONAL"
    },
    "elementwise": {"model": "elementwise"},
    "elementwise_unroll8": {"model": "elementwise", "unroll": 8},
}

JOB = r"""
import dataclasses, json, sys, time
import jax, jax.numpy as jnp, numpy as np
from superpose import config, data, models, sweep

spec = json.loads(sys.argv[1])

@dataclasses.dataclass(frozen=True)
class ElementwiseReluOutput(models.ReluOutput):
    # h = W x and W^T h as broadcast-multiply-sums: fusable with the sampler (no batched GEMM).
    def hidden(self, params, x):
        return jnp.sum(params["W"][:, :, None] * x[None, :, :], axis=1)
    def output(self, params, h):
        y = jnp.sum(params["W"][:, :, None] * h[:, None, :], axis=0) + params["b"][:, None]
        return jax.nn.relu(y)

out = []
for name, (N, n, m, chunk) in spec["configs"].items():
    model = ElementwiseReluOutput() if spec.get("model") == "elementwise" else models.ReluOutput()
    if spec.get("model") == "elementwise" and n * m > 2000:
        out.append({"config": name, "skipped": "n x m too large for the elementwise form"}); continue
    cfg = config.TrainConfig(n, m, batch_size=spec["batch"], n_steps=chunk * 4, chunk_steps=chunk,
                             log_every=min(100, chunk), unroll=spec.get("unroll", 1))
    s = sweep.Sweep(model, data.Independent(), cfg, config.make_hyper(N, n, feature_prob=0.1), np.arange(N))
    t0 = time.perf_counter()
    state = jax.block_until_ready(s.init())
    hlo = sweep._chunk.lower(s.task, s.hyper, s.seeds, s.root_seed, state, np.int32(0), mesh=s.mesh,
                             group_size=s.group_size).compile().as_text()
    kernels = hlo.count(" fusion(") + hlo.count(" custom-call(")  # launches per program, loop bodies included
    state, log = s.run_chunk(state, 0); jax.block_until_ready(state)
    first = time.perf_counter() - t0
    loss0 = float(np.mean(np.asarray(log)[:N, -1]))
    times = []
    for c in (1, 2, 3):
        t0 = time.perf_counter(); state, log = s.run_chunk(state, c); jax.block_until_ready(state)
        times.append(time.perf_counter() - t0)
    out.append({"config": name, "step_us": min(times) / chunk * 1e6, "steps_per_s": chunk / min(times),
                "first_chunk_s": first, "loss_after_chunk0": loss0, "kernels": kernels,
                "device": jax.devices()[0].device_kind})
print(json.dumps(out))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    batch = 64 if args.tiny else 1024
    configs = {k: (*v, 20 if args.tiny else CHUNK[k]) for k, v in CONFIGS.items()}
    if args.tiny:
        configs = {k: (min(v[0], 20), v[1], v[2], v[3]) for k, v in configs.items()}
    results = {}
    for name in args.variants:
        variant = VARIANTS[name]
        spec = {"configs": configs, "batch": batch, **{k: v for k, v in variant.items() if k != "flags"}}
        env = dict(os.environ)
        if "flags" in variant and not args.tiny:
            env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {variant['flags']}".strip()
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-c", JOB, json.dumps(spec)],
                capture_output=True,
                text=True,
                timeout=args.timeout,
                env=env,
            )
            lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
            results[name] = (
                json.loads(lines[-1]) if proc.returncode == 0 and lines else {"error": proc.stderr[-600:]}
            )
        except subprocess.TimeoutExpired:
            results[name] = {"error": f"timed out after {args.timeout} s"}
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        (args.out / "variants.json").write_text(json.dumps(results, indent=1))
    base = {r["config"]: r for r in results.get("base", []) if isinstance(r, dict) and "step_us" in r}
    print(f"{'variant':20s} " + " ".join(f"{c:>30s}" for c in CONFIGS))
    for name, rows in results.items():
        if isinstance(rows, dict):
            print(
                f"{name:20s} error: {rows['error'].strip().splitlines()[-1][:90] if rows['error'].strip() else '?'}"
            )
            continue
        cells = []
        for r in rows:
            if "step_us" not in r:
                cells.append(f"{'-':>30s}")
                continue
            b = base.get(r["config"])
            speed = f"{b['step_us'] / r['step_us']:.2f}x" if b else "?"
            cells.append(
                f"{r['step_us']:.1f}us {speed} k{r['kernels']} L{r['loss_after_chunk0']:.4f}".rjust(30)
            )
        print(f"{name:20s} " + " ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
