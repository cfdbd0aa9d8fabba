"""Figures of models with a privileged hidden basis (paper E10, E11): each neuron's input weights.

Owns: the display order of neurons (by the importance of the feature each one mostly reads), one model's
weights as a neurons x features heatmap or as the paper's stacked bars (one bar per neuron, a segment per
feature, coloured by importance), and a stack of such panels, one model per row (e.g. one per sparsity).
Does not: classify neurons or features (the experiments do) or train. numpy in, matplotlib out; never jax.

Rows of W [n_hidden, n_features] are neurons (row j = neuron j's input weights, h_j = ReLU(W_j . x)),
columns are features, assumed given in decreasing importance (feature 0 most important).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt  # never picks a backend: entry points do
import numpy as np

from superpose.plots.core import IMPORTANCE_CMAP, save

__all__ = ["neuron_bars", "neuron_order", "neuron_weights", "save", "weights_by_model"]


def neuron_order(W: np.ndarray) -> np.ndarray:
    """[m] neuron indices for display: by the feature with the largest positive input weight (the feature
    that drives the ReLU neuron most; most important first), ties by that weight's share of the neuron's
    positive squared weight (most first); neurons without a positive weight last."""
    P2 = np.maximum(np.asarray(W, dtype=np.float64), 0.0) ** 2
    total = P2.sum(axis=1)
    main = np.where(total > 0, P2.argmax(axis=1), P2.shape[1])
    share = P2.max(axis=1) / np.maximum(total, 1e-12)
    return np.lexsort((-share, main))


def neuron_weights(ax, W: np.ndarray, order: np.ndarray | None = None, lim: float | None = None):
    """W [m, n] as a heatmap, one row per neuron (in `order`, default `neuron_order(W)`) and one column per
    feature; symmetric red-blue scale (blue positive, as the paper's W^T W) saturating at +-lim (default
    max |W|). Returns the image."""
    W = np.asarray(W, dtype=np.float64)
    order = neuron_order(W) if order is None else np.asarray(order)
    lim = lim if lim is not None else max(1e-6, float(np.abs(W).max()))
    im = ax.imshow(W[order], cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(W.shape[1]))
    ax.set_xticklabels(range(W.shape[1]), fontsize=6)
    ax.set_yticks(range(W.shape[0]))
    ax.set_yticklabels(order.tolist(), fontsize=6)
    ax.tick_params(length=0)
    return im


def neuron_bars(ax, W: np.ndarray, importance: np.ndarray, order: np.ndarray | None = None) -> None:
    """The paper's picture of W [m, n]: one vertical bar per neuron (in `order`, default `neuron_order(W)`),
    a segment per feature, positive weights stacked upwards and negative ones downwards, each coloured by
    the feature's importance (yellow = most important)."""
    W = np.asarray(W, dtype=np.float64)
    order = neuron_order(W) if order is None else np.asarray(order)
    imp = np.asarray(importance, dtype=np.float64)
    span = imp.max() - imp.min()
    colors = plt.get_cmap(IMPORTANCE_CMAP)((imp - imp.min()) / span if span > 0 else np.ones_like(imp))
    x = np.arange(len(order))
    up, down = np.zeros(len(order)), np.zeros(len(order))
    for i in np.argsort(-imp, kind="stable"):  # most important at the base of each bar
        w = W[order, i]
        pos, neg = np.maximum(w, 0), np.minimum(w, 0)
        ax.bar(x, pos, bottom=up, color=colors[i], width=0.8, edgecolor="white", linewidth=0.3)
        ax.bar(x, neg, bottom=down, color=colors[i], width=0.8, edgecolor="white", linewidth=0.3)
        up, down = up + pos, down + neg
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xticks(x)
    ax.set_xticklabels(order.tolist(), fontsize=6)
    ax.tick_params(labelsize=6, length=2)
    ax.set_xlim(-0.6, len(order) - 0.4)


def weights_by_model(
    Ws: np.ndarray,
    importance: np.ndarray,
    row_labels: Sequence[str],
    notes: Sequence[str] | None = None,
    title: str | None = None,
):
    """One row per model of Ws [k, m, n]: its neurons x features heatmap (left) and stacked bars (right),
    neurons in `neuron_order` of each model, labelled by their index. Both saturate at the largest positive
    weight (a stack of them, for the bars): inhibitory weights, often several times larger, are clipped so
    that the excitatory ones, which say what a neuron responds to, stay visible. row_labels[r] names row r
    (e.g. the density); notes[r], if given, is written beside it (e.g. the regime). Returns the figure."""
    Ws = np.asarray(Ws, dtype=np.float64)
    k, m, n = Ws.shape
    lim = max(1e-6, float(Ws.max()))
    bar_lim = max(1e-6, float(np.maximum(Ws, 0).sum(axis=2).max()))
    fig, axes = plt.subplots(
        k,
        2,
        figsize=(8.0, 0.55 * k + 0.9),
        squeeze=False,
        gridspec_kw={"width_ratios": [n, 0.9 * m]},
        layout="constrained",
    )
    for r in range(k):
        order = neuron_order(Ws[r])
        im = neuron_weights(axes[r, 0], Ws[r], order, lim)
        axes[r, 0].set_ylabel(row_labels[r], fontsize=7, rotation=0, ha="right", va="center")
        neuron_bars(axes[r, 1], Ws[r], importance, order)
        axes[r, 1].set_ylim(-0.5 * bar_lim, 1.05 * bar_lim)
        axes[r, 1].set_yticks([])
        if notes is not None:
            axes[r, 1].text(1.04, 0.5, notes[r], transform=axes[r, 1].transAxes, fontsize=6.5, va="center")
        if r < k - 1:
            axes[r, 0].set_xticklabels([])
            axes[r, 1].set_xticklabels([])
    axes[-1, 0].set_xlabel("feature (most important first)", fontsize=7)
    axes[-1, 1].set_xlabel("neuron", fontsize=7)
    axes[0, 0].set_title("W: neurons x features", fontsize=8)
    axes[0, 1].set_title("input weights per neuron", fontsize=8)
    # Under the heatmaps it belongs to (on the left, beyond the row labels, it floated away from them).
    bar = fig.colorbar(
        im, ax=axes[:, 0], location="bottom", fraction=0.015, aspect=50, pad=0.01, extend="min"
    )
    bar.set_label("weight (below -max clipped)", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
