"""Hypothesis strategies for property-testing toy models, samplers and metrics (your own variants too).

Owns: strategies for feature configurations, weight matrices, random rotations of the hidden space, and
known polytopes whose feature dimensionalities are exact; plus the plain constructors behind them
(`regular_polygon`, `antipodal_pairs`, `orthonormal_columns`, `simplex`, `embed`).
Does not: run anything, or import jax (all arrays are numpy).

Needs the test extra (`pip install -e '.[test]'`) for hypothesis. Shapes are drawn from small fixed sets
on purpose: every new shape is a new XLA compile, so draw values, not shapes.

    from hypothesis import given
    from superpose import metrics, testing

    @given(testing.polytopes())
    def test_dimensionality(poly):
        assert np.allclose(metrics.feature_dimensionality(poly.W), poly.dimensionality)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Small (n_hidden, n_features) shapes: one square, a few with more features than dimensions.
WEIGHT_SHAPES: tuple[tuple[int, int], ...] = ((2, 5), (3, 8), (5, 20), (4, 4))
HIDDEN_SIZES: tuple[int, ...] = (2, 3, 5)


def _f32(x: float) -> float:
    """x rounded to float32, so hypothesis accepts it as a bound for width-32 floats."""
    return float(np.float32(x))


# --- feature configurations ----------------------------------------------------------------------------


class FeatureConfig(NamedTuple):
    """One instance's data and loss settings. feature_prob [n] in (0, 1]; importance [n] >= 0."""

    feature_prob: np.ndarray
    importance: np.ndarray


def feature_probs(n_features: int, min_prob: float = 1e-3) -> st.SearchStrategy[np.ndarray]:
    """[n_features] float32 p_i in [min_prob, 1] (p = 1 - S; min_prob > 0 keeps it in (0, 1])."""
    if not 0 < min_prob <= 1:
        raise ValueError(f"min_prob must lie in (0, 1], got {min_prob}")
    return hnp.arrays(
        np.float32,
        (n_features,),
        elements=st.floats(_f32(min_prob), 1.0, width=32, allow_subnormal=False),
        fill=st.nothing(),
    )


def importances(n_features: int, max_importance: float = 10.0) -> st.SearchStrategy[np.ndarray]:
    """[n_features] float32 I_i: either arbitrary values in [0, max_importance] or the paper's
    geometric schedule ratio**i with ratio in [0.5, 1]."""
    arbitrary = hnp.arrays(
        np.float32,
        (n_features,),
        elements=st.floats(0.0, _f32(max_importance), width=32, allow_subnormal=False),
        fill=st.nothing(),
    )
    geometric = st.floats(0.5, 1.0).map(lambda r: (r ** np.arange(n_features)).astype(np.float32))
    return st.one_of(arbitrary, geometric)


def feature_configs(n_features: int, min_prob: float = 1e-3) -> st.SearchStrategy[FeatureConfig]:
    """FeatureConfig(feature_prob [n], importance [n]); half the time every feature shares one p."""
    uniform_p = st.floats(_f32(min_prob), 1.0, width=32, allow_subnormal=False).map(
        lambda p: np.full(n_features, p, np.float32)
    )
    return st.builds(
        FeatureConfig, st.one_of(uniform_p, feature_probs(n_features, min_prob)), importances(n_features)
    )


# --- weights and rotations ------------------------------------------------------------------------------


def weight_matrices(
    shapes: tuple[tuple[int, int], ...] = WEIGHT_SHAPES, max_abs: float = 2.0
) -> st.SearchStrategy[np.ndarray]:
    """W [n_hidden, n_features] float32, finite entries in [-max_abs, max_abs], shape one of `shapes`."""
    return st.sampled_from(shapes).flatmap(
        lambda shape: hnp.arrays(
            np.float32,
            shape,
            elements=st.floats(-_f32(max_abs), _f32(max_abs), width=32, allow_subnormal=False),
            fill=st.nothing(),
        )
    )


def _householder(v: np.ndarray) -> np.ndarray:
    """[m, m] reflection across the hyperplane orthogonal to v [m]."""
    v = v / np.linalg.norm(v)
    return np.eye(v.size) - 2.0 * np.outer(v, v)


def rotations(n_hidden: int, proper: bool = False) -> st.SearchStrategy[np.ndarray]:
    """R [n_hidden, n_hidden] float64 orthogonal (R^T R = I): a product of n_hidden Householder
    reflections of drawn vectors, which reaches every orthogonal matrix. proper=True forces det R = +1."""
    vector = hnp.arrays(np.float64, (n_hidden,), elements=st.floats(-1.0, 1.0), fill=st.nothing()).filter(
        lambda v: np.linalg.norm(v) > 0.1
    )

    def build(vectors):
        R = np.eye(n_hidden)
        for v in vectors:
            R = R @ _householder(v)
        if proper and np.linalg.det(R) < 0:
            R[:, 0] = -R[:, 0]
        return R

    return st.lists(vector, min_size=n_hidden, max_size=n_hidden).map(build)


