"""Paper E11 (computation in superposition): an untied ReLU MLP computing the absolute value.

h = ReLU(W1 x), y' = ReLU(W2 h + b), target y = |x|, active inputs Uniform[-1, 1]. A hidden neuron is a ReLU
of a weighted sum, so it sees one sign of each feature: |x_i| = ReLU(x_i) + ReLU(-x_i) needs a positive-side
and a negative-side neuron.

Published: n=3, m=6 dense -> one positive- and one negative-side neuron per feature. n=100, m=40, I_i=0.8^i:
monosemantic neurons at densities 1 and 0.3, a few slightly polysemantic ones at 0.1, highly polysemantic
neurons for low-importance features from 0.03, more at 0.01 and 0.003, all highly polysemantic at 0.001; and
the "asymmetric superposition" motif. Neuron classes and the motif: superpose.analysis.motifs.

Training: the notebook's AdamW (lr 1e-3, weight decay 0.01), batch 1024, 10,000 steps, constant rate; each
density fitted from 3 seeds and the lowest final loss kept (measured on 32 batches: sparse losses are noisy).
At density 0.001 a feature is active in about 10,000 training examples over the run. AbsMLP starts its output layer alive (W2 = |Xavier-normal|, b = 0.1; superpose/models/mlp.py). Measured (n=100,
m=40, seed 0; losses as a fraction of predicting 0, p mean(I) / 3): with the plain init (W2 Xavier-normal, b = 0;
live_outputs=false) every density <= 0.1 stalls by step 500 near half that loss (0.46 at 0.1, 0.44 at 0.01;
0.42-0.50 after 20,000 steps at lr 3e-4..3e-3): an output ReLU pushed negative early goes dead for one sign.
The live init ends at 0.014-0.046 at every density. 20,000 steps instead of 10,000 changed sparse losses by at
most 0.002 of that baseline (0.03: 0.041 -> 0.024) and made sparse neurons somewhat cleaner, the trend
unchanged; 10,000 keeps the full run to about 4 CPU-minutes.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from superpose import Study
from superpose.analysis import motifs
from superpose.analysis.motifs import MONO_SHARE, classify_neurons, find_motifs, neuron_order, rescale
from superpose.analysis.stats import spearman
from superpose.config import geometric_importance, per_feature
from superpose.data import Independent
from superpose.lab import Experiment, Probes, check, main
from superpose.lab.fields import count, fraction, nonnegative, positive, probability, seed, steps
from superpose.models import AbsMLP
from superpose.plots import computation as plots

RISE_TOL = 0.05  # the polysemantic fraction may dip by at most 0.05 from one density to the next sparser one
HIGH_FRACTION = 0.9  # the sparsest density: at least 90% of alive neurons highly polysemantic
INTERMEDIATE = (0.01, 0.03)  # the paper's intermediate densities
SIGNIFICANCE = 0.05  # importance vs best share: one-sided Spearman p-value below this


@dataclasses.dataclass(frozen=True)
class Config:
    # The n=3, m=6 dense case, I = 1.
    small_features: int = count(3)
    small_hidden: int = count(6)
    small_seeds: int = count(4)  # best of 4
    # The density sweep.
    n_features: int = count(100)
    n_hidden: int = count(40)
    importance_ratio: float = positive(0.8)  # I_i = 0.8^i
    densities: tuple[float, ...] = probability((1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001))  # the paper's
    n_seeds: int = count(3)  # fits per density; the best kept (Study.best: on samples every fit shares)
    n_steps: int = steps(10_000)  # the notebook's (20,000 measured: same trend; module docstring)
    batch_size: int = count(1024)
    lr: float = positive(1e-3)
    eval_batches: int = count(32)  # best-of by loss on 32 x 1024 samples (8 hold ~800 active values at 0.001)
    live_outputs: bool = True  # AbsMLP's live output init (False: W2 Xavier-normal, b = 0, which stalls)
    output_bias: float = nonnegative(0.1)  # the live init's b
    # Densities >= 0.3: at least this share of the alive neurons monosemantic.
    mono_fraction: float = fraction(0.95)
    seed: int = seed(0)  # root seed


# CI scale: n=40, m=16 (the paper's ratio of features to neurons) at 3 densities spanning the same regimes
# (n p = 40, 1 and 0.1 active features per example, as n=100 at densities 1, 0.01 and 0.001), best of 2 for
# 3,000 steps. The checks on densities >= 0.3 read density 1 only, where after 3,000 steps a fading neuron
# (gain ~0.3, main share ~0.8) may remain: 90% of the alive neurons monosemantic, not 95%. Every other
# threshold as at full scale.
QUICK = {
    "small_seeds": 2,
    "n_features": 40,
    "n_hidden": 16,
    "densities": (1.0, 0.025, 0.0025),
    "n_seeds": 2,
    "n_steps": 3_000,
    "eval_batches": 16,
    "mono_fraction": 0.9,
}


def train(cfg: Config, ctx) -> dict:
    def study(name: str, n: int, m: int, axes: dict, **hyper):
        model = AbsMLP(cfg.output_bias, live_outputs=cfg.live_outputs)
        config = {"n_features": n, "n_hidden": m, "batch_size": cfg.batch_size, "n_steps": cfg.n_steps}
        sampler = Independent("signed_uniform")  # active inputs Uniform[-1, 1]
        hyper["lr"] = cfg.lr
        study = Study(
            model, axes, {**config, "eval_batches": cfg.eval_batches}, sampler, hyper, root_seed=cfg.seed
        )
        return ctx.study(name, study)

    small = study(
        "small", cfg.small_features, cfg.small_hidden, {"seed": np.arange(cfg.small_seeds)}, importance=1.0
    )
    importance = geometric_importance(cfg.n_features, cfg.importance_ratio)
    axes = {"density": np.asarray(cfg.densities, np.float32), "seed": np.arange(cfg.n_seeds)}
    result = study("sweep", cfg.n_features, cfg.n_hidden, axes, importance=per_feature(importance))
    best, small_best = result.best(), small.best()
    return {
        **{f"small_{k}": v for k, v in small_best.params.items()},  # small_W1 [m, n], small_W2, small_b
        "small_final_loss": small.final_loss,  # [seeds]
        **result.params,  # W1 [densities, seeds, m, n], W2 [densities, seeds, n, m], b: every fit (motifs)
        **{f"best_{k}": v for k, v in best.params.items()},  # best_W1 [densities, m, n], ...
        "best_final_loss": best.final_loss,  # [densities]
        "loss": result.loss,
        "log_steps": result.log_steps,
        "density": result.axes["density"],
        "importance": importance,
    }


# --- analysis -------------------------------------------------------------------------------------------


def motif_counts(arrays: dict) -> list[list[int]]:
    """[density][seed] the number of motifs (a, i, j) in each fit of the sweep."""
    return [[len(find_motifs(W1, W2)) for W1, W2 in zip(*fits)] for fits in zip(arrays["W1"], arrays["W2"])]


def showcase_motif(arrays: dict) -> tuple[int, motifs.Motif] | None:
    """(density index, motif) to draw: in the best-of-seeds models, the one whose asymmetric neuron carries
    the most of both features' readouts (largest min(g_i, g_j)); None if there is none."""
    found = [
        (j, mo) for j, W in enumerate(zip(arrays["best_W1"], arrays["best_W2"])) for mo in find_motifs(*W)
    ]
    return max(found, key=lambda t: (min(t[1].gains), -t[0])) if found else None


