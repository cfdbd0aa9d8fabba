"""Figures of a generic sweep (`superpose sweep`, experiments/sweep.py): any grid of tied models.

Owns: a grid of geometry panels (2-D feature vectors, a 3-D view, or W^T W above 3 dimensions), D* curves
against 1/(1-S) with the sticky fractions marked, and loss curves. The D_i scatter is plots/uniform.py's.
numpy in, matplotlib out; never imports jax. Does not: choose which fits to draw (the experiment does).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from superpose.plots.core import features_2d, gram_heatmap, importance_colors
from superpose.plots.stages import features_3d

GUIDES = {1.0: "1", 1 / 2: "1/2", 2 / 5: "2/5", 1 / 3: "1/3"}


def geometry_grid(Ws: Sequence[np.ndarray], titles: Sequence[str], importances=None, title: str = "", cols=8):
    """One panel per W [m, n] (each its own m and n): feature vectors for m = 2 (coloured by importance,
    yellow = most), a 3-D view for m = 3, the W^T W heatmap (blue positive, red negative) above that."""
    count = len(Ws)
    cols = max(1, min(cols, count))
    rows = -(-count // cols)
    fig = plt.figure(figsize=(1.9 * cols, 2.0 * rows + 0.4))
    for j, (W, label) in enumerate(zip(Ws, titles)):
        m, n = W.shape
        imp = None if importances is None else importances[j]
        ax = fig.add_subplot(rows, cols, j + 1, projection="3d" if m == 3 else None)
        if m == 2:
            features_2d(ax, W, imp, title=label)
        elif m == 3:
            features_3d(ax, W, importance_colors(n, imp), title=label)
        else:
            gram_heatmap(ax, W, title=label)
        ax.title.set_fontsize(7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def dimensions_per_feature(x: np.ndarray, curves: dict[str, np.ndarray], title: str = ""):
    """D* [k] against x = 1/(1-S) [k] (log axis), one line per label, with dashed guides at 1, 1/2, 2/5, 1/3."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for y, text in GUIDES.items():
        ax.axhline(y, color="0.75", lw=0.7, ls="--", zorder=0)
        ax.text(1.01, y, text, transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    for label, d_star in curves.items():
        ax.plot(x, d_star, "o-", ms=3, lw=1.2, label=label or None)
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 - S)")
    ax.set_ylabel("$D^* = m / \\|W\\|_F^2$")
    ax.set_ylim(0, max(1.1, 1.05 * np.nanmax([np.nanmax(np.asarray(c, float)) for c in curves.values()])))
    if any(curves) and len(curves) > 1:
        ax.legend(fontsize=7, frameon=False)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def loss_curves(log_steps: np.ndarray, losses: np.ndarray, labels: Sequence[str], title: str = ""):
    """Each loss log [n_logs] of losses [k, n_logs] against log_steps (log-log); a legend for up to 12."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(len(losses), 1)))
    for loss, label, color in zip(losses, labels, colors):
        ax.plot(log_steps, loss, lw=1, color=color, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    if len(losses) <= 12:
        ax.legend(fontsize=6, frameon=False)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
