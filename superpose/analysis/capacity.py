"""Capacity of a memory (paper.md section 7, facts): the largest number of facts N stored at a threshold
accuracy, read off accuracies measured at increasing N; the search that narrows it down round by round on
nested tables; and the constant of a "parameters ~ c * facts" law. numpy only.
"""

from __future__ import annotations

import numpy as np


def capacity(n_facts: np.ndarray, acc: np.ndarray, threshold: float = 0.99) -> tuple[float, str]:
    """The largest N stored at >= threshold top-1 accuracy, from accuracies measured at increasing N.

    Interpolated in log N between the first N that fails and the N before it (after search_capacity, two
    candidates a few facts apart, so the interpolation hardly matters). Returns (N, status):
    "ok"; "below" (the smallest N already fails: N is that N, an upper bound); "above" (every N passes: the
    largest, a lower bound).
    """
    n_facts, acc = np.asarray(n_facts, np.float64), np.asarray(acc, np.float64)
    fails = np.flatnonzero(acc < threshold)
    if fails.size == 0:
        return float(n_facts[-1]), "above"
    j = int(fails[0])
    if j == 0:
        return float(n_facts[0]), "below"
    a0, a1 = acc[j - 1], acc[j]
    t = (a0 - threshold) / (a0 - a1)
    return float(np.exp(np.log(n_facts[j - 1]) + t * (np.log(n_facts[j]) - np.log(n_facts[j - 1])))), "ok"


def _spread(candidates: np.ndarray, k: int, lo: float, hi: float, ends: bool) -> list[int]:
    """Up to k distinct candidates nearest to k points geometric from lo to hi (ends: lo and hi among them;
    else strictly between)."""
    if candidates.size <= k:
        return [int(c) for c in candidates]
    targets = np.geomspace(lo, hi, k) if ends else np.geomspace(lo, hi, k + 2)[1:-1]
    nearest = np.abs(np.log(candidates)[None, :] - np.log(targets)[:, None]).argmin(axis=1)
    return [int(c) for c in np.unique(candidates[nearest])]


def refine(tried: dict[int, float], candidates: np.ndarray, threshold: float, points: int) -> list[int]:
    """Up to `points` untried candidates inside one seed's bracket: between the first N that fails (accuracy
    < threshold) and the largest N below it, spread geometrically. [] when the smallest N tried fails or the
    largest passes (the capacity lies outside the range: a bound) or the bracket holds no candidate."""
    n = np.array(sorted(tried))
    fails = np.flatnonzero(np.array([tried[k] for k in n]) < threshold)
    if fails.size == 0 or fails[0] == 0:
        return []
    lo, hi = n[fails[0] - 1], n[fails[0]]
    return _spread(candidates[(candidates > lo) & (candidates < hi)], points, lo, hi, ends=False)


def search_capacity(
    evaluate, candidates: np.ndarray, n_seeds: int, threshold: float, points: int, rounds: int
) -> list[dict[int, float]]:
    """Narrow down each seed's capacity on one nested table per seed (accuracy falls with N but for noise).

    Round 0 tries `points` candidates from the smallest to the largest, both included; each of up to
    `rounds` more tries `points` candidates inside every seed's bracket (refine), so a bracket shrinks by
    points + 1 a round, down to adjacent candidates. evaluate(round, [(seed, N), ...]) -> accuracies, in
    order: one call per round (one training sweep). Returns per seed {N: accuracy} of every N tried.
    """
    candidates = np.asarray(candidates)
    tried: list[dict[int, float]] = [{} for _ in range(n_seeds)]
    first = _spread(candidates, max(points, 2), candidates[0], candidates[-1], ends=True)
    requests = [(s, n) for s in range(n_seeds) for n in first]
    for round_ in range(rounds + 1):
        if not requests:
            break
        for (s, n), acc in zip(requests, evaluate(round_, requests), strict=True):
            tried[s][n] = float(acc)
        requests = [(s, n) for s in range(n_seeds) for n in refine(tried[s], candidates, threshold, points)]
    return tried


def power_fit(x, y) -> tuple[float, float]:
    """(exponent k, prefactor c) of the least-squares line log y = k log x + log c, from two points up
    (stats.power_law_fit also gives k's standard error, from three)."""
    k, log_c = np.polyfit(np.log(np.asarray(x, np.float64)), np.log(np.asarray(y, np.float64)), 1)
    return float(k), float(np.exp(log_c))


def ratio_constant(params_measure, facts_measure) -> float:
    """Geometric-mean constant c of params_measure ~ c * facts_measure (e.g. m d ~ c N, or ~ c N ln N)."""
    return float(np.exp(np.mean(np.log(np.asarray(params_measure, np.float64) / np.asarray(facts_measure)))))


def facts_for(measure, constant: float, log_n: bool) -> np.ndarray:
    """N that a law "measure = constant * N" (log_n: "constant * N ln N", solved by Newton) gives for a
    parameter measure (m d, d^2, ...)."""
    target = np.asarray(measure, np.float64) / constant
    if not log_n:
        return target
    n = np.maximum(target / np.log(np.maximum(target, 3.0)), 2.0)
    for _ in range(50):
        n = n - (n * np.log(n) - target) / (np.log(n) + 1.0)
    return n


def fit_law(measure, capacities, log_n: bool) -> dict:
    """A law "measure ~ c * N" (or c * N ln N) fitted per seed (capacities [seeds, cells] against measure
    [cells]): the constant c (ratio_constant) and the exponent k of N ~ measure^k (power_fit: two cells are
    enough for a line; NaN with one distinct measure), each per seed and as mean +- standard error over seeds
    (stats.mean_se)."""
    from superpose.analysis.stats import mean_se

    x = np.asarray(measure, np.float64)
    y = [
        np.asarray(n, np.float64) * (np.log(np.asarray(n, np.float64)) if log_n else 1.0) for n in capacities
    ]
    constants = [ratio_constant(x, n) for n in y]
    exponents = [power_fit(x, n)[0] for n in y] if np.unique(x).size > 1 else [np.nan]
    (c, c_se), (k, k_se) = mean_se(constants), mean_se(exponents)
    return {"constant": c, "constant_se": c_se, "constants": constants, "exponent": k, "exponent_se": k_se}