def _rounded(value):
    """A summary value: floats to 3 decimals (p-values to 2 significant digits), nan as None."""
    if isinstance(value, float):
        return None if np.isnan(value) else (float(f"{value:.2g}") if abs(value) < 1e-3 else round(value, 3))
    return value


def analyze(cfg: Config, arrays: dict) -> dict:
    W1s, W2s = arrays["small_W1"], arrays["small_W2"]
    side_counts, small = motifs.sides(W1s, W2s), classify_neurons(W1s, W2s)
    # Densities are stored as float32: compared as written (0.01 as float32 is just below 0.01).
    density = np.array([float(f"{d:.6g}") for d in arrays["density"]])
    importance = arrays["importance"]
    stats = [motifs.class_stats(W1, W2, importance) for W1, W2 in zip(arrays["best_W1"], arrays["best_W2"])]
    found = motif_counts(arrays)
    zero_loss = density * float(np.mean(importance)) / 3.0  # predicting 0: E[I x^2] = p mean(I) / 3
    per_density = [
        {
            "density": float(d),
            "loss_vs_predicting_zero": round(float(loss / zero), 4),
            **{k: _rounded(v) for k, v in s.items()},
            "motifs_per_seed": f,
        }
        for d, s, loss, zero, f in zip(density, stats, arrays["best_final_loss"], zero_loss, found)
    ]
    label = {float(d): f"{d:g}" for d in density}
    dense = [j for j, d in enumerate(density) if d >= 0.3]
    order = np.argsort(-density)
    poly = np.array([stats[j]["polysemantic_fraction"] for j in order])
    rho = spearman(density[order], poly)
    sparsest = int(np.argmin(density))
    middle = [j for j, d in enumerate(density) if INTERMEDIATE[0] <= d <= INTERMEDIATE[1]]
    sparse_counts = {label[d]: sum(f) for d, f in zip(density, found) if d <= 0.1}
    checks = [
        check(
            f"n={W1s.shape[1]}, m={W1s.shape[0]} dense: one positive- and one negative-side neuron per feature",
            np.all(side_counts == 1) and small["monosemantic"].sum() == W1s.shape[0],
            {
                "monosemantic neurons per feature [positive side, negative side]": side_counts.tolist(),
                "main shares": np.round(small["main_share"], 3).tolist(),
            },
            f"exactly [1, 1] for every feature, every neuron's main share >= {MONO_SHARE}",
        ),
        check(
            "densities >= 0.3: neurons monosemantic",
            dense and all(stats[j]["monosemantic_fraction"] >= cfg.mono_fraction for j in dense),
            {label[density[j]]: round(stats[j]["monosemantic_fraction"], 3) for j in dense},
            f"monosemantic fraction of alive neurons >= {cfg.mono_fraction} (main share >= {MONO_SHARE})",
        ),
        check(
            "the polysemantic fraction rises as density falls",
            np.all(np.diff(poly) >= -RISE_TOL) and rho < 0,
            {
                "polysemantic fraction": {label[density[j]]: round(float(p), 3) for j, p in zip(order, poly)},
                "spearman vs density": _rounded(rho),
            },
            f"no dip larger than {RISE_TOL} towards sparser densities, Spearman < 0",
        ),
        check(
            f"density {density[sparsest]:g}: nearly all neurons highly polysemantic",
            stats[sparsest]["highly_polysemantic_fraction"] >= HIGH_FRACTION,
            round(stats[sparsest]["highly_polysemantic_fraction"], 3),
            f">= {HIGH_FRACTION} of alive neurons with main share < {motifs.HIGH_SHARE}",
        ),
        check(
            "intermediate densities: the most important features keep the most monosemantic neurons",
            middle and all(stats[j]["importance_vs_best_share_p"] < SIGNIFICANCE for j in middle),
            {
                label[density[j]]: {
                    "spearman(importance, best share)": _rounded(
                        stats[j]["importance_vs_best_share_spearman"]
                    ),
                    "one-sided p": _rounded(stats[j]["importance_vs_best_share_p"]),
                    "features ranked": stats[j]["features_with_neurons"],
                    "leading features with a monosemantic neuron": stats[j]["leading_features_monosemantic"],
                }
                for j in middle
            },
            "at each density in [0.01, 0.03]: Spearman significantly > 0 (one-sided p < "
            f"{SIGNIFICANCE}) over the features that are some alive neuron's main feature (best share: the main "
            f"share of that feature's most monosemantic neuron); the leading count (features 0, 1, ... each with "
            f"a neuron of share >= {MONO_SHARE}) is reported",
        ),
        check(
            "asymmetric superposition motif found at some density <= 0.1",
            sum(sparse_counts.values()) > 0,
            sparse_counts,
            ">= 1 motif (a, i, j) summed over seeds (find_motifs)",
        ),
        check(
            "no asymmetric superposition motif at densities >= 0.3 (monosemantic neurons cannot host one)",
            dense and all(sum(found[j]) == 0 for j in dense),
            {label[density[j]]: sum(found[j]) for j in dense},
            "0 over every seed",
        ),
    ]
    shown = showcase_motif(arrays)
    return {
        "experiment": "abs_value",
        "small": {
            "final_loss_per_seed": [float(f"{x:.3g}") for x in arrays["small_final_loss"]],
            "sides": side_counts.tolist(),
        },
        "per_density": per_density,
        "showcase_motif": None
        if shown is None
        else {"density": float(density[shown[0]]), **dataclasses.asdict(shown[1])},
        "checks": checks,
    }


