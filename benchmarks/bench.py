"""superpose against the notebook-style PyTorch loop, side by side on the issue's configs.

    python -m benchmarks.bench                  # all configs (a)-(d), a few minutes on 2 cores
    python -m benchmarks.bench --configs a c    # a subset
    python -m benchmarks.bench --issue2         # also: 10,000 steps of config (a), compile excluded
    python -m benchmarks.bench --json out.json  # keep the raw numbers

Needs the `bench` extra (`pip install -e '.[bench]'`) for the reference; without torch it times superpose
alone. Every implementation runs in its own process (benchmarks/workers.py), one after the other, so
their thread pools and memory never overlap. Steps/s is the best of `--repeats` timed runs after warm-up
(the least disturbed by other work on a shared machine); compile time is reported separately.

The reference runs twice: with torch's default thread count and with one thread. On a busy machine
torch's OpenMP threads can spin-wait on a core that is not free and the default falls far behind, so the
ratio is taken against the faster of the two, never the slower.

Runs unchanged on a GPU: superpose uses JAX's default backend and the reference uses CUDA if torch sees it
(the numpy peak is then the host's; the device's own f32 matmul rate is printed next to it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

# (n_instances, n_features, n_hidden); all batch 1024, ReLU output, AdamW.
CONFIGS = {
    "a": (10, 20, 5),
    "b": (20, 200, 20),
    "c": (1000, 10, 5),
    "d": (20, 400, 30),
}
# Steps per timed run (superpose chunk, torch loop), sized for about a second each on this 2-core CPU.
STEPS = {"a": (500, 100), "b": (50, 10), "c": (10, 3), "d": (20, 4)}
TARGET = {"a": 10.0, "b": 4.0, "c": 10.0, "d": 4.0}  # issue 5: required speed-up over the reference
BATCH = 1024


def numpy_matmul_peak(size: int = 2048, repeats: int = 5) -> float:
    """Best single-precision GFLOP/s of numpy's BLAS on a square matmul: the machine's practical peak."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    a @ a  # warm-up: thread pool, pages
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best / 1e9


def run_worker(impl: str, **kwargs) -> dict:
    """Run one timing job in a fresh interpreter and return its JSON result (or the error)."""
    cmd = [sys.executable, "-m", "benchmarks.workers", impl, json.dumps(kwargs)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"impl": impl, "error": f"exit {proc.returncode}: {tail[0]}"}
    return json.loads(lines[-1])


def have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def mem_text(r: dict) -> str:
    if r.get("device_peak_mb"):
        return f"{r['device_peak_mb']:.0f} dev"
    return f"{r['peak_rss_mb']:.0f} ({r['peak_rss_mb'] - r['base_rss_mb']:+.0f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per implementation (best kept)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the timed steps (longer, steadier)"
    )
    parser.add_argument("--no-reference", action="store_true", help="time superpose only")
    parser.add_argument("--issue2", action="store_true", help="also time 10,000 steps of config (a)")
    parser.add_argument("--json", help="write the raw results here")
    args = parser.parse_args(argv)
    reference = not args.no_reference and have_torch()

    peak = numpy_matmul_peak()
    print(f"machine: {machine()}")
    print(f"numpy f32 matmul peak (2048^2, best of 5): {peak:.1f} GFLOP/s")
    if not reference:
        print(
            "reference: skipped"
            + ("" if args.no_reference else " (torch not installed: pip install -e '.[bench]')")
        )
    header = (
        f"{'cfg':3} {'N x n x m':>16} {'impl':10} {'steps/s':>9} {'median':>9} {'ratio':>7} {'compile s':>9} "
        f"{'GFLOP/s':>8} {'%peak':>6} {'peak MB (+over imports)':>24}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for name in args.configs:
        N, n, m = CONFIGS[name]
        sp_steps, ref_steps = (max(1, round(s * args.scale)) for s in STEPS[name])
        shape = dict(n_instances=N, n_features=n, n_hidden=m, batch_size=BATCH, repeats=args.repeats)
        results = [run_worker("superpose", chunk_steps=sp_steps, **shape)]
        if reference:
            results.append(run_worker("torch", steps=ref_steps, **shape))
            results.append(run_worker("torch", steps=ref_steps, threads=1, **shape))
        ok = [r for r in results if "error" not in r]
        refs = [r["steps_per_s"] for r in ok if r["impl"].startswith("torch")]
        best_ref = max(refs) if refs else None
        flops = 10 * n * m * BATCH * N
        for r in results:
            r.update(config=name, n_instances=N, n_features=n, n_hidden=m, batch_size=BATCH)
            rows.append(r)
            if "error" in r:
                print(f"{name:3} {f'{N}x{n}x{m}':>16} {r['impl']:10} {r['error']}")
                continue
            gflops = flops * r["steps_per_s"] / 1e9
            ratio = r["steps_per_s"] / best_ref if best_ref else float("nan")
            r.update(gflops=gflops, pct_peak=100 * gflops / peak, ratio_vs_best_reference=ratio)
            compile_s = f"{r['compile_s']:.2f}" if "compile_s" in r else "-"
            print(
                f"{name:3} {f'{N}x{n}x{m}':>16} {r['impl']:10} {r['steps_per_s']:9.1f} "
                f"{r['steps_per_s_median']:9.1f} {ratio:7.2f} {compile_s:>9} {gflops:8.2f} "
                f"{r['pct_peak']:6.1f} {mem_text(r):>24}"
            )
        sp = results[0]
        if best_ref and "error" not in sp:
            verdict = "meets" if sp["ratio_vs_best_reference"] >= TARGET[name] else "MISSES"
            print(
                f"    ({name}) superpose / best reference = {sp['ratio_vs_best_reference']:.1f}x: {verdict} the {TARGET[name]:.0f}x target"
            )
    if args.issue2:
        N, n, m = CONFIGS["a"]
        r = run_worker(
            "superpose",
            n_instances=N,
            n_features=n,
            n_hidden=m,
            batch_size=BATCH,
            chunk_steps=1000,
            repeats=1,
            full_steps=10_000,
        )
        rows.append({"config": "issue2", **r})
        if "error" in r:
            print(f"issue 2 bar: {r['error']}")
        else:
            verdict = "under" if r["full_train_s"] < 12 else "OVER"
            print(
                f"issue 2 bar: {N} instances, n={n}, m={m}, batch {BATCH}, 10,000 steps: "
                f"{r['full_train_s']:.2f} s training ({verdict} 12 s), compile {r['compile_s']:.2f} s"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "numpy_peak_gflops": peak, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
