"""Closed forms to overlay on the experiments (paper section 6): phase diagrams, expected losses, bounds.

Owns: the expected losses of the hand-built candidate solutions for n=2, m=1 and n=3, m=2 (Wattenberg's
closed forms), the phase boundaries they imply, the theoretical phase of a grid cell, the empirical phase of
trained weights (which candidate they are), an exact-over-activity-patterns expected loss of any tied ReLU
model, a numerically optimised antipodal pair (the hand-built one is not optimal at high density), the Welch
bound and the compressed-sensing count. Does not: train or plot.

Setting (paper E8/E9): every feature has density s (= feature_prob p = 1 - S); feature 1 (and feature 2 for
n=3) has importance 1, the extra feature (the last one) importance r; active values are Uniform[0, 1].

Loss convention. Every loss in this module is the expected importance-weighted squared error of ONE example
SUMMED over features, E[sum_i I_i (x_i - x'_i)^2]; that is the convention in which the paper's closed forms
(s/3 - s^2/4, (1 + r) s^2/6) hold. The training loss (models.weighted_mse, paper section 3) is the MEAN over
features, i.e. these numbers divided by n_features. The factor is common to all candidates, so it never moves
a phase boundary.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

# --- n = 2 features, m = 1 hidden dimension ------------------------------------------------------------

PHASES_N2M1 = ("extra feature not learned", "antipodal superposition", "extra dedicated (feature 1 dropped)")
# Null vector v of W (W v = 0) for each phase: W ⊥ v. Index 0 is feature 1 (importance 1), index 1 the extra.
NULL_N2M1 = ((np.array([0.0, 1.0]),), (np.array([1.0, 1.0]),), (np.array([1.0, 0.0]),))


def dropped_loss(s):
    """Expected loss of a dropped feature of importance 1 whose bias sits at its mean s/2: E[(x - s/2)^2].

    E[x] = s/2, E[x^2] = s/3 for x = 0 w.p. 1 - s else Uniform[0, 1], so s/3 - s^2/4 (section 6).
    """
    s = np.asarray(s, dtype=np.float64)
    return s / 3 - s**2 / 4


def antipodal_loss(s, r_a=1.0, r_b=1.0):
    """Expected loss of two unit features of importances r_a, r_b stored antipodally (W_b = -W_a, b = 0).

    Only when both are active do they interfere: the error of each is min(x_a, x_b), E[min^2] = 1/6,
    so (r_a + r_b) s^2 / 6 (section 6). Any other features orthogonal to the pair add nothing.
    """
    s = np.asarray(s, dtype=np.float64)
    return (np.asarray(r_a) + np.asarray(r_b)) * s**2 / 6


def losses_n2m1(r, s) -> np.ndarray:
    """[..., 3] expected losses of the three hand-built candidates at extra importance r, density s.

    Order as PHASES_N2M1: drop the extra (r (s/3 - s^2/4)), antipodal ((1 + r) s^2/6), drop feature 1
    (s/3 - s^2/4; the extra gets the dimension).
    """
    r, s = np.broadcast_arrays(np.asarray(r, np.float64), np.asarray(s, np.float64))
    return np.stack([r * dropped_loss(s), antipodal_loss(s, 1.0, r), dropped_loss(s) + 0 * r], axis=-1)


def boundary_n2m1(r):
    """Density below which antipodal superposition beats dropping a feature (closed-form candidates).

    r <= 1: s* = 4r / (2 + 5r) (antipodal vs drop the extra); r >= 1: s* = 4 / (5 + 2r) (vs drop
    feature 1). Both give 4/7 at r = 1: the triple point, where the vertical line r = 1, s > 4/7 (drop
    the extra vs drop feature 1) meets them.
    """
    r = np.asarray(r, dtype=np.float64)
    return np.where(r <= 1, 4 * r / (2 + 5 * r), 4 / (5 + 2 * r))


def phase_n2m1(r, s) -> np.ndarray:
    """Theoretical phase (index into PHASES_N2M1) of each (r, s): the argmin of losses_n2m1."""
    return np.argmin(losses_n2m1(r, s), axis=-1)


# --- n = 3 features, m = 2 hidden dimensions -----------------------------------------------------------

PHASES_N3M2 = (
    "W ⊥ [0,0,1]: extra dropped",
    "W ⊥ [1,0,0]: another dropped",
    "W ⊥ [0,1,1]: extra antipodal with another",
    "W ⊥ [1,1,0]: extra dedicated, others antipodal",
)
# Features 1 and 2 (importance 1) are interchangeable, so two phases have two null vectors each.
NULL_N3M2 = (
    (np.array([0.0, 0.0, 1.0]),),
    (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])),
    (np.array([0.0, 1.0, 1.0]), np.array([1.0, 0.0, 1.0])),
    (np.array([1.0, 1.0, 0.0]),),
)
TRIPLE_POINT = (1.0, 4.0 / 7.0)  # (r, s) where the phases of both diagrams meet


def losses_n3m2(r, s) -> np.ndarray:
    """[..., 4] expected losses of the four hand-built candidates (order as PHASES_N3M2).

    Represented features are unit vectors with zero bias, a dropped feature has W_i = 0 and bias s/2; two
    orthogonal dedicated features cost nothing, so each candidate is a sum of the n=2 terms:
    W ⊥ [0,0,1]: r (s/3 - s^2/4);  W ⊥ [1,0,0]: s/3 - s^2/4;  W ⊥ [0,1,1]: (1 + r) s^2/6;  W ⊥ [1,1,0]: s^2/3.
    """
    r, s = np.broadcast_arrays(np.asarray(r, np.float64), np.asarray(s, np.float64))
    return np.stack(
        [r * dropped_loss(s), dropped_loss(s) + 0 * r, antipodal_loss(s, 1.0, r), antipodal_loss(s) + 0 * r],
        axis=-1,
    )


def boundary_n3m2(r):
    """Density below which an antipodal candidate wins: 4r / (2 + 5r) for r <= 1 (the extra joins a pair),
    4/7 for r >= 1 (features 1 and 2 pair up). The line r = 1 splits the diagram at every density."""
    r = np.asarray(r, dtype=np.float64)
    return np.where(r <= 1, 4 * r / (2 + 5 * r), 4.0 / 7.0)


def phase_n3m2(r, s) -> np.ndarray:
    """Theoretical phase (index into PHASES_N3M2) of each (r, s): the argmin of losses_n3m2."""
    return np.argmin(losses_n3m2(r, s), axis=-1)


# --- boundaries as polylines, and distances to them in log space -------------------------------------


def boundary_curves(kind: str, r_range=(0.1, 10.0), s_range=(0.01, 1.0), n_points: int = 200) -> list:
    """The analytic phase boundaries inside the plotted box, each a [k, 2] array of (r, s) points.

    kind: "n2m1" or "n3m2".
    """
    r_lo, r_hi = r_range
    s_lo, s_hi = s_range
    left = np.geomspace(r_lo, 1.0, n_points)
    right = np.geomspace(1.0, r_hi, n_points)
    if kind == "n2m1":
        curves = [np.c_[left, boundary_n2m1(left)], np.c_[right, boundary_n2m1(right)]]
        vertical = np.geomspace(TRIPLE_POINT[1], s_hi, n_points)
    elif kind == "n3m2":
        curves = [np.c_[left, boundary_n3m2(left)], np.c_[right, boundary_n3m2(right)]]
        vertical = np.geomspace(s_lo, s_hi, n_points)
    else:
        raise ValueError(f"unknown diagram {kind!r}; expected 'n2m1' or 'n3m2'")
    curves.append(np.c_[np.ones_like(vertical), vertical])
    return [c[(c[:, 1] >= s_lo) & (c[:, 1] <= s_hi)] for c in curves]


def log_distance(r, s, curves) -> np.ndarray:
    """[...] distance (in decades: Euclidean in (log10 r, log10 s)) from each (r, s) to the nearest curve."""
    p = np.stack([np.log10(r), np.log10(s)], axis=-1)[..., None, :]  # [..., 1, 2]
    best = np.full(np.shape(p)[:-2], np.inf)
    for c in curves:
        q = np.log10(c)
        a, b = q[:-1], q[1:]  # segments [k-1, 2]
        ab = b - a
        t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab**2).sum(-1), 1e-300), 0.0, 1.0)
        d = np.linalg.norm(p - (a + t[..., None] * ab), axis=-1)
        best = np.minimum(best, d.min(-1))
    return best


# --- the empirical phase of trained weights ------------------------------------------------------------


def null_vector(W: np.ndarray) -> np.ndarray:
    """[n] unit v with W v = 0 for W [n - 1, n] of full rank (the right singular vector of the smallest
    singular value). 'W ⊥ v' in the paper's phase names."""
    _, _, vt = np.linalg.svd(np.asarray(W, dtype=np.float64))
    return vt[-1]