# --- figures --------------------------------------------------------------------------------------------


def displayed(W1: np.ndarray, W2: np.ndarray, importance: np.ndarray):
    """(neuron ids [m], W1 [m, n], W2 [n, m]) in display order (neuron_order), each neuron rescaled."""
    order = neuron_order(W1, W2, importance)
    return (order, *rescale(W1[order], W2[:, order]))


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    density, importance = np.asarray(arrays["density"]), np.asarray(arrays["importance"])
    stats = [motifs.class_stats(W1, W2, importance) for W1, W2 in zip(arrays["best_W1"], arrays["best_W2"])]
    kinds = ("monosemantic", "polysemantic", "highly_polysemantic")
    fractions = {k.replace("_", " "): np.array([s[f"{k}_fraction"] for s in stats]) for k in kinds}
    paths = [
        plots.neurons_figure(
            f"{out_dir}/abs_value.png",
            displayed(arrays["small_W1"], arrays["small_W2"], np.ones(arrays["small_W1"].shape[1])),
            density,
            fractions,
            np.array([np.mean(c) for c in motif_counts(arrays)]),
            [displayed(W1, W2, importance)[1] for W1, W2 in zip(arrays["best_W1"], arrays["best_W2"])],
            importance,
            arrays["best_W1"].shape[1],
        )
    ]
    if (shown := showcase_motif(arrays)) is None:
        return paths + [plots.motif_figure(f"{out_dir}/abs_value_motif.png", None, None, [], [], None)]
    (j, mo), b = shown, arrays["best_b"][shown[0]]
    c, inputs, outputs = motifs.motif_weights(arrays["best_W1"][j], arrays["best_W2"][j], mo)
    title = (
        f"Asymmetric superposition at 1-S = {density[j]:g}: input ratio {mo.input_ratio:.1f}, output ratio "
        f"{mo.output_ratio:.1f},\ngains ({mo.gains[0]:.2f}, {mo.gains[1]:.2f}), leak cancelled {mo.cancelled:.0%}; "
        f"b = ({b[mo.strong]:.2f}, {b[mo.weak]:.2f})"
    )
    return paths + [
        plots.motif_figure(
            f"{out_dir}/abs_value_motif.png",
            inputs,
            outputs,
            [f"h{mo.neuron} (asymmetric)", f"h{c} (inhibitor)"],
            [mo.strong, mo.weak],
            title,
        )
    ]


KEPT = dict(params=tuple((k, f"best_{k}") for k in ("W1", "W2", "b")), density="density", index=None)
PROBES = Probes(AbsMLP(), **KEPT, sampler=Independent("signed_uniform"), features=motifs.feature_sets)
EXPERIMENT = Experiment("abs_value", Config, train, analyze, plot, QUICK, description=__doc__, probes=PROBES)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
