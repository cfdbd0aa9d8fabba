"""Paper E6 (non-uniform superposition): perturb one feature of a regular pentagon.

Setting: n=5 features of equal importance in m=2 dimensions at density 0.05 form a regular pentagon. Feature 0's
density is varied over a log range (base density x 1/5 .. x5); the other four stay at the base density.
Published: a denser feature repels its neighbours (the angle gaps next to it grow), a sparser one lets them
crowd in, and at about 2.5x sparser the pentagon snaps to two digons with that feature dropped, a first-order
transition where the loss curves of the two geometries cross; represented features have ||W_i|| = 1/(1 - b_i).

Method: at each density some fits start from Xavier noise, some from a randomly rotated regular pentagon or
two digons with feature 0 at zero (superpose.warm), so both geometries exist as local minima on both sides of
the transition. Each fit is classified from its weights and its loss measured on one common sample per
density; per density we keep the best loss of each geometry and the geometry of the best fit overall.
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

from superpose import metrics, plots
from superpose.analysis import spearman
from superpose.config import TrainConfig, make_hyper
from superpose.data import Independent
from superpose.lab import Experiment, main
from superpose.lab.experiment import result_arrays
from superpose.lab.fields import between, count, positive, probability, seed, steps
from superpose.models import ReluOutput
from superpose.plots import geometry as geo_plots
from superpose.sweep import Grid
from superpose.warm import (
    WarmStartSweep,
    best_by_label,
    digons,
    dropped_feature_losses,
    loss_crossing,
    losses_on_sample,
    rotated_polygon,
)

PENTAGON, DIGONS, OTHER = "pentagon", "two digons", "other"
GEOMETRIES = (PENTAGON, DIGONS, OTHER)
MODEL = ReluOutput()


@dataclasses.dataclass(frozen=True)
class Config:
    n_features: int = count(5)
    n_hidden: int = count(2)
    base_density: float = probability(0.05)  # the paper's regular-pentagon density
    max_ratio: float = between(5.0, low=1)  # feature 0's density runs over base * [1/max_ratio, max_ratio]
    n_ratios: int = count(13)  # log-spaced densities of feature 0 (odd: the base density is one of them)
    n_random: int = count(4)  # fits per density from Xavier noise
    n_warm: int = count(2)  # fits per density from each warm start (pentagon, two digons)
    n_steps: int = steps(10_000)
    batch_size: int = count(1024)
    lr: float = positive(1e-3)
    eval_samples: int = count(1 << 17)  # common sample per density for the loss comparison
    seed: int = seed(0)  # root seed

    def __post_init__(self) -> None:
        if self.base_density * self.max_ratio > 1:
            raise ValueError("base_density x max_ratio (feature 0's highest density) must be <= 1")


QUICK = {"n_ratios": 5, "n_random": 2, "n_warm": 1, "n_steps": 3_000, "eval_samples": 1 << 15}


def ratios(cfg: Config) -> np.ndarray:
    """[n_ratios] feature 0's density divided by the base density, log-spaced and symmetric around 1."""
    return np.exp(np.linspace(-np.log(cfg.max_ratio), np.log(cfg.max_ratio), cfg.n_ratios)).astype(np.float32)


def start_kinds(cfg: Config) -> list[str]:
    """The start of each fit at one density: n_random random, then n_warm of each warm geometry."""
    return ["random"] * cfg.n_random + [PENTAGON] * cfg.n_warm + [DIGONS] * cfg.n_warm


START_W = {PENTAGON: rotated_polygon, DIGONS: digons}  # a random rotation of each, from superpose.warm


def classify(W: np.ndarray, b: np.ndarray | None = None) -> str:
    """Geometry of one fit W [2, 5]: 'pentagon' (all five represented, every angle gap > 30 deg),
    'two digons' (feature 0 not represented, features 1-4 as two antipodal pairs, cos < -0.9), or 'other'."""
    rep = metrics.represented(W)
    if rep.all():
        _, gaps = metrics.angles_2d(W)
        return PENTAGON if gaps.min() > 30.0 else OTHER
    pairs = metrics.antipodal_pairs(W)
    if not rep[0] and rep[1:].all() and len(pairs) == 2 and {i for p in pairs for i in p} == {1, 2, 3, 4}:
        return DIGONS
    return OTHER


