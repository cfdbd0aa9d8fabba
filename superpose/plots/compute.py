"""Figures of issue 20 (computing with few neurons): Universal-AND error against width, neuron classes, and
compressed computation's loss against the residual's mixing, with the animations of both forming.

Owns: error-against-d curves, the (neuron x pair) class map of a Universal-AND model, the loss-against-scale
plot with its baselines, the 100 ReLU response curves, and the two animations built on them. Does not:
train or measure (superpose.analysis.compute computes what these draw). plots/computation.py is E11's |x|
model; this file is separate so neither changes the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from superpose.plots.animation import save_animation
from superpose.plots.core import save

__all__ = [
    "and_class_animation",
    "class_map",
    "error_vs_width",
    "loss_vs_scale",
    "relu_animation",
    "relu_curves",
    "save",
]

CLASS_COLORS = ("#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#e6ab02", "#dddddd")  # A B C AND single silent


def _finish(ax, xlabel: str, ylabel: str, title: str | None, legend: bool = True) -> None:
    ax.set_xlabel(xlabel, fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    if legend:
        ax.legend(fontsize=6)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=8)


def error_vs_width(ax, widths, series: dict, n_pairs: int, title: str | None = None) -> None:
    """series {label: error [len(widths)]} (relative to the zero predictor) against d, log x; the line of
    d = number of ANDs marked (the naive circuit's zero-error width)."""
    for label, err in series.items():
        style = "--" if label.startswith("naive") else "-"
        ax.plot(widths, err, style, marker="o", ms=3, lw=1.2, label=label)
    ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
    ax.axvline(n_pairs, color="0.7", lw=0.6)
    ax.set_xscale("log", base=2)
    _finish(ax, "neurons d", "MSE / MSE of predicting 0", title)


def class_map(ax, classes: np.ndarray, class_names: Sequence[str], title: str | None = None) -> None:
    """classes [d, P] (index into class_names) as an image: one row per neuron (sorted by its commonest
    class), one column per pair."""
    classes = np.asarray(classes)
    k = len(class_names)
    order = np.lexsort(
        (-np.mean(classes == 0, axis=1), [np.bincount(r, minlength=k).argmax() for r in classes])
    )
    ax.imshow(
        classes[order],
        cmap=ListedColormap(CLASS_COLORS[:k]),
        vmin=-0.5,
        vmax=k - 0.5,
        aspect="auto",
        interpolation="nearest",
    )
    ax.set_xlabel("pair (i, j)", fontsize=7)
    ax.set_ylabel("neuron", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    handles = [plt.Rectangle((0, 0), 1, 1, color=CLASS_COLORS[i]) for i in range(k)]
    ax.legend(handles, class_names, fontsize=5, loc="upper right", ncol=k, handlelength=0.8)
    if title:
        ax.set_title(title, fontsize=8)


def loss_vs_scale(ax, scales, ratio, floor=None, title: str | None = None) -> None:
    """The trained loss / naive baseline [len(scales)] against the mixing scale, with 1 (the baseline) and
    optionally floor [len(scales)]: (naive + the mixing's own noise) / naive, what computing 50 ReLUs
    exactly and ignoring the mixing would score."""
    ax.plot(scales, ratio, "o-", color="C0", ms=4, label="trained")
    ax.axhline(1.0, color="k", lw=0.8, ls="--", label="naive: 50 ReLUs exact")
    if floor is not None:
        ax.plot(scales, floor, ":", color="C3", lw=1.0, label="naive + residual noise")
    _finish(ax, "residual mixing scale s (1 = Braun et al.)", "loss / naive (n-d)/n p/6", title)


def relu_curves(ax, xs, responses, title: str | None = None) -> None:
    """responses [n, len(xs)] drawn thin beside the target ReLU(x) drawn thick."""
    xs = np.asarray(xs)
    for r in np.asarray(responses):
        ax.plot(xs, r, color="C0", lw=0.4, alpha=0.35)
    ax.plot(xs, np.maximum(xs, 0.0), color="k", lw=1.5)
    ax.set_ylim(-0.6, 1.3)
    _finish(ax, "x_i (one feature on)", "MLP output at i", title, legend=False)


def _loss_panel(ax, log_steps, loss, marker_step, reference=None, label="loss"):
    ax.cla()
    ax.plot(log_steps, loss, lw=0.8, color="C0", label=label)
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=0.7, label="naive")
    ax.axvline(marker_step, color="C3", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6)


def _animate(path, panels: int, draw: Callable, n_frames: int, options, width=4.0):
    """options: fps, format and progress as attributes (superpose.lab.animate.AnimateOptions); None: a GIF
    at 12 frames per second, silent."""
    fig, axes = plt.subplots(1, panels, figsize=(width * panels, 3.2))
    kw = {"fps": getattr(options, "fps", 12), "fmt": getattr(options, "format", "gif")}
    return save_animation(
        fig, lambda f: draw(axes, f), n_frames, path, progress=getattr(options, "progress", None), **kw
    )


def and_class_animation(path, class_frames, class_names, steps, log_steps, loss, title, options=None):
    """class_frames [k, d, P]: the (neuron x pair) class map at each snapshot step, beside the loss."""

    def draw(axes, f):
        axes[0].cla()
        class_map(axes[0], class_frames[f], class_names, title=f"{title}: step {int(steps[f]):,}")
        _loss_panel(axes[1], log_steps, loss, steps[f])

    return _animate(path, 2, draw, len(steps), options)


def relu_animation(path, xs, response_frames, steps, log_steps, loss, naive, title, options=None):
    """response_frames [k, n, len(xs)]: the MLP's output on each feature alone at each snapshot step."""

    def draw(axes, f):
        axes[0].cla()
        relu_curves(axes[0], xs, response_frames[f], title=f"{title}: step {int(steps[f]):,}")
        _loss_panel(axes[1], log_steps, loss, steps[f], reference=naive)

    return _animate(path, 2, draw, len(steps), options)


def and_share_animation(path, shares, steps, log_steps, loss, title, minority=0.5, options=None):
    """shares [k, N]: each fact's largest single neuron's share of its non-linear excess at each snapshot
    step (1: an AND neuron), as a histogram over facts, beside the loss."""

    def draw(axes, f):
        ax = axes[0]
        ax.cla()
        got = shares[f][np.isfinite(shares[f])]
        ax.hist(got, bins=np.linspace(0, 1, 21), color="C0")
        if got.size:
            ax.axvline(
                float(np.median(got)), color="C0", ls="--", lw=0.8, label=f"median {np.median(got):.2f}"
            )
        ax.axvline(minority, color="k", ls=":", lw=0.8, label="an AND neuron: most of the excess")
        _finish(ax, "largest neuron's share of a fact's excess", "facts", f"{title}: step {int(steps[f]):,}")
        _loss_panel(axes[1], log_steps, loss, steps[f])

    return _animate(path, 2, draw, len(steps), options)
