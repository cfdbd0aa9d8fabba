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
    square(ax, lim if lim is not None else max(1.2, float(np.abs(W).max()) * 1.1), title, title_size)


def square(ax, lim: float, title: str | None = None, title_size: float = 8) -> None:
    """An unticked square panel [-lim, lim]^2 with equal aspect, for vectors drawn from the origin."""
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


def gram_heatmap(ax, W: np.ndarray, title: str | None = None, lim: float | None = None):
    """W^T W with a symmetric red-blue colour scale (blue positive, red negative, as in the paper), from -lim
    to lim (default: max(1, max |W^T W|), this panel's own; pass one lim to panels that share a colour bar)."""
    G = metrics.gram(W)
    lim = max(1.0, float(np.abs(G).max())) if lim is None else lim
    im = ax.imshow(G, cmap="RdBu", vmin=-lim, vmax=lim)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return im


def bias_column(ax, b: np.ndarray, lim: float | None = None):
    """b [n] as one column, on the W^T W colour scale (default lim: max(1, max |b|))."""
    lim = max(1.0, float(np.abs(b).max())) if lim is None else lim
    im = ax.imshow(np.asarray(b)[:, None], cmap="RdBu", vmin=-lim, vmax=lim)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


INTERFERENCE_CMAP = "plasma"
ORTHOGONAL = 1e-3  # interference below this draws black: the feature is orthogonal to all others


def norm_bars(ax, W: np.ndarray) -> None:
    """Horizontal bars of ||W_i||, coloured by interference sum_{j != i} (W_hat_i . W_j)^2 on one fixed scale
    (INTERFERENCE_CMAP from 0 to 1, clipped: yellow = 1 or more, i.e. strongly superposed), black below
    ORTHOGONAL."""
    norms = metrics.feature_norms(W)
    inter = metrics.interference(W)
    colors = plt.get_cmap(INTERFERENCE_CMAP)(np.clip(inter, 0, 1))
    colors[inter < ORTHOGONAL] = (0, 0, 0, 1)
    y = np.arange(len(norms))
    ax.barh(y, norms, color=colors)
    ax.set_ylim(len(norms) - 0.5, -0.5)
    ax.set_xlim(0, max(1.2, norms.max() * 1.05))
    ax.set_yticks([])


def readable_log_ticks(axis) -> None:
    """Ticks of a log-scaled axis (ax.xaxis or ax.yaxis) at 1, 2 and 5 x 10^k, labelled as plain numbers,
    minor ticks unlabelled: on a range under two decades matplotlib labels its minor ticks as "3x10^-2",
    and they run into each other."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def save(fig, path: Path, dpi: int = 110) -> Path:
    """Save and close (figures in sweeps must not leak)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
