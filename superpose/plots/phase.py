"""Phase diagrams (paper E8, E9): a map of phases over (extra importance r, density s), both log axes.

Owns: drawing a phase map on an ax, the analytic boundary on top of it, and the side-by-side figure
(empirical next to theoretical). numpy in, matplotlib out; never imports jax.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from superpose.plots.core import save

OTHER_COLOR = "#d9d9d9"  # cells whose weights match no candidate (phase -1)
PHASE_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3")


def _edges(values: np.ndarray) -> np.ndarray:
    """[k + 1] cell edges for log-spaced centres [k] (geometric midpoints)."""
    v = np.log10(np.asarray(values, dtype=np.float64))
    mid = (v[1:] + v[:-1]) / 2
    return 10 ** np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def phase_map(ax, r: np.ndarray, s: np.ndarray, phases: np.ndarray, n_phases: int, title: str = "") -> None:
    """Cells coloured by phase. r [nr] extra importances, s [ns] densities, phases [nr, ns] ints (-1 = other).

    x axis: density 1 - S (log, decreasing to the right as in the paper), y axis: extra importance (log).
    """
    colors = [OTHER_COLOR, *PHASE_COLORS[:n_phases]]
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(np.arange(-1.5, n_phases), cmap.N)
    ax.pcolormesh(_edges(s), _edges(r), np.asarray(phases), cmap=cmap, norm=norm, shading="flat")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(max(_edges(s)), min(_edges(s)))  # dense on the left, sparse on the right
    ax.set_xlabel("feature density 1 - S")
    ax.set_ylabel("extra feature importance r")
    if title:
        ax.set_title(title, fontsize=9)


def boundary_lines(ax, curves, color: str = "k", **kwargs) -> None:
    """Each curve [k, 2] of (r, s) points drawn in the phase map's axes (x = s, y = r)."""
    kwargs.setdefault("lw", 1.5)
    for c in curves:
        ax.plot(c[:, 1], c[:, 0], color=color, **kwargs)


def phase_figure(
    path,
    r: np.ndarray,
    s: np.ndarray,
    empirical: np.ndarray,
    theoretical: np.ndarray,
    labels,
    curves,
    suptitle: str,
    excluded: np.ndarray | None = None,
):
    """Empirical phases [nr, ns] beside theoretical ones, the analytic boundary on both; saves to path.

    excluded: optional [nr, ns] bool, cells near the boundary left out of the match count (hatched dots).
    Cells whose empirical phase disagrees with theory (and are counted) get an x.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.4), sharey=True, constrained_layout=True)
    n = len(labels)
    phase_map(axes[0], r, s, empirical, n, "empirical (best fit per cell)")
    phase_map(axes[1], r, s, theoretical, n, "theory (closed-form candidate losses)")
    axes[1].set_ylabel("")
    R, S = np.meshgrid(r, s, indexing="ij")
    wrong = (np.asarray(empirical) != np.asarray(theoretical)) & (
        True if excluded is None else ~np.asarray(excluded)
    )
    axes[0].scatter(S[wrong], R[wrong], marker="x", s=14, color="k", lw=0.8)
    if excluded is not None:
        ex = np.asarray(excluded)
        axes[0].scatter(S[ex], R[ex], marker=".", s=3, color="w")
    for ax in axes:
        boundary_lines(ax, curves)
    handles = [Patch(color=PHASE_COLORS[i], label=labels[i]) for i in range(n)]
    handles.append(Patch(color=OTHER_COLOR, label="other / none"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), fontsize=8)
    fig.suptitle(suptitle, fontsize=10)
    return save(fig, path)
