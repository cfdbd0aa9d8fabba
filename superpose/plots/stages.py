"""Figures of learning dynamics told as geometric stages (paper E12; experiments/octahedron.py).

Owns: drawing feature vectors in 3-D on a given 3-D `ax`, a loss curve with the stages of a run as
coloured bands, and the stages of many runs as rows of coloured bars. numpy in, matplotlib out (object-oriented API); never imports jax.
Does not: classify geometries or find the stages (the experiment does), or animate (plots/animation.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np


def features_3d(
    ax,
    W: np.ndarray,
    colors: Sequence,
    title: str | None = None,
    lim: float | None = None,
    edges: Sequence[tuple[int, int]] = (),
    azim: float = 30.0,
    elev: float = 20.0,
) -> None:
    """Each column W_i [3] of W [3, n] as a line from the origin in colors[i]; `edges` (i, j) join the tips of
    features i and j with a thin grey line (e.g. the edges of a polytope)."""
    W = np.asarray(W, dtype=np.float64)
    for i, j in edges:
        ax.plot(*np.stack([W[:, i], W[:, j]], axis=1), color="0.7", lw=0.6)
    for i in range(W.shape[1]):
        ax.plot([0, W[0, i]], [0, W[1, i]], [0, W[2, i]], color=colors[i], lw=2)
        ax.scatter([W[0, i]], [W[1, i]], [W[2, i]], color=colors[i], s=10)
    lim = lim if lim is not None else max(1.1, 1.05 * float(np.abs(W).max()))
    for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        setter(-lim, lim)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=elev, azim=azim)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])
    if title:
        ax.set_title(title, fontsize=8)


def stage_timeline(
    ax,
    log_steps: np.ndarray,
    loss: np.ndarray,
    stages: Sequence[tuple[str, int]],
    colors: dict[str, str],
    other_losses: np.ndarray | None = None,
) -> None:
    """The loss log [n_logs] against log_steps [n_logs] (log-log), over bands coloured by stage.

    stages: (label, first step) in order; a band runs to the next stage's first step (the last to the end).
    colors: label -> matplotlib colour. other_losses [k, n_logs]: drawn faintly behind (e.g. other seeds).
    """
    log_steps = np.asarray(log_steps)
    end = float(log_steps[-1])
    if other_losses is not None:
        for curve in np.asarray(other_losses):
            ax.plot(log_steps, curve, color="0.75", lw=0.5, zorder=1)
    ax.plot(log_steps, loss, color="k", lw=1, zorder=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    starts = [max(float(s), float(log_steps[0])) for _, s in stages]
    for (label, _), a, b in zip(stages, starts, [*starts[1:], end]):
        ax.axvspan(a, b, color=colors.get(label, "0.9"), alpha=0.35, lw=0, zorder=0)
        ax.text(
            np.sqrt(a * b),
            0.97,
            label,
            transform=ax.get_xaxis_transform(),
            rotation=90,
            ha="center",
            va="top",
            fontsize=7,
        )
    ax.set_xlim(float(log_steps[0]), end)
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("training loss", fontsize=8)
    ax.tick_params(labelsize=7)


def stage_raster(
    ax,
    paths: Sequence[Sequence[tuple[str, int]]],
    end_step: float,
    colors: dict[str, str],
    row_labels: Sequence[str] | None = None,
    first_step: float = 1.0,
) -> None:
    """One row per run: its stages [(label, first step), ...] as coloured bars on a log step axis, each bar
    running to the next stage's first step (the last to end_step); a legend names the labels that occur."""
    seen: dict[str, None] = {}
    for row, path in enumerate(paths):
        starts = [max(float(s), first_step) for _, s in path]
        for (label, _), a, b in zip(path, starts, [*starts[1:], float(end_step)]):
            ax.barh(row, b - a, left=a, height=0.85, color=colors.get(label, "0.9"), lw=0)
            seen[label] = None
    ax.set_xscale("log")
    ax.set_xlim(first_step, float(end_step))
    ax.set_ylim(len(paths) - 0.5, -0.5)
    if row_labels is not None:
        ax.set_yticks(range(len(paths)), row_labels)
    ax.tick_params(labelsize=6)
    ax.set_xlabel("step", fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors.get(label, "0.9")) for label in seen]
    ax.legend(handles, list(seen), fontsize=6, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
