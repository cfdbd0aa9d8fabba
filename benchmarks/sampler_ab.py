"""The training step with the working tree's samplers against a git revision's, interleaved in one process.

    python -m benchmarks.sampler_ab                       # configs (a) and (c) against HEAD
    python -m benchmarks.sampler_ab --base main --rounds 21 --json ab.json

On a shared machine two separate runs can differ by 2x, so the two versions run side by side: both Sweeps
are compiled first, then their chunks alternate (the order flips every round) and the medians are compared.
CPU time per step (this process, all threads) is reported next to wall time: it counts the work done and
is less sensitive to other processes holding the cores. Only superpose's own step is timed (as in
benchmarks/bench.py: ReLU output model, AdamW, batch 1024, Independent features of density 0.1).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

from superpose.lab import runtime

runtime.use_every_cpu_core()  # as every superpose entry point does: one JAX device per CPU core

import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.bench import BATCH, CONFIGS, STEPS  # noqa: E402
from superpose import config, data, models, sweep  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data_module_at(revision: str):
    """superpose/data.py as it was at `revision`, imported under another name."""
    source = subprocess.run(
        ["git", "show", f"{revision}:superpose/data.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    name = "superpose_data_at_" + "".join(ch if ch.isalnum() else "_" for ch in revision)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    sys.modules[name] = module  # dataclasses look their module up there
    exec(compile(source, f"{revision}:superpose/data.py", "exec"), module.__dict__)
    return module


def compare(name: str, samplers: dict, rounds: int, feature_prob: float = 0.1) -> dict:
    """Median steps/s (wall) and CPU ms/step of each sampler on config `name`, chunks interleaved."""
    n_instances, n_features, n_hidden = CONFIGS[name]
    steps = STEPS[name][0]
    cfg = config.TrainConfig(
        n_features=n_features,
        n_hidden=n_hidden,
        batch_size=BATCH,
        n_steps=steps * 3,
        chunk_steps=steps,
        log_every=100 if steps % 100 == 0 else steps,
    )
    hyper = config.make_hyper(n_instances, n_features, feature_prob=feature_prob)
    runs = {}
    for label, sampler in samplers.items():
        s = sweep.Sweep(models.ReluOutput(), sampler, cfg, hyper, np.arange(n_instances))
        state = jax.block_until_ready(s.init())
        for c in range(2):  # the first calls compile (the chunk, then the state's output sharding)
            state, _ = s.run_chunk(state, c)
        runs[label] = {"sweep": s, "state": jax.block_until_ready(state), "wall": [], "cpu": []}
    labels = list(samplers)
    for r in range(rounds):
        for label in labels if r % 2 == 0 else labels[::-1]:
            run = runs[label]
            t0, c0 = time.perf_counter(), time.process_time()
            state, _ = run["sweep"].run_chunk(run["state"], 2)
            run["state"] = jax.block_until_ready(state)
            run["wall"].append(time.perf_counter() - t0)
            run["cpu"].append(time.process_time() - c0)
    out = {}
    for label in labels:
        wall, cpu = np.asarray(runs[label]["wall"]), np.asarray(runs[label]["cpu"])
        out[label] = {
            "steps_per_s_median": steps / float(np.median(wall)),
            "steps_per_s_best": steps / float(wall.min()),
            "cpu_ms_per_step_median": 1e3 * float(np.median(cpu)) / steps,
            "wall_s": wall.tolist(),
            "cpu_s": cpu.tolist(),
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD", help="git revision whose superpose/data.py is the baseline")
    parser.add_argument("--configs", nargs="+", default=["a", "c"], choices=list(CONFIGS))
    parser.add_argument("--rounds", type=int, default=15, help="timed chunks per version (alternating)")
    parser.add_argument("--json", help="write the raw timings here")
    args = parser.parse_args(argv)
    base = data_module_at(args.base)
    samplers = {f"base ({args.base})": base.Independent(), "working tree": data.Independent()}
    print(f"devices: {jax.device_count()} x {jax.devices()[0].device_kind}; load average {os.getloadavg()}")
    results = {"base": args.base, "load_before": os.getloadavg(), "configs": {}}
    for name in args.configs:
        res = compare(name, samplers, args.rounds)
        results["configs"][name] = res
        (_, old_r), (_, new_r) = res.items()
        print(
            f"config ({name}) {CONFIGS[name]} (instances, n, m), {args.rounds} chunks of {STEPS[name][0]} steps each:"
        )
        for label, r in res.items():
            print(
                f"  {label:24} median {r['steps_per_s_median']:9.1f} steps/s  best {r['steps_per_s_best']:9.1f}"
                f"  CPU {r['cpu_ms_per_step_median']:8.3f} ms/step"
            )
        # Speed ratios per round (the two chunks of a round ran back to back), then their median.
        paired_wall = np.median(np.asarray(old_r["wall_s"]) / np.asarray(new_r["wall_s"]))
        paired_cpu = np.median(np.asarray(old_r["cpu_s"]) / np.asarray(new_r["cpu_s"]))
        res["ratios"] = {"wall_paired_median": float(paired_wall), "cpu_paired_median": float(paired_cpu)}
        print(
            f"  new speed / old: median of per-round ratios {paired_wall:.3f} (wall), {paired_cpu:.3f} (CPU); "
            f"ratio of medians {new_r['steps_per_s_median'] / old_r['steps_per_s_median']:.3f} (wall)"
        )
    results["load_after"] = os.getloadavg()
    print(f"load average at the end {results['load_after']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
