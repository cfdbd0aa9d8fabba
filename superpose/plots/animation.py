"""Animations of training from stored weight snapshots (numpy in, GIF/MP4 out; never imports jax).

Owns: writing a matplotlib animation to a file (GIF through Pillow, MP4 through ffmpeg when present) with a
per-frame progress callback, and the default "geometry forming" animation of tied models: for each panel
the feature vectors (m = 2 directly, m = 3 as a slowly turning 3-D view, higher m as the W^T W heatmap with
every feature's D_i below), beside the loss curves with a marker moving along them, and the step.
Does not: choose which runs or instances to show (superpose.lab.animate and each experiment's `animate` do).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt  # never picks a backend: entry points do (lab.runtime)
import numpy as np
from matplotlib import animation

from superpose import metrics
from superpose.config import ConfigError
from superpose.plots.core import importance_colors

FORMATS = ("gif", "mp4")
FRACTION_GUIDES = (1.0, 3 / 4, 2 / 3, 1 / 2, 2 / 5, 3 / 8, 1 / 3)


def check_format(fmt: str) -> None:
    """Refuse an unknown format, and MP4 where ffmpeg is missing (one line, before any frame renders)."""
    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "mp4" and not animation.writers.is_available("ffmpeg"):
        raise ConfigError("--format mp4 needs ffmpeg on the PATH, which was not found; use --format gif")


def save_animation(
    fig,
    draw: Callable[[int], None],
    n_frames: int,
    path,
    *,
    fps: int = 12,
    fmt: str = "gif",
    dpi: int = 72,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render draw(0), ..., draw(n_frames - 1) on `fig` into `path` (suffix set from fmt); closes fig.

    progress(frame, n_frames) is called as each frame is written. GIFs use matplotlib's Pillow writer.
    """
    check_format(fmt)
    path = Path(path).with_suffix(f".{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = animation.PillowWriter(fps=fps) if fmt == "gif" else animation.FFMpegWriter(fps=fps)
    anim = animation.FuncAnimation(
        fig, draw, frames=n_frames, blit=False, repeat=False, cache_frame_data=False
    )
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        anim.save(tmp, writer=writer, dpi=dpi, progress_callback=progress)
        tmp.replace(path)  # a killed render leaves no half-written animation under the real name
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


@dataclasses.dataclass
class Panel:
    """One model's trajectory in a geometry animation.

    W:          [k, m, n] the snapshots of W (k frames, column i = feature i)
    title:      above the panel
    importance: [n] colours the features (yellow = most important); None: all alike
    colors:     per-feature matplotlib colours, overriding importance (e.g. by correlated set)
    loss:       [n_logs] this model's loss log (drawn in the shared loss axes), or None
    """

    W: np.ndarray
    title: str = ""
    importance: np.ndarray | None = None
    colors: Sequence | None = None
    loss: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.W = np.asarray(self.W, dtype=np.float64)
        if self.W.ndim != 3:
            raise ValueError(f"Panel.W must be [frames, m, n], got shape {self.W.shape}")

    def feature_colors(self) -> list:
        n = self.W.shape[2]
        if self.colors is not None:
            if len(self.colors) != n:
                raise ValueError(f"{len(self.colors)} colours for {n} features")
            return list(self.colors)
        return list(importance_colors(n, self.importance))


def _draw_2d(ax, W, colors, lim, title) -> None:
    ax.cla()
    for i in range(W.shape[1]):
        ax.plot([0, W[0, i]], [0, W[1, i]], color=colors[i], lw=2)
        ax.scatter([W[0, i]], [W[1, i]], color=colors[i], s=10, zorder=3)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def _draw_3d(ax, W, colors, lim, title, azim) -> None:
    ax.cla()
    for i in range(W.shape[1]):
        ax.plot([0, W[0, i]], [0, W[1, i]], [0, W[2, i]], color=colors[i], lw=2)
        ax.scatter([W[0, i]], [W[1, i]], [W[2, i]], color=colors[i], s=10)
    for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        setter(-lim, lim)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=20, azim=azim)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])
    ax.set_title(title, fontsize=8)


