"""Paper E6 (non-uniform superposition): perturb one feature of a regular pentagon.

Setting: n=5 features of equal importance in m=2 dimensions at density 0.05 form a regular pentagon. Feature 0's
density is varied over a log range (base density x 1/5 .. x5); the other four stay at the base density.
Published: a denser feature repels its neighbours (the angle gaps next to it grow), a sparser one lets them
crowd in, and at about 2.5x sparser the pentagon snaps to two digons with that feature dropped, a first-order
transition where the loss curves of the two geometries cross; represented features have ||W_i|| = 1/(1 - b_i).

Method: at each density several fits start from Xavier noise, and some start from a (randomly rotated) regular
pentagon or from two digons with feature 0 at zero, so both geometries are present on both sides of the
transition as local minima. Every final fit is classified from its weights, its loss is measured on one large
common sample per density (so losses of different fits compare without sampling noise), and per density we keep
the best loss of each geometry and the geometry of the best fit overall.
"""

from __future__ import annotations

import dataclasses
import sys

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from superpose import metrics, plots
from superpose.config import TrainConfig, make_hyper
from superpose.data import Independent
from superpose.lab import Experiment, main
from superpose.lab.fields import between, count, positive, probability, seed, steps
from superpose.models import ReluOutput, weighted_mse
from superpose.plots import geometry as geo_plots
from superpose.sweep import Grid, Sweep

PENTAGON, DIGONS, OTHER = "pentagon", "two digons", "other"
GEOMETRIES = (PENTAGON, DIGONS, OTHER)
STARTS = ("random", PENTAGON, DIGONS)  # how a fit is initialised
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
            raise ValueError(
                f"base_density x max_ratio ({self.base_density} x {self.max_ratio}) is feature 0's highest "
                "density and must be at most 1"
            )


QUICK = {"n_ratios": 5, "n_random": 2, "n_warm": 1, "n_steps": 3_000, "eval_samples": 1 << 15}


def ratios(cfg: Config) -> np.ndarray:
    """[n_ratios] feature 0's density divided by the base density, log-spaced and symmetric around 1."""
    return np.exp(np.linspace(-np.log(cfg.max_ratio), np.log(cfg.max_ratio), cfg.n_ratios)).astype(np.float32)


def start_kinds(cfg: Config) -> list[str]:
    """The start of each fit at one density: n_random random, then n_warm of each warm geometry."""
    return ["random"] * cfg.n_random + [PENTAGON] * cfg.n_warm + [DIGONS] * cfg.n_warm


def warm_W(kind: str, rng: np.random.Generator, n: int = 5) -> np.ndarray | None:
    """[2, n] a randomly rotated unit regular pentagon, or two unit digons at right angles with feature 0
    at zero; None for a random (Xavier) start."""
    theta0 = rng.uniform(0, 2 * np.pi)
    if kind == PENTAGON:
        theta = theta0 + 2 * np.pi * np.arange(n) / n
        return np.stack([np.cos(theta), np.sin(theta)]).astype(np.float32)
    if kind == DIGONS:
        W = np.zeros((2, n), np.float32)
        theta = theta0 + np.array([0.0, np.pi, np.pi / 2, 3 * np.pi / 2])  # pairs (1, 2) and (3, 4)
        W[:, 1:] = np.stack([np.cos(theta), np.sin(theta)])
        return W
    return None