def permutations(n_features: int) -> st.SearchStrategy[np.ndarray]:
    """[n_features] int permutation of range(n_features)."""
    return st.permutations(list(range(n_features))).map(np.asarray)


# --- polytopes with known feature dimensionality --------------------------------------------------------


class Polytope(NamedTuple):
    """W [n_hidden, n_features] whose columns form a known geometry, and each feature's exact D_i [n]."""

    W: np.ndarray
    dimensionality: np.ndarray
    name: str


def regular_polygon(k: int, phase: float = 0.0) -> np.ndarray:
    """W [2, k]: unit vectors at angles phase + 2 pi i / k. D_i = 2 / k for k >= 3 (sum_j cos^2 = k / 2);
    k = 2 is an antipodal pair, D_i = 1/2."""
    theta = phase + 2.0 * np.pi * np.arange(k) / k
    return np.stack([np.cos(theta), np.sin(theta)])


def antipodal_pairs(n_pairs: int) -> np.ndarray:
    """W [n_pairs, 2 n_pairs]: features 2j and 2j+1 are +e_j and -e_j. D_i = 1/2."""
    eye = np.eye(n_pairs)
    return np.stack([eye, -eye], axis=2).reshape(n_pairs, 2 * n_pairs)


def orthonormal_columns(n_features: int) -> np.ndarray:
    """W [n_features, n_features] = I: every feature has its own dimension. D_i = 1, interference 0."""
    return np.eye(n_features)


def simplex(n_vertices: int) -> np.ndarray:
    """W [n_vertices - 1, n_vertices]: unit vertices of a regular simplex centred at 0 (3: triangle,
    4: tetrahedron), pairwise cosine -1 / (n_vertices - 1). D_i = (n_vertices - 1) / n_vertices."""
    centred = np.eye(n_vertices) - 1.0 / n_vertices  # rows span the (n_vertices - 1)-dim sum-zero space
    basis = np.linalg.svd(centred)[2][: n_vertices - 1]  # [n_vertices - 1, n_vertices] orthonormal rows
    W = basis @ centred
    return W / np.linalg.norm(W, axis=0)


def embed(W: np.ndarray, n_hidden: int, rotation: np.ndarray | None = None) -> np.ndarray:
    """W [d, n] -> [n_hidden, n]: zero-pad to n_hidden >= d dimensions, then apply rotation [n_hidden,
    n_hidden] (an orthogonal matrix; None keeps the first d axes)."""
    d = W.shape[0]
    if n_hidden < d:
        raise ValueError(f"cannot embed {d}-dimensional columns into {n_hidden} dimensions")
    out = np.zeros((n_hidden, W.shape[1]))
    out[:d] = W
    return out if rotation is None else rotation @ out


def polytopes(
    hidden_sizes: tuple[int, ...] = HIDDEN_SIZES, max_polygon: int = 8, rotate: bool = True
) -> st.SearchStrategy[Polytope]:
    """Polytope(W [m, n] float64, dimensionality [n], name), with m from hidden_sizes: a regular k-gon
    (2 <= k <= max_polygon), antipodal pairs, orthonormal columns or a simplex, scaled by a positive
    factor (D_i is scale-free), zero-padded into m dimensions and (rotate=True) randomly rotated."""

    def shapes_for(m):
        options = [("polygon", k) for k in range(2, max_polygon + 1)]
        options += [("antipodal", j) for j in range(1, m + 1)]
        options += [("orthonormal", j) for j in range(1, m + 1)]
        options += [("simplex", j) for j in range(2, m + 2)]
        return st.sampled_from(options)

    def build(m, kind_size, phase, scale, rotation):
        kind, size = kind_size
        if kind == "polygon":
            W, d, name = regular_polygon(size, phase), (2.0 / size if size > 2 else 0.5), f"{size}-gon"
        elif kind == "antipodal":
            W, d, name = antipodal_pairs(size), 0.5, f"{size} antipodal pairs"
        elif kind == "orthonormal":
            W, d, name = orthonormal_columns(size), 1.0, f"{size} orthonormal"
        else:
            W, d, name = simplex(size), (size - 1) / size, f"{size}-vertex simplex"
        W = embed(scale * W, m, rotation)
        return Polytope(W, np.full(W.shape[1], d), name)

    @st.composite
    def draw(draw_):
        m = draw_(st.sampled_from([m for m in hidden_sizes if m >= 2]))
        kind_size = draw_(shapes_for(m))
        phase = draw_(st.floats(0.0, 2.0 * np.pi))
        scale = draw_(st.floats(0.1, 10.0))
        rotation = draw_(rotations(m)) if rotate else None
        return build(m, kind_size, phase, scale, rotation)

    return draw()