def empirical_phase(W: np.ndarray, candidates, min_cos: float = 0.9, min_singular: float = 0.3) -> int:
    """Which candidate ONE trained W [m, m + 1] is: the phase whose null vector is closest to W's, or -1.

    candidates: per phase a tuple of null vectors (NULL_N2M1 or NULL_N3M2). -1 ("other") when W has lost
    rank (smallest singular value < min_singular: e.g. two features dropped) or no candidate's null vector
    has |cos| >= min_cos with W's (e.g. a triangle, W ⊥ [1,1,1], or positive interference).
    """
    W = np.asarray(W, dtype=np.float64)
    if np.linalg.svd(W, compute_uv=False)[-1] < min_singular:
        return -1
    v = null_vector(W)
    cos = [max(abs(v @ c) / np.linalg.norm(c) for c in vs) for vs in candidates]
    k = int(np.argmax(cos))
    return k if cos[k] >= min_cos else -1


# --- exact expected loss of any tied ReLU-output model -------------------------------------------------


@functools.cache
def _cube_points(k: int, n_grid: int) -> np.ndarray:
    """[k, n_grid^k] midpoints of a regular grid on [0, 1]^k."""
    t = (np.arange(n_grid) + 0.5) / n_grid
    return np.stack(np.meshgrid(*([t] * k), indexing="ij")).reshape(k, -1)