class WarmStartSweep(Sweep):
    """A Sweep whose instances start from given W where one is given (NaN rows: keep the Xavier init).

    W0 stays a host array [N, m, n] and is placed in `init`, so it follows the sweep to any devices
    (`--devices`, `Sweep.on`) and through a resume. Adam's moments start at zero whatever the parameters, so
    replacing W in the initial state is all a warm start needs.
    """

    def __init__(self, *args, W0: np.ndarray, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.W0 = np.asarray(W0, np.float32)

    def init(self):
        # jnp, not numpy: callers may trace init (e.g. jax.eval_shape for a checkpoint template).
        state = super().init()
        W0 = self.put_instances(self.W0)
        W = jnp.where(jnp.isnan(W0), state.params["W"], W0)
        return state._replace(params=dict(state.params, W=W))


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


def losses_on_sample(
    W: np.ndarray, b: np.ndarray, feature_prob: np.ndarray, n_samples: int, seed: int
) -> np.ndarray:
    """[fits] loss (paper section 3, importance 1) of every fit W [fits, m, n], b [fits, n] on ONE common
    sample of n_samples points drawn with feature_prob [n], so the losses compare without sampling noise."""
    x = Independent().sample(jax.random.key(seed), jnp.asarray(feature_prob), n_samples)
    ones = jnp.ones(W.shape[-1], jnp.float32)
    loss = jax.vmap(lambda W, b: weighted_mse(MODEL, {"W": W, "b": b}, x, ones))
    return np.asarray(loss(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32)), np.float64)


def train(cfg: Config, ctx) -> dict:
    kinds = start_kinds(cfg)
    grid = Grid(ratio=ratios(cfg), start=np.arange(len(kinds)))
    coords = grid.coords
    n = cfg.n_features
    feature_prob = np.full((grid.size, n), cfg.base_density, np.float32)
    feature_prob[:, 0] = cfg.base_density * coords["ratio"]
    hyper = make_hyper(grid.size, n, feature_prob=feature_prob, importance=1.0, lr=cfg.lr)  # [N, n] as given
    seeds = np.arange(grid.size)
    rng = np.random.default_rng(cfg.seed)
    W0 = np.full((grid.size, cfg.n_hidden, n), np.nan, np.float32)
    for i, s in enumerate(coords["start"]):
        w = warm_W(kinds[s], rng, n)
        if w is not None:
            W0[i] = w
    train_cfg = TrainConfig(n, cfg.n_hidden, batch_size=cfg.batch_size, n_steps=cfg.n_steps)
    sweep = WarmStartSweep(MODEL, Independent(), train_cfg, hyper, seeds, cfg.seed, W0=W0)
    result = ctx.sweep("main", sweep)
    W, b = result.params["W"], result.params["b"]
    eval_loss = np.zeros(grid.size)
    for r_index in range(len(grid.axes["ratio"])):
        members = [grid.index(ratio=r_index, start=s) for s in range(len(kinds))]
        seed = cfg.seed + 1000 + r_index
        eval_loss[members] = losses_on_sample(
            W[members], b[members], feature_prob[members[0]], cfg.eval_samples, seed
        )
    return {
        "W": W,
        "b": b,
        "dropped_loss": dropped_loss(cfg, W, b, feature_prob, grid),
        "loss": result.loss,
        "log_steps": result.log_steps,
        "final_loss": result.final_loss,
        "eval_loss": eval_loss,
        "ratio": coords["ratio"],
        "start": coords["start"],
        "feature_prob": feature_prob,
    }


def dropped_loss(
    cfg: Config, W: np.ndarray, b: np.ndarray, feature_prob: np.ndarray, grid: Grid
) -> np.ndarray:
    """[n_ratios] loss of the 'two digons, feature 0 dropped' geometry at every varied density.

    With W_0 = 0 feature 0 touches no other output, so the four others' best digons do not depend on its
    density; its own output is the constant ReLU(b_0), best at b_0 = E[x_0] = p_0 / 2. So every trained
    two-digon fit (from any density), with column 0 zeroed and b_0 = p_0 / 2, is a candidate at every
    density; the best candidate is the geometry's loss, also where training would not stay in it.
    """
    candidates = [i for i in range(len(W)) if classify(W[i]) == DIGONS]
    out = np.full(len(grid.axes["ratio"]), np.nan)
    if not candidates:
        return out
    for r_index in range(len(out)):
        p = feature_prob[grid.index(ratio=r_index, start=0)]
        Wd, bd = W[candidates].copy(), b[candidates].copy()
        Wd[:, :, 0], bd[:, 0] = 0.0, p[0] / 2
        out[r_index] = losses_on_sample(Wd, bd, p, cfg.eval_samples, cfg.seed + 1000 + r_index).min()
    return out


