"""Feature-geometry figures of the non-uniform and correlated experiments (paper E6, E7).

Owns: 2-D feature drawings with features coloured by set or with one feature highlighted, loss-by-geometry
curves, and per-set dimension curves. numpy in, matplotlib out (on a given `ax`); never imports jax.
Does not: compute the numbers it draws beyond trivial rescaling (experiments and metrics.py do).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from superpose.plots.core import features_2d_colored, readable_log_ticks

SET_CMAP = "tab10"


def set_colors(n_features: int, set_size: int) -> list:
    """One colour per consecutive set of `set_size` features (members of a set share the colour)."""
    cmap = plt.get_cmap(SET_CMAP)
    return [cmap((i // set_size) % 10) for i in range(n_features)]


def features_2d_sets(ax, W: np.ndarray, set_size: int, title: str | None = None) -> None:
    """W [2, n] with the members of each consecutive set of `set_size` features in one colour; the first
    member solid, the others dashed, so members of a set can be told apart."""
    n = np.asarray(W).shape[1]
    styles = ["-" if i % set_size == 0 else "--" for i in range(n)]
    features_2d_colored(ax, W, set_colors(n, set_size), title=title, linestyles=styles)


def features_2d_highlight(ax, W: np.ndarray, feature: int = 0, title: str | None = None) -> None:
    """W [2, n] with `feature` in red and every other feature in grey (the perturbed feature of E6)."""
    n = np.asarray(W).shape[1]
    colors = ["tab:red" if i == feature else "0.35" for i in range(n)]
    features_2d_colored(ax, W, colors, title=title)


def loss_by_geometry(ax, x: np.ndarray, curves: dict[str, np.ndarray], xlabel: str, mark_x=None) -> None:
    """One line per geometry: curves name -> [len(x)] loss (NaN where no fit had that geometry)."""
    for name, y in curves.items():
        y = np.asarray(y, dtype=np.float64)
        ax.plot(x, y, "o-", ms=3, lw=1.2, label=name)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel, fontsize=8)
    if mark_x is not None and np.isfinite(mark_x):
        ax.axvline(mark_x, color="0.5", ls=":", lw=1)
    ax.legend(fontsize=7, frameon=False)
    ax.tick_params(labelsize=7)


def set_dimensions(ax, density: np.ndarray, dims: np.ndarray, set_size: int, labels=None) -> None:
    """Effective number of dimensions of each set's W columns against density.

    density [k]; dims [k, n_sets]. A set in a local orthogonal basis sits at set_size; a set collapsed onto
    its principal component sits near 1.
    """
    dims = np.asarray(dims, dtype=np.float64)
    cmap = plt.get_cmap(SET_CMAP)
    for s in range(dims.shape[1]):
        label = labels[s] if labels is not None else f"set {s}"
        ax.plot(density, dims[:, s], "o-", ms=3, color=cmap(s % 10), label=label)
    ax.axhline(set_size, color="0.6", ls=":", lw=1)
    ax.set_xscale("log")
    readable_log_ticks(ax.xaxis)
    ax.set_ylim(0, set_size * 1.1)
    ax.set_xlabel("set density 1 - S", fontsize=8)
    ax.set_ylabel("dimensions used by the set", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    ax.tick_params(labelsize=7)
