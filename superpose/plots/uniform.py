"""Figures of paper E4 and E5: dimensions per feature and feature dimensionality against 1/(1-S).

Owns: the D* curve(s) with the sticky values 1 and 1/2 marked, and the scatter of every represented
feature's D_i with guide lines at the polytope fractions. Does not: train or judge plateaus (the
experiment script does; metrics.py computes D* and D_i).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from superpose import metrics
from superpose.plots.core import save

__all__ = ["dimensions_per_feature", "feature_dimensionality", "save"]

FRACTION_LABELS = {1.0: "1", 3 / 4: "3/4", 2 / 3: "2/3", 1 / 2: "1/2", 2 / 5: "2/5", 3 / 8: "3/8"}


def dimensions_per_feature(runs: dict[str, tuple[np.ndarray, np.ndarray]], tol: float = 0.03) -> plt.Figure:
    """D* = m / ||W||_F^2 against 1/(1-S) (log axis), one curve per run.

    runs: name -> (W [k, m, n], density [k]); curves are labelled by n and m. The band 1/2 +- tol is shaded (the plateau check's window).
    """
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    ax.axhspan(0.5 - tol, 0.5 + tol, color="0.9", zorder=0, label=f"1/2 $\\pm$ {tol:g}")
    for y in (1.0, 0.5):
        ax.axhline(y, color="0.6", lw=0.8, ls="--", zorder=1)
    for Ws, density in runs.values():
        m, n = Ws.shape[1:]
        d_star = np.array([metrics.dimensions_per_feature(W) for W in Ws])
        line = ax.plot(1.0 / density, d_star, "o-", ms=3.5, lw=1.2, label=f"n={n}, m={m}", zorder=3)[0]
        ax.axhline(m / n, color=line.get_color(), lw=0.7, ls=":", zorder=1)  # every feature represented
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 - S)")
    ax.set_ylabel("dimensions per feature $D^* = m / \\|W\\|_F^2$")
    ax.set_ylim(0, 1.1)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Uniform superposition: $D^*$ sticks at 1 and at 1/2 (antipodal pairs)", fontsize=10)
    fig.tight_layout()  # keeps the x label inside the canvas
    return fig


def feature_dimensionality(
    Ws: np.ndarray, density: np.ndarray, tol: float = 0.03, threshold: float = 0.5
) -> plt.Figure:
    """Every represented feature's D_i (dots) and D* (line) against 1/(1-S), guide lines at the fractions.

    Ws [k, m, n]; density [k]. Represented features (||W_i|| > threshold): blue within tol of a fraction,
    orange elsewhere; grey: the rest (D_i ~ ||W_i||^2, small).
    """
    m, n = Ws.shape[1:]
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    inv = 1.0 / np.asarray(density, dtype=np.float64)
    for frac, text in FRACTION_LABELS.items():
        ax.axhline(frac, color="0.75", lw=0.7, zorder=0)
        # 2/5 and 3/8 lie 0.025 apart: the upper label sits above its line, the lower one below
        va = {2 / 5: "bottom", 3 / 8: "top"}.get(frac, "center")
        ax.text(inv.max() * 1.08, frac, text, va=va, fontsize=8)
    rng = np.random.default_rng(0)  # jitter along x only, so overlapping dots stay visible
    for W, x in zip(Ws, inv):
        D, rep = metrics.feature_dimensionality(W), metrics.represented(W, threshold)
        on = np.array([metrics.nearest_geometry(float(d), tol) is not None for d in D], dtype=bool) & rep
        xs = x * np.exp(rng.uniform(-0.04, 0.04, D.size))
        ax.scatter(xs[~rep], D[~rep], s=2, color="0.6", alpha=0.2, lw=0)
        ax.scatter(xs[on], D[on], s=4, color="tab:blue", alpha=0.6, lw=0)
        ax.scatter(xs[rep & ~on], D[rep & ~on], s=4, color="tab:orange", alpha=0.4, lw=0)
    d_star = np.array([metrics.dimensions_per_feature(W) for W in Ws])
    ax.plot(inv, d_star, color="k", lw=1, label="$D^*$")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("1 / (1 - S)")
    ax.set_ylabel("feature dimensionality $D_i$")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    ax.set_title(
        f"{n} features in {m} dimensions: every feature's $D_i$ "
        f"(blue: within {tol:g} of a guide line; grey: $\\|W_i\\| \\leq$ {threshold:g})",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
