"""Measurements of a packing: N unit vectors in d dimensions and how close to orthogonal their pairs are
(paper.md section 7). Owns: the statistics of |cos| over all N (N - 1) / 2 pairs, counted a block of rows at a
time (largest |cos| and its pair, mean cos^2, the share within 90 +- 1 degrees, the share above the Welch
bound, quantiles, an angle histogram), and reading off how many directions fit at a tolerance along a curve.
Does not: train (superpose.models.packing) or plot.
"""

from __future__ import annotations

import numpy as np

from superpose import metrics
from superpose.theory import welch_bound

NEAR_ORTHOGONAL_DEG = 1.0  # 3Blue1Brown's claim: every angle within 90 +- 1 degrees
ANGLE_BINS = np.linspace(0.0, 180.0, 721)  # quarter-degree bins over every possible angle


def pair_stats(U: np.ndarray, block: int = 1000) -> dict:
    """Statistics of |cos| over all N (N - 1) / 2 pairs of the rows of U [N, d] (normalised here).

    Returns max_abs_cos and its pair (i, j), mean_cos2, inside_1deg (share of pairs within 90 +- 1 deg),
    above_welch (share with |cos| above the Welch bound), collapsed_pairs (|cos| > 0.99), quantiles of |cos|
    and the angle histogram counts [720] over ANGLE_BINS. Whole blocks of rows are counted (every pair twice,
    halved at the end) with the self-pairs set to cos 0 and taken back out: cheaper than masking a triangle.
    """
    U = np.asarray(U, np.float32)
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    n, d = U.shape
    welch = float(welch_bound(n, d))
    near = np.sin(np.radians(NEAR_ORTHOGONAL_DEG))  # |cos| below this: angle within 90 +- 1 deg
    n_bins, fine = ANGLE_BINS.size - 1, 4000  # |cos| in 1/4000 steps, for quantiles
    counts = np.zeros(n_bins, np.int64)
    abs_hist = np.zeros(fine + 1, np.int64)
    best, where = -1.0, (0, 1)
    sum_c2 = inside = above = collapsed = 0
    for start in range(0, n, block):
        C = U[start : start + block] @ U.T  # [b, N]
        rows = np.arange(C.shape[0])
        C[rows, start + rows] = 0.0  # self-pairs: cos 0 here, removed from the counts below
        a = np.abs(C)
        k = int(a.argmax())
        if a.flat[k] > best:
            best, where = float(a.flat[k]), (start + k // n, k % n)
        sum_c2 += float(np.einsum("ij,ij->", C, C, dtype=np.float64))
        inside += int(np.count_nonzero(a < near)) - rows.size
        above += int(np.count_nonzero(a > welch))
        collapsed += int(np.count_nonzero(a > 0.99))
        angle_bin = np.minimum(
            (np.degrees(np.arccos(np.clip(C, -1, 1))) * (n_bins / 180)).astype(np.int64), n_bins - 1
        )
        counts += np.bincount(angle_bin.ravel(), minlength=n_bins)
        counts[n_bins // 2] -= rows.size  # the self-pairs' cos 0 (90 degrees)
        abs_hist += np.bincount(np.minimum((a * fine).astype(np.int64), fine).ravel(), minlength=fine + 1)
        abs_hist[0] -= rows.size
    pairs = n * (n - 1) / 2
    counts //= 2
    cdf = np.cumsum(abs_hist // 2) / pairs
    quantiles = {q: float(np.searchsorted(cdf, q) / fine) for q in (0.5, 0.9, 0.99, 0.999, 0.9999)}
    return {
        "n": n,
        "d": d,
        "max_abs_cos": best,
        "max_pair": where,
        "angle_of_max_deg": float(np.degrees(np.arccos(min(best, 1.0)))),
        "mean_cos2": sum_c2 / 2 / pairs,
        "inside_1deg": inside / 2 / pairs,
        "above_welch": above / 2 / pairs,
        "collapsed_pairs": collapsed // 2,
        "quantiles": quantiles,
        "welch": welch,
        "counts": counts,
    }


def directions_at(ns: np.ndarray, max_cos: np.ndarray, tolerance: float) -> tuple[float, str]:
    """The largest N whose max |cos| stays <= tolerance, interpolated in log N along a curve (N increasing).
    Returns (N, status): "ok", "above" (every N fits: the largest, a lower bound), "below" (none fits)."""
    ns, max_cos = np.asarray(ns, np.float64), np.asarray(max_cos, np.float64)
    over = np.flatnonzero(max_cos > tolerance)
    if over.size == 0:
        return float(ns[-1]), "above"
    j = int(over[0])
    if j == 0:
        return float(ns[0]), "below"
    t = (tolerance - max_cos[j - 1]) / (max_cos[j] - max_cos[j - 1])
    return float(np.exp(np.log(ns[j - 1]) + t * np.log(ns[j] / ns[j - 1]))), "ok"


def accepted_interference(W: np.ndarray) -> dict:
    """The interference a trained toy model (W [m, n]) accepts, to set beside a packing's: features per
    dimension (1 / D* = ||W||_F^2 / m), represented features (norm > 0.5) per dimension, and over the pairs
    of represented features the largest positive cosine, the most negative one and the largest |cos| (NaN
    with fewer than two represented)."""
    m = W.shape[0]
    rep = metrics.represented(W)
    off = metrics.cosines(W)[np.ix_(rep, rep)][~np.eye(int(rep.sum()), dtype=bool)]
    pick = lambda f: float(f(off)) if off.size else float("nan")  # noqa: E731
    return {
        "features_per_dim": float(1.0 / metrics.dimensions_per_feature(W)),
        "represented_per_dim": float(rep.sum() / m),
        "max_positive_cos": pick(np.max),
        "most_negative_cos": pick(np.min),
        "max_abs_cos": pick(lambda c: np.abs(c).max()),
    }
