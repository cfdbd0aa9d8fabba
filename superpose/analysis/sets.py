"""Geometry of sets of features (paper E7 and E12): features 0..k-1 form set A, k..2k-1 set B, and so on.

Owns: cosines within each set, when a set has collapsed onto one direction (its principal component) and
from which density on k sets have, sets side by side in 2-D, the effective dimension of a set's columns,
antipodal partners and the mutual orthogonality of their axes (the octahedron), the twist of one triad
against the other (an antiprism), and an order of features that puts antipodal partners next to each
other. Does not: train, plot, or name the stages of a run (superpose.analysis.dynamics, the experiments).
"""

from __future__ import annotations

import numpy as np

from superpose import metrics

ANTIPODAL_COS = -0.9  # a pair with cos below this is antipodal


def in_set_cosines(W: np.ndarray, set_size: int) -> np.ndarray:
    """[n_sets, k] cosines between distinct members of each set (k = set_size * (set_size - 1) / 2)."""
    c = metrics.cosines(W)
    iu = np.triu_indices(set_size, 1)
    return np.stack([c[s : s + set_size, s : s + set_size][iu] for s in range(0, W.shape[1], set_size)])


def sets_side_by_side(W: np.ndarray, set_size: int = 2, gap_tol: float = 20.0) -> tuple[bool, str]:
    """m = 2: every feature represented, each set's members are neighbours in angular order (the sets form
    contiguous arcs), and every angle gap is within gap_tol of 360/n (hexagon-like for n = 6)."""
    n = W.shape[1]
    idx, gaps = metrics.angles_2d(W)
    if len(idx) != n:
        return False, f"{len(idx)} of {n} represented"
    labels = idx // set_size
    changes = int(np.sum(labels != np.roll(labels, 1)))  # set boundaries around the circle
    contiguous = changes == n // set_size
    regular = bool(np.all(np.abs(gaps - 360 / n) < gap_tol))
    desc = f"set order {labels.tolist()}, gaps {np.round(gaps).astype(int).tolist()} deg"
    return contiguous and regular, desc


def effective_dims(W: np.ndarray) -> float:
    """Participation ratio (sum s^2)^2 / sum s^4 of the singular values of W [m, k]: k for k orthogonal
    equal-norm columns, 1 for parallel ones."""
    s2 = np.linalg.svd(np.asarray(W, np.float64), compute_uv=False) ** 2
    return float(s2.sum() ** 2 / max((s2**2).sum(), 1e-12))


def collapsed_sets(W: np.ndarray, set_size: int) -> np.ndarray:
    """[n_sets] bool: set of two -> members parallel (cos > 0.9); larger set -> effective dimension of its
    columns below set_size - 0.5 (it lost at least one dimension to a principal-component direction)."""
    if set_size == 2:
        return in_set_cosines(W, 2)[:, 0] > 0.9
    n_sets = W.shape[1] // set_size
    dims = np.array([effective_dims(W[:, s * set_size : (s + 1) * set_size]) for s in range(n_sets)])
    return dims < set_size - 0.5


def collapse_onsets(density: np.ndarray, n_collapsed: np.ndarray, n_sets: int) -> np.ndarray:
    """[n_sets] for k = 1..n_sets, the lowest density from which on (at it and every denser one) at least k
    sets are collapsed; NaN if the densest has fewer than k."""
    out = np.full(n_sets, np.nan)
    for k in range(1, n_sets + 1):
        below = np.flatnonzero(np.asarray(n_collapsed) < k)
        first = below.max() + 1 if below.size else 0
        if first < len(density):
            out[k - 1] = density[first]
    return out


def antipodal_partners(W: np.ndarray, cos_max: float = ANTIPODAL_COS) -> list[tuple[int, int]]:
    """Pairs (i < j) of features that are each other's most opposite feature, with cos < cos_max."""
    c = metrics.cosines(W)
    np.fill_diagonal(c, np.inf)
    partner = c.argmin(axis=1)
    return [(i, int(j)) for i, j in enumerate(partner) if i < j and partner[j] == i and c[i, j] < cos_max]


def pair_axes_cos(W: np.ndarray, pairs: list[tuple[int, int]]) -> float:
    """Largest |cos| between the axes W_i/|W_i| - W_j/|W_j| of the given pairs (nan for fewer than two)."""
    if len(pairs) < 2:
        return float("nan")
    U = W / np.maximum(metrics.feature_norms(W), metrics.EPS)
    axes = np.stack([U[:, i] - U[:, j] for i, j in pairs])
    axes /= np.maximum(np.linalg.norm(axes, axis=1, keepdims=True), metrics.EPS)
    g = np.abs(axes @ axes.T)
    return float(g[np.triu_indices(len(pairs), 1)].max())


def triad_twist(W: np.ndarray, set_size: int = 3) -> tuple[float, float]:
    """Two sets of set_size features (0..set_size-1 and the rest): (cos between the two sets' mean directions, twist in degrees): the twist is the mean angle, about set
    A's mean direction, between each member of A and its nearest member of -B. An octahedron whose pairs
    join the sets: (-1, 0); a triangular antiprism: cos near -1 and a twist in (0, 60)."""
    U = np.asarray(W, np.float64) / np.maximum(metrics.feature_norms(W), metrics.EPS)
    a, b = U[:, :set_size], -U[:, set_size:]
    axis = a.sum(axis=1) / max(np.linalg.norm(a.sum(axis=1)), metrics.EPS)
    axis_cos = float(axis @ (-b.sum(axis=1)) / max(np.linalg.norm(b.sum(axis=1)), metrics.EPS))

    def flat(v):
        p = v - np.outer(axis, axis @ v)
        return p / np.maximum(np.linalg.norm(p, axis=0), metrics.EPS)

    angles = np.degrees(np.arccos(np.clip(flat(a).T @ flat(b), -1.0, 1.0)))
    return axis_cos, float(angles.min(axis=1).mean())


