"""Numbers from trained weights (paper section 4). numpy in, numpy out; one model per call.

Owns: W^T W, feature norms, interference (superposition score), feature dimensionality D_i, dimensions per
feature D*, features represented, polygon/antipodal detection. Does not: plot or train.
All functions take W [n_hidden, n_features] (column i = feature i's direction), as in the paper.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12
# Fractions where feature dimensionalities cluster (paper E5): tetrahedron 3/4, triangle 2/3, digon 1/2,
# pentagon 2/5, square antiprism 3/8.
GEOMETRY_FRACTIONS = {
    "dedicated": 1.0,
    "tetrahedron": 3 / 4,
    "triangle": 2 / 3,
    "digon": 1 / 2,
    "pentagon": 2 / 5,
    "square antiprism": 3 / 8,
}


def gram(W: np.ndarray) -> np.ndarray:
    """[n, n] W^T W."""
    W = np.asarray(W, dtype=np.float64)
    return W.T @ W


def feature_norms(W: np.ndarray) -> np.ndarray:
    """[n] ||W_i||: ~1 represented, ~0 not."""
    return np.linalg.norm(np.asarray(W, dtype=np.float64), axis=0)


def _unit(W: np.ndarray) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    return W / np.maximum(np.linalg.norm(W, axis=0), EPS)


def interference(W: np.ndarray) -> np.ndarray:
    """[n] superposition score sum_{j != i} (W_hat_i . W_j)^2; 0 = orthogonal to every other feature."""
    overlaps = _unit(W).T @ np.asarray(W, dtype=np.float64)  # [i, j] = W_hat_i . W_j
    sq = overlaps**2
    return sq.sum(axis=1) - np.diag(sq)


def feature_dimensionality(W: np.ndarray) -> np.ndarray:
    """[n] D_i = ||W_i||^2 / sum_j (W_hat_i . W_j)^2 (j = i included). 1 own dimension, 1/2 antipodal,
    2/k a regular k-gon, 0 not learned. (Section 'Feature dimensionality'.)"""
    W = np.asarray(W, dtype=np.float64)
    overlaps = _unit(W).T @ W
    denom = (overlaps**2).sum(axis=1)
    norms2 = (W**2).sum(axis=0)
    return np.where(denom > EPS, norms2 / np.maximum(denom, EPS), 0.0)


def dimensions_per_feature(W: np.ndarray) -> float:
    """D* = m / ||W||_F^2 (section 'Uniform superposition')."""
    W = np.asarray(W, dtype=np.float64)
    return float(W.shape[0] / max((W**2).sum(), EPS))


def represented(W: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """[n] bool: ||W_i|| > threshold."""
    return feature_norms(W) > threshold


def cosines(W: np.ndarray) -> np.ndarray:
    """[n, n] cosine between feature directions (0 where a feature has ~zero norm)."""
    U = _unit(W)
    return U.T @ U


def antipodal_pairs(
    W: np.ndarray, threshold: float = 0.5, cos_max: float = -0.9, others_max: float = 0.1
) -> list[tuple[int, int]]:
    """Pairs (i, j) of represented features whose directions are nearly opposite (cos < cos_max) and
    which interfere with nobody else much (|cos| <= others_max with every other represented feature):
    the 'digon' geometry. Opposite corners of a hexagon are not pairs."""
    rep = np.flatnonzero(represented(W, threshold))
    c = cosines(W)
    pairs = []
    for a, i in enumerate(rep):
        for j in rep[a + 1 :]:
            if c[i, j] >= cos_max:
                continue
            others = rep[(rep != i) & (rep != j)]
            if np.all(np.abs(c[np.ix_([i, j], others)]) <= others_max):
                pairs.append((int(i), int(j)))
    return pairs


def angles_2d(W: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """For m = 2: the represented features sorted by angle. Returns (feature indices, consecutive angle
    gaps in degrees, summing to 360)."""
    W = np.asarray(W, dtype=np.float64)
    if W.shape[0] != 2:
        raise ValueError(f"angles_2d needs n_hidden = 2, got W of shape {W.shape}")
    idx = np.flatnonzero(represented(W, threshold))
    theta = np.degrees(np.arctan2(W[1, idx], W[0, idx])) % 360.0
    order = np.argsort(theta)
    theta = theta[order]
    gaps = np.diff(np.concatenate([theta, theta[:1] + 360.0]))
    return idx[order], gaps


def is_regular_polygon(W: np.ndarray, k: int, tol_deg: float = 5.0, threshold: float = 0.5) -> bool:
    """m = 2: exactly k features represented, consecutive angles 360/k within tol_deg."""
    idx, gaps = angles_2d(W, threshold)
    return len(idx) == k and bool(np.all(np.abs(gaps - 360.0 / k) < tol_deg))


def nearest_geometry(d: float, tol: float = 0.03) -> str | None:
    """Name of the GEOMETRY_FRACTIONS entry nearest to a dimensionality d, if within tol; else None.
    (3/8 and 2/5 are only 0.025 apart, so the nearest, not the first within tol, is the answer.)"""
    name, value = min(GEOMETRY_FRACTIONS.items(), key=lambda kv: abs(d - kv[1]))
    return name if abs(d - value) <= tol else None
