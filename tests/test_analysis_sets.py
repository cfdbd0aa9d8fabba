"""superpose.analysis.sets: the octahedron checks and the stage classifier of two triples in 3-D (paper E12) on
hand-built weights, so that each can fail; the set geometry of paper E7 (in-set cosines, collapse, effective
dimensions, sets side by side). The builders here also serve tests/test_exp_octahedron.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import testing
from superpose.analysis import sets

# Features 0-2 are set A, 3-5 set B. The octahedron of the paper: A on +e1, +e2, +e3 and B on -e1, -e2, -e3,
# so every antipodal pair joins the sets.
EYE = np.eye(3)
OCTAHEDRON = np.concatenate([EYE, -EYE], axis=1)
# A regular octahedron with pairs inside the sets where it can: (0,1) in A, (4,5) in B; three features per set
# leave one pair, (2,3), across.
SAME_SET = EYE[:, [0, 0, 1, 1, 2, 2]] * np.array([1, -1, 1, -1, 1, -1])


# --- the octahedron checks on hand-built weights ------------------------------------------------------


@given(rotation=testing.rotations(3), scale=st.floats(0.6, 2.0), perm=st.permutations([0, 1, 2]))
def test_any_rotated_octahedron_with_cross_set_pairs_passes(rotation, scale, perm):
    W = scale * rotation @ np.concatenate([EYE, -EYE[:, perm]], axis=1)
    report = sets.octahedron_report(W)
    assert report["represented"] == 6 and len(report["pairs"]) == 3
    assert all(report["cross_set"]) and report["axes_cos"] < 1e-9
    assert sets.is_octahedron(W) and sets.triples_stage(W) == sets.OCTAHEDRON


def test_octahedron_with_pairs_inside_the_sets_fails_the_cross_set_check():
    report = sets.octahedron_report(SAME_SET)
    assert len(report["pairs"]) == 3 and report["axes_cos"] < 1e-9  # a regular octahedron...
    assert report["pairs"] == [(0, 1), (2, 3), (4, 5)]
    assert report["cross_set"] == [False, True, False]  # ...two of whose pairs lie inside a set
    assert not sets.is_octahedron(SAME_SET)
    assert sets.triples_stage(SAME_SET) == sets.pairs_label(1)


@given(tilt=st.floats(6.0, 60.0), rotation=testing.rotations(3))
def test_tilted_octahedron_fails_orthogonality(tilt, rotation):
    # The third pair's axis leans towards the first by `tilt` degrees: still three cross-set antipodal pairs.
    t = np.radians(tilt)
    axes = np.stack([EYE[0], EYE[1], np.cos(t) * EYE[2] + np.sin(t) * EYE[0]], axis=1)
    W = rotation @ np.concatenate([axes, -axes], axis=1)
    report = sets.octahedron_report(W)
    assert len(report["pairs"]) == 3 and all(report["cross_set"])
    assert report["axes_cos"] == pytest.approx(np.sin(t))
    assert not sets.is_octahedron(W)
    # Below 11.5 degrees the in-set |cos| = sin(tilt) stays under 0.2: both sets still count as orthogonal
    # triads, and the label is the antiprism's.
    assert sets.triples_stage(W) == (sets.pairs_label(3) if np.sin(t) > sets.TRIAD_COS else sets.ANTIPRISM)


def test_a_dropped_feature_breaks_its_pair():
    W = OCTAHEDRON.copy()
    W[:, 5] *= 0.1  # feature 5 no longer represented: its cosine is still -1, the count says no
    report = sets.octahedron_report(W)
    assert report["represented"] == 5 and not sets.is_octahedron(W)


# --- the stage classifier -----------------------------------------------------------------------------


def _antiprism(twist_deg: float) -> np.ndarray:
    """Set A an orthonormal triad; set B = -A turned by twist_deg about A's mean direction."""
    axis = np.ones(3) / np.sqrt(3)
    t = np.radians(twist_deg)
    K = np.cross(np.eye(3), axis)  # the cross-product matrix of the axis (up to sign: the twist's direction)
    R = np.cos(t) * np.eye(3) + np.sin(t) * K + (1 - np.cos(t)) * np.outer(axis, axis)  # Rodrigues
    return np.concatenate([EYE, -R @ EYE], axis=1)


def _pc1(rng) -> np.ndarray:
    return np.outer(rng.normal(size=3), 0.3 + rng.random(6))  # all six along one direction


def _pca(rng) -> np.ndarray:
    u, v = rng.normal(size=3), rng.normal(size=3)
    v -= (v @ u) / (u @ u) * u  # the sets on two orthogonal directions
    return np.concatenate([np.outer(u, 0.5 + rng.random(3)), np.outer(v, 0.5 + rng.random(3))], axis=1)


