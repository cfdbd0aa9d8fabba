"""Jumps and stages in weight snapshots (paper E12): what changes when, read from a run's trajectory.

Owns, for learning dynamics in uniform superposition (experiments/learning_dynamics.py):
  learned D_i   D_i = ||W_i||^4 / W_i^T (W W^T) W_i where ||W_i|| >= learned_norm, else 0 ("not learned")
  plateau       >= min_plateau consecutive snapshots whose D_i stay within a band `band` wide (scanned left to
                right, each as long as it goes); its value is its median
  level         consecutive plateaus within jump_min of each other, merged (a slow drift is no jump); its value
                is that of its last plateau, where D_i settled
  jump          two consecutive levels of one feature (> jump_min apart by construction); its window runs from
                the last snapshot of the earlier level to the first snapshot of the later one. A straight ramp
                of any slope never makes one: plateaus on it are either absent or closer than band + slope.
  loss drop     log10 of the loss log, averaged in bins of 1/bins_per_decade of a decade of steps; the slope
                -d log L / d log t by central difference; a bin is in a drop where its slope exceeds
                drop_factor x the context_quantile of the slopes within context_decades of it, plus drop_z
                standard errors (from the window-to-window noise of log L over the second half of training).
                Runs of neighbouring drop bins are the drop intervals.
  coincidence   a jump's window overlaps a drop interval; `chance_overlap` is what jumps ignoring the loss
                would give (windows of the same log-width placed uniformly in log-step)
  guides        the paper's fractions 1, 3/4, 2/3, 1/2, 2/5, 3/8 (E5) and 0 (not learned)
and, for runs read as a sequence of labelled geometries (experiments/octahedron.py): `debounce` (runs of one
label at least min_frames long, flickers dropped) and `stage_path` (a classifier over every snapshot).
Does not: train, plot, or classify a geometry (the experiment's classifier is passed in).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from superpose import metrics

# The paper's fractions (E5) and 0 (not learned).
FRACTION_NAMES = {1.0: "1", 3 / 4: "3/4", 2 / 3: "2/3", 1 / 2: "1/2", 2 / 5: "2/5", 3 / 8: "3/8", 0.0: "0"}
GUIDES = tuple(FRACTION_NAMES)


class Level(NamedTuple):
    """Snapshots [start, stop) of one feature where D_i held one value (merged plateaus)."""

    start: int
    stop: int
    value: float


class Jump(NamedTuple):
    """One feature's D_i moving from one level to the next, between two snapshot steps."""

    feature: int
    before: float
    after: float
    start_step: int  # last snapshot of the earlier level
    stop_step: int  # first snapshot of the later level


def learned_dimensionality(Ws: np.ndarray, learned_norm: float) -> np.ndarray:
    """Ws [k, m, n] snapshots -> [k, n] D_i where ||W_i|| >= learned_norm, else 0.

    D_i as metrics.feature_dimensionality, through the [m, m] matrix G = W W^T: sum_j (W_hat_i . W_j)^2 =
    W_i^T G W_i / ||W_i||^2, so D_i = ||W_i||^4 / W_i^T G W_i (O(m^2 n) a snapshot, not O(m n^2)).
    """
    Ws = np.asarray(Ws, dtype=np.float64)
    norms2 = np.einsum("kmn,kmn->kn", Ws, Ws)
    G = np.einsum("kmn,kpn->kmp", Ws, Ws)
    quad = np.einsum("kmn,kmp,kpn->kn", Ws, G, Ws)
    D = np.where(quad > metrics.EPS, norms2**2 / np.maximum(quad, metrics.EPS), 0.0)
    return np.where(norms2 >= learned_norm**2, D, 0.0)


def plateaus(d: np.ndarray, band: float, min_len: int) -> list[tuple[int, int]]:
    """[start, stop) of the plateaus of one trajectory d [k]: scanning left to right, the longest run from
    each start whose max - min <= band, kept if it has >= min_len snapshots (else the start moves on)."""
    out, i, k = [], 0, len(d)
    while i < k:
        j, lo, hi = i + 1, d[i], d[i]
        while j < k and max(hi, d[j]) - min(lo, d[j]) <= band:
            lo, hi, j = min(lo, d[j]), max(hi, d[j]), j + 1
        if j - i >= min_len:
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def levels(d: np.ndarray, band: float, min_len: int, jump_min: float) -> list[Level]:
    """The plateaus of d [k], consecutive ones within jump_min of each other merged; value = the last's median."""
    out: list[Level] = []
    for start, stop in plateaus(d, band, min_len):
        value = float(np.median(d[start:stop]))
        if out and abs(value - out[-1].value) <= jump_min:
            out[-1] = Level(out[-1].start, stop, value)
        else:
            out.append(Level(start, stop, value))
    return out


def find_jumps(
    D: np.ndarray, steps: np.ndarray, band: float = 0.03, min_plateau: int = 5, jump_min: float = 0.05
) -> list[Jump]:
    """D [k, n] learned dimensionalities at snapshot steps [k] -> every feature's jumps, in feature order."""
    out = []
    for i in range(D.shape[1]):
        lv = levels(D[:, i], band, min_plateau, jump_min)
        out += [
            Jump(i, a.value, b.value, int(steps[a.stop - 1]), int(steps[b.start])) for a, b in zip(lv, lv[1:])
        ]
    return out


