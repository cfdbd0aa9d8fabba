"""superpose/analysis/memorization.py: a regular T-gon has data dimensionality m/T (and other point sets are
told apart), the peak finder, shared features, and one model's measures on hand-built sets."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose import metrics, testing
from superpose.analysis import memorization as measure


@given(st.sampled_from([3, 4, 5, 6, 8, 10]), st.floats(0.0, 2 * np.pi), st.floats(0.1, 10.0))
def test_a_regular_T_gon_has_data_dimensionality_m_over_T(T, angle, scale):
    H = scale * testing.regular_polygon(T)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dims = metrics.feature_dimensionality(rot @ H)
    np.testing.assert_allclose(dims, 2.0 / T, atol=1e-9)
    assert measure.polygon_error(dims, 2) < 1e-9


def test_points_that_are_not_a_T_gon_fail_the_check():
    H = testing.regular_polygon(6)
    H[:, 0] *= 3.0  # one point much longer than the others
    assert measure.polygon_error(metrics.feature_dimensionality(H), 2) > 0.05
    squashed = np.random.default_rng(0).normal(size=(2, 8)) * [[1.0], [0.05]]  # nearly on a line
    assert measure.polygon_error(metrics.feature_dimensionality(squashed), 2) > 0.05


def test_interior_peak():
    T = np.array([3, 10, 100, 1000])
    assert measure.interior_peak(T, np.array([0.5, 0.9, 1.2, 0.4])) == {
        "T": 100,
        "loss": 1.2,
        "interior": True,
        "bump": 1.2 - 0.5,
    }
    falling = measure.interior_peak(T, np.array([1.3, 1.0, 0.8, 0.4]))
    assert not falling["interior"] and falling["bump"] == 0.0


def test_shared_pairs_counts_points_with_a_common_feature():
    feature = np.array([0, 1, 1, 2, 3, 0])
    point = np.array([0, 0, 1, 1, 2, 3])  # points 0-1 share feature 1, 0-3 share feature 0
    assert measure.shared_pairs((feature, point, np.ones(6))) == 2


def test_model_measures_of_an_orthogonal_memorizer():
    """Two unit points on separate features, W = I (m = n = 2), b = 0: zero train loss, each point and feature
    of dimensionality 1, norms 1."""
    train = (np.array([0, 1]), np.array([0, 1]), np.array([1.0, 1.0]))
    got = measure.model_measures(np.eye(2), np.zeros(2), train, 2, train, 2)
    assert got["train_loss"] == 0.0 and got["test_loss"] == 0.0
    np.testing.assert_allclose(got["data_dims"], 1.0)
    assert (
        got["max_feature_dim"] == 1.0
        and got["features_norm_over_half"] == 2
        and got["median_data_norm"] == 1.0
    )