def test_classify_each_stage():
    rng = np.random.default_rng(0)
    assert sets.triples_stage(_pc1(rng)) == sets.PC1
    assert sets.triples_stage(_pca(rng)) == sets.PCA
    split = _pca(rng)
    split[:, 3:] = 0.8 * EYE  # set B spread into an orthogonal triad, set A still one direction
    assert sets.triples_stage(split) == sets.SPLIT
    assert sets.triples_stage(0.05 * rng.normal(size=(3, 6))) == sets.INIT
    for twist in (35.0, 45.0, 55.0):
        W = _antiprism(twist)
        assert sets.triples_stage(W) == sets.ANTIPRISM
        axis_cos, measured = sets.triad_twist(W)
        assert axis_cos == pytest.approx(-1.0) and measured == pytest.approx(twist, abs=1e-6)
    # Pairs count as antipodal at cos < -0.9, i.e. 1/3 + 2/3 cos(twist) > 0.9: twists below ~31.8 degrees
    # already pass as the octahedron (their pair axes stay orthogonal to within |cos| 0.03).
    for twist in (0.0, 15.0, 30.0):
        assert sets.triples_stage(_antiprism(twist)) == sets.OCTAHEDRON
    assert sets.triad_twist(OCTAHEDRON) == pytest.approx((-1.0, 0.0), abs=1e-4)  # arccos near 1


@given(rotation=testing.rotations(3), seed=st.integers(0, 2**16))
def test_classify_is_invariant_under_rotations_of_the_hidden_space(rotation, seed):
    rng = np.random.default_rng(seed)
    for W in (_pc1(rng), _pca(rng), _antiprism(45.0), OCTAHEDRON, SAME_SET, 0.05 * rng.normal(size=(3, 6))):
        assert sets.triples_stage(rotation @ W) == sets.triples_stage(W)


@given(st.integers(1, 10), st.integers(2, 10), st.integers(0, 2**16))
def test_effective_dims_of_orthogonal_and_parallel_columns(k, m, seed):
    k = min(k, m)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(m, m)))
    assert sets.effective_dims(2.0 * Q[:, :k]) == pytest.approx(k)
    assert sets.effective_dims(np.outer(Q[:, 0], np.arange(1, k + 1))) == pytest.approx(1.0)


def test_in_set_cosines_collapse_and_onsets():
    W = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 0.1, 0.0, 1.0]])  # set 0 parallel-ish, set 1 orthogonal
    cos = sets.in_set_cosines(W, 2)
    assert cos.shape == (2, 1) and cos[0, 0] > 0.99 and abs(cos[1, 0]) < 1e-12
    assert sets.collapsed_sets(W, 2).tolist() == [True, False]
    onsets = sets.collapse_onsets(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 1, 2]), 2)
    assert onsets.tolist() == [0.2, 0.4]
    assert np.isnan(sets.collapse_onsets(np.array([0.1, 0.2]), np.array([1, 0]), 1)[0])


@given(testing.rotations(2))
def test_sets_side_by_side_in_a_hexagon_and_not_interleaved(rotation):
    angles = np.radians(60 * np.arange(6))
    hexagon = rotation @ np.stack([np.cos(angles), np.sin(angles)])
    assert sets.sets_side_by_side(hexagon)[0]  # sets (0,1), (2,3), (4,5) on neighbouring vertices
    assert not sets.sets_side_by_side(hexagon[:, [0, 2, 1, 4, 3, 5]])[0]


def test_pair_order_puts_partners_next_to_each_other():
    W = np.array([[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, -1.0]])
    assert sets.pair_order(W, np.arange(4)).tolist() == [0, 2, 1, 3]


# --- paper E7: sets of two and of ten -----------------------------------------------------------------


def _ring(order_deg):
    t = np.radians(np.asarray(order_deg, float))
    return np.stack([np.cos(t), np.sin(t)])


@given(theta=st.floats(0, 360))
def test_side_by_side_hexagon(theta):
    # features 0..5 in sets {0,1},{2,3},{4,5}; pairs adjacent on a regular hexagon.
    good = _ring(theta + np.array([0, 60, 120, 180, 240, 300]))
    assert sets.sets_side_by_side(good)[0]
    # partners opposite each other: not side by side.
    bad = _ring(theta + np.array([0, 180, 60, 240, 120, 300]))
    assert not sets.sets_side_by_side(bad)[0]
    # one feature dropped.
    dropped = good.copy()
    dropped[:, 5] = 0
    assert not sets.sets_side_by_side(dropped)[0]


@given(seed=st.integers(0, 1000))
def test_effective_dims_and_collapse(seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    assert abs(sets.effective_dims(Q) - 10) < 1e-6
    parallel = np.outer(rng.normal(size=10), np.ones(10))
    assert abs(sets.effective_dims(parallel) - 1) < 1e-6
    W = np.concatenate([Q, parallel], axis=1)  # set 0 orthogonal basis, set 1 collapsed
    assert sets.collapsed_sets(W, 10).tolist() == [False, True]
    pairs = np.stack([[1, 0], [0, 1], [1, 0], [1, 0.01]]).T  # pair 0 orthogonal, pair 1 parallel
    assert sets.collapsed_sets(pairs, 2).tolist() == [False, True]


def test_collapse_onsets():
    dens = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.4])
    onset = sets.collapse_onsets(dens, np.array([0, 1, 0, 1, 2, 3]), 3)
    np.testing.assert_allclose(onset, [0.05 * 2, 0.2, 0.4])  # the 0 at 0.05 pushes onset 1 to 0.1
    assert np.isnan(sets.collapse_onsets(dens, np.zeros(6, int), 1)[0])
