"""Phase-diagram experiments (paper E8, E9): a grid of extra-feature importance r by density s, several fits
per cell, each cell's trained phase set beside the phase the closed-form losses of superpose/theory.py predict.

Owns: the shared config, training, analysis and figure of experiments/phase_n2m1.py and phase_n3m2.py, which
differ only in (n_features, n_hidden) and so in the theory they are checked against (KINDS).
Does not: derive the theory (theory.py) or draw (plots/phase.py).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from superpose import theory
from superpose.config import per_instance
from superpose.lab import Experiment
from superpose.lab.fields import count, fraction, nonnegative, positive, seed, steps
from superpose.models import ReluOutput
from superpose.plots.phase import phase_figure
from superpose.study import Study
from superpose.sweep import pick_best


class PhaseTheory(NamedTuple):
    phases: tuple  # phase names, indexed by phase number
    nulls: np.ndarray  # each candidate's null vector (theory.empirical_phase classifies by it)
    phase: object  # (r, s) -> theoretical phase number
    losses: object  # (r, s) -> [..., n_candidates] closed-form losses


KINDS = {
    "n2m1": PhaseTheory(theory.PHASES_N2M1, theory.NULL_N2M1, theory.phase_n2m1, theory.losses_n2m1),
    "n3m2": PhaseTheory(theory.PHASES_N3M2, theory.NULL_N3M2, theory.phase_n3m2, theory.losses_n3m2),
}

QUICK = {"n_importances": 6, "n_densities": 6, "n_fits": 4, "n_steps": 3_000, "min_match": 0.8}


@dataclasses.dataclass(frozen=True)
class PhaseConfig:
    """Shared by both diagrams; n_features and n_hidden pick which (see KINDS)."""

    n_features: int = count(2)
    n_hidden: int = count(1)
    n_importances: int = count(20)  # extra importance r = 10^linspace(-1, 1, n)
    n_densities: int = count(20)  # density s = 10^-linspace(0, 2, n)
    n_fits: int = count(10)  # the paper's fits per point; the lowest loss is kept
    n_steps: int = steps(4_000)  # enough for these 2- and 3-parameter models to settle (flat by 3k steps)
    batch_size: int = count(128)  # 8x cheaper than 1024 here (cache-bound), and Adam copes with the noise
    lr: float = positive(3e-3)
    eval_batches: int = count(8)  # sampled final loss, for reference; fits are ranked by the exact one
    quadrature: int = count(16)  # midpoint points per active feature in theory.expected_loss (error ~ 1/16^2)
    margin: float = nonnegative(0.1)  # cells closer than this (decades) to the analytic boundary: not counted
    min_match: float = fraction(0.9)  # the check: matched fraction of the counted cells
    seed: int = seed(0)  # root seed

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"no phase theory for n_features={self.n_features}, n_hidden={self.n_hidden}; "
                f"known: {', '.join(KINDS)}"
            )

    @property
    def kind(self) -> str:
        return f"n{self.n_features}m{self.n_hidden}"


def axes(cfg: PhaseConfig) -> tuple[np.ndarray, np.ndarray]:
    r = 10.0 ** np.linspace(-1, 1, cfg.n_importances)
    s = 10.0 ** -np.linspace(0, 2, cfg.n_densities)
    return r.astype(np.float32), s.astype(np.float32)


def study(cfg: PhaseConfig) -> Study:
    """r x density x fits; the extra feature (the last one) has importance r, the others 1."""
    r, s = axes(cfg)

    def hyper(coords: dict, _) -> dict:
        importance = np.ones((coords["r"].size, cfg.n_features), np.float32)
        importance[:, -1] = coords["r"]
        return {"feature_prob": per_instance(coords["density"]), "importance": importance, "lr": cfg.lr}

    config = {"n_features": cfg.n_features, "n_hidden": cfg.n_hidden, "batch_size": cfg.batch_size}
    config.update(n_steps=cfg.n_steps, eval_batches=cfg.eval_batches)
    axes_ = {"r": r, "density": s, "seed": np.arange(cfg.n_fits)}
    return Study(ReluOutput(), axes=axes_, config=config, hyper=hyper, root_seed=cfg.seed)


def train(cfg: PhaseConfig, ctx) -> dict:
    every = ctx.study("main", study(cfg))
    arrays = every.to_arrays()  # r, density, seed, W, b, final_loss (sampled, mean over features), ...
    W, b, r = arrays["W"], arrays["b"], arrays["r"]
    importance = np.ones((r.size, cfg.n_features), np.float32)
    importance[:, -1] = r
    # Fits are ranked by their exact expected loss, not the sampled evaluation loss: at density 0.01 a pair
    # of features is active together in 1 example in 10^4, so sampling cannot cheaply rank fits whose
    # difference lies in exactly those events.
    exact = np.array(
        [
            theory.expected_loss(W[i], b[i], importance[i], arrays["density"][i], cfg.quadrature)
            for i in range(r.size)
        ]
    )
    pick = np.maximum(pick_best(exact.reshape(every.shape), axis=2), 0)
    best = np.ravel_multi_index((*np.indices(pick.shape), pick), every.shape)  # [n_r, n_s] flat indices
    arrays.update(
        exact_loss=exact,  # exact over activity patterns, summed over features (theory convention)
        axis_r=every.axes["r"],
        axis_density=every.axes["density"],
        best_W=W[best],  # [n_r, n_s, m, n]
        best_b=b[best],
        best_loss=exact[best],
    )
    return arrays


def phases(cfg: PhaseConfig, arrays: dict) -> dict:
    """Per cell [n_r, n_s]: empirical and theoretical phase, distance to the boundary, counted or not."""
    r, s = arrays["axis_r"].astype(np.float64), arrays["axis_density"].astype(np.float64)
    R, S = np.meshgrid(r, s, indexing="ij")
    best_W = arrays["best_W"]
    k = KINDS[cfg.kind]
    empirical = np.array([[theory.empirical_phase(W, k.nulls) for W in row] for row in best_W])
    distance = theory.log_distance(R, S, theory.boundary_curves(cfg.kind, (r[0], r[-1]), (s[-1], s[0])))
    return {"R": R, "S": S, "empirical": empirical, "theory": k.phase(R, S), "distance": distance}


def analyze(cfg: PhaseConfig, arrays: dict) -> dict:
    p = phases(cfg, arrays)
    names = KINDS[cfg.kind].phases
    match = theory.match_summary(p["empirical"], p["theory"], p["distance"], cfg.margin)
    seen = sorted({int(k) for k in p["empirical"].ravel() if k >= 0})
    # The trained loss against the best closed-form candidate: <= 1 means training did at least as well.
    best_theory = KINDS[cfg.kind].losses(p["R"], p["S"]).min(-1)
    ratio = arrays["best_loss"] / best_theory
    checks = [
        {
            "name": f"empirical phase matches theory in cells > {cfg.margin} decades from the boundary",
            "passed": bool(match["fraction_away"] >= cfg.min_match),
            "value": f"{match['matched_away']}/{match['cells_away']} = {match['fraction_away']:.3f} "
            f"(all cells: {match['fraction_all']:.3f}; {match['other']} matching no candidate)",
            "expected": f">= {cfg.min_match}",
        },
        {
            "name": f"all {len(names)} phases occur empirically",
            "passed": seen == list(range(len(names))),
            "value": [names[k] for k in seen],
            "expected": list(names),
        },
    ]
    return {
        "experiment": f"phase_{cfg.kind}",
        "phases": list(names),
        "match": match,
        "loss_ratio_to_closed_form": {
            "median": float(np.median(ratio)),
            "max": float(ratio.max()),
        },
        "triple_point": list(theory.TRIPLE_POINT),
        "checks": checks,
    }


def plot(cfg: PhaseConfig, arrays: dict, out_dir) -> list:
    p = phases(cfg, arrays)
    r, s = arrays["axis_r"], arrays["axis_density"]
    curves = theory.boundary_curves(cfg.kind, (float(r[0]), float(r[-1])), (float(s[-1]), float(s[0])))
    match = theory.match_summary(p["empirical"], p["theory"], p["distance"], cfg.margin)
    title = (
        f"n={cfg.n_features}, m={cfg.n_hidden}: best of {cfg.n_fits} fits per cell; matches theory in {match['fraction_away']:.0%} of "
        f"cells > {cfg.margin} decades from the boundary (x: mismatch, dot: not counted)"
    )
    path = phase_figure(
        f"{out_dir}/phase_{cfg.kind}.png",
        r,
        s,
        p["empirical"],
        p["theory"],
        KINDS[cfg.kind].phases,
        curves,
        title,
        excluded=p["distance"] <= cfg.margin,
    )
    return [path]


def phase_experiment(name: str, n_features: int, n_hidden: int, description: str) -> Experiment:
    """The Experiment of one diagram: PhaseConfig with this (n_features, n_hidden) as its defaults."""
    config = dataclasses.make_dataclass(
        "Config",
        [("n_features", int, n_features), ("n_hidden", int, n_hidden)],
        bases=(PhaseConfig,),
        frozen=True,
    )
    return Experiment(name, config, train, analyze, plot, QUICK, description=description)
