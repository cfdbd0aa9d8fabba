"""Universal-AND (issue 20 §1): m sparse boolean inputs, one ReLU layer of d neurons, a linear readout of all
m(m-1)/2 pairwise ANDs. Can d < m(m-1)/2 neurons compute them, and what circuit does training find?

Hänni, Mendel, Vaintrob & Chan (2024) build one by hand: random 0/1 input weights, bias -1 (a neuron fires
when two of its inputs are on), each AND read as the mean of the neurons wired to both its inputs; it reads
every AND to small error with O~(m^(2/3)) neurons as m grows, also with the inputs in superposition. Newgas
(2025) trains the same architecture and reports a dense circuit instead: every neuron contributes to every
output, and by their truth tables on a pair the neurons fall into a few classes (A: either input raises it,
B: one raises and one lowers it, C: neither raises it; all firing on 00 from the background), more
efficient than the construction at low sparsity.

Here, at m = 20 inputs each on with probability 0.1 (2 on at a time on average) and, for the classes, 0.3:
the construction (weights set by numpy, its one number, the wiring probability, chosen by measured error),
the same layer trained (AdamW, MSE, one fit per point) and the naive circuit (one neuron per AND for d of
them, 0 for the rest), all against d; each trained neuron's truth table on every pair measured in context
(other inputs drawn from the input law) and classed; and the inputs in superposition (m = 20 random unit
directions in 10 dimensions). Errors are MSE over all ANDs relative to predicting 0 (an AND is on with
probability p^2). Settings the papers' text we could read does not give (chosen here): m, d, p, lr 3e-3,
batch 1024, 5,000 steps. `superpose animate` shows the class map of the widest model forming.
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

from superpose.analysis import compute as cc
from superpose.config import snapshot_schedule
from superpose.lab import Experiment, main
from superpose.lab.fields import count, nonnegative, positive, probability, seed, steps
from superpose.models import UniversalAND
from superpose.models.compute import random_embedding

PARAMS = ("W_in", "b_in", "W_out", "b_out")
CONNECT = (0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)  # wiring probabilities the construction tries
DENSE = ("A", "B", "C")


@dataclasses.dataclass(frozen=True)
class Config:
    n_inputs: int = count(20)
    density: float = probability(0.1)  # each input's probability of being on
    density_high: float = probability(0.3)  # the denser setting, for the neuron classes
    n_widths: int = count(4)  # d = min_width * 2^k
    min_width: int = count(8)
    embed_dim: int = count(10)  # the inputs in superposition: m directions in this many dimensions
    n_steps: int = steps(5_000)
    batch_size: int = count(1024)
    lr: float = positive(3e-3)
    weight_decay: float = nonnegative(0.0)
    n_eval: int = count(20_000)  # samples every circuit is scored on (numpy)
    n_background: int = count(256)  # backgrounds each truth table is averaged over
    n_frames: int = count(24, minimum=0)  # weight snapshots per instance, log-spaced (0: none)
    seed: int = seed(0)


QUICK = {"n_widths": 2, "min_width": 8, "n_steps": 2_000, "batch_size": 512, "n_frames": 12, "n_eval": 10_000}


def widths(cfg: Config) -> np.ndarray:
    if cfg.n_widths == 2:  # quick: the narrowest and a wide one, 4x apart
        return np.array([cfg.min_width, 4 * cfg.min_width])
    return cfg.min_width * 2 ** np.arange(cfg.n_widths)


def n_pairs(cfg: Config) -> int:
    return cfg.n_inputs * (cfg.n_inputs - 1) // 2


def studies(cfg: Config) -> dict:
    from superpose.study import Study

    config = {
        "n_features": cfg.n_inputs,
        "n_hidden": int(cfg.min_width),
        "n_steps": cfg.n_steps,
        "batch_size": cfg.batch_size,
        "log_every": 10,
    }
    if cfg.n_frames:
        config["snapshot_steps"] = snapshot_schedule(cfg.n_steps, cfg.n_frames, 10)
    hyper = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    w = widths(cfg)
    return {
        "main": Study(
            UniversalAND(),
            axes={"density": [cfg.density, cfg.density_high], "n_hidden": w, "seed": [0]},
            config=config,
            hyper=hyper,
            root_seed=cfg.seed,
        ),
        "superposed": Study(
            UniversalAND(embed_dim=cfg.embed_dim),
            axes={"n_hidden": w, "seed": [0]},
            config=config,
            hyper={**hyper, "feature_prob": cfg.density},
            root_seed=cfg.seed,
        ),
    }


def padded(result, which: str, prefix: str) -> dict:
    """{prefix + name: [N, *largest shape]} of each parameter (or snapshot), zero beyond a group's own d:
    a zero neuron has no input, bias or output weight, so it changes nothing."""
    out = {}
    for name in getattr(result.groups[0].result, which):
        parts = [(g.index, np.asarray(getattr(g.result, which)[name])) for g in result.groups]
        shape = np.max([p.shape[1:] for _, p in parts], axis=0)
        a = np.zeros((result.size, *shape), np.float32)
        for index, p in parts:
            a[(index, *(slice(0, s) for s in p.shape[1:]))] = p
        out[prefix + name] = a
    return out


def train(cfg: Config, ctx) -> dict:
    arrays = {}
    for name, spec in studies(cfg).items():
        r = ctx.study(name, spec)
        part = {
            k: v
            for k, v in r.to_arrays().items()
            if not k.startswith(("W_", "b_", "snapshot_W", "snapshot_b"))
        }
        part.update(padded(r, "params", ""))
        if cfg.n_frames:
            part.update(padded(r, "snapshots", "snapshot_"))
        if "density" not in part:
            part["density"] = np.full(r.size, cfg.density)
        arrays.update({f"{name}_{k}": v for k, v in part.items()})
    return arrays


def trained(arrays: dict, study: str, i: int) -> dict:
    d = int(arrays[f"{study}_n_hidden"][i])
    p = {k: arrays[f"{study}_{k}"][i] for k in PARAMS}
    return {"W_in": p["W_in"][:d], "b_in": p["b_in"][:d], "W_out": p["W_out"][:, :d], "b_out": p["b_out"]}


def measure(cfg: Config, arrays: dict) -> dict:
    """Errors (MSE / p^2, and the share read wrong at threshold 1/2) of trained, construction and naive
    circuits per width, and each trained model's class shares and density; deterministic in cfg.seed."""
    rng = np.random.default_rng(cfg.seed)
    E = random_embedding(cfg.embed_dim, cfg.n_inputs, 0)
    w = widths(cfg)
    out = {"widths": w}
    for p, tag in ((cfg.density, "low"), (cfg.density_high, "high")):
        bits, bg = (
            cc.sample_bits(rng, cfg.n_eval, cfg.n_inputs, p),
            cc.sample_bits(rng, cfg.n_background, cfg.n_inputs, p),
        )
        q = p * p
        out[f"{tag}_naive"] = cc.naive_and_mse(w, cfg.n_inputs, p) / q
        rows = {
            "trained": [],
            "construction": [],
            "wrong": [],
            "construction_wrong": [],
            "connect": [],
            "shares": [],
            "density": [],
        }
        for d in w:
            (i,) = np.flatnonzero((np.isclose(arrays["main_density"], p)) & (arrays["main_n_hidden"] == d))
            params = trained(arrays, "main", i)
            err = cc.and_errors(params, bits)
            _, c, cerr = cc.best_construction(cfg.n_inputs, int(d), bits, rng, CONNECT)
            shares = cc.class_shares(
                cc.truth_table_classes(cc.context_truth_tables(params["W_in"], params["b_in"], bg))
            )
            for k, v in (
                ("trained", err["mse"] / q),
                ("construction", cerr["mse"] / q),
                ("wrong", err["wrong"]),
                ("construction_wrong", cerr["wrong"]),
                ("connect", c),
                ("shares", shares),
                ("density", cc.contribution_density(params)),
            ):
                rows[k].append(v)
        out[tag] = rows
    bits = cc.sample_bits(rng, cfg.n_eval, cfg.n_inputs, cfg.density)
    sup = {"trained": [], "construction": []}
    for k, d in enumerate(w):
        sup["trained"].append(
            cc.and_errors(trained(arrays, "superposed", k), bits, E)["mse"] / cfg.density**2
        )
        sup["construction"].append(
            cc.best_construction(cfg.n_inputs, int(d), bits, rng, CONNECT, E)[2]["mse"] / cfg.density**2
        )
    out["superposed"] = sup
    return out


