"""Figures of paper E12 (learning dynamics): feature dimensionalities over training above the loss.

Owns: drawing each learned feature's D_i trajectory against the step with guide lines at the polytope
fractions, the loss log below on the same step axis with the loss-drop intervals shaded and the detected
jumps marked. Does not: detect jumps or drops, or compute D_i (superpose.analysis.dynamics, metrics.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from superpose.plots.core import save

__all__ = [
    "dimensionality_trajectories",
    "dynamics_figure",
    "dynamics_grid",
    "feature_colors",
    "loss_with_drops",
    "save",
]

FRACTION_LABELS = {1.0: "1", 3 / 4: "3/4", 2 / 3: "2/3", 1 / 2: "1/2", 2 / 5: "2/5", 3 / 8: "3/8"}
LABEL_NUDGE = {2 / 5: 0.012, 3 / 8: -0.012}  # 2/5 and 3/8 are 0.025 apart: spread their labels
DROP_COLOR = "#fbe3c8"
FEATURE_CMAP = "tab20"


def feature_colors(count: int) -> list:
    """One colour for each of `count` features, cycling through tab20 (the learned features, in index order)."""
    cmap = plt.get_cmap(FEATURE_CMAP)
    return [cmap(c % cmap.N) for c in range(count)]


def _shade(ax, drops: np.ndarray) -> None:
    for lo, hi in np.asarray(drops).reshape(-1, 2):
        ax.axvspan(lo, hi, color=DROP_COLOR, lw=0, zorder=0)


def dimensionality_trajectories(
    ax,
    steps: np.ndarray,
    D: np.ndarray,
    drops: np.ndarray | None = None,
    labels: bool = True,
    lw: float = 0.8,
) -> None:
    """Lines of D_i over the snapshot steps [k] for every feature of D [k, n] that is ever learned (D_i > 0;
    0 = not learned, left blank), one colour per feature; guide lines at the fractions; drops shaded."""
    D = np.asarray(D, dtype=np.float64)
    if drops is not None:
        _shade(ax, drops)
    for frac, text in FRACTION_LABELS.items():
        ax.axhline(frac, color="0.8", lw=0.6, zorder=1)
        if labels:
            y = frac + LABEL_NUDGE.get(frac, 0.0)
            ax.text(1.01, y, text, transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    learned = np.flatnonzero((D > 0).any(axis=0))
    for i, color in zip(learned, feature_colors(learned.size)):
        ax.plot(steps, np.where(D[:, i] > 0, D[:, i], np.nan), color=color, lw=lw, zorder=2)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("$D_i$ (learned)", fontsize=8)
    ax.tick_params(labelsize=7)


def loss_with_drops(
    ax, log_steps: np.ndarray, loss: np.ndarray, drops: np.ndarray, jump_steps: np.ndarray | None = None
) -> None:
    """The loss log [n_logs] on log-log axes, loss-drop intervals [n_drops, 2] shaded, and a tick at the
    bottom for each jump (jump_steps [n_jumps]: one step per jump, e.g. the middle of its window)."""
    _shade(ax, drops)
    ax.plot(log_steps, loss, color="k", lw=0.7, zorder=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if jump_steps is not None and len(jump_steps):
        ax.plot(
            jump_steps,
            np.zeros_like(jump_steps, dtype=float),
            "|",
            color="tab:red",
            ms=7,
            mew=0.8,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            zorder=3,
        )
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("training loss", fontsize=8)
    ax.tick_params(labelsize=7, which="both")


def dynamics_figure(
    steps: np.ndarray,
    D: np.ndarray,
    log_steps: np.ndarray,
    loss: np.ndarray,
    drops: np.ndarray,
    jump_steps: np.ndarray,
    title: str = "",
) -> plt.Figure:
    """One run: D_i trajectories [k, n] above its loss, sharing the (log) step axis."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(7.0, 5.0), sharex=True, gridspec_kw={"height_ratios": [2, 1], "hspace": 0.08}
    )
    dimensionality_trajectories(top, steps, D, drops)
    loss_with_drops(bottom, log_steps, loss, drops, jump_steps)
    bottom.set_xlim(steps[0], steps[-1])
    if title:
        top.set_title(title, fontsize=9)
    return fig


def dynamics_grid(runs: Sequence[dict], title: str = "") -> plt.Figure:
    """Small multiples, one column per run: each a dict with steps, D, log_steps, loss, drops, jump_steps
    (as dynamics_figure), a title and counts (a second title line)."""
    cols = len(runs)
    fig, axes = plt.subplots(
        2, cols, figsize=(2.6 * cols, 3.4), sharex="col", squeeze=False, gridspec_kw={"height_ratios": [2, 1]}
    )
    for c, run in enumerate(runs):
        dimensionality_trajectories(
            axes[0, c], run["steps"], run["D"], run["drops"], labels=c == cols - 1, lw=0.5
        )
        loss_with_drops(axes[1, c], run["log_steps"], run["loss"], run["drops"], run["jump_steps"])
        axes[1, c].set_xlim(run["steps"][0], run["steps"][-1])
        axes[0, c].set_title(f"{run['title']}\n{run['counts']}", fontsize=8)
        if c:
            axes[0, c].set_ylabel("")
            axes[1, c].set_ylabel("")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
