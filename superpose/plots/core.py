"""Figures from stored arrays. numpy in, matplotlib out; never imports jax, never calls plt.show().

Owns: the drawing of each figure kind on a given `ax` (object-oriented API) and saving figures.
Does not: train or compute metrics beyond what a picture needs (metrics.py does).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt  # never picks a backend: entry points do (lab.runtime.use_file_backend)
import numpy as np

from superpose import metrics

IMPORTANCE_CMAP = "viridis"


def features_2d_colored(
    ax,
    W: np.ndarray,
    colors,
    title: str | None = None,
    linestyles=None,
    lim: float | None = None,
    title_size: float = 8,
) -> None:
    """Each column W_i [2] of W [2, n] as a line from the origin in colors[i] (any matplotlib colour)."""
    W = np.asarray(W, dtype=np.float64)
    n = W.shape[1]
    styles = ["-"] * n if linestyles is None else list(linestyles)
    for i in range(n):
        ax.plot([0, W[0, i]], [0, W[1, i]], color=colors[i], lw=2, ls=styles[i])
        ax.scatter([W[0, i]], [W[1, i]], color=colors[i], s=12, zorder=3)
    lim = lim if lim is not None else max(1.2, float(np.abs(W).max()) * 1.1)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=title_size)


def importance_colors(n_features: int, importance: np.ndarray | None = None) -> np.ndarray:
    """[n, 4] RGBA per feature by importance [n] (yellow = most important; all alike when None or equal)."""
    imp = np.ones(n_features) if importance is None else np.asarray(importance, dtype=np.float64)
    span = imp.max() - imp.min()
    return plt.get_cmap(IMPORTANCE_CMAP)((imp - imp.min()) / span if span > 0 else np.ones(n_features))


def features_2d(ax, W: np.ndarray, importance: np.ndarray | None = None, title: str | None = None) -> None:
    """Each feature's column W_i [2] as a line from the origin, coloured by importance (yellow = most)."""
    features_2d_colored(ax, W, importance_colors(np.shape(W)[1], importance), title=title, title_size=9)


def gram_heatmap(ax, W: np.ndarray, title: str | None = None):
    """W^T W with a symmetric red-blue colour scale (blue positive, red negative, as in the paper)."""
    G = metrics.gram(W)
    lim = max(1.0, float(np.abs(G).max()))
    im = ax.imshow(G, cmap="RdBu", vmin=-lim, vmax=lim)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return im


def bias_column(ax, b: np.ndarray) -> None:
    lim = max(1.0, float(np.abs(b).max()))
    ax.imshow(np.asarray(b)[:, None], cmap="RdBu", vmin=-lim, vmax=lim)
    ax.set_xticks([])
    ax.set_yticks([])


def norm_bars(ax, W: np.ndarray) -> None:
    """Horizontal bars of ||W_i||, coloured by interference (black = orthogonal, yellow = superposed)."""
    norms = metrics.feature_norms(W)
    inter = metrics.interference(W)
    colors = plt.get_cmap("plasma")(np.clip(inter / max(1.0, inter.max()), 0, 1) * 0.9)
    colors[inter < 1e-3] = (0, 0, 0, 1)
    y = np.arange(len(norms))
    ax.barh(y, norms, color=colors)
    ax.set_ylim(len(norms) - 0.5, -0.5)
    ax.set_xlim(0, max(1.2, norms.max() * 1.05))
    ax.set_yticks([])


def save(fig, path: Path, dpi: int = 110) -> Path:
    """Save and close (figures in sweeps must not leak)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
