"""Figures of paper E11 (computation in superposition: an untied ReLU MLP computing |x|).

Owns: the paper's neuron plots (each hidden neuron drawn as its input weights over features, stacked bars
coloured by feature importance), small annotated weight tables (the n=3 model, one asymmetric-superposition
motif) and the per-density summary lines, and the experiment's two figures built from them. Does not: train,
rescale or classify neurons (superpose.analysis.motifs does; these functions draw the arrays they are given).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from superpose.plots.core import IMPORTANCE_CMAP, save

__all__ = [
    "importance_colors",
    "motif_figure",
    "neuron_bars",
    "neurons_figure",
    "save",
    "summary_lines",
    "weight_table",
]


def importance_colors(importance: np.ndarray) -> np.ndarray:
    """[n, 4] RGBA per feature on the importance colour map, linear in importance: yellow is the most
    important feature, dark purple the least (with I = 0.8^i, features past ~15 all look alike)."""
    imp = np.asarray(importance, dtype=np.float64)
    span = imp.max() - imp.min()
    return plt.get_cmap(IMPORTANCE_CMAP)((imp - imp.min()) / span if span > 0 else np.ones(len(imp)))


def neuron_bars(ax, W1: np.ndarray, colors: np.ndarray, title: str | None = None) -> None:
    """One horizontal bar per neuron (row of W1 [m, n], top to bottom in the given order): its input weights
    stacked, positive ones rightwards from 0 and negative ones leftwards, each segment in its feature's colour
    (colors [n, 4]). Pass rescaled weights (largest |weight| of each neuron 1) so that rows compare."""
    W1 = np.asarray(W1, dtype=np.float64)
    m, n = W1.shape
    y = np.arange(m)
    for sign in (1.0, -1.0):
        part = np.where(np.sign(W1) == sign, W1, 0.0)
        # Largest weights first, so each bar starts with its main feature next to the axis.
        order = np.argsort(-np.abs(part), axis=1)
        left = np.zeros(m)
        for rank in range(n):
            idx = order[:, rank]
            widths = part[y, idx]
            if not np.any(widths):
                break
            ax.barh(y, widths, left=left, color=colors[idx], height=0.85, linewidth=0)
            left = left + widths
    ax.axvline(0.0, color="0.3", lw=0.5)
    ax.set_ylim(m - 0.5, -0.5)
    lim = max(
        1.0,
        float(np.abs(np.where(W1 > 0, W1, 0).sum(1)).max()),
        float(np.abs(np.where(W1 < 0, W1, 0).sum(1)).max()),
    )
    ax.set_xlim(-lim * 1.05, lim * 1.05)
    ax.set_yticks([])
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=8)


def weight_table(
    ax,
    M: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    title: str | None = None,
    fmt: str = "{:.2f}",
) -> None:
    """M [rows, cols] as a red-blue heatmap (blue positive, as in the paper) with each value written in."""
    M = np.asarray(M, dtype=np.float64)
    lim = max(1e-9, float(np.abs(M).max()))
    ax.imshow(M, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    for (r, c), v in np.ndenumerate(M):
        ax.text(
            c,
            r,
            fmt.format(v),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if abs(v) > 0.6 * lim else "black",
        )
    ax.set_xticks(range(M.shape[1]), col_labels, fontsize=7)
    ax.set_yticks(range(M.shape[0]), row_labels, fontsize=7)
    if title:
        ax.set_title(title, fontsize=8)


def summary_lines(
    ax, density: np.ndarray, series: dict[str, np.ndarray], ylabel: str, title: str | None = None
) -> None:
    """Each series [n_densities] against density on a log x axis, dense on the left (as the neuron plots)."""
    for label, values in series.items():
        ax.plot(density, values, marker="o", ms=3, lw=1.2, label=label)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("density 1 - S", fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6, frameon=False)
    if title:
        ax.set_title(title, fontsize=8)


def neurons_figure(
    path: str,
    small: tuple[np.ndarray, np.ndarray, np.ndarray],
    density: np.ndarray,
    fractions: dict[str, np.ndarray],
    motifs_per_model: np.ndarray,
    bars: list[np.ndarray],
    importance: np.ndarray,
    n_hidden: int,
):
    """E11's figure: top, the small model's W1 and W2^T as tables (small = (neuron ids [m], W1 [m, n], W2
    [n, m]) in display order, rescaled) and each class's fraction of alive neurons against density (with the
    motifs per model, dashed, on a twin axis); below, one neuron_bars panel per density (bars [densities] of
    rescaled W1 [m, n] in display order). Returns the saved path."""
    k = len(density)
    fig = plt.figure(figsize=(max(8.0, 1.35 * k), 7.2))
    grid = fig.add_gridspec(2, k, height_ratios=[1.0, 2.6], hspace=0.35, wspace=0.15)
    top = grid[0, :].subgridspec(1, 3, width_ratios=[1.0, 1.0, 2.2], wspace=0.35)
    ids, R1, R2 = small
    n_small = R1.shape[1]
    rows = [f"h{j}" for j in ids]
    feats = [f"x{i}" for i in range(n_small)]
    weight_table(
        fig.add_subplot(top[0]), R1, rows, feats, title=f"n={n_small}, m={len(ids)}: $W_1$ (rescaled)"
    )
    weight_table(fig.add_subplot(top[1]), R2.T, rows, [f"y{i}" for i in range(n_small)], title="$W_2^T$")
    ax = fig.add_subplot(top[2])
    summary_lines(
        ax,
        density,
        fractions,
        "fraction of alive neurons",
        title=f"n={len(importance)}, m={n_hidden}: neuron classes (best of seeds)",
    )
    ax.set_ylim(-0.03, 1.03)
    twin = ax.twinx()
    twin.plot(density, motifs_per_model, color="0.4", ls="--", marker="s", ms=3, lw=1)
    twin.set_ylabel("asymmetric motifs per model (dashed)", fontsize=7)
    twin.tick_params(labelsize=6)
    colors = importance_colors(importance)
    for j in range(k):
        ax = fig.add_subplot(grid[1, j])
        neuron_bars(ax, bars[j], colors, title=f"1-S = {density[j]:g}")
        ax.set_xlabel("input weight", fontsize=7)
        if j == 0:
            ax.set_ylabel("neurons (one bar each)", fontsize=7)
    fig.suptitle(
        "Absolute value in superposition: each row a neuron's input weights (largest |w| = 1), coloured by\n"
        "feature importance (yellow = most); neurons sorted by their main feature's importance",
        fontsize=9,
    )
    return save(fig, path)


def motif_figure(path: str, inputs, outputs, rows: list[str], feats: list[int], title: str | None):
    """One asymmetric-superposition motif as two tables: input weights [2, 2] (rows: the asymmetric neuron
    and its inhibitor; columns: features `feats`) and output weights [2, 2] (features x neurons). With
    title None, a blank figure saying that no motif was found. Returns the saved path."""
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 2.4))
    if title is None:
        for ax in axes:
            ax.axis("off")
        axes[0].text(0.0, 0.5, "no asymmetric superposition motif found", fontsize=9)
        return save(fig, path)
    weight_table(axes[0], inputs, rows, [f"x{i}" for i in feats], title="input weights $W_1$")
    weight_table(
        axes[1], np.asarray(outputs).T, rows, [f"y{i}" for i in feats], title="output weights $W_2^T$"
    )
    axes[1].set_yticks([])
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()  # room for the row names and the two-line title inside the canvas
    return save(fig, path)