def expected_loss(W: np.ndarray, b: np.ndarray, importance, density, n_grid: int = 48) -> float:
    """E[sum_i I_i (x_i - ReLU(W^T W x + b)_i)^2] for ONE model W [m, n], b [n] (sum over features).

    Exact over the 2^n activity patterns (pattern with k active features has probability
    s^k (1 - s)^(n - k) for a common density s, or the product of the p_i for a density [n]); the integral
    over the active magnitudes, Uniform[0, 1]^k, by the midpoint rule with n_grid points per axis (the
    integrand is piecewise quadratic, so the error falls like n_grid^-2). Meant for small n.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = W.shape[1]
    imp = np.broadcast_to(np.asarray(importance, np.float64), (n,))
    p = np.broadcast_to(np.asarray(density, np.float64), (n,))
    G = W.T @ W
    total = 0.0
    for k in range(n + 1):
        for active in itertools.combinations(range(n), k):
            on = np.zeros(n, bool)
            on[list(active)] = True
            prob = np.prod(np.where(on, p, 1 - p))
            if k == 0:
                total += prob * float(imp @ np.maximum(b, 0.0) ** 2)
                continue
            x = _cube_points(k, n_grid)  # [k, points]
            out = np.maximum(G[:, on] @ x + b[:, None], 0.0)  # [n, points]
            target = np.zeros_like(out)
            target[on] = x
            total += prob * float((imp @ (target - out) ** 2).mean())
    return total


def optimal_pair_loss(s: float, r: float = 1.0, n_grid: int = 40) -> tuple[float, np.ndarray]:
    """The antipodal pair with its norms and biases optimised: min over (a, c) of the expected loss of
    W = [a_1, -a_2], b = [c_1, c_2] at density s, importances (1, r). Returns (loss, [a_1, a_2, c_1, c_2]).

    The hand-built pair (a = 1, c = 0) is optimal only as s -> 0; at moderate density shorter vectors with
    positive biases do better (e.g. at the triple point s = 4/7, r = 1: 0.093 against 0.109), which moves
    the true boundary to higher density than the closed forms say, most near r = 1 (measured with this
    function: at r = 1 the optimised pair beats dropping a feature up to s = 0.99, by < 1% above s = 0.8;
    at r = 0.5 and 0.2 the boundary stays within 0.05 decades of the closed form). The search may slide to a
    dropped feature (a_i -> 0) where that is better, so the result is the best of the pair family and its
    degenerate end. About a second per call.
    """
    from scipy.optimize import minimize  # scipy ships with jax

    def loss(theta):
        W = np.array([[theta[0], -theta[1]]])
        return expected_loss(W, theta[2:], (1.0, r), s, n_grid)

    # The objective has kinks (ReLU), so a derivative-free search; two starts (the hand-built pair and a
    # shrunk one with positive biases) and bounds a_i >= 0 keep it inside the antipodal family.
    bounds = [(0.0, 1.5), (0.0, 1.5), (-0.5, 0.6), (-0.5, 0.6)]
    starts = ([1.0, 1.0, 0.0, 0.0], [0.9, 0.7, 0.1, 0.2])
    runs = [
        minimize(loss, np.array(x0), method="Powell", bounds=bounds, options={"xtol": 1e-4, "ftol": 1e-9})
        for x0 in starts
    ]
    res = min(runs, key=lambda res: res.fun)
    return float(res.fun), res.x


# --- counting bounds -----------------------------------------------------------------------------------


def welch_bound(n_vectors, dim):
    """Lower bound on max |cos| between any two of n_vectors unit vectors in dim dimensions (section 6):
    sqrt((N - d) / (d (N - 1))); zero when N <= d (orthonormal vectors exist)."""
    N = np.asarray(n_vectors, dtype=np.float64)
    d = np.asarray(dim, dtype=np.float64)
    return np.sqrt(np.maximum(N - d, 0.0) / (d * np.maximum(N - 1, 1.0)))


def compressed_sensing_dims(n_features, density, c: float = 1.0):
    """Hidden dimensions compressed sensing needs to recover n features of density p = 1 - S:
    m = c * n * p * log(1/p) (section 6: m = Omega(-n (1 - S) log(1 - S)); c is the unknown constant)."""
    p = np.asarray(density, dtype=np.float64)
    return c * np.asarray(n_features, np.float64) * p * np.log(1.0 / p)


def compressed_sensing_features(n_hidden, density, c: float = 1.0):
    """The inverse count: features recoverable in m dimensions at density p, m / (c p log(1/p)).
    Linear in m, and growing as the features get sparser."""
    p = np.asarray(density, dtype=np.float64)
    return np.asarray(n_hidden, np.float64) / (c * p * np.log(1.0 / p))


# --- comparing a trained grid with theory --------------------------------------------------------------


def match_summary(empirical, theoretical, distance, margin: float) -> dict:
    """How often the empirical phase [cells] equals the theoretical one, over cells whose log distance from
    the analytic boundary exceeds margin (decades), and over all cells."""
    empirical, theoretical = np.asarray(empirical), np.asarray(theoretical)
    away = np.asarray(distance) > margin
    same = empirical == theoretical
    return {
        "margin_decades": margin,
        "cells": int(same.size),
        "cells_away": int(away.sum()),
        "matched_away": int((same & away).sum()),
        "fraction_away": float(same[away].mean()) if away.any() else float("nan"),
        "fraction_all": float(same.mean()),
        "other": int((empirical < 0).sum()),
    }