def analyze(cfg: Config, arrays: dict) -> dict:
    m = measure(cfg, arrays)
    w, low, high = m["widths"], m["low"], m["high"]
    tr, co, nv = np.array(low["trained"]), np.array(low["construction"]), m["low_naive"]
    sup = {k: np.array(v) for k, v in m["superposed"].items()}
    below = w < n_pairs(cfg)
    dense_low = [sum(s[c] for c in DENSE) for s in low["shares"]]
    dense_high = [sum(s[c] for c in DENSE) for s in high["shares"]]
    and_low = [s["AND"] for s in low["shares"]]
    rows = [
        {
            "d": int(d),
            "trained": round(float(tr[k]), 4),
            "construction": round(float(co[k]), 4),
            "naive": round(float(nv[k]), 4),
            "construction_connect": low["connect"][k],
            "trained_wrong": round(low["wrong"][k], 5),
            "construction_wrong": round(low["construction_wrong"][k], 5),
            "classes": {c: round(v, 3) for c, v in low["shares"][k].items()},
            "contribution_density": round(low["density"][k], 3),
            f"p={cfg.density_high}": {
                "trained": round(float(high["trained"][k]), 4),
                "naive": round(float(m["high_naive"][k]), 4),
                "classes": {c: round(v, 3) for c, v in high["shares"][k].items()},
                "contribution_density": round(high["density"][k], 3),
            },
            "superposed": {
                "trained": round(float(sup["trained"][k]), 4),
                "construction": round(float(sup["construction"][k]), 4),
            },
        }
        for k, d in enumerate(w)
    ]
    fmt = lambda a: ", ".join(f"{x:.3f}" for x in a)  # noqa: E731
    checks = [
        {
            "name": f"p={cfg.density}: trained beats the naive circuit at every d < m(m-1)/2",
            "passed": bool(np.all(tr[below] < nv[below])),
            "value": f"trained {fmt(tr)}; naive {fmt(nv)}",
            "expected": "trained < naive (errors relative to predicting 0)",
        },
        {
            "name": f"p={cfg.density}: trained beats the hand-built construction at every d (Newgas)",
            "passed": bool(np.all(tr < co)),
            "value": f"trained {fmt(tr)}; construction {fmt(co)}",
            "expected": "trained < construction",
        },
        {
            "name": f"p={cfg.density}: the trained error falls as d grows",
            "passed": bool(np.all(np.diff(tr) < 0)),
            "value": fmt(tr),
            "expected": "strictly decreasing",
        },
        {
            "name": f"p={cfg.density}: the trained circuit is sparse, not Newgas's dense A/B/C classes",
            "passed": bool(max(dense_low) < 0.2 and min(and_low) > 0.1),
            "value": f"A+B+C share {fmt(dense_low)}; AND share {fmt(and_low)}",
            "expected": "A+B+C < 0.2 and AND > 0.1 at every d",
        },
        {
            "name": "inputs in superposition: trained still beats the naive circuit at every d < m(m-1)/2",
            "passed": bool(np.all(sup["trained"][below] < nv[below])),
            "value": f"trained {fmt(sup['trained'])}; naive {fmt(nv)}",
            "expected": "trained < naive",
        },
    ]
    return {
        "experiment": "universal_and",
        "n_pairs": n_pairs(cfg),
        "per_width": rows,
        "dense_share_high_density": [round(x, 3) for x in dense_high],
        "checks": checks,
    }


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    m = measure(cfg, arrays)
    w = m["widths"]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    plots = _plots()
    plots.error_vs_width(
        axes[0],
        w,
        {"trained": m["low"]["trained"], "construction": m["low"]["construction"], "naive": m["low_naive"]},
        n_pairs(cfg),
        title=f"p = {cfg.density}",
    )
    plots.error_vs_width(
        axes[1],
        w,
        {
            "trained": m["high"]["trained"],
            "construction": m["high"]["construction"],
            "naive": m["high_naive"],
        },
        n_pairs(cfg),
        title=f"p = {cfg.density_high}",
    )
    plots.error_vs_width(
        axes[2],
        w,
        {
            "trained": m["superposed"]["trained"],
            "construction": m["superposed"]["construction"],
            "naive": m["low_naive"],
        },
        n_pairs(cfg),
        title=f"inputs in superposition ({cfg.embed_dim}-d), p = {cfg.density}",
    )
    for ax in axes[:3]:
        ax.set_yscale("log")
    i = int(
        np.flatnonzero(np.isclose(arrays["main_density"], cfg.density) & (arrays["main_n_hidden"] == w[-1]))[
            0
        ]
    )
    params = trained(arrays, "main", i)
    bg = cc.sample_bits(np.random.default_rng(cfg.seed + 1), cfg.n_background, cfg.n_inputs, cfg.density)
    classes = cc.truth_table_classes(cc.context_truth_tables(params["W_in"], params["b_in"], bg))
    plots.class_map(
        axes[3], classes, cc.CLASSES, title=f"trained d = {w[-1]}, p = {cfg.density}: neuron x pair"
    )
    fig.suptitle(f"Universal-AND: m = {cfg.n_inputs} inputs, {n_pairs(cfg)} ANDs", fontsize=9)
    fig.tight_layout()
    return [plots.save(fig, f"{out_dir}/universal_and.png")]


