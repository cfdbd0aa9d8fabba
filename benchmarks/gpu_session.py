"""Every GPU measurement of the speed issue in one run, for a short lease on a GPU machine.

    python -m benchmarks.gpu_session --out $OUT            # on the GPU machine (about 6 minutes)
    python -m benchmarks.gpu_session --out /tmp/g --tiny   # the same steps at toy sizes: test it on a CPU first

Writes under --out: bench.json (the four configs against the PyTorch loop on the same device), profile/ (an
XLA dump and a JAX profiler trace of config (c)), largest.json (the biggest grid of n=10, m=5, batch 1024
instances one device holds, with throughput), and summary.md (the tables and the roofline arithmetic, ready
for benchmarks/RESULTS.md). Every step runs in its own process with a timeout, so one failure (an
out-of-memory, a missing torch) costs one table row, not the session.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# HBM bandwidth in bytes/s by device kind (vendor figures), for the roofline.
BANDWIDTH = {"H100": 3.35e12, "H200": 4.8e12, "A100": 2.0e12}

PROFILE_JOB = r"""
import json, os, sys, time
import jax, numpy as np
from superpose import config, data, models, sweep
n_inst, n, m, batch, steps = (int(v) for v in sys.argv[1:6]); out = sys.argv[6]
cfg = config.TrainConfig(n, m, batch_size=batch, n_steps=steps * 4, chunk_steps=steps, log_every=steps)
hyper = config.make_hyper(n_inst, n, feature_prob=0.1)
s = sweep.Sweep(models.ReluOutput(), data.Independent(), cfg, hyper, np.arange(n_inst))
state = jax.block_until_ready(s.init())
for c in range(2):
    state, log = s.run_chunk(state, c); jax.block_until_ready(state)
times = []
for c in range(2, 4):
    t0 = time.perf_counter(); state, log = s.run_chunk(state, c); jax.block_until_ready(state)
    times.append(time.perf_counter() - t0)
with jax.profiler.trace(os.path.join(out, "trace")):
    state, log = s.run_chunk(state, 1); jax.block_until_ready(state)
json.dump({"step_s": min(times) / steps, "device": jax.devices()[0].device_kind}, open(os.path.join(out, "step.json"), "w"))
"""

GRID_JOB = r"""
import json, sys, time
import jax, numpy as np
from superpose import config, data, models, sweep
n_inst, batch, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cfg = config.TrainConfig(10, 5, batch_size=batch, n_steps=steps * 3, chunk_steps=steps, log_every=steps)
hyper = config.make_hyper(n_inst, 10, feature_prob=0.1)
s = sweep.Sweep(models.ReluOutput(), data.Independent(), cfg, hyper, np.arange(n_inst))
state = jax.block_until_ready(s.init())
state, log = s.run_chunk(state, 0); jax.block_until_ready(state)
t0 = time.perf_counter(); state, log = s.run_chunk(state, 1); jax.block_until_ready(state)
dt = (time.perf_counter() - t0) / steps
stats = jax.devices()[0].memory_stats() or {}
print(json.dumps({"instances": n_inst, "step_ms": dt * 1e3, "instance_steps_per_s": n_inst / dt,
                  "peak_gb": stats.get("peak_bytes_in_use", 0) / 2**30}))