def train(cfg: Config, ctx) -> dict:
    kinds = start_kinds(cfg)
    grid = Grid(ratio=ratios(cfg), start=np.arange(len(kinds)))
    coords, n = grid.coords, cfg.n_features
    feature_prob = np.full((grid.size, n), cfg.base_density, np.float32)
    feature_prob[:, 0] = cfg.base_density * coords["ratio"]
    hyper = make_hyper(grid.size, n, feature_prob=feature_prob, importance=1.0, lr=cfg.lr)  # [N, n] as given
    rng = np.random.default_rng(cfg.seed)
    W0 = np.full((grid.size, cfg.n_hidden, n), np.nan, np.float32)
    for i, s in enumerate(coords["start"]):
        if kinds[s] in START_W:
            W0[i] = START_W[kinds[s]](n, rng)
        else:  # draw the angle a warm start would use, as before the library version, so seeds keep their runs
            rng.uniform(0, 2 * np.pi)
    train_cfg = TrainConfig(n, cfg.n_hidden, batch_size=cfg.batch_size, n_steps=cfg.n_steps)
    sweep = WarmStartSweep(MODEL, Independent(), train_cfg, hyper, np.arange(grid.size), cfg.seed, W0=W0)
    result = ctx.sweep("main", sweep)
    W, b = result.params["W"], result.params["b"]
    eval_loss = np.zeros(grid.size)
    for r in range(len(grid.axes["ratio"])):
        members = [grid.index(ratio=r, start=s) for s in range(len(kinds))]
        p, seed = feature_prob[members[0]], cfg.seed + 1000 + r
        eval_loss[members] = losses_on_sample(MODEL, W[members], b[members], p, cfg.eval_samples, seed)
    out = {**result_arrays(result), "ratio": coords["ratio"], "start": coords["start"]}
    dropped = dropped_loss(cfg, W, b, feature_prob, grid)
    return out | {"eval_loss": eval_loss, "dropped_loss": dropped, "feature_prob": feature_prob}


def dropped_loss(
    cfg: Config, W: np.ndarray, b: np.ndarray, feature_prob: np.ndarray, grid: Grid
) -> np.ndarray:
    """[n_ratios] loss of the 'two digons, feature 0 dropped' geometry at every varied density: the best of
    every trained two-digon fit (from any density) with feature 0 dropped (superpose.warm), so also where
    training would not stay in that geometry."""
    digon_fits = [i for i in range(len(W)) if classify(W[i]) == DIGONS]
    r = np.arange(len(grid.axes["ratio"]))
    p = feature_prob[[grid.index(ratio=k, start=0) for k in r]]
    return dropped_feature_losses(
        MODEL, W[digon_fits], b[digon_fits], p, cfg.eval_samples, cfg.seed + 1000 + r
    )


# --- analysis ------------------------------------------------------------------------------------------


def per_ratio(arrays: dict) -> dict:
    """Per varied density ("group"): the best loss of each geometry ("best_loss", "best_index_of") and the
    best fit ("best_index", "best_geometry"); "geometry" of every fit."""
    geoms = np.array([classify(W) for W in arrays["W"]])
    best = best_by_label(arrays["ratio"], geoms, arrays["eval_loss"], GEOMETRIES)
    return {**best, "geometry": geoms, "best_geometry": geoms[best["best_index"]]}


def adjacent_gaps(W: np.ndarray, feature: int = 0) -> float:
    """Mean of the two angle gaps (deg) on either side of `feature` in a 2-D fit with it represented."""
    idx, gaps = metrics.angles_2d(W)
    k = int(np.flatnonzero(idx == feature)[0])
    return float((gaps[k] + gaps[k - 1]) / 2)  # gaps[k]: after it, gaps[k-1]: before it