# --- analysis ------------------------------------------------------------------------------------------


def per_ratio(arrays: dict) -> dict:
    """Per varied density: the best loss of each geometry, and the geometry / weights of the best fit."""
    ratio_values = np.unique(arrays["ratio"])
    geoms = np.array([classify(W) for W in arrays["W"]])
    best_loss = {g: np.full(ratio_values.size, np.nan) for g in GEOMETRIES}
    best_index = np.zeros(ratio_values.size, int)
    best_pentagon_index = np.full(ratio_values.size, -1)
    for k, r in enumerate(ratio_values):
        members = np.flatnonzero(arrays["ratio"] == r)
        losses = arrays["eval_loss"][members]
        best_index[k] = members[np.argmin(losses)]
        for g in GEOMETRIES:
            mask = geoms[members] == g
            if mask.any():
                best_loss[g][k] = losses[mask].min()
                if g == PENTAGON:
                    best_pentagon_index[k] = members[mask][np.argmin(losses[mask])]
    return {
        "ratio": ratio_values,
        "geometry": geoms,
        "best_loss": best_loss,
        "best_index": best_index,
        "best_geometry": geoms[best_index],
        "best_pentagon_index": best_pentagon_index,
    }


def loss_crossing(ratio: np.ndarray, pentagon: np.ndarray, digons: np.ndarray) -> float:
    """The ratio where L(two digons) - L(pentagon) changes sign (going from dense to sparse), interpolated
    linearly in log ratio; NaN if it never does where both geometries were found."""
    diff = digons - pentagon
    ok = np.isfinite(diff)
    r, d = np.log(ratio[ok]), diff[ok]
    for k in range(len(d) - 1, 0, -1):  # dense to sparse
        if d[k] > 0 >= d[k - 1]:
            return float(np.exp(r[k - 1] + (r[k] - r[k - 1]) * (0 - d[k - 1]) / (d[k] - d[k - 1])))
    return float("nan")


def adjacent_gaps(W: np.ndarray, feature: int = 0) -> float:
    """Mean of the two angle gaps (deg) on either side of `feature` in a 2-D fit with it represented."""
    idx, gaps = metrics.angles_2d(W)
    k = int(np.flatnonzero(idx == feature)[0])
    return float((gaps[k] + gaps[k - 1]) / 2)  # gaps[k]: after it, gaps[k-1]: before it


