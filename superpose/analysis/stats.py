"""Statistics the analyses share.

Owns: rank correlation (Spearman's rho and its p-value through scipy, tied values given their average rank) and a
least-squares fit of a power law with its standard error. Does not: read weights (metrics.py, the other
analysis modules) or plot.
"""

from __future__ import annotations

import numpy as np


def spearman(x, y) -> float:
    """Spearman's rank correlation of x [k] and y [k] (ties share their average rank). NaN, never a number,
    when fewer than three pairs are finite or either side is constant: there is nothing to rank."""
    return spearman_test(x, y)[0]


def spearman_test(x, y, alternative: str = "greater") -> tuple[float, float]:
    """(rho, p-value) of Spearman's rank correlation of x [k] and y [k] over the finite pairs (scipy's
    spearmanr: ties averaged, the p-value of the t approximation against `alternative`: "greater",
    "less" or "two-sided"). (NaN, NaN) when fewer than three pairs are finite or either side is constant."""
    from scipy import stats

    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"spearman needs equal lengths, got {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    res = stats.spearmanr(x, y, alternative=alternative)
    return float(res.statistic), float(res.pvalue)


def power_law_fit(x, y) -> tuple[float, float, float]:
    """(exponent, its standard error, prefactor) of y = prefactor * x**exponent, by least squares on log-log
    axes over the finite, positive pairs; NaNs when fewer than three remain."""
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 3:
        return float("nan"), float("nan"), float("nan")
    lx, ly = np.log(x[ok]), np.log(y[ok])
    A = np.stack([lx, np.ones_like(lx)], axis=1)
    coef, residual, *_ = np.linalg.lstsq(A, ly, rcond=None)
    dof = lx.size - 2
    sigma2 = float(residual[0]) / dof if residual.size and dof > 0 else 0.0
    cov = sigma2 * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(np.sqrt(cov[0, 0])), float(np.exp(coef[1]))


def mean_se(values) -> tuple[float, float | None]:
    """(mean, standard error of the mean) of values [k]; the error is None for one value."""
    v = np.asarray(values, np.float64)
    return float(v.mean()), (float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None)