def _plots():
    from superpose.plots import compute

    return compute


def animate(cfg: Config, arrays: dict, out_dir, options) -> list:
    """The (neuron x pair) class map of the widest model at each density forming over training."""
    w = widths(cfg)
    picks = options.instances or tuple(
        int(np.flatnonzero(np.isclose(arrays["main_density"], p) & (arrays["main_n_hidden"] == w[-1]))[0])
        for p in (cfg.density, cfg.density_high)
    )
    paths = []
    for i in picks:
        d, p = int(arrays["main_n_hidden"][i]), float(arrays["main_density"][i])
        bg = cc.sample_bits(np.random.default_rng(cfg.seed + 1), cfg.n_background, cfg.n_inputs, p)
        frames = np.stack(
            [
                cc.truth_table_classes(
                    cc.context_truth_tables(
                        arrays["main_snapshot_W_in"][i, f, :d], arrays["main_snapshot_b_in"][i, f, :d], bg
                    )
                )
                for f in range(len(arrays["main_snapshot_steps"]))
            ]
        )
        paths.append(
            _plots().and_class_animation(
                f"{out_dir}/universal_and_classes_p{p:g}",
                frames,
                cc.CLASSES,
                arrays["main_snapshot_steps"],
                arrays["main_log_steps"],
                arrays["main_loss"][i],
                f"d = {d}, p = {p:g}",
                fps=options.fps,
                fmt=options.format,
                progress=options.progress,
            )
        )
    return paths


EXPERIMENT = Experiment(
    "universal_and", Config, train, analyze, plot, QUICK, description=__doc__, animate=animate
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