def analyze(cfg: Config, arrays: dict) -> dict:
    pr = per_ratio(arrays)
    ratio = pr["ratio"]
    W, b = arrays["W"], arrays["b"]
    bl = pr["best_loss"]
    crossing = loss_crossing(ratio, bl[PENTAGON], arrays["dropped_loss"])
    crossing_trained = loss_crossing(ratio, bl[PENTAGON], bl[DIGONS])
    # Snap: the best fit overall is a pentagon down to some ratio and two digons below it.
    best_geo = pr["best_geometry"]
    pent = np.flatnonzero(best_geo == PENTAGON)
    dig = np.flatnonzero(best_geo == DIGONS)
    snap = float("nan")
    if pent.size and dig.size and dig.max() < pent.min():
        snap = float(np.sqrt(ratio[dig.max()] * ratio[pent.min()]))
    # Repulsion: gaps next to feature 0 in the best pentagon fit at every ratio where one exists.
    with_pent = np.flatnonzero(pr["best_pentagon_index"] >= 0)
    gap0 = np.array([adjacent_gaps(W[pr["best_pentagon_index"][k]]) for k in with_pent])
    r_pent = ratio[with_pent]
    rank_corr = _spearman(np.log(r_pent), gap0) if len(gap0) > 2 else float("nan")
    denser, sparser = r_pent > 1.01, r_pent < 0.99
    # ||W_i|| against the bias over the represented features of the best pentagon fits: the paper's form
    # 1/(1 - b_i), and ||W_i||^2 = 1 - b_i (a lone feature at x_i = 1 is reproduced exactly).
    norms, bias = [], []
    for k in with_pent:
        i = pr["best_pentagon_index"][k]
        rep = metrics.represented(W[i])
        norms.append(metrics.feature_norms(W[i])[rep])
        bias.append(b[i][rep])
    norms, bias = np.concatenate(norms), np.concatenate(bias)
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
            "geometries_found": {
                g: int(np.sum(pr["geometry"][arrays["ratio"] == r] == g)) for g in GEOMETRIES
            },
        }
        for k, r in enumerate(ratio)
    ]
    checks = [
        {
            "name": "loss curves of pentagon and two digons cross when feature 0 is sparser",
            "passed": bool(np.isfinite(crossing) and 1.5 <= 1 / crossing <= 5.0),
            "value": f"cross at {1 / crossing:.2f}x sparser (density ratio {crossing:.3f}); from the trained "
            f"two-digon fits alone: {1 / crossing_trained:.2f}x",
            "expected": "paper: about 2.5x sparser; accepted: a crossing between 1.5x and 5x sparser",
        },
        {
            "name": "best fit snaps from pentagon to two digons (feature 0 dropped) once, near the crossing",
            "passed": bool(
                np.isfinite(snap) and np.isfinite(crossing) and abs(np.log(snap / crossing)) < 0.5
            ),
            "value": f"snap at {1 / snap:.2f}x sparser; best geometry by ratio "
            + ", ".join(f"{r:.2g}:{g}" for r, g in zip(ratio, best_geo)),
            "expected": "one snap, within a factor e^0.5 of the loss crossing",
        },
        {
            "name": "denser feature 0 repels the others (angle gaps next to it grow with its density)",
            "passed": bool(
                rank_corr > 0.8
                and gap0[denser].min(initial=np.inf) > 72
                and gap0[sparser].max(initial=0) < 72
            ),
            "value": f"Spearman(log ratio, mean adjacent gap) = {rank_corr:.2f}; adjacent gap "
            f"{gap0[0]:.1f} deg at ratio {r_pent[0]:.2g} -> {gap0[-1]:.1f} deg at ratio {r_pent[-1]:.2g}",
            "expected": "rank correlation > 0.8, gap > 72 deg when denser, < 72 deg when sparser",
        },
        {
            "name": "norm against bias: ||W_i||^2 = 1 - b_i over represented features of the best pentagon fits",
            "passed": bool(sq_corr > 0.8 and np.median(sq_err) < 0.03),
            "value": f"||W_i||^2 vs 1 - b_i: correlation {sq_corr:.3f}, relative error median {np.median(sq_err):.3f}, "
            f"max {sq_err.max():.3f} (the densest feature 0) "
            f"over {sq_err.size} features; the paper's form ||W_i|| vs 1/(1 - b_i): correlation "
            f"{paper_corr:.3f}, max relative error {paper_err.max():.3f}",
            "expected": "paper: ||W_i|| = 1/(1 - b_i); ours: correlation > 0.8, median relative error < 0.03 "
            "for ||W_i||^2 = 1 - b_i (b_i < 0 gives ||W_i|| > 1, so 1/(1 - b_i) < 1 cannot match)",
        },
    ]
    return {
        "experiment": "nonuniform",
        "loss_crossing_ratio": crossing,
        "loss_crossing_ratio_trained_fits": crossing_trained,
        "snap_ratio": snap,
        "norm_vs_bias": {
            "paper_form_corr": paper_corr,
            "paper_form_max_rel_err": float(paper_err.max()),
            "squared_form_corr": sq_corr,
            "squared_form_max_rel_err": float(sq_err.max()),
        },
        "adjacent_gap_deg": dict(zip(map(float, r_pent), map(float, gap0))),
        "per_density": per_density,
        "checks": checks,
    }


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


