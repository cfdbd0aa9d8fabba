"""Paper E13: superposition makes a model vulnerable to adversarial examples.

ReLU-output models of n features in m dimensions, all of importance 1, trained across densities (the best of
several fits each). Each model is attacked on fresh samples with the paper's analytic attack: for every
feature i the perturbation lambda * (W^T W)_i / ||(W^T W)_i|| (both signs), lambda = 0.1 x the mean input
norm at that density, keeping per example the most damaging. Vulnerability is relative to a model of the same
task without superposition (the m most important features on dedicated unit directions, bias 0, attacked the
same way): (L' - L) / (L'_0 - L_0), where L is the loss on the clean inputs and L' under attack (the target
stays the clean x). Published: vulnerability rises more than 3x as superposition forms and tracks
||W||_F^2 / m. A projected gradient attack of the same norm (L2 ball, `grad_steps` steps from zero) is
reported beside it: the paper notes gradient attacks fail at high sparsity, where the ReLUs are mostly off.

Everything after training is numpy on the stored weights (a fixed seed, `attack_samples` examples per
density), so `superpose plot` and the checks recompute it from results.npz alone.
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

from superpose import metrics, plots
from superpose.lab import Experiment, main
from superpose.lab.fields import count, positive, probability, seed, steps
from superpose.models import ReluOutput
from superpose.study import density_study


@dataclasses.dataclass(frozen=True)
class Config:
    n_features: int = count(40)
    n_hidden: int = count(10)
    n_densities: int = count(12)  # densities log-spaced from 1 down to density_min
    density_min: float = probability(0.01)
    n_seeds: int = count(2)  # fits per density; the lowest final loss is kept
    n_steps: int = steps(6_000)
    batch_size: int = count(1024)
    lr: float = positive(3e-3)
    attack_fraction: float = positive(0.1)  # lambda = attack_fraction x mean input norm (the paper's 0.1)
    attack_samples: int = count(20_000)  # fresh examples per density for the attacks
    grad_steps: int = count(10)  # projected gradient ascent steps of the gradient attack
    min_rise: float = positive(3.0)  # the paper: vulnerability rises more than 3x
    min_correlation: float = positive(0.7)  # Pearson r of vulnerability against ||W||_F^2 / m
    seed: int = seed(0)  # root seed (training); the attacks use numpy's generator seeded with it


QUICK = {"n_features": 20, "n_hidden": 5, "n_densities": 6, "density_min": 0.05, "n_steps": 3_000,
         "attack_samples": 4_000}  # fmt: skip


def densities(cfg: Config) -> np.ndarray:
    return (cfg.density_min ** np.linspace(0, 1, cfg.n_densities)).astype(np.float32)


def train(cfg: Config, ctx) -> dict:
    study = density_study(ReluOutput(), densities(cfg), cfg.n_seeds, cfg)
    every = ctx.study("main", study)
    best = every.best()
    arrays = every.to_arrays()  # W, b, loss, log_steps, final_loss, density, seed per instance
    arrays.update(
        best_W=best.params["W"],
        best_b=best.params["b"],
        best_index=np.ravel_multi_index((np.arange(best.size), best.kept["seed"]), every.shape),
        best_density=densities(cfg),
    )
    return arrays


# --- the attacks (numpy, one model at a time) ---------------------------------------------------------


def sample(rng: np.random.Generator, density: float, n_features: int, n: int) -> np.ndarray:
    """[n, n_features] independent features: Uniform[0, 1] with probability `density`, else 0."""
    active = rng.random((n, n_features)) < density
    return np.where(active, rng.random((n, n_features)), 0.0)


def reconstruct(W: np.ndarray, b: np.ndarray, X: np.ndarray) -> np.ndarray:
    """ReLU(W^T W x + b) for the rows x of X [batch, n]."""
    return np.maximum(X @ (W.T @ W) + b, 0.0)


def example_loss(W, b, X, target, importance) -> np.ndarray:
    """[batch] sum_i I_i (target_i - x'_i)^2 per example."""
    return ((target - reconstruct(W, b, X)) ** 2 * importance).sum(axis=1)


def analytic_attack(W, b, X, lam: float, importance) -> tuple[float, float]:
    """(L, L'): the clean loss and the loss under the most damaging of the 2n perturbations
    +-lam (W^T W)_i / ||(W^T W)_i||, chosen per example. Features with (W^T W)_i = 0 offer no direction."""
    G = np.asarray(W, dtype=np.float64).T @ np.asarray(W, dtype=np.float64)
    clean = example_loss(W, b, X, X, importance)
    worst = clean.copy()
    for row in G:
        norm = np.linalg.norm(row)
        if norm < 1e-9:
            continue
        for sign in (1.0, -1.0):
            worst = np.maximum(worst, example_loss(W, b, X + sign * lam * row / norm, X, importance))
    return float(clean.mean()), float(worst.mean())


def gradient_attack(W, b, X, lam: float, importance, n_steps: int) -> tuple[float, float]:
    """(L', share of examples whose input gradient is zero at the start): projected gradient ascent on the
    per-example loss in the L2 ball of radius lam, n_steps steps of lam / n_steps along the normalised gradient."""
    G = np.asarray(W, dtype=np.float64).T @ np.asarray(W, dtype=np.float64)
    delta = np.zeros_like(X)
    stuck = None
    for _ in range(n_steps):
        z = (X + delta) @ G + b
        # d/dx of sum_i I_i (x_i - ReLU(z_i))^2 with the target held at the clean x
        grad = (-2.0 * (X - np.maximum(z, 0.0)) * importance * (z > 0)) @ G
        norm = np.linalg.norm(grad, axis=1, keepdims=True)
        if stuck is None:
            stuck = float((norm[:, 0] < 1e-12).mean())
        delta = delta + (lam / n_steps) * np.where(norm > 1e-12, grad / np.maximum(norm, 1e-12), 0.0)
        length = np.linalg.norm(delta, axis=1, keepdims=True)
        delta = delta * np.minimum(1.0, lam / np.maximum(length, 1e-12))
    return float(example_loss(W, b, X + delta, X, importance).mean()), stuck


def no_superposition(n_features: int, n_hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """The baseline without superposition: the first m features (the most important) on dedicated unit
    directions, the rest dropped, no bias."""
    W0 = np.zeros((n_hidden, n_features))
    W0[np.arange(n_hidden), np.arange(n_hidden)] = 1.0
    return W0, np.zeros(n_features)


def attack_table(cfg: Config, arrays: dict) -> dict[str, np.ndarray]:
    """Per density: lambda, clean loss, analytic and gradient damage, the baseline's damage, vulnerability,
    ||W||_F^2 / m and the gradient attack's share of stuck examples."""
    rng = np.random.default_rng(cfg.seed)
    importance = np.ones(cfg.n_features)
    W0, b0 = no_superposition(cfg.n_features, cfg.n_hidden)
    rows = []
    for W, b, density in zip(arrays["best_W"], arrays["best_b"], arrays["best_density"]):
        W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
        X = sample(rng, float(density), cfg.n_features, cfg.attack_samples)
        lam = cfg.attack_fraction * float(np.linalg.norm(X, axis=1).mean())
        L, L_attacked = analytic_attack(W, b, X, lam, importance)
        L0, L0_attacked = analytic_attack(W0, b0, X, lam, importance)
        L_grad, stuck = gradient_attack(W, b, X, lam, importance, cfg.grad_steps)
        rows.append(
            (lam, L, L_attacked - L, L0_attacked - L0, L_grad - L, stuck, float((W**2).sum()) / cfg.n_hidden)
        )
    table = np.asarray(rows, dtype=np.float64)
    names = ("lam", "loss", "damage", "baseline_damage", "grad_damage", "grad_stuck", "frobenius_per_dim")
    out = {k: table[:, j] for j, k in enumerate(names)}
    out["vulnerability"] = out["damage"] / np.maximum(out["baseline_damage"], 1e-30)
    out["grad_vs_analytic"] = out["grad_damage"] / np.maximum(out["damage"], 1e-30)
    return out


def analyze(cfg: Config, arrays: dict) -> dict:
    t = attack_table(cfg, arrays)
    dens = arrays["best_density"]
    vuln, frob = t["vulnerability"], t["frobenius_per_dim"]
    rise = float(vuln.max() / vuln[0])
    r = float(np.corrcoef(vuln, frob)[0, 1]) if np.ptp(vuln) > 0 and np.ptp(frob) > 0 else float("nan")
    D_star = [metrics.dimensions_per_feature(W) for W in arrays["best_W"]]
    per_density = [
        {
            "density": float(d),
            "vulnerability": round(float(v), 3),
            "frobenius_per_dim": round(float(f), 3),
            "dimensions_per_feature": round(float(ds), 3),
            "gradient_vs_analytic_damage": round(float(g), 3),
            "gradient_stuck_share": round(float(s), 3),
        }
        for d, v, f, ds, g, s in zip(dens, vuln, frob, D_star, t["grad_vs_analytic"], t["grad_stuck"])
    ]
    checks = [
        {
            "name": "without superposition (density 1) the model is as vulnerable as the baseline",
            "passed": bool(abs(vuln[0] - 1) < 0.25 and frob[0] < 1.1),
            "value": f"vulnerability {vuln[0]:.2f} at ||W||_F^2/m = {frob[0]:.2f}",
            "expected": "vulnerability 1 +- 0.25 where ||W||_F^2/m ~ 1",
        },
        {
            "name": "vulnerability rises as superposition forms",
            # A model that never superposes also grows more vulnerable than the baseline on sparse data (its
            # dense-regime biases), so the rise must come with superposition: ||W||_F^2/m > 1.5 at the peak.
            "passed": bool(rise > cfg.min_rise and frob[np.argmax(vuln)] > 1.5),
            "value": f"{rise:.1f}x (largest {vuln.max():.2f} at density {dens[np.argmax(vuln)]:.3g}, where "
            f"||W||_F^2/m = {frob[np.argmax(vuln)]:.2f}; vs {vuln[0]:.2f} dense)",
            "expected": f"more than {cfg.min_rise:g}x, at a density where ||W||_F^2/m > 1.5",
        },
        {
            "name": "vulnerability tracks ||W||_F^2 / m",
            "passed": bool(r > cfg.min_correlation),
            "value": f"Pearson r = {r:.3f} over {len(dens)} densities",
            "expected": f"r > {cfg.min_correlation:g}",
        },
    ]
    sparse = dens <= 0.1
    gradient = {
        "mean_gradient_vs_analytic_damage_at_density_le_0.1": round(
            float(t["grad_vs_analytic"][sparse].mean()), 3
        )
        if sparse.any()
        else None,
        "stuck_share_at_sparsest": round(float(t["grad_stuck"][-1]), 3),
    }
    return {
        "experiment": "adversarial",
        "per_density": per_density,
        "gradient_attack": gradient,
        "checks": checks,
    }


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    t = attack_table(cfg, arrays)
    x = 1.0 / arrays["best_density"]
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.2))
    ax = axes[0]
    ax.plot(x, t["vulnerability"], "o-", ms=3, color="tab:red", label="vulnerability (analytic attack)")
    ax.plot(x, t["frobenius_per_dim"], "s--", ms=3, color="0.3", label=r"$\|W\|_F^2 / m$")
    ax.axhline(1, color="0.7", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 - S)", fontsize=8)
    ax.set_ylabel("relative to no superposition", fontsize=8)
    ax.set_title("superposition and adversarial vulnerability", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax.tick_params(labelsize=7)
    ax = axes[1]
    ax.plot(x, t["grad_vs_analytic"], "o-", ms=3, color="tab:blue", label="gradient / analytic damage")
    ax.plot(x, t["grad_stuck"], "^-", ms=3, color="tab:green", label="share with zero input gradient")
    ax.axhline(1, color="0.7", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("1 / (1 - S)", fontsize=8)
    ax.set_ylabel("ratio or share", fontsize=8)
    ax.set_title(f"gradient attack ({cfg.grad_steps} projected steps, same norm)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax.tick_params(labelsize=7)
    fig.suptitle(
        f"n={cfg.n_features}, m={cfg.n_hidden}, I=1; attack norm {cfg.attack_fraction:g} x mean input norm",
        fontsize=9,
    )
    fig.tight_layout()
    return [plots.save(fig, f"{out_dir}/adversarial.png")]


EXPERIMENT = Experiment("adversarial", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
