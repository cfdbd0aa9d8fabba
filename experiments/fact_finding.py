"""Fact Finding's tests on our fact MLP (issue 20 section 3; Nanda, Rajamanoharan, Kramar and Shah 2023).

Their analysis of two-token athlete names in Pythia-2.8B (paper.md): single-step detokenization, neurons that
each AND the two raw tokens, is falsified; only a minority (median ~23%) of the AND-like non-linearity comes
from individual neurons; trained MLPs break linear structure markedly more than shuffled weights (60-70% of
the variance against 20-40%). Here the same measurements on the fact-lookup MLP of experiments/facts.py (keys
e_first + e_last, h = ReLU(W_in x + b), logits e_a . W_out h; superpose/models/facts.py), trained on one table
of facts at several widths m, from one neuron per fact down to well below it:

- the non-linear excess of each fact (A, B) -> y on its true logit, E(A and B) - E(not-A and B) - E(A and
  not-B) + E(not-A and not-B), each "not" averaged over the other names (analysis.facts.nonlinear_excess);
  in a one-layer MLP it is exactly the sum of the neurons' parts, so "the share carried by individual
  neurons" is read as the largest single neuron's share of each fact's positive parts (1: an AND neuron);
- how far the outputs over all name pairs are from additive, out = mu + alpha_a + beta_b (the variance share
  the best such fit leaves), trained against the same weights shuffled (analysis.facts.additive_break);
- the hand-built AND model (one neuron per fact) beside them, the AND-neuron picture the claim rejects.

Checked: the trained models store their facts, and no single neuron carries most of a fact's excess (the
median fact's largest neuron under half; measured 0.04 / 0.12 / 0.24 / 0.40 at m = 256 / 64 / 24 / 12,
rising as neurons get scarce; the hand-built model 0.88 with random tokens, 1 with orthonormal ones).
Reported, not checked: the excess itself, and the additive break, trained against shuffled: 0.7x at m = 256
up to 1.2-1.5x at 24 and 12 (d = 32; about 2x at d = m = 24 on the facts run's models), against Fact
Finding's ~2-3x: our one-layer MLP over random embeddings departs from additive structure far less than
Pythia's MLP layers do.
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

from superpose import facts
from superpose.analysis import facts as fa
from superpose.config import snapshot_schedule
from superpose.lab import Experiment, main
from superpose.lab.fields import count, fraction, positive, seed, steps
from superpose.models import facts as fm
from superpose.plots import save

PUBLISHED = {"top_neuron_share": 0.23, "trained_break": (0.6, 0.7), "shuffled_break": (0.2, 0.4)}
MINORITY = 0.5  # "no AND neurons": the median fact's largest neuron carries under half of its excess


@dataclasses.dataclass(frozen=True)
class Config:
    dim: int = count(32)  # d, as the facts experiment's AND-ness widths
    n_facts: int = count(256)
    n_attributes: int = count(32)
    facts_per_name: int = count(4, minimum=3)
    widths: tuple[int, ...] = count((256, 64, 24, 12))  # one neuron per fact ... at capacity (m d = 1.5 N)
    n_seeds: int = count(2)  # tables, embeddings and inits
    n_steps: int = steps(4_000)
    lr: float = positive(1e-2)  # as experiments/facts.py
    threshold: float = fraction(0.99)  # a width is read where its models store its facts at this accuracy
    n_frames: int = count(40, minimum=0)  # weight snapshots of the narrowest width's models (0: none)
    frame_every: int = count(10)  # snapshots fall on multiples of this many steps (the loss-log window)
    seed: int = seed(0)


QUICK = {"widths": (64, 12), "n_steps": 2_000}  # the full run's one-neuron-per-fact width is its slowest


def tables(cfg: Config) -> list[dict]:
    rngs = [np.random.default_rng([cfg.seed, 300, cfg.dim, s]) for s in range(cfg.n_seeds)]
    return [fm.fact_table(r, cfg.n_facts, cfg.dim, cfg.n_attributes, cfg.facts_per_name) for r in rngs]


def train(cfg: Config, ctx) -> dict:
    # ctx.sweep through facts.table_sweep (each instance carries its own table in hyper.extra), one per width.
    options = {"lr": cfg.lr, "n_steps": cfg.n_steps, "root_seed": cfg.seed}
    seeds, arrays = np.arange(cfg.n_seeds), {}
    for m in cfg.widths:
        if m == cfg.widths[-1] and cfg.n_frames:  # snapshots for `superpose animate` (stored unprefixed)
            frames = snapshot_schedule(cfg.n_steps, cfg.n_frames, cfg.frame_every)
            options.update(snapshot_steps=frames, log_every=cfg.frame_every)
        arrays.update(
            facts.table_sweep(ctx.sweep, f"m{m}", fm.FactMLP(), tables(cfg), seeds, cfg.dim, m, **options)
        )
    return arrays


def measures(params: dict, table: dict, rng: np.random.Generator) -> dict:
    excess, parts = fa.nonlinear_excess(params, table)
    return {
        "accuracy": fa.accuracy(params, table),
        "excess_median": float(np.median(excess)),
        "positive_excess": float(np.mean(excess > 0)),
        "top_neuron_share": fa.top_neuron_share(parts),
        "break": fa.additive_break(params, table),
        "break_shuffled": fa.additive_break(fa.shuffled(params, rng), table),
    }


def per_width(cfg: Config, arrays: dict) -> list[dict]:
    rows, rng = [], np.random.default_rng([cfg.seed, 301])
    for m in cfg.widths:
        got = [measures(*facts.instance(arrays, f"m{m}", s), rng) for s in range(cfg.n_seeds)]
        row = {"m": m, "facts_per_neuron": cfg.n_facts / m}
        for key in ("accuracy", "excess_median", "positive_excess", "break", "break_shuffled"):
            row[key] = [round(g[key], 4) for g in got]
        row["top_neuron_share_median"] = [round(float(np.nanmedian(g["top_neuron_share"])), 4) for g in got]
        rows.append({**row, "stored": all(a >= cfg.threshold for a in row["accuracy"])})
    return rows


def handbuilt(cfg: Config) -> dict:
    """The hand-built AND model on the first table (random tokens in d dimensions)."""
    table = tables(cfg)[0]
    return measures(fa.and_model(table), table, np.random.default_rng([cfg.seed, 302]))


def analyze(cfg: Config, arrays: dict) -> dict:
    rows, hand = per_width(cfg, arrays), handbuilt(cfg)
    stored = [r for r in rows if r["stored"]]
    share = {r["m"]: max(r["top_neuron_share_median"]) for r in stored}
    # Reported beside Fact Finding's numbers, not checked: how far trained outputs are from additive, against
    # shuffled weights (measured 0.7-1.5x here at d = 32, about 2x near capacity at d = m = 24; theirs ~2-3x).
    ratio = {r["m"]: [round(t / s, 2) for t, s in zip(r["break"], r["break_shuffled"])] for r in rows}
    hand_share = float(np.nanmedian(hand["top_neuron_share"]))
    checks = [
        {
            "name": "the trained MLPs store their facts at some width",
            "passed": bool(stored),
            "value": {r["m"]: r["accuracy"] for r in rows},
            "expected": f"top-1 accuracy >= {cfg.threshold} for every seed at one width at least",
        },
        {
            "name": "trained MLPs do not build AND neurons: no single neuron carries most of a fact's excess",
            "passed": bool(stored) and all(v < MINORITY for v in share.values()),
            "value": {
                "median largest-neuron share per width": share,
                "hand-built AND model": round(hand_share, 3),
            },
            "expected": f"< {MINORITY} at every stored width (Fact Finding: median ~{PUBLISHED['top_neuron_share']:.0%}"
            " directly from individual neurons; the hand-built AND model: 1)",
        },
    ]
    hand_out = {
        k: round(float(np.nanmedian(v)) if k == "top_neuron_share" else v, 4) for k, v in hand.items()
    }
    return {
        "experiment": "fact_finding",
        "widths": rows,
        "break_trained_over_shuffled": ratio,
        "handbuilt": hand_out,
        "published": PUBLISHED,
        "checks": checks,
    }


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    rows, hand = per_width(cfg, arrays), handbuilt(cfg)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    x = np.array([r["facts_per_neuron"] for r in rows])
    for key, label, color in (("top_neuron_share_median", "largest neuron's share of the excess", "C0"),):
        axes[0].plot(x, [np.mean(r[key]) for r in rows], "o-", color=color, label=label)
    axes[0].axhline(
        float(np.nanmedian(hand["top_neuron_share"])), color="k", ls=":", label="hand-built AND model"
    )
    axes[0].axhline(PUBLISHED["top_neuron_share"], color="C3", ls="--", label="Fact Finding (median, Pythia)")
    axes[0].set(xscale="log", xlabel="facts per neuron (N / m)", ylabel="share", ylim=(0, 1.05))
    axes[0].set_title("does one neuron carry a fact's AND? (median over facts)", fontsize=9)
    for key, label, color in (("break", "trained", "C0"), ("break_shuffled", "shuffled weights", "0.5")):
        axes[1].plot(x, [np.mean(r[key]) for r in rows], "o-", color=color, label=label)
    axes[1].axhspan(*PUBLISHED["trained_break"], color="C0", alpha=0.15, label="Fact Finding: trained")
    axes[1].axhspan(*PUBLISHED["shuffled_break"], color="0.5", alpha=0.15, label="Fact Finding: shuffled")
    axes[1].set(
        xscale="log", xlabel="facts per neuron (N / m)", ylabel="non-additive share of variance", ylim=(0, 1)
    )
    axes[1].set_title("outputs over all name pairs: how far from additive", fontsize=9)
    for ax in axes:
        ax.legend(fontsize=6, frameon=False)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"Fact Finding's tests on the fact MLP: {cfg.n_facts} facts in d={cfg.dim}", fontsize=10)
    fig.tight_layout()
    return [save(fig, f"{out_dir}/fact_finding.png")]


def animate(cfg: Config, arrays: dict, out_dir, options) -> list:
    """The narrowest width's first model while it learns its facts: how much of each fact's non-linear
    excess its largest neuron carries (an AND neuron would carry most of it)."""
    from superpose.plots.compute import and_share_animation

    m, i = cfg.widths[-1], 0
    _, table = facts.instance(arrays, f"m{m}", i)
    names = ("W_in", "b", "W_out")
    shares = [
        fa.top_neuron_share(fa.nonlinear_excess({k: arrays[f"snapshot_{k}"][i, f] for k in names}, table)[1])
        for f in range(arrays["snapshot_steps"].size)
    ]
    path = and_share_animation(
        f"{out_dir}/fact_finding_forming",
        np.asarray(shares),
        arrays["snapshot_steps"],
        arrays[f"m{m}_log_steps"],
        arrays[f"m{m}_loss"][i],
        f"m = {m}, {cfg.n_facts} facts",
        MINORITY,
        options,
    )
    return [path]


EXPERIMENT = Experiment(
    "fact_finding", Config, train, analyze, plot, QUICK, description=__doc__, animate=animate
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
