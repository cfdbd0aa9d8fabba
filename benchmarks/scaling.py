"""Throughput and memory against the number of instances and the model size: figures/scaling.png.

    python -m benchmarks.scaling              # measure (a few minutes on 2 cores), save JSON, plot
    python -m benchmarks.scaling --plot-only  # redraw from benchmarks/scaling.json

Same workers as benchmarks/bench.py (one process per measurement). Instances sweep: n=10, m=5 (config (c)'s
model), 1 to 10,000 instances. Size sweep: 20 instances, n from 20 to 800 with m about n/10. The reference
is timed with torch's default threads and with one thread and the faster is plotted. Memory per instance is
(peak RSS - RSS after imports) / instances, so fixed costs dominate small grids; for superpose XLA's own
buffer accounting (arguments + outputs + temporaries of the compiled chunk) is drawn too.
"""

from __future__ import annotations

import argparse
import json
import os

from benchmarks.bench import BATCH, have_torch, run_worker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "benchmarks", "scaling.json")
FIGURE = os.path.join(ROOT, "figures", "scaling.png")
INSTANCES = [1, 10, 100, 1000, 10_000]
SIZES = [(20, 5), (50, 5), (100, 10), (200, 20), (400, 30), (800, 60)]


def steps_for(elements: int, per_element_s: float, budget_s: float, cap: int) -> int:
    """Steps that take about budget_s at per_element_s per element of the batch (at least 2)."""
    return int(max(2, min(cap, budget_s / (elements * per_element_s))))


def measure(n_instances: int, n_features: int, n_hidden: int, reference: bool, repeats: int) -> dict:
    elements = n_instances * n_features * BATCH
    shape = dict(n_instances=n_instances, n_features=n_features, n_hidden=n_hidden, batch_size=BATCH)
    row = {
        **shape,
        "superpose": run_worker(
            "superpose", chunk_steps=steps_for(elements, 5e-9, 1.0, 500), repeats=repeats, **shape
        ),
    }
    if reference:
        steps = steps_for(elements, 30e-9, 1.0, 100)
        runs = [run_worker("torch", steps=steps, repeats=repeats, threads=t, **shape) for t in (0, 1)]
        ok = [r for r in runs if "error" not in r]
        row["torch"] = max(ok, key=lambda r: r["steps_per_s"]) if ok else runs[0]
    print(
        json.dumps({k: v for k, v in row.items() if not isinstance(v, dict)}),
        {k: round(v.get("steps_per_s", float("nan")), 2) for k, v in row.items() if isinstance(v, dict)},
        flush=True,
    )
    return row


def plot(data: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"superpose": "C0", "torch": "C3"}
    labels = {"superpose": "superpose (JAX)", "torch": "PyTorch notebook loop"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))

    def series(rows, impl, x_of, y_of):
        pts = [(x_of(r), y_of(r, r[impl])) for r in rows if impl in r and "error" not in r[impl]]
        return [p[0] for p in pts], [p[1] for p in pts]

    throughput = lambda r, res: r["n_instances"] * res["steps_per_s"]  # noqa: E731
    ax = axes[0]
    for impl in ("superpose", "torch"):
        x, y = series(data["instances"], impl, lambda r: r["n_instances"], throughput)
        ax.loglog(x, y, "o-", color=colors[impl], label=labels[impl])
    ax.set(
        xlabel="instances (n=10, m=5, batch 1024)",
        ylabel="instance-steps / s",
        title="throughput vs number of instances",
    )
    ax.legend()

    ax = axes[1]
    for impl in ("superpose", "torch"):
        x, y = series(
            data["sizes"],
            impl,
            lambda r: r["n_features"],
            lambda r, res: (
                10 * r["n_features"] * r["n_hidden"] * BATCH * r["n_instances"] * res["steps_per_s"] / 1e9
            ),
        )
        ax.semilogx(x, y, "o-", color=colors[impl], label=labels[impl])
    peak = data.get("numpy_peak_gflops")
    if peak:
        ax.axhline(peak, color="gray", ls="--", lw=1, label=f"numpy f32 matmul peak ({peak:.0f})")
    ax.set_xticks([n for n, _ in SIZES], [str(n) for n, _ in SIZES])
    ax.set_xticks([], minor=True)
    ax.set(
        xlabel="features n (m ~ n/10; 20 instances)",
        ylabel="matmul GFLOP/s",
        title="throughput vs model size",
    )
    ax.legend(fontsize=8)

    ax = axes[2]
    per_instance = lambda r, res: (res["peak_rss_mb"] - res["base_rss_mb"]) / r["n_instances"]  # noqa: E731
    for impl in ("superpose", "torch"):
        x, y = series(data["instances"], impl, lambda r: r["n_instances"], per_instance)
        ax.loglog(x, y, "o-", color=colors[impl], label=f"{labels[impl]}: peak RSS")
    x, y = series(
        data["instances"],
        "superpose",
        lambda r: r["n_instances"],
        lambda r, res: (res.get("xla_buffers_mb") or float("nan")) / r["n_instances"],
    )
    ax.loglog(x, y, "s--", color=colors["superpose"], alpha=0.6, label="superpose: XLA buffers")
    ax.set(xlabel="instances (n=10, m=5, batch 1024)", ylabel="MB per instance", title="memory per instance")
    ax.legend(fontsize=8)
    fig.suptitle(data.get("machine", ""), fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plot-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--max-instances", type=int, default=INSTANCES[-1])
    args = parser.parse_args(argv)
    if not args.plot_only:
        from benchmarks.bench import machine, numpy_matmul_peak

        reference = not args.no_reference and have_torch()
        data = {"machine": machine(), "numpy_peak_gflops": numpy_matmul_peak(), "instances": [], "sizes": []}
        for N in (k for k in INSTANCES if k <= args.max_instances):
            data["instances"].append(measure(N, 10, 5, reference, args.repeats))
        for n, m in SIZES:
            data["sizes"].append(measure(20, n, m, reference, args.repeats))
        with open(DATA, "w") as f:
            json.dump(data, f, indent=1)
    with open(DATA) as f:
        data = json.load(f)
    plot(data, FIGURE)
    print(f"wrote {FIGURE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
