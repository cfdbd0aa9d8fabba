"""Figures of paper E2 and E3: models side by side across sparsity, and feature norms against density.

Owns: the paper-style panel (W^T W, bias column, ||W_i|| bars coloured by interference) laid out as one
row per model and one column per sparsity, and the E3 norm / interference maps. Does not: train or decide
what is represented (metrics.py does).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from superpose import metrics
from superpose.plots.core import INTERFERENCE_CMAP, ORTHOGONAL, bias_column, gram_heatmap, norm_bars, save

__all__ = ["linear_vs_relu", "norms_across_density", "save"]


def linear_vs_relu(
    Ws: dict[str, np.ndarray],
    bs: dict[str, np.ndarray],
    sparsity: np.ndarray,
    title: str = "",
    n_fits: int = 1,
) -> plt.Figure:
    """One row per model, one column per sparsity, each cell W^T W | b | ||W_i|| bars.

    Ws: row label -> W [n_sparsities, m, n]; bs: row label -> b [n_sparsities, n]; sparsity [n_sparsities];
    n_fits: how many fits each panel was the best of (for the caption).
    Bars are black for features orthogonal to all others and yellow for strongly superposed ones.
    """
    rows, k = list(Ws), len(sparsity)
    ratios = [1.0, 0.07, 0.6, 0.12] * k  # heatmap, bias, bars, gap
    height = 1.15 * len(rows) + 1.8  # the rows, then room for the title, the labels and the colour bars
    fig = plt.figure(figsize=(1.8 * k, height))
    grid = fig.add_gridspec(
        len(rows),
        4 * k,
        width_ratios=ratios,
        wspace=0.05,
        hspace=0.15,
        top=1 - 0.6 / height,
        bottom=1.3 / height,
    )
    # One colour scale for every W^T W and b panel, so equal colours mean equal values across the figure.
    lim = max(
        1.0,
        *(float(np.abs(metrics.gram(W)).max()) for label in rows for W in Ws[label]),
        *(float(np.abs(b).max()) for label in rows for b in bs[label]),
    )
    for r, label in enumerate(rows):
        for j in range(k):
            W, b = Ws[label][j], bs[label][j]
            ax_g = fig.add_subplot(grid[r, 4 * j])
            im = gram_heatmap(ax_g, W, lim=lim)
            ax_b = fig.add_subplot(grid[r, 4 * j + 1])
            bias_column(ax_b, b, lim=lim)
            for ax in (ax_g, ax_b):  # fill the cell, so the three panels share one height
                ax.set_aspect("auto")
            ax_n = fig.add_subplot(grid[r, 4 * j + 2])
            norm_bars(ax_n, W)
            ax_n.set_xlim(0, max(1.2, max(float(metrics.feature_norms(w).max()) * 1.05 for w in Ws[label])))
            ax_n.axvline(1, color="0.6", lw=0.6, ls=":")  # unit norm
            ax_n.set_xticks([1], ["1"] if r == len(rows) - 1 else [], fontsize=7)
            fig.add_subplot(grid[r, 4 * j + 3]).axis("off")
            if r == 0:
                ax_g.set_title(f"S = {sparsity[j]:g}", fontsize=9, loc="left")
            if j == 0:
                ax_g.set_ylabel(label, fontsize=9)
            if r == len(rows) - 1:
                ax_g.set_xlabel("$W^TW$", fontsize=8)
                ax_b.set_xlabel("$b$", fontsize=8)
                ax_n.set_xlabel("$\\|W_i\\|$", fontsize=8)
    bar_w = 0.28
    cax = fig.add_axes([0.12, 0.58 / height, bar_w, 0.1 / height])
    fig.colorbar(im, cax=cax, orientation="horizontal").set_label("$W^TW$ and $b$", fontsize=8)
    cax.tick_params(labelsize=7)
    cax = fig.add_axes([0.6, 0.58 / height, bar_w, 0.1 / height])
    scale = plt.cm.ScalarMappable(cmap=INTERFERENCE_CMAP, norm=plt.Normalize(0, 1))
    bar = fig.colorbar(scale, cax=cax, orientation="horizontal", extend="max")
    bar.set_label(
        f"bar colour: interference $\\sum_{{j\\neq i}}(\\hat W_i W_j)^2$ (black: < {ORTHOGONAL:g})",
        fontsize=8,
    )
    cax.tick_params(labelsize=7)
    fits = f"best of {n_fits} fits" if n_fits > 1 else "one fit"
    caption = f"$W^TW$ | $b$ | $\\|W_i\\|$ (bars: black orthogonal, yellow superposed); {fits} per panel"
    fig.suptitle(f"{title}\n{caption}" if title else caption, fontsize=9, y=1 - 0.05 / height)
    return fig


def norms_across_density(
    W: np.ndarray, density: np.ndarray, importance: np.ndarray, threshold: float = 0.5
) -> plt.Figure:
    """E3: ||W_i|| and the interference of represented features, features (sorted by importance) against
    density, plus the number of represented and superposed features per density.

    W [n_densities, m, n]; density [n_densities] (any order; drawn dense at the top); importance [n].
    """
    order = np.argsort(importance)[::-1]
    rows = np.argsort(density)[::-1]
    W, density = np.asarray(W)[rows][:, :, order], np.asarray(density)[rows]
    norms = np.stack([metrics.feature_norms(w) for w in W])  # [n_densities, n]
    inter = np.stack([metrics.interference(w) for w in W])
    inter = np.where(norms > threshold, inter, np.nan)  # interference of unlearned features means nothing
    m, n = W.shape[1:]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1, 0.7]})
    extent = (-0.5, n - 0.5, len(density) - 0.5, -0.5)
    yticks = np.arange(0, len(density), max(1, len(density) // 6))
    for ax, data, cmap, vmax, label, short in (
        (axes[0], norms, "Greys", max(1.0, np.nanmax(norms)), "$\\|W_i\\|$", "$\\|W_i\\|$"),
        (
            axes[1],
            inter,
            "plasma",
            1.0,
            "interference $\\sum_{j\\neq i}(\\hat W_i W_j)^2$ (clipped at 1)",
            "interference",
        ),
    ):
        im = ax.imshow(
            data, aspect="auto", cmap=cmap, vmin=0, vmax=vmax, extent=extent, interpolation="nearest"
        )
        ax.set_yticks(yticks, [f"{density[t]:.3g}" for t in yticks])
        ax.set_xlabel("feature (most important left)")
        ax.set_title(label, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02).set_label(short, fontsize=8)
    axes[0].set_ylabel("density 1 - S")
    axes[1].set_facecolor("0.85")  # grey: not represented
    n_rep = (norms > threshold).sum(axis=1)
    n_sup = ((norms > threshold) & (np.nan_to_num(inter) > 0.1)).sum(axis=1)
    ax = axes[2]
    ax.plot(density, n_rep, "o-", ms=3, label="represented")
    ax.plot(density, n_sup, "s-", ms=3, label="superposed")
    ax.axhline(m, color="0.5", ls="--", lw=1, label=f"m = {m}")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("density 1 - S")
    ax.set_ylabel("features")
    ax.legend(fontsize=8, frameon=False)
    fig.suptitle(
        f"{n} features in {m} dimensions: superposition sets in from the least important features",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
