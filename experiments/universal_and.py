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
probability p^2). Chosen here (the papers' text we could read does not fix them): m, d, p, lr 3e-3, batch
1024, 5,000 steps. `superpose animate` shows the class map of the widest model forming.
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
from superpose.plots import compute as plots

PARAMS = ("W_in", "b_in", "W_out", "b_out")
CONNECT = (0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)  # wiring probabilities the construction tries
DENSE = ("A", "B", "C")


@dataclasses.dataclass(frozen=True)
class Config:
    n_inputs: int = count(20)
    density: float = probability(0.1)  # each input's probability of being on
    density_high: float = probability(0.3)  # the denser setting, for the neuron classes
    n_widths: int = count(4, minimum=2)  # d = min_width * 2^k
    min_width: int = count(8)
    embed_dim: int = count(10)  # the inputs in superposition: m directions in this many dimensions
    n_steps: int = steps(5_000)
    batch_size: int = count(1024)
    lr: float = positive(3e-3)
    weight_decay: float = nonnegative(0.0)
    n_eval: int = count(20_000)  # samples every circuit is scored on (numpy)
    n_background: int = count(256)  # backgrounds each truth table is averaged over
    n_frames: int = count(24)  # weight snapshots per instance, log-spaced
    seed: int = seed(0)

    def __post_init__(self) -> None:
        if np.isclose(self.density, self.density_high):
            raise ValueError("density and density_high must differ (one study holds both)")


QUICK = {"n_widths": 2, "min_width": 8, "n_steps": 2_000, "batch_size": 512, "n_frames": 12, "n_eval": 10_000}


def widths(cfg: Config) -> np.ndarray:
    if cfg.n_widths == 2:  # quick: the narrowest and a wide one, 4x apart
        return np.array([cfg.min_width, 4 * cfg.min_width])
    return cfg.min_width * 2 ** np.arange(cfg.n_widths)


def n_pairs(cfg: Config) -> int:
    return cfg.n_inputs * (cfg.n_inputs - 1) // 2  # the outputs: one AND per pair


def studies(cfg: Config) -> dict:
    from superpose.study import Study

    config = dict(n_features=cfg.n_inputs, n_hidden=int(cfg.min_width), n_steps=cfg.n_steps, log_every=10)
    config.update(batch_size=cfg.batch_size, snapshot_steps=snapshot_schedule(cfg.n_steps, cfg.n_frames, 10))
    kw = {"config": config, "root_seed": cfg.seed}
    hyper, w = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}, widths(cfg)
    main_axes = {"density": [cfg.density, cfg.density_high], "n_hidden": w, "seed": [0]}
    return {
        "main": Study(UniversalAND(), axes=main_axes, hyper=hyper, **kw),
        "superposed": Study(
            UniversalAND(embed_dim=cfg.embed_dim),
            axes={"n_hidden": w, "seed": [0]},
            hyper={**hyper, "feature_prob": cfg.density},
            **kw,
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
        part = {k: v for k, v in r.to_arrays().items() if not k.startswith("snapshot_")}
        part.update(padded(r, "params", ""))
        if name == "main":  # unprefixed, where `superpose animate` looks for snapshots
            arrays.update(padded(r, "snapshots", "snapshot_"), snapshot_steps=r.snapshot_steps)
        if "density" not in part:
            part["density"] = np.full(r.size, cfg.density)
        arrays.update({f"{name}_{k}": v for k, v in part.items()})
    return arrays


def trained(arrays: dict, study: str, i: int) -> dict:
    d = int(arrays[f"{study}_n_hidden"][i])
    p = {k: arrays[f"{study}_{k}"][i] for k in PARAMS}
    return {"W_in": p["W_in"][:d], "b_in": p["b_in"][:d], "W_out": p["W_out"][:, :d], "b_out": p["b_out"]}


def measure(cfg: Config, arrays: dict) -> dict:
    """{setting: {"trained": [scores per d], "construction": [...], "connect": [...]}} (scores: and_scores)
    for p = density, p = density_high and the inputs in superposition; deterministic in cfg.seed."""
    rng = np.random.default_rng(cfg.seed)
    out = {}
    for tag, study, p in (
        ("low", "main", cfg.density),
        ("high", "main", cfg.density_high),
        ("superposed", "superposed", cfg.density),
    ):
        emb = random_embedding(cfg.embed_dim, cfg.n_inputs, 0) if study == "superposed" else None
        bits, bg = (cc.sample_bits(rng, n, cfg.n_inputs, p) for n in (cfg.n_eval, cfg.n_background))
        rows = {"trained": [], "construction": [], "connect": []}
        for d in widths(cfg):
            (i,) = np.flatnonzero(
                np.isclose(arrays[f"{study}_density"], p) & (arrays[f"{study}_n_hidden"] == d)
            )
            made, c, _ = cc.best_construction(cfg.n_inputs, int(d), bits, rng, CONNECT, emb)
            rows["trained"].append(cc.and_scores(trained(arrays, study, i), bits, bg, p, emb))
            rows["construction"].append(cc.and_scores(made, bits, bg, p, emb))
            rows["connect"].append(c)
        out[tag] = rows
        out[f"{tag}_naive"] = cc.naive_and_mse(widths(cfg), cfg.n_inputs, p) / p**2
    return out


def column(rows: list, key: str, classes=None) -> np.ndarray:
    if classes:
        return np.array([sum(r["classes"][c] for c in classes) for r in rows])
    return np.array([r[key] for r in rows])


def analyze(cfg: Config, arrays: dict) -> dict:
    m = measure(cfg, arrays)
    w, low = widths(cfg), m["low"]
    tr, co, nv = column(low["trained"], "mse"), column(low["construction"], "mse"), m["low_naive"]
    sup = column(m["superposed"]["trained"], "mse")
    dense, and_like = column(low["trained"], "", DENSE), column(low["trained"], "", ("AND",))
    density, made_density = column(low["trained"], "density"), column(low["construction"], "density")
    below = w < n_pairs(cfg)
    per_width = [
        {
            "d": int(d),
            **{
                f"{tag} {kind}": {k: v for k, v in m[tag][kind][j].items()}
                for tag in ("low", "high", "superposed")
                for kind in ("trained", "construction")
            },
            "naive": float(nv[j]),
            "construction_connect": low["connect"][j],
        }
        for j, d in enumerate(w)
    ]
    fmt = lambda a: ", ".join(f"{x:.3f}" for x in a)  # noqa: E731
    p = cfg.density
    checks = [
        {
            "name": f"p={p}: trained beats the naive circuit at every d < m(m-1)/2",
            "passed": bool(np.all(tr[below] < nv[below])),
            "value": f"trained {fmt(tr)}; naive {fmt(nv)}",
            "expected": "trained < naive (MSE / MSE of predicting 0)",
        },
        {
            "name": f"p={p}: trained beats the hand-built construction at every d (Newgas)",
            "passed": bool(np.all(tr < co)),
            "value": f"trained {fmt(tr)}; construction {fmt(co)}",
            "expected": "trained < construction",
        },
        {
            "name": f"p={p}: the trained error falls as d grows",
            "passed": bool(np.all(np.diff(tr) < 0)),
            "value": fmt(tr),
            "expected": "strictly decreasing",
        },
        {
            "name": f"p={p}: trained neurons fall in Newgas's classes A/B/C (truth tables in context)",
            "passed": bool(dense.min() >= 0.8 and and_like.max() < 0.05),
            "value": f"A+B+C share {fmt(dense)}; AND-like share {fmt(and_like)}",
            "expected": "A+B+C >= 0.8 and AND-like < 0.05 at every d",
        },
        {
            "name": f"p={p}: the trained circuit is dense (neurons contribute to most outputs), the construction not",
            "passed": bool(density.min() >= 0.4 and np.all(density >= 3 * made_density)),
            "value": f"trained {fmt(density)}; construction {fmt(made_density)}",
            "expected": "trained >= 0.4 and >= 3x the construction's at every d (Newgas: 1, every neuron)",
        },
        {
            "name": "inputs in superposition: trained still beats the naive circuit at every d < m(m-1)/2",
            "passed": bool(np.all(sup[below] < nv[below])),
            "value": f"trained {fmt(sup)}; naive {fmt(nv)}",
            "expected": "trained < naive",
        },
    ]
    return {"experiment": "universal_and", "n_pairs": n_pairs(cfg), "per_width": per_width, "checks": checks}


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    m, w = measure(cfg, arrays), widths(cfg)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    titles = {
        "low": f"p = {cfg.density}",
        "high": f"p = {cfg.density_high}",
        "superposed": f"inputs in superposition ({cfg.embed_dim}-d), p = {cfg.density}",
    }
    for ax, (tag, title) in zip(axes, titles.items()):
        series = {k: column(m[tag][k], "mse") for k in ("trained", "construction")}
        plots.error_vs_width(ax, w, {**series, "naive": m[f"{tag}_naive"]}, n_pairs(cfg), title=title)
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
                        arrays["snapshot_W_in"][i, f, :d], arrays["snapshot_b_in"][i, f, :d], bg
                    )
                )
                for f in range(len(arrays["snapshot_steps"]))
            ]
        )
        paths.append(
            plots.and_class_animation(
                f"{out_dir}/universal_and_classes_p" + f"{p:g}".replace(".", "_"),
                frames,
                cc.CLASSES,
                arrays["snapshot_steps"],
                arrays["main_log_steps"],
                arrays["main_loss"][i],
                f"d = {d}, p = {p:g}",
                options,
            )
        )
    return paths


EXPERIMENT = Experiment(
    "universal_and", Config, train, analyze, plot, QUICK, description=__doc__, animate=animate
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
