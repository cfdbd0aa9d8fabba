"""Paper E1 (the intro figure): five features of importance 0.9^i squeezed into two dimensions.

Published: dense (S=0) -> the top 2 features orthogonal, the rest dropped; S=0.8 -> four features as two
antipodal pairs; S=0.9 -> all five as a pentagon. Several seeds per density, the lowest loss kept: 2-D fits
often stall in local minima (the paper does the same). Every instance keeps about n_frames weight snapshots,
log-spaced over training: `superpose animate` shows density 1, two antipodal pairs and the pentagon forming.
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

from superpose import metrics, plots
from superpose.config import geometric_importance, snapshot_schedule
from superpose.lab import Experiment, main
from superpose.lab.fields import count, positive, seed, steps
from superpose.models import ReluOutput
from superpose.study import Study, density_study


@dataclasses.dataclass(frozen=True)
class Config:
    n_features: int = count(5)
    n_hidden: int = count(2)
    importance_ratio: float = positive(0.9)  # I_i = 0.9^i, as in the paper
    n_densities: int = count(10)  # density 20^-linspace(0, 1, n): from 1 down to 0.05
    n_seeds: int = count(6)  # fits per density; the lowest final loss is kept
    n_steps: int = steps(10_000)
    batch_size: int = count(1024)
    lr: float = positive(1e-3)
    n_frames: int = count(100, minimum=0)  # weight snapshots per instance, log-spaced (0: none)
    frame_every: int = count(10)  # snapshots fall on multiples of this many steps (the loss-log window)
    seed: int = seed(0)  # root seed


QUICK = {"n_densities": 3, "n_seeds": 4, "n_steps": 4_000}


def densities(cfg: Config) -> np.ndarray:
    return 20.0 ** -np.linspace(0, 1, cfg.n_densities)


def study(cfg: Config) -> Study:
    """The grid: densities x seeds (the fits best() chooses among), one compiled sweep."""
    frames = snapshot_schedule(cfg.n_steps, cfg.n_frames, cfg.frame_every) if cfg.n_frames else ()
    importance = geometric_importance(cfg.n_features, cfg.importance_ratio)
    return density_study(
        ReluOutput(),
        densities(cfg),
        cfg.n_seeds,
        cfg,
        importance,
        log_every=cfg.frame_every,
        snapshot_steps=frames,
    )


def train(cfg: Config, ctx) -> dict:
    every = ctx.study("main", study(cfg))
    best = every.best()
    arrays = every.to_arrays()  # density, seed, W, b, loss, final_loss, log_steps, snapshot_* per instance
    arrays.update(
        importance=np.tile(geometric_importance(cfg.n_features, cfg.importance_ratio), (every.size, 1)),
        best_W=best.params["W"],
        best_b=best.params["b"],
        best_index=np.ravel_multi_index((np.arange(best.size), best.kept["seed"]), every.shape),
        best_density=densities(cfg),
    )
    return arrays


def analyze(cfg: Config, arrays: dict) -> dict:
    Ws, dens = arrays["best_W"], arrays["best_density"]
    per_density = []
    for W, d in zip(Ws, dens):
        idx, gaps = metrics.angles_2d(W)
        per_density.append(
            {
                "density": float(d),
                "norms": metrics.feature_norms(W).round(3).tolist(),
                "represented": idx.tolist(),
                "angle_gaps_deg": gaps.round(1).tolist(),
            }
        )
    dense, sparse = Ws[0], Ws[-1]
    rep = metrics.represented(dense)
    cos = metrics.cosines(dense)[np.ix_(rep, rep)]
    off = float(np.abs(cos[~np.eye(rep.sum(), dtype=bool)]).max()) if rep.sum() > 1 else float("nan")
    _, gaps = metrics.angles_2d(sparse)
    pentagon = metrics.is_regular_polygon(sparse, 5, tol_deg=5.0)
    checks = [
        {
            "name": f"density {dens[0]:.3g}: two features represented and orthogonal",
            "passed": bool(rep.sum() == 2 and off < 0.1),
            "value": f"{int(rep.sum())} represented (features {np.flatnonzero(rep).tolist()}), max |cos| {off:.3f}",
            "expected": "2 represented, |cos| < 0.1",
        },
        {
            "name": f"density {dens[-1]:.3g}: all five features as a regular pentagon",
            "passed": bool(pentagon),
            "value": f"{len(gaps)} represented, angle gaps {np.round(gaps, 1).tolist()} deg",
            "expected": "5 represented, every gap 72 +- 5 deg",
        },
    ]
    return {"experiment": "intro", "per_density": per_density, "checks": checks}


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    Ws, dens = arrays["best_W"], arrays["best_density"]
    imp = arrays["importance"][0]
    k = len(dens)
    fig, axes = plt.subplots(2, k, figsize=(1.6 * k, 3.4), squeeze=False)
    for j in range(k):
        plots.features_2d(axes[0, j], Ws[j], imp, title=f"1-S = {dens[j]:.3g}")
        plots.gram_heatmap(axes[1, j], Ws[j])
    axes[0, 0].set_ylabel("W columns")
    axes[1, 0].set_ylabel("$W^TW$")
    sep = "\n" if k < 3 else " "  # two panels are narrower than the title
    fig.suptitle(
        f"5 features in 2 dimensions{sep}(I = {cfg.importance_ratio}^i; best of {cfg.n_seeds} seeds)",
        fontsize=10,
    )
    fig.tight_layout()
    return [plots.save(fig, f"{out_dir}/intro.png")]


def forming_instances(arrays: dict) -> list[tuple[int, str]]:
    """(instance, label) of the three fits the animation shows: density 1, an intermediate density whose
    fit holds two antipodal pairs (else the one nearest 1-S = 0.2, the paper's S = 0.8) and the sparsest."""
    dens, best = arrays["best_density"], arrays["best_index"]
    middle = [j for j in range(1, len(dens) - 1) if len(metrics.antipodal_pairs(arrays["best_W"][j])) == 2]
    if middle:
        mid = min(middle, key=lambda j: abs(np.log(dens[j] / 0.2)))
    else:
        mid = int(np.argmin(np.abs(np.log(dens / 0.2)))) if len(dens) > 2 else len(dens) - 1
    picks = sorted({0, mid, len(dens) - 1})
    return [(int(best[j]), f"1-S = {dens[j]:.2g}") for j in picks]


def animate(cfg: Config, arrays: dict, out_dir, options) -> list:
    """Density 1, two antipodal pairs and the pentagon forming side by side, from the stored snapshots."""
    from superpose.plots.animation import Panel, geometry_animation

    panels = [
        Panel(
            arrays["snapshot_W"][i], title=label, importance=arrays["importance"][i], loss=arrays["loss"][i]
        )
        for i, label in forming_instances(arrays)
    ]
    path = geometry_animation(
        f"{out_dir}/intro_forming",
        panels,
        arrays["snapshot_steps"],
        arrays["log_steps"],
        title="5 features in 2 dimensions",
        **options.render,
    )
    return [path]


EXPERIMENT = Experiment(
    "intro", Config, train, analyze, plot, QUICK, description=__doc__, animate=animate, probes=ReluOutput()
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