def pair_order(W: np.ndarray, features: np.ndarray) -> np.ndarray:
    """`features` reordered so that each is followed by its most opposite partner in W [m, n] (cos < -0.5):
    digons show as 2x2 blocks on the W^T W diagonal."""
    cos = metrics.cosines(W)
    left, order = list(features), []
    while left:
        i = left.pop(0)
        order.append(i)
        if left:
            j = min(left, key=lambda f: cos[i, f])
            if cos[i, j] < -0.5:
                order.append(j)
                left.remove(j)
    return np.asarray(order, dtype=int)


# --- two sets of three features in 3-D (paper E12): the octahedron and the stages before it -------------
#
# Stage labels (`triples_stage`, one snapshot W [3, 6], features 0-2 set A and 3-5 set B; the first that applies
# wins). Cosines are between feature directions; a set is "collapsed" when every pair of its members has
# cos > 0.9 (carried by one direction, as a principal component carries it), an "orthogonal triad" when every
# pair has |cos| < 0.2; a feature is represented when ||W_i|| > 0.5; antipodal pairs are mutually
# most-opposite features with cos < -0.9.
#   octahedron   all six represented, three antipodal pairs, each of one feature from each set, and the three
#                pair axes mutually orthogonal (|cos| < 0.1)
#   antiprism    both sets orthogonal triads and all six represented, but not the octahedron: then the triads'
#                mean directions are opposite and one triad is twisted about that axis against the other
#                (`triad_twist`), a triangular antiprism whose twist closes to the octahedron's
#   PC1          all six features along one direction (every cos > 0.9): the data's top principal component
#   PCA          both sets collapsed, onto different directions: one direction per set
#   init         every ||W_i|| < 0.5 (and not PC1 or PCA): the small random start, not yet collapsed
#   1 set split  one set collapsed, the other spread out
#   k pairs      none of the above; k = 0..3 antipodal pairs across the sets (3: an octahedron not yet square)
# Pairs count as antipodal at cos < -0.9, so an antiprism twisted by less than ~32 degrees
# (1/3 + 2/3 cos(twist) > 0.9) already counts as the octahedron.

REPRESENTED = 0.5  # ||W_i|| above this: the feature is represented
AXES_COS = 0.1  # octahedron: the three pair axes mutually |cos| below this
COLLAPSED_COS = 0.9  # a set whose members all have cos above this is carried by one direction
TRIAD_COS = 0.2  # a set whose members all have |cos| below this is an orthogonal triad


OCTAHEDRON, ANTIPRISM, PC1, PCA, SPLIT, INIT = "octahedron", "antiprism", "PC1", "PCA", "1 set split", "init"
PCA_LIKE = (PC1, PCA)


def pairs_label(k: int) -> str:
    return f"{k} pair{'' if k == 1 else 's'}"


def octahedron_report(W: np.ndarray) -> dict:
    """What the octahedron checks read: represented count, antipodal pairs with their cosines, whether each
    pair joins the two sets, and the largest |cos| between pair axes."""
    W = np.asarray(W, dtype=np.float64)
    pairs = antipodal_partners(W)
    c = metrics.cosines(W)
    return {
        "represented": int(metrics.represented(W, REPRESENTED).sum()),
        "pairs": pairs,
        "pair_cos": [float(c[i, j]) for i, j in pairs],
        "cross_set": [i // 3 != j // 3 for i, j in pairs],
        "axes_cos": pair_axes_cos(W, pairs),
    }


def is_octahedron(W: np.ndarray) -> bool:
    r = octahedron_report(W)
    return (
        r["represented"] == W.shape[1]
        and len(r["pairs"]) == 3
        and all(r["cross_set"])
        and r["axes_cos"] < AXES_COS
    )


def triples_stage(W: np.ndarray) -> str:
    """The stage label of one snapshot W [3, 6] of two sets of three features (the comment above)."""
    W = np.asarray(W, dtype=np.float64)
    if is_octahedron(W):
        return OCTAHEDRON
    within = in_set_cosines(W, 3)
    collapsed = within.min(axis=1) > COLLAPSED_COS
    triads = np.abs(within).max(axis=1) < TRIAD_COS
    norms = metrics.feature_norms(W)
    if triads.all() and (norms > REPRESENTED).all():
        return ANTIPRISM
    if metrics.cosines(W)[np.triu_indices(W.shape[1], 1)].min() > COLLAPSED_COS:
        return PC1
    if collapsed.all():
        return PCA
    if (norms < REPRESENTED).all():
        return INIT
    if collapsed.any():
        return SPLIT
    return pairs_label(sum(octahedron_report(W)["cross_set"]))


def octahedron_edges(W: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of features that are neither antipodal nor parallel (|cos| < 0.5): an octahedron's 12 edges."""
    c = metrics.cosines(W)
    n = W.shape[1]
    return [(i, j) for i in range(n) for j in range(i + 1, n) if abs(c[i, j]) < 0.5]