def loss_drops(
    loss: np.ndarray,
    log_steps: np.ndarray,
    bins_per_decade: int = 16,
    drop_factor: float = 2.0,
    context_decades: float = 0.5,
    context_quantile: float = 0.25,
    drop_z: float = 3.0,
) -> np.ndarray:
    """[n_drops, 2] (first, last) step of each loss-drop interval of one loss log [n_logs] (module docstring)."""
    t, ll = np.log10(np.asarray(log_steps, np.float64)), np.log10(np.asarray(loss, np.float64))
    width = 1.0 / bins_per_decade
    index = np.floor((t - t[0]) / width + 1e-9).astype(int)
    bins = np.unique(index)
    if bins.size < 3:
        return np.zeros((0, 2))
    mean_t = np.array([t[index == b].mean() for b in bins])
    mean_l = np.array([ll[index == b].mean() for b in bins])
    counts = np.array([(index == b).sum() for b in bins])
    # Per-window noise from the second half, where the trend is slow: diff of neighbours, / sqrt 2.
    noise = np.std(np.diff(ll[ll.size // 2 :])) / np.sqrt(2) if ll.size > 4 else 0.0
    se = noise / np.sqrt(counts)
    dt = mean_t[2:] - mean_t[:-2]
    slope = (mean_l[:-2] - mean_l[2:]) / dt
    slope_se = np.hypot(se[:-2], se[2:]) / dt
    centre = mean_t[1:-1]
    near = np.abs(centre[:, None] - centre[None, :]) <= context_decades
    background = np.array([max(np.quantile(slope[row], context_quantile), 0.0) for row in near])
    drop = slope > drop_factor * background + drop_z * slope_se
    intervals: list[list[float]] = []
    previous = -2
    for j in np.flatnonzero(drop):  # j indexes the interior bins bins[1:-1]
        lo, hi = 10 ** (t[0] + bins[j + 1] * width), 10 ** (t[0] + (bins[j + 1] + 1) * width)
        if intervals and previous == j - 1:  # adjacent among the non-empty bins: one interval
            intervals[-1][1] = hi
        else:
            intervals.append([lo, hi])
        previous = j
    return np.asarray(intervals, dtype=np.float64).reshape(-1, 2)


def coincides(jump: Jump, drops: np.ndarray) -> bool:
    return bool(np.any((drops[:, 0] <= jump.stop_step) & (drops[:, 1] >= jump.start_step)))


def chance_overlap(jumps: list[Jump], drops: np.ndarray, first: float, last: float) -> float:
    """Mean over jumps of P(a window of the jump's log-width, uniform in log-step on [first, last], overlaps a
    drop interval): the coincidence fraction expected if jumps ignored the loss."""
    a0, a1 = np.log10(first), np.log10(last)
    probs = []
    for jump in jumps:
        w = np.log10(jump.stop_step / jump.start_step)
        top = a1 - w
        if top <= a0:
            probs.append(1.0 if len(drops) else 0.0)
            continue
        # window start p overlaps [lo, hi] iff p in [lo - w, hi]: measure the union, clipped to [a0, top]
        spans = sorted((max(a0, np.log10(lo) - w), min(top, np.log10(hi))) for lo, hi in drops)
        covered, end = 0.0, a0
        for lo, hi in spans:
            lo = max(lo, end)
            if hi > lo:
                covered += hi - lo
                end = hi
        probs.append(covered / (top - a0))
    return float(np.mean(probs)) if probs else float("nan")


def on_guide(value: float, tol: float) -> bool:
    return min(abs(value - g) for g in GUIDES) <= tol


def guide_coverage(tol: float) -> float:
    """The share of [0, 1] within tol of a guide: the on-guide fraction of levels scattered at random."""
    grid = np.linspace(0.0, 1.0, 100_001)
    return float(np.mean(np.min(np.abs(grid[:, None] - np.asarray(GUIDES)[None, :]), axis=1) <= tol))


def transitions(jumps: list[Jump], tol: float) -> dict[str, int]:
    """How often each (level -> level) transition occurs, levels named by their guide fraction if within tol."""

    def name(v: float) -> str:
        g = min(GUIDES, key=lambda g: abs(v - g))
        return FRACTION_NAMES[g] if abs(v - g) <= tol else f"{v:.2f}"

    counts: dict[str, int] = {}
    for j in jumps:
        key = f"{name(j.before)} -> {name(j.after)}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def debounce(labels: list[str], min_frames: int) -> list[tuple[str, int, int]]:
    """(label, first frame, last frame) of each run of at least min_frames equal labels, in order; shorter
    runs are dropped, and runs of one label that only a dropped flicker separates merge into one."""
    runs: list[list] = []
    for i, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = i
        else:
            runs.append([label, i, i])
    stable: list[list] = []
    for label, first, last in runs:
        if last - first + 1 < min_frames:
            continue
        if stable and stable[-1][0] == label:
            stable[-1][2] = last
        else:
            stable.append([label, first, last])
    return [(label, first, last) for label, first, last in stable]


def stage_path(
    classify: Callable[[np.ndarray], str], W_frames: np.ndarray, steps: np.ndarray, min_frames: int
) -> list[dict]:
    """W_frames [k, m, n] at steps [k] -> [{label, step (first frame's), frames (first, last)}, ...]: the
    debounced runs of classify(W) over the snapshots."""
    labels = [classify(W) for W in W_frames]
    return [
        {"label": label, "step": int(steps[first]), "frames": (first, last)}
        for label, first, last in debounce(labels, min_frames)
    ]


def moving_frames(steps: np.ndarray, until: float, max_frames: int) -> np.ndarray:
    """Indices of at most max_frames snapshots: those up to 1.5 x `until` (the last jump's end), thinned evenly by
    index (so log-spaced early in training), then the final snapshot. The frames where the geometry moves."""
    last = steps.size - 1
    moving = np.flatnonzero(steps[:last] <= 1.5 * until)
    if moving.size > max_frames - 1:
        moving = moving[np.unique(np.round(np.linspace(0, moving.size - 1, max_frames - 1)).astype(int))]
    return np.append(moving, last)