"""


def run(cmd: list[str], timeout: float, env=None) -> subprocess.CompletedProcess:
    print("$", " ".join(cmd), flush=True)
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"timed out after {timeout} s")


def roofline(step_s: float, device: str, n_inst: int, n: int, batch: int) -> str:
    """The bytes one step of config (c) must move if the batch is materialised once and read back by the
    forward and the backward pass (3 passes of n_inst x n x batch float32), against the device's bandwidth."""
    values = n_inst * n * batch
    moved = 3 * 4 * values
    bw = next((v for k, v in BANDWIDTH.items() if k in device), None)
    lines = [
        f"config (c): {n_inst} instances x {n} features x batch {batch} = {values:,} values per step",
        f"bytes per step (written once, read by forward and backward): 3 x 4 B x {values:,} = {moved / 1e6:.1f} MB",
    ]
    if bw is None:
        lines.append(f"device {device!r}: bandwidth unknown, no roofline")
        return "\n".join(lines)
    floor = moved / bw
    lines += [
        f"{device}: {bw / 1e12:.2f} TB/s -> roofline {floor * 1e6:.1f} us/step; measured {step_s * 1e6:.1f} us/step",
        f"measured / roofline = {step_s / floor:.2f}x (goal: within 3x)",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tiny", action="store_true", help="toy sizes, to test this script on a CPU")
    parser.add_argument("--budget-s", type=float, default=420, help="stop the largest-grid search after this")
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    py = sys.executable
    summary = [f"# GPU session ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", ""]

    # 1. The four configs against the PyTorch loop on the same device.
    bench = [py, "-m", "benchmarks.bench", "--repeats", "1" if args.tiny else "3", "--json", str(out / "bench.json")]
    if args.tiny:
        bench += ["--configs", "a", "--no-reference"]
    r = run(bench, 60 if args.tiny else 240)
    summary += ["## bench", "```", r.stdout[-4000:], r.stderr[-1500:] if r.returncode else "", "```", ""]

    # 2. Profile config (c): XLA dump and a profiler trace of one chunk; its step time for the roofline.
    n_inst, n, m, batch, steps = (20, 10, 5, 64, 10) if args.tiny else (1000, 10, 5, 1024, 200)
    prof = out / "profile"
    prof.mkdir(exist_ok=True)
    env = dict(os.environ, XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} --xla_dump_to={prof / 'xla'} --xla_dump_hlo_as_text".strip())
    r = run([py, "-c", PROFILE_JOB, str(n_inst), str(n), str(m), str(batch), str(steps), str(prof)], 180, env=env)
    summary += ["## profile of config (c)", "```"]
    if r.returncode == 0 and (prof / "step.json").exists():
        step = json.loads((prof / "step.json").read_text())
        fusions = sum(1 for p in (prof / "xla").glob("*after_optimizations.txt") for line in p.read_text().splitlines() if " fusion(" in line)
        summary += [roofline(step["step_s"], step["device"], n_inst, n, batch), f"fusions in the optimized HLO: {fusions}"]
    else:
        summary += [f"failed ({r.returncode}): {r.stderr[-1500:]}"]
    summary += ["```", ""]

    # 3. The largest grid of n=10, m=5, batch 1024 one device holds: double until it fails or time runs out.
    sizes = [10, 20, 40, 80] if args.tiny else [10_000 * 2**k for k in range(9)]  # up to 2.56 million
    largest = []
    for size in sizes:
        if time.perf_counter() - t_start > args.budget_s:
            largest.append({"instances": size, "skipped": "time budget"})
            break
        r = run([py, "-c", GRID_JOB, str(size), "64" if args.tiny else "1024", "5" if args.tiny else "20"], 150)
        if r.returncode != 0:
            largest.append({"instances": size, "failed": (r.stderr.strip().splitlines() or ["?"])[-1][:300]})
            break
        largest.append(json.loads(r.stdout.strip().splitlines()[-1]))
    (out / "largest.json").write_text(json.dumps(largest, indent=1))
    summary += ["## largest grid (n=10, m=5)", "| instances | ms/step | instance-steps/s | peak GB |", "|---|---|---|---|"]
    for row in largest:
        if "step_ms" in row:
            summary.append(f"| {row['instances']:,} | {row['step_ms']:.2f} | {row['instance_steps_per_s']:,.0f} | {row['peak_gb']:.1f} |")
        else:
            summary.append(f"| {row['instances']:,} | {row.get('failed') or row.get('skipped')} | | |")
    summary.append(f"\nsession wall time {time.perf_counter() - t_start:.0f} s")
    (out / "summary.md").write_text("\n".join(summary) + "\n")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
