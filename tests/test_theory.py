"""superpose.theory: closed forms against Monte Carlo of the same hand-built weights, boundaries, phases.

Monte Carlo tolerance: the estimate is a mean of 2^17 per-example losses; we allow 5 standard errors
(computed from the same samples) plus 1e-6 absolute, so a correct closed form fails with probability
< 1e-6 per comparison while a wrong term of relative size > ~2% at these densities is caught.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import theory
from superpose.data import Independent
from superpose.models import ReluOutput, weighted_mse

N_SAMPLES = 2**17
densities = st.floats(0.02, 1.0)
importances = st.floats(0.1, 10.0)


def _unit(deg):
    t = np.radians(deg)
    return np.array([np.cos(t), np.sin(t)])


def candidates_n2m1(s):
    """Hand-built (W [1, 2], b [2]) per phase of PHASES_N2M1; dropped features get bias s/2."""
    return [
        (np.array([[1.0, 0.0]]), np.array([0.0, s / 2])),
        (np.array([[1.0, -1.0]]), np.zeros(2)),
        (np.array([[0.0, 1.0]]), np.array([s / 2, 0.0])),
    ]


def candidates_n3m2(s, angle=0.0):
    """Hand-built (W [2, 3], b [3]) per phase of PHASES_N3M2, rotated by `angle` degrees."""
    e, f = _unit(angle), _unit(angle + 90)
    z = np.zeros(2)
    return [
        (np.c_[e, f, z], np.array([0.0, 0.0, s / 2])),
        (np.c_[z, e, f], np.array([s / 2, 0.0, 0.0])),
        (np.c_[e, f, -f], np.zeros(3)),
        (np.c_[e, -e, f], np.zeros(3)),
    ]


@functools.partial(jax.jit, static_argnames=("n",))
def _mc(W, b, importance, density, seed, n):
    """Per-example summed losses [N_SAMPLES] and n * weighted_mse of the same batch."""
    model = ReluOutput()
    params = {"W": W, "b": b}
    x = Independent().sample(jax.random.key(seed), jnp.full((n,), density), N_SAMPLES)
    per_example = (importance[:, None] * (x - model.apply(params, x)) ** 2).sum(0)
    return per_example, n * weighted_mse(model, params, x, importance)


def monte_carlo(W, b, importance, s, seed):
    n = W.shape[1]
    f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
    per, scaled_mse = _mc(f32(W), f32(b), f32(importance), jnp.float32(s), seed, n)
    per = np.asarray(per, dtype=np.float64)
    mean, se = per.mean(), per.std() / np.sqrt(per.size)
    # Loss convention: theory sums over features, training averages; n * mean-over-features = the sum.
    np.testing.assert_allclose(float(scaled_mse), mean, rtol=1e-4)
    return mean, se


@given(r=importances, s=densities, seed=st.integers(0, 2**20))
def test_closed_forms_n2m1_match_monte_carlo(r, s, seed):
    closed = theory.losses_n2m1(r, s)
    for k, (W, b) in enumerate(candidates_n2m1(s)):
        mean, se = monte_carlo(W, b, np.array([1.0, r]), s, seed + k)
        assert abs(mean - closed[k]) <= 5 * se + 1e-6, (theory.PHASES_N2M1[k], mean, closed[k], se)


@given(r=importances, s=densities, angle=st.floats(0, 360), seed=st.integers(0, 2**20))
def test_closed_forms_n3m2_match_monte_carlo(r, s, angle, seed):
    closed = theory.losses_n3m2(r, s)
    for k, (W, b) in enumerate(candidates_n3m2(s, angle)):
        mean, se = monte_carlo(W, b, np.array([1.0, 1.0, r]), s, seed + k)
        assert abs(mean - closed[k]) <= 5 * se + 1e-6, (theory.PHASES_N3M2[k], mean, closed[k], se)


def test_monte_carlo_catches_a_wrong_closed_form():
    # The check has teeth: the antipodal loss with E[min^2] = 1/5 instead of 1/6 is rejected.
    s, r = 0.5, 1.0
    mean, se = monte_carlo(*candidates_n2m1(s)[1], np.array([1.0, r]), s, seed=1)
    assert abs(mean - (1 + r) * s**2 / 5) > 5 * se


@given(r=importances, s=densities)
def test_quadrature_expected_loss_matches_closed_forms(r, s):
    for cands, closed, imp in (
        (candidates_n2m1(s), theory.losses_n2m1(r, s), (1.0, r)),
        (candidates_n3m2(s, 30.0), theory.losses_n3m2(r, s), (1.0, 1.0, r)),
    ):
        got = [theory.expected_loss(W, b, imp, s, n_grid=32) for W, b in cands]
        # midpoint-rule error ~ s / (12 n_grid^2) per dropped feature of importance up to 10
        np.testing.assert_allclose(got, closed, rtol=2e-3, atol=1e-4 * s)


@given(r=importances)
def test_boundaries_are_where_the_losses_tie(r):
    for losses, boundary, phase in (
        (theory.losses_n2m1, theory.boundary_n2m1, theory.phase_n2m1),
        (theory.losses_n3m2, theory.boundary_n3m2, theory.phase_n3m2),
    ):
        s = float(boundary(r))
        two_smallest = np.sort(losses(r, s))[:2]
        np.testing.assert_allclose(two_smallest[0], two_smallest[1], rtol=1e-9)
        # antipodal (phase 1 for n2m1; 2 or 3 for n3m2) just below, a dropped feature just above
        below, above = int(phase(r, s * 0.98)), int(phase(r, s * 1.02))
        if losses is theory.losses_n2m1:
            assert below == 1 and above in (0, 2)
        else:
            assert below in (2, 3) and above in (0, 1)


def test_boundaries_continuous_and_meet_at_triple_point():
    r_t, s_t = theory.TRIPLE_POINT
    for boundary in (theory.boundary_n2m1, theory.boundary_n3m2):
        np.testing.assert_allclose(boundary(r_t), s_t)
        np.testing.assert_allclose(boundary(r_t - 1e-9), boundary(r_t + 1e-9), atol=1e-8)
    # r <= 1: 4r/(2+5r); r >= 1: 4/(5+2r), both 4/7 at r = 1
    np.testing.assert_allclose(theory.boundary_n2m1([0.5, 2.0]), [2 / 4.5, 4 / 9])
    # At the triple point all three n=2 candidates cost the same (and all four n=3 ones).
    np.testing.assert_allclose(np.ptp(theory.losses_n2m1(r_t, s_t)), 0, atol=1e-12)
    np.testing.assert_allclose(np.ptp(theory.losses_n3m2(r_t, s_t)), 0, atol=1e-12)


def paper_boundary_n2m1(r):
    """Paper section 6, written out here rather than taken from theory: antipodal superposition wins for
    s < 4r/(2+5r) when r <= 1 and for s < 4/(5+2r) when r >= 1."""
    return 4 * r / (2 + 5 * r) if r <= 1 else 4 / (5 + 2 * r)


@given(r=st.one_of(st.floats(0.1, 0.95), st.floats(1.05, 10.0)), factor=st.floats(1.03, 3.0))
def test_phases_on_either_side_of_the_paper_boundaries(r, factor):
    """theory's phases (argmins of its closed forms) against the paper's boundary formulas, a few percent
    either side: below, antipodal; above, the less important feature dropped (the extra for r < 1,
    feature 1 for r > 1). For n=3, m=2 the extra pairs with a feature below 4r/(2+5r) when r < 1; when
    r > 1 features 1 and 2 pair up below 4/7, and whichever is dropped above it is one of them."""
    s_star = paper_boundary_n2m1(r)
    below, above = s_star / factor, s_star * factor
    assert theory.phase_n2m1(r, below) == 1
    if above <= 1:
        assert theory.phase_n2m1(r, above) == (0 if r < 1 else 2)
    s3 = s_star if r < 1 else 4 / 7
    assert theory.phase_n3m2(r, s3 / factor) == (2 if r < 1 else 3)
    if s3 * factor <= 1:
        assert theory.phase_n3m2(r, s3 * factor) == (0 if r < 1 else 1)


@pytest.mark.parametrize(
    "r, s, n2m1, n3m2",
    [
        (0.1, 0.5, 0, 0),  # unimportant, dense extra: dropped in both diagrams
        (10.0, 0.8, 2, 1),  # important, dense extra: it keeps a dimension, a unit feature goes
        (10.0, 0.4, 2, 3),  # n=3 below 4/7: features 1 and 2 share a dimension antipodally instead
        (0.5, 0.1, 1, 2),  # sparse, r < 1: the extra goes antipodal with a unit feature
        (5.0, 0.1, 1, 3),  # sparse, r > 1: for n=3 the extra is dedicated, features 1 and 2 antipodal
        (0.3, 0.9, 0, 0),
        (3.0, 0.9, 2, 1),
    ],
)
def test_phases_at_named_points_far_from_the_boundaries(r, s, n2m1, n3m2):
    assert int(theory.phase_n2m1(r, s)) == n2m1
    assert int(theory.phase_n3m2(r, s)) == n3m2


def test_three_phases_meet_at_the_triple_point():
    """Around (1, 4/7) the n=2 diagram shows all three phases within a few percent in r and s: antipodal
    below, drop the extra up-left, drop feature 1 up-right; away from it, one phase per quadrant."""
    r_t, s_t = 1.0, 4 / 7
    assert theory.TRIPLE_POINT == pytest.approx((r_t, s_t))
    for eps in (0.02, 0.1):
        assert theory.phase_n2m1(r_t, s_t * (1 - eps)) == 1
        assert theory.phase_n2m1(r_t * (1 - eps), s_t * (1 + eps)) == 0
        assert theory.phase_n2m1(r_t * (1 + eps), s_t * (1 + eps)) == 2
    # the boundary curves both end at the triple point, so just left and right of r = 1 the phase flips
    # from antipodal to dropped at s = 4/7 (to within the curves' slope over the step in r)
    for r in (0.999, 1.001):
        assert theory.phase_n2m1(r, s_t * 0.99) == 1 and theory.phase_n2m1(r, s_t * 1.01) != 1


def test_phase_grid_is_elementwise_and_every_phase_occurs():
    R, S = np.meshgrid(np.geomspace(0.1, 10, 25), np.geomspace(0.01, 1, 25), indexing="ij")
    grid2, grid3 = theory.phase_n2m1(R, S), theory.phase_n3m2(R, S)
    assert grid2.shape == grid3.shape == R.shape
    assert set(np.unique(grid2)) == {0, 1, 2}
    assert set(np.unique(grid3)) == {0, 1, 2, 3}
    i, j = 3, 20  # a grid call agrees with scalar calls at the same point
    assert grid2[i, j] == theory.phase_n2m1(R[i, j], S[i, j])
    assert grid3[i, j] == theory.phase_n3m2(R[i, j], S[i, j])
    # the antipodal region of the n=2 diagram is exactly the set below the paper's boundary
    below = S < np.vectorize(paper_boundary_n2m1)(R)
    assert np.array_equal(grid2 == 1, below)


def test_log_distance():
    curves = theory.boundary_curves("n2m1")
    r = np.geomspace(0.2, 5, 7)
    assert np.all(theory.log_distance(r, theory.boundary_n2m1(r), curves) < 1e-3)
    # one decade sparser than the r = 0.1 end of the curve: about a decade away
    d = theory.log_distance(np.array(0.1), np.array(0.016), curves)
    assert 0.9 < float(d) <= 1.0
    with pytest.raises(ValueError):
        theory.boundary_curves("n4m2")


@given(angle=st.floats(0, 360), s=densities, scale=st.floats(0.7, 1.3))
def test_empirical_phase_recognises_each_candidate(angle, s, scale):
    for k, (W, _) in enumerate(candidates_n3m2(s, angle)):
        assert theory.empirical_phase(scale * W, theory.NULL_N3M2) == k
    # features 1 and 2 are interchangeable: their swapped versions land in the same phase
    for k, (W, _) in enumerate(candidates_n3m2(s, angle)):
        assert theory.empirical_phase(W[:, [1, 0, 2]], theory.NULL_N3M2) == k
    for k, (W, _) in enumerate(candidates_n2m1(s)):
        assert theory.empirical_phase(scale * W, theory.NULL_N2M1) == k
    # a triangle (W ⊥ [1,1,1]), a collapsed W and same-sign weights are none of the candidates
    triangle = np.stack([_unit(angle + a) for a in (0, 120, 240)], axis=1)
    assert theory.empirical_phase(triangle, theory.NULL_N3M2) == -1
    assert theory.empirical_phase(np.c_[_unit(angle), _unit(angle), np.zeros(2)], theory.NULL_N3M2) == -1
    assert theory.empirical_phase(np.array([[1.0, 1.0]]), theory.NULL_N2M1) == -1


def test_optimised_pair_beats_hand_built():
    s, r = 4 / 7, 1.0
    loss, theta = theory.optimal_pair_loss(s, r, n_grid=24)
    hand_built = float(theory.antipodal_loss(s, 1.0, r))
    assert loss < 0.9 * hand_built  # 0.093 against 0.109 at the triple point
    assert np.all(theta[:2] > 0.5)  # still an antipodal pair


@given(d=st.integers(2, 50))
def test_welch_bound(d):
    assert theory.welch_bound(d, d) == 0  # an orthonormal basis
    # a regular simplex of d + 1 unit vectors meets the bound: |cos| = 1/d
    np.testing.assert_allclose(theory.welch_bound(d + 1, d), 1 / d)
    assert theory.welch_bound(10 * d, d) < theory.welch_bound(100 * d, d) < 1 / np.sqrt(d)


@given(m=st.integers(1, 1000), p=st.floats(1e-4, 0.9))
def test_compressed_sensing_count(m, p):
    n = theory.compressed_sensing_features(m, p)
    np.testing.assert_allclose(theory.compressed_sensing_dims(n, p), m)
    assert theory.compressed_sensing_features(2 * m, p) == pytest.approx(2 * n)  # linear in m
