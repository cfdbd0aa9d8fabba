"""Measurements for loss-against-width scaling (Liu, Liu & Gore 2025): power-law fits with their uncertainty,
and the regime of a tied model read from its weights.

Owns: `fit_power_law` (log-log least squares: exponent and its standard error),
`feature_norms`, `represented_fraction` (features whose vector has norm > a threshold; the paper's phi_1/2
uses 1/2), `mean_squared_overlap` (mean over pairs of represented features of the squared cosine between
their vectors: 1/m for random directions in m dimensions, the paper's reason for loss ~ 1/m) and
`dropped_feature_loss` (the loss of a model that keeps the m most frequent features exactly and drops the
rest: the weak-superposition prediction), `regime_grid` (all of these over a stored m x alpha x wd sweep). Does not: train, plot.

Conventions: W is [..., m, n] with column i feature i's vector (superpose's tied models).
"""

from __future__ import annotations

import numpy as np

from superpose.analysis.stats import power_law_fit
from superpose.data import power_law_frequencies


def fit_power_law(x, y) -> dict:
    """Fit y = c x^-exponent by least squares on (log x, log y) (analysis.stats.power_law_fit). x, y: 1-D of
    one length (repeat x for several seeds per point). Returns exponent (minus the log-log slope), its
    standard error, the prefactor c and the number of points used; NaNs with fewer than 3 finite positive
    points or a single x."""
    x = np.asarray(x, np.float64).reshape(-1)
    y = np.asarray(y, np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if np.unique(x[ok]).size < 2:
        ok[:] = False
    slope, stderr, prefactor = power_law_fit(x[ok], y[ok])
    return {"exponent": -slope, "stderr": stderr, "prefactor": prefactor, "points": int(ok.sum())}


def feature_norms(W) -> np.ndarray:
    """[..., n] the norm of every feature's vector (column) of W [..., m, n]."""
    return np.linalg.norm(np.asarray(W, np.float64), axis=-2)


def represented_fraction(W, threshold: float = 0.5) -> np.ndarray:
    """[...] the fraction of features whose vector has norm above `threshold` (the paper's phi_1/2)."""
    return np.mean(feature_norms(W) > threshold, axis=-1)


def mean_squared_overlap(W, threshold: float = 0.5) -> float:
    """Mean over ordered pairs i != j of represented features (norm > threshold) of cos^2 between their
    vectors, for ONE W [m, n]. NaN with fewer than two represented features. Random directions in m dimensions
    give 1/m; m or fewer orthogonal ones give 0."""
    W = np.asarray(W, np.float64)
    norms = np.linalg.norm(W, axis=0)
    keep = norms > threshold
    k = int(keep.sum())
    if k < 2:
        return float("nan")
    U = W[:, keep] / norms[keep]
    gram = U.T @ U
    return float((np.sum(gram**2) - np.sum(np.diag(gram) ** 2)) / (k * (k - 1)))


def dropped_feature_loss(p, m: int, mean_square: float = 4.0 / 3.0) -> float:
    """The per-feature mean squared error of a model that reproduces the m most frequent features exactly and
    outputs 0 for the others: (1/n) sum_{i > m} p_i E[v^2] (E[v^2] = 4/3 for Uniform[0, 2]). p sorted from the
    most frequent; the weak-superposition loss, ~ m^-alpha for p_i ~ i^-(1+alpha)."""
    p = np.asarray(p, np.float64)
    return float(np.sum(p[m:]) * mean_square / p.size)


def regime_grid(arrays: dict, n_features: int, threshold: float = 0.5) -> dict:
    """A sweep over width m x alpha x weight decay (x seeds), from its stored arrays (flat per model:
    n_hidden, alpha, weight_decay, final_loss, W zero-padded to [models, m_max, n]): per model the represented
    fraction and mean squared overlap; per (alpha, wd) the fitted loss and overlap exponents against m and the
    mean represented fraction; per alpha the exponent of the weak-superposition prediction
    (dropped_feature_loss over the same widths)."""
    m = np.asarray(arrays["n_hidden"])
    alpha = np.asarray(arrays["alpha"], np.float64)
    wd = np.asarray(arrays["weight_decay"], np.float64)
    loss = np.asarray(arrays["final_loss"], np.float64)
    W = np.asarray(arrays["W"])
    frac = represented_fraction(W, threshold)
    overlap = np.array([mean_squared_overlap(w, threshold) for w in W])
    alphas, wds, ms = np.unique(alpha), np.unique(wd), np.unique(m)
    fits = {}
    for a in alphas:
        for d in wds:
            at = np.isclose(alpha, a) & np.isclose(wd, d)
            fits[(float(a), float(d))] = {
                "loss": fit_power_law(m[at], loss[at]),
                "overlap": fit_power_law(m[at], overlap[at]),
                "fraction": float(np.mean(frac[at])),
            }
    dropped = {
        float(a): fit_power_law(
            ms, [dropped_feature_loss(power_law_frequencies(n_features, float(a)), int(k)) for k in ms]
        )["exponent"]
        for a in alphas
    }
    return {"m": m, "alpha": alpha, "wd": wd, "loss": loss, "fraction": frac, "overlap": overlap,
            "alphas": alphas, "wds": wds, "fits": fits, "dropped": dropped}  # fmt: skip