def pentagon_norms(arrays: dict, pr: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(||W_i||, b_i, is feature 0) over the represented features of the best pentagon fit of every ratio."""
    out, W = [], arrays["W"]
    for i in pr["best_index_of"][PENTAGON][pr["best_index_of"][PENTAGON] >= 0]:
        rep = metrics.represented(W[i])
        out.append((metrics.feature_norms(W[i])[rep], arrays["b"][i][rep], np.flatnonzero(rep) == 0))
    return tuple(np.concatenate(x) for x in zip(*out)) if out else (np.full(3, np.nan),) * 3  # none: NaNs


def _check(name: str, passed, value: str, expected: str) -> dict:
    return {"name": name, "passed": bool(passed), "value": value, "expected": expected}


def analyze(cfg: Config, arrays: dict) -> dict:
    pr = per_ratio(arrays)
    ratio, bl, best_geo = pr["group"], pr["best_loss"], pr["best_geometry"]
    crossing = loss_crossing(ratio, bl[PENTAGON], arrays["dropped_loss"])
    crossing_trained = loss_crossing(ratio, bl[PENTAGON], bl[DIGONS])
    # Snap: the best fit overall is a pentagon down to some ratio and two digons below it.
    pent, dig = np.flatnonzero(best_geo == PENTAGON), np.flatnonzero(best_geo == DIGONS)
    once = pent.size and dig.size and dig.max() < pent.min()
    snap = float(np.sqrt(ratio[dig.max()] * ratio[pent.min()])) if once else float("nan")
    # Repulsion: gaps next to feature 0 in the best pentagon fit at every ratio where one exists.
    best_pent = pr["best_index_of"][PENTAGON]
    gap0 = np.array([adjacent_gaps(arrays["W"][i]) for i in best_pent[best_pent >= 0]])
    r_pent = ratio[best_pent >= 0]
    rank_corr = spearman(np.log(r_pent), gap0) if len(gap0) > 2 else float("nan")
    denser, sparser = r_pent > 1.01, r_pent < 0.99
    # ||W_i|| against the bias: the paper's form 1/(1 - b_i), and ||W_i||^2 = 1 - b_i (a lone feature at
    # x_i = 1 is reproduced exactly).
    norms, bias, _ = pentagon_norms(arrays, pr)
    paper_form = 1.0 / (1.0 - bias)
    paper_err = np.abs(norms - paper_form) / paper_form
    paper_corr = float(np.corrcoef(norms, paper_form)[0, 1])
    sq_err = np.abs(norms**2 - (1.0 - bias)) / (1.0 - bias)
    sq_corr = float(np.corrcoef(norms**2, 1.0 - bias)[0, 1])
    per_density = [
        {
            "ratio": float(r),
            "density_feature0": float(r * cfg.base_density),
            "best_geometry": str(best_geo[k]),
            "best_loss": {g: (None if np.isnan(bl[g][k]) else float(bl[g][k])) for g in GEOMETRIES},
            "two_digons_constructed_loss": float(arrays["dropped_loss"][k]),
            "geometries_found": {g: int(np.sum(found == g)) for g in GEOMETRIES},
        }
        for k, (r, found) in enumerate((r, pr["geometry"][arrays["ratio"] == r]) for r in ratio)
    ]
    checks = [
        _check(
            "loss curves of pentagon and two digons cross when feature 0 is sparser",
            np.isfinite(crossing) and 1.5 <= 1 / crossing <= 5.0,
            f"cross at {1 / crossing:.2f}x sparser (density ratio {crossing:.3f}); from the trained "
            f"two-digon fits alone: {1 / crossing_trained:.2f}x",
            "paper: about 2.5x sparser; accepted: a crossing between 1.5x and 5x sparser",
        ),
        _check(
            "best fit snaps from pentagon to two digons (feature 0 dropped) once, near the crossing",
            np.isfinite(snap) and np.isfinite(crossing) and abs(np.log(snap / crossing)) < 0.5,
            f"snap at {1 / snap:.2f}x sparser; best geometry by ratio "
            + ", ".join(f"{r:.2g}:{g}" for r, g in zip(ratio, best_geo)),
            "one snap, within a factor e^0.5 of the loss crossing",
        ),
        _check(
            "denser feature 0 repels the others (angle gaps next to it grow with its density)",
            rank_corr > 0.8 and gap0[denser].min(initial=np.inf) > 72 and gap0[sparser].max(initial=0) < 72,
            f"Spearman(log ratio, mean adjacent gap) = {rank_corr:.2f}; adjacent gap "
            f"{gap0[0]:.1f} deg at ratio {r_pent[0]:.2g} -> {gap0[-1]:.1f} deg at ratio {r_pent[-1]:.2g}"
            if gap0.size
            else "no pentagon fit",
            "rank correlation > 0.8, gap > 72 deg when denser, < 72 deg when sparser",
        ),
        _check(
            "norm against bias: ||W_i||^2 = 1 - b_i over represented features of the best pentagon fits",
            sq_corr > 0.8 and np.median(sq_err) < 0.03,
            f"||W_i||^2 vs 1 - b_i: correlation {sq_corr:.3f}, relative error median {np.median(sq_err):.3f}, "
            f"max {sq_err.max():.3f} (the densest feature 0) over {sq_err.size} features; the paper's form "
            f"||W_i|| vs 1/(1 - b_i): correlation {paper_corr:.3f}, max relative error {paper_err.max():.3f}",
            "paper: ||W_i|| = 1/(1 - b_i); ours: correlation > 0.8, median relative error < 0.03 "
            "for ||W_i||^2 = 1 - b_i (b_i < 0 gives ||W_i|| > 1, so 1/(1 - b_i) < 1 cannot match)",
        ),
    ]
    return {
        "experiment": "nonuniform",
        "loss_crossing_ratio": crossing,
        "loss_crossing_ratio_trained_fits": crossing_trained,
        "snap_ratio": snap,
        "norm_vs_bias": {"paper_form_corr": paper_corr, "paper_form_max_rel_err": float(paper_err.max())}
        | {"squared_form_corr": sq_corr, "squared_form_max_rel_err": float(sq_err.max())},
        "adjacent_gap_deg": dict(zip(map(float, r_pent), map(float, gap0))),
        "per_density": per_density,
        "checks": checks,
    }


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    pr = per_ratio(arrays)
    ratio, bl, dropped = pr["group"], pr["best_loss"], arrays["dropped_loss"]
    show = np.unique(np.linspace(0, len(ratio) - 1, min(len(ratio), 7)).round().astype(int))
    fig = plt.figure(figsize=(1.45 * max(len(show), 6), 4.2))
    gs = fig.add_gridspec(2, len(show) * 2, height_ratios=[1, 1.25], hspace=0.35, top=0.8)
    bottom = gs[1, :].subgridspec(1, 3, wspace=0.35)  # room for each panel's y label
    for j, k in enumerate(show):
        ax = fig.add_subplot(gs[0, 2 * j : 2 * j + 2])
        title = f"p0/p = {ratio[k]:.2g}\n{pr['best_geometry'][k]}"
        geo_plots.features_2d_highlight(ax, arrays["W"][pr["best_index"][k]], 0, title=title)
    crossing = loss_crossing(ratio, bl[PENTAGON], dropped)
    xlabel = "feature 0 density / base density"
    ax = fig.add_subplot(bottom[0])
    curves = {"pentagon (trained)": bl[PENTAGON], "two digons (trained)": bl[DIGONS]}
    geo_plots.loss_by_geometry(ax, ratio, curves, xlabel, crossing)
    ax.plot(ratio, dropped, color="tab:orange", ls="--", lw=1, label="two digons (any density)")
    ax.legend(fontsize=7, frameon=False)
    ax.set(yscale="log", title="best loss of each geometry", ylabel="loss")
    ax = fig.add_subplot(bottom[1])
    ax.plot(ratio, 100 * (dropped / bl[PENTAGON] - 1), "o-", ms=3, color="k")
    ax.axhline(0, color="0.6", lw=1)
    if np.isfinite(crossing):
        ax.axvline(crossing, color="0.5", ls=":", lw=1)
        ax.text(crossing, ax.get_ylim()[1], f" {1 / crossing:.2f}x sparser", fontsize=7, va="top")
    ax.set(xscale="log", xlabel=xlabel, ylabel="loss gap [%]", title="L(two digons) / L(pentagon) - 1")
    for ax in fig.axes[-2:]:
        ax.set_xticks([0.2, 0.5, 1, 2, 5], ["0.2", "0.5", "1", "2", "5"])
        ax.minorticks_off()
    ax = fig.add_subplot(bottom[2])
    norms, bias, first = pentagon_norms(arrays, pr)
    ax.scatter(1 - bias, norms**2, s=np.where(first, 10, 8), c=np.where(first, "tab:red", "0.35"))
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], color="0.6", ls=":", lw=1)
    ax.set(xlabel="1 - b_i", ylabel="||W_i||^2", title="best pentagon fits (red: feature 0); dotted: y = x")
    for ax in fig.axes[-3:]:
        plt.setp([ax.title, ax.xaxis.label, ax.yaxis.label], fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        f"E6: one feature's density varied around a pentagon (n=5, m=2, base density {cfg.base_density});\n"
        f"best of {len(start_kinds(cfg))} fits per density (random and warm starts)",
        fontsize=9,
    )
    return [plots.save(fig, f"{out_dir}/nonuniform.png")]


EXPERIMENT = Experiment("nonuniform", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