def _draw_gram(ax, W, title) -> None:
    ax.cla()
    G = metrics.gram(W)
    ax.imshow(G, cmap="RdBu", vmin=-1, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def _draw_dims(ax, W, colors) -> None:
    ax.cla()
    D = metrics.feature_dimensionality(W)
    for f in FRACTION_GUIDES:
        ax.axhline(f, color="0.85", lw=0.6, zorder=0)
    ax.scatter(np.arange(D.size), D, c=colors, s=4)
    ax.set_ylim(-0.03, 1.08)
    ax.set_xticks([])
    ax.set_ylabel("$D_i$", fontsize=7)
    ax.tick_params(labelsize=6)


def geometry_animation(
    path,
    panels: Sequence[Panel],
    steps: np.ndarray,
    log_steps: np.ndarray | None = None,
    *,
    title: str = "",
    fps: int = 12,
    fmt: str = "gif",
    dpi: int = 72,
    turns: float = 1.0,
    frame_labels: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """One frame per snapshot step: every panel's geometry, the loss curves with moving markers, the step.

    steps: [k] the snapshot steps (every panel's W has k frames); log_steps: [n_logs] the steps of the loss
    logs (needed if any panel has a loss). turns: full turns of the 3-D views over the animation.
    frame_labels: [k] text shown after the step on each frame (e.g. the stage the model is in).
    """
    steps = np.asarray(steps)
    if frame_labels is not None and len(frame_labels) != steps.size:
        raise ValueError(f"{len(frame_labels)} frame labels for {steps.size} frames")
    if not panels:
        raise ValueError("no panels to animate")
    k = steps.size
    for p in panels:
        if p.W.shape[0] != k:
            raise ValueError(f"panel {p.title!r} has {p.W.shape[0]} frames for {k} snapshot steps")
    with_loss = [p for p in panels if p.loss is not None]
    if with_loss and (log_steps is None or any(np.shape(p.loss) != np.shape(log_steps) for p in with_loss)):
        raise ValueError("each panel's loss must have one value per log step")
    dims_row = any(p.W.shape[1] > 3 for p in panels)
    cols = len(panels) + (1 if with_loss else 0)
    rows = 2 if dims_row else 1
    fig = plt.figure(figsize=(2.3 * cols, 2.5 * rows + 0.3))
    grid = fig.add_gridspec(rows, cols, height_ratios=[2, 1] if dims_row else [1])
    geo_axes, dim_axes = [], []
    for j, p in enumerate(panels):
        m = p.W.shape[1]
        geo_axes.append(fig.add_subplot(grid[0, j], projection="3d" if m == 3 else None))
        dim_axes.append(fig.add_subplot(grid[1, j]) if m > 3 else None)
    loss_ax = fig.add_subplot(grid[:, -1]) if with_loss else None
    colors = [p.feature_colors() for p in panels]
    lims = [max(1.2, 1.1 * float(np.abs(p.W).max())) for p in panels]
    markers = []
    if loss_ax is not None:
        cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for j, p in enumerate(panels):
            if p.loss is None:
                markers.append(None)
                continue
            c = cycle[j % len(cycle)]
            loss_ax.plot(log_steps, p.loss, color=c, lw=1, label=p.title or None)
            (mark,) = loss_ax.plot([], [], "o", color=c, ms=5)
            markers.append(mark)
        loss_ax.set_xscale("log")
        loss_ax.set_yscale("log")
        loss_ax.set_xlabel("step", fontsize=7)
        loss_ax.set_ylabel("training loss", fontsize=7)
        loss_ax.tick_params(labelsize=6)
        if any(p.title for p in with_loss) and len(with_loss) > 1:
            loss_ax.legend(fontsize=6, frameon=False)
        now_line = loss_ax.axvline(steps[0], color="0.5", lw=0.8, ls=":")
    heading = fig.suptitle("", fontsize=9)

    def draw(frame: int) -> None:
        step = int(steps[frame])
        for j, p in enumerate(panels):
            W = p.W[frame]
            m = W.shape[0]
            if m <= 2:
                W2 = W if m == 2 else np.vstack([W, np.zeros_like(W)])
                _draw_2d(geo_axes[j], W2, colors[j], lims[j], p.title)
            elif m == 3:
                _draw_3d(geo_axes[j], W, colors[j], lims[j], p.title, 30 + 360 * turns * frame / max(k, 1))
            else:
                _draw_gram(geo_axes[j], W, p.title)
                _draw_dims(dim_axes[j], W, colors[j])
        if loss_ax is not None:
            at = int(np.clip(np.searchsorted(log_steps, step), 0, len(log_steps) - 1))
            for p, mark in zip(panels, markers):
                if mark is not None:
                    mark.set_data([log_steps[at]], [p.loss[at]])
            now_line.set_xdata([step, step])
        label = f"   {frame_labels[frame]}" if frame_labels is not None else ""
        heading.set_text(f"{title}{'   ' if title else ''}step {step:,}{label}")

    fig.tight_layout()
    return save_animation(fig, draw, k, path, fps=fps, fmt=fmt, dpi=dpi, progress=progress)