# --- figure --------------------------------------------------------------------------------------------


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    pr = per_ratio(arrays)
    ratio, W, b = pr["ratio"], arrays["W"], arrays["b"]
    bl = pr["best_loss"]
    show = np.unique(np.linspace(0, len(ratio) - 1, min(len(ratio), 7)).round().astype(int))
    fig = plt.figure(figsize=(1.45 * max(len(show), 6), 4.2))
    gs = fig.add_gridspec(2, len(show) * 2, height_ratios=[1, 1.25], hspace=0.35, top=0.8)
    bottom = gs[1, :].subgridspec(1, 3, wspace=0.35)  # room for each panel's y label
    for j, k in enumerate(show):
        ax = fig.add_subplot(gs[0, 2 * j : 2 * j + 2])
        i = pr["best_index"][k]
        geo_plots.features_2d_highlight(ax, W[i], 0, title=f"p0/p = {ratio[k]:.2g}\n{pr['best_geometry'][k]}")
    ax = fig.add_subplot(bottom[0])
    crossing = loss_crossing(ratio, bl[PENTAGON], arrays["dropped_loss"])
    geo_plots.loss_by_geometry(
        ax,
        ratio,
        {"pentagon (trained)": bl[PENTAGON], "two digons (trained)": bl[DIGONS]},
        "feature 0 density / base density",
        crossing,
    )
    ax.plot(
        ratio, arrays["dropped_loss"], color="tab:orange", ls="--", lw=1, label="two digons (any density)"
    )
    ax.legend(fontsize=7, frameon=False)
    ax.set_yscale("log")
    _ratio_ticks(ax)
    ax.set_title("best loss of each geometry", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    ax = fig.add_subplot(bottom[1])
    ax.plot(ratio, 100 * (arrays["dropped_loss"] / bl[PENTAGON] - 1), "o-", ms=3, color="k")
    ax.axhline(0, color="0.6", lw=1)
    if np.isfinite(crossing):
        ax.axvline(crossing, color="0.5", ls=":", lw=1)
        ax.text(crossing, ax.get_ylim()[1], f" {1 / crossing:.2f}x sparser", fontsize=7, va="top")
    ax.set_xscale("log")
    _ratio_ticks(ax)
    ax.set_xlabel("feature 0 density / base density", fontsize=8)
    ax.set_ylabel("loss gap [%]", fontsize=8)
    ax.set_title("L(two digons) / L(pentagon) - 1", fontsize=8)
    ax.tick_params(labelsize=7)
    ax = fig.add_subplot(bottom[2])
    for k in np.flatnonzero(pr["best_pentagon_index"] >= 0):
        i = pr["best_pentagon_index"][k]
        rep = metrics.represented(W[i])
        ax.scatter(1 - b[i][rep], metrics.feature_norms(W[i])[rep] ** 2, s=8, color="0.35")
        ax.scatter(1 - b[i][0], metrics.feature_norms(W[i])[0] ** 2, s=10, color="tab:red")
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], color="0.6", ls=":", lw=1)
    ax.set_xlabel("1 - b_i", fontsize=8)
    ax.set_ylabel("||W_i||^2", fontsize=8)
    ax.set_title("best pentagon fits (red: feature 0); dotted: y = x", fontsize=8)
    ax.tick_params(labelsize=7)
    n_fits = len(start_kinds(cfg))
    fig.suptitle(
        f"E6: one feature's density varied around a pentagon (n=5, m=2, base density {cfg.base_density});\n"
        f"best of {n_fits} fits per density (random and warm starts)",
        fontsize=9,
    )
    return [plots.save(fig, f"{out_dir}/nonuniform.png")]


def _ratio_ticks(ax) -> None:
    ticks = [0.2, 0.5, 1, 2, 5]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()


EXPERIMENT = Experiment("nonuniform", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
