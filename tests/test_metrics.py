"""Metrics on one W [m, n]: symmetries, the bound sum_i D_i <= m, and polytopes with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from superpose import metrics, testing


def well_separated(W: np.ndarray) -> bool:
    """Every column is either exactly zero or clearly non-zero: D_i jumps to 0 below metrics.EPS, and a
    rounding error should not decide which side of that cliff a column lands on."""
    norms = np.linalg.norm(np.asarray(W, np.float64), axis=0)
    return bool(np.all((norms == 0) | (norms > 1e-3)))


PER_FEATURE = {
    "feature_norms": metrics.feature_norms,
    "interference": metrics.interference,
    "feature_dimensionality": metrics.feature_dimensionality,
    "represented": metrics.represented,
}


@given(st.data())
def test_invariant_under_rotations_of_the_hidden_space(draw):
    """Only inner products between feature directions matter: rotating h-space (W -> R W) changes nothing."""
    W = draw.draw(testing.weight_matrices())
    assume(well_separated(W))
    R = draw.draw(testing.rotations(W.shape[0]))
    RW = R @ W.astype(np.float64)
    for name, fn in PER_FEATURE.items():
        if name == "represented":  # a threshold: compare away from it
            norms = metrics.feature_norms(W)
            assume(np.all(np.abs(norms - 0.5) > 1e-6))
        np.testing.assert_allclose(fn(RW), fn(W), rtol=1e-6, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(metrics.gram(RW), metrics.gram(W), rtol=1e-6, atol=1e-9)
    assert metrics.dimensions_per_feature(RW) == pytest.approx(metrics.dimensions_per_feature(W), rel=1e-6)


@given(st.data())
def test_feature_permutation_permutes_outputs(draw):
    W = draw.draw(testing.weight_matrices())
    perm = draw.draw(testing.permutations(W.shape[1]))
    Wp = W[:, perm]
    for name, fn in PER_FEATURE.items():
        np.testing.assert_allclose(fn(Wp), fn(W)[perm], rtol=1e-6, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(metrics.cosines(Wp), metrics.cosines(W)[np.ix_(perm, perm)], atol=1e-12)
    np.testing.assert_allclose(metrics.gram(Wp), metrics.gram(W)[np.ix_(perm, perm)], atol=1e-12)
    assert metrics.dimensions_per_feature(Wp) == pytest.approx(metrics.dimensions_per_feature(W))


@given(W=testing.weight_matrices())
def test_total_dimensionality_is_at_most_m(W):
    """sum_i D_i <= m: D_i <= W_i^T (W W^T)^+ W_i, and those sum to rank(W) <= m (Cauchy-Schwarz)."""
    D = metrics.feature_dimensionality(W)
    assert np.all(D >= 0) and np.all(D <= 1 + 1e-9)
    assert D.sum() <= W.shape[0] + 1e-6


@given(poly=testing.polytopes())
def test_polytopes_have_their_dimensionality(poly):
    """Regular k-gons give 2/k, antipodal pairs 1/2, a simplex (n-1)/n, orthonormal columns 1, in any
    dimension and orientation, at any scale."""
    np.testing.assert_allclose(metrics.feature_dimensionality(poly.W), poly.dimensionality, rtol=1e-9)


@given(n=st.integers(1, 5), rotation=testing.rotations(5), scale=st.floats(0.5, 3.0))
def test_orthonormal_columns_have_no_interference(n, rotation, scale):
    W = testing.embed(scale * testing.orthonormal_columns(n), 5, rotation)
    np.testing.assert_allclose(metrics.feature_dimensionality(W), 1.0, rtol=1e-9)
    np.testing.assert_allclose(metrics.interference(W), 0.0, atol=1e-12)
    np.testing.assert_allclose(metrics.feature_norms(W), scale, rtol=1e-9)


@pytest.mark.parametrize("k", range(3, 9))
def test_regular_polygon_dimensionality_and_interference(k):
    W = testing.regular_polygon(k, phase=0.3)
    np.testing.assert_allclose(metrics.feature_dimensionality(W), 2 / k, rtol=1e-9)
    # sum_{j != i} cos^2(2 pi (j - i) / k) = k / 2 - 1 for k >= 3
    np.testing.assert_allclose(metrics.interference(W), k / 2 - 1, rtol=1e-9)


def test_unlearned_features_have_zero_dimensionality():
    W = np.concatenate([testing.regular_polygon(5), np.zeros((2, 3))], axis=1)
    D = metrics.feature_dimensionality(W)
    np.testing.assert_allclose(D[:5], 2 / 5, rtol=1e-9)
    np.testing.assert_array_equal(D[5:], 0.0)
    np.testing.assert_array_equal(metrics.represented(W), [True] * 5 + [False] * 3)


# --- antipodal pairs and polygons ------------------------------------------------------------------------


@given(n_pairs=st.integers(1, 4), rotation=testing.rotations(4))
def test_antipodal_pairs_are_found(n_pairs, rotation):
    W = testing.embed(testing.antipodal_pairs(n_pairs), 4, rotation)
    assert metrics.antipodal_pairs(W) == [(2 * j, 2 * j + 1) for j in range(n_pairs)]


@pytest.mark.parametrize(
    "W",
    [testing.orthonormal_columns(4), testing.regular_polygon(3), testing.simplex(4), np.zeros((2, 4))],
    ids=["orthonormal", "triangle", "tetrahedron", "zero"],
)
def test_no_antipodal_pairs_without_opposite_features(W):
    assert metrics.antipodal_pairs(W) == []


def test_antipodal_pairs_ignore_unrepresented_features():
    W = np.array([[1.0, -0.1, 0.0], [0.0, 0.0, 1.0]])  # feature 1 points away from 0 but is tiny
    assert metrics.antipodal_pairs(W) == []


def test_antipodal_pairs_exclude_pairs_that_interfere_with_others():
    assert metrics.antipodal_pairs(testing.regular_polygon(6)) == []


@given(
    k=st.integers(2, 9),
    phase=st.floats(0, 2 * np.pi),
    scale=st.floats(0.6, 2.0),
    perm_seed=st.integers(0, 99),
)
def test_is_regular_polygon(k, phase, scale, perm_seed):
    W = scale * testing.regular_polygon(k, phase)
    W = W[:, np.random.default_rng(perm_seed).permutation(k)]  # feature order does not matter
    assert metrics.is_regular_polygon(W, k)
    assert not metrics.is_regular_polygon(W, k + 1)
    assert metrics.is_regular_polygon(np.concatenate([W, np.array([[0.1], [0.0]])], axis=1), k)
    bent = W.copy()
    c, s = np.cos(np.radians(20)), np.sin(np.radians(20))
    bent[:, 0] = np.array([[c, -s], [s, c]]) @ bent[:, 0]
    assert not metrics.is_regular_polygon(bent, k)


@given(offset=st.floats(0, 360), scale=st.floats(0.6, 2.0))
def test_angles_2d_orders_features_by_angle(offset, scale):
    """Features at 10, 100 and 250 degrees (plus the offset), listed out of order, with a short feature that
    is not represented: the represented ones come back in angular order with gaps 90, 150 and 120 degrees,
    rotated to start from whichever lies first in [0, 360)."""
    angles = np.radians(offset + np.array([250.0, 10.0, 0.0, 100.0]))
    W = scale * np.stack([np.cos(angles), np.sin(angles)])
    W[:, 2] *= 0.1 / scale  # norm 0.1: below the representation threshold
    idx, gaps = metrics.angles_2d(W)
    cycle, cycle_gaps = [1, 3, 0], [90.0, 150.0, 120.0]  # 10 -> 100 -> 250 -> 10 degrees
    k = cycle.index(int(idx[0]))
    assert idx.tolist() == cycle[k:] + cycle[:k]
    np.testing.assert_allclose(gaps, cycle_gaps[k:] + cycle_gaps[:k], atol=1e-6)
    with pytest.raises(ValueError, match="n_hidden = 2"):
        metrics.angles_2d(np.eye(3))


# --- dimensions per feature -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "W, expected",
    [
        (np.eye(3), 1.0),  # every feature owns a dimension
        (testing.regular_polygon(5), 2 / 5),  # pentagon: 2 dimensions for 5 features
        (testing.antipodal_pairs(3), 1 / 2),
        (testing.simplex(4), 3 / 4),
        (np.concatenate([np.eye(2), np.zeros((2, 6))], axis=1), 1.0),  # unlearned features are free
        (2.0 * np.eye(2), 1 / 4),  # D* = m / ||W||_F^2 counts norm, not just directions
    ],
    ids=["identity", "pentagon", "antipodal", "tetrahedron", "padded", "scaled"],
)
def test_dimensions_per_feature(W, expected):
    assert metrics.dimensions_per_feature(W) == pytest.approx(expected)


def test_nearest_geometry():
    assert metrics.nearest_geometry(0.76) == "tetrahedron"
    assert metrics.nearest_geometry(2 / 5) == "pentagon"
    assert metrics.nearest_geometry(0.9) is None
    assert metrics.nearest_geometry(0.51) == "digon"


@pytest.mark.parametrize(
    "d, name",
    [
        (0.39, "pentagon"),  # within 0.03 of both 2/5 and 3/8: the nearer one, 2/5, wins
        (0.385, "square antiprism"),  # just below the midpoint 0.3875
        (0.36, "square antiprism"),
        (0.34, None),  # more than 0.03 below 3/8, and nothing lower
        (0.69, "triangle"),  # between 2/3 and 3/4, nearer 2/3
        (0.73, "tetrahedron"),
        (0.98, "dedicated"),
        (0.465, None),  # between 2/5 and 1/2, more than 0.03 from both
    ],
)
def test_nearest_geometry_picks_the_nearest(d, name):
    assert metrics.nearest_geometry(d) == name
