"""superpose.warm: starting geometries, best-of by label, the loss crossing, the dropped-feature loss."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from superpose import metrics, warm
from superpose.models import ReluOutput


@given(st.integers(3, 12), st.integers(0, 2**16))
def test_rotated_polygon_is_regular_with_unit_columns(n, seed):
    W = warm.rotated_polygon(n, np.random.default_rng(seed))
    np.testing.assert_allclose(metrics.feature_norms(W), 1.0, rtol=1e-6)
    assert metrics.is_regular_polygon(W, n, tol_deg=0.01)


@given(st.integers(5, 9), st.integers(0, 4), st.integers(0, 2**16))
def test_digons_drop_one_feature_and_pair_the_next_four(n, dropped, seed):
    W = warm.digons(n, np.random.default_rng(seed), dropped=dropped)
    cols = [i for i in range(n) if i != dropped][:4]
    assert np.all(W[:, [i for i in range(n) if i not in cols]] == 0)
    c = metrics.cosines(W)
    assert c[cols[0], cols[1]] == pytest.approx(-1, abs=1e-6) and c[cols[2], cols[3]] == pytest.approx(
        -1, abs=1e-6
    )
    assert abs(c[cols[0], cols[2]]) < 1e-6


@given(
    hnp.arrays(np.int64, 20, elements=st.integers(0, 3)),
    hnp.arrays(np.int64, 20, elements=st.integers(0, 2)),
    hnp.arrays(np.float64, 20, elements=st.floats(0, 10), unique=True),
)
def test_best_by_label_agrees_with_a_brute_force_search(group, labels, losses):
    names = (0, 1, 2)
    best = warm.best_by_label(group, labels, losses, names)
    assert best["group"].tolist() == sorted(set(group.tolist()))
    for k, g in enumerate(best["group"]):
        members = [i for i in range(20) if group[i] == g]
        assert best["best_index"][k] == min(members, key=lambda i: losses[i])
        for name in names:
            mine = [i for i in members if labels[i] == name]
            if mine:
                i = min(mine, key=lambda i: losses[i])
                assert best["best_index_of"][name][k] == i and best["best_loss"][name][k] == losses[i]
            else:
                assert best["best_index_of"][name][k] == -1 and np.isnan(best["best_loss"][name][k])


@given(st.floats(-2.0, 2.0), st.floats(0.1, 3.0))
def test_loss_crossing_of_two_lines_in_log_x(at, slope):
    x = np.exp(np.linspace(-3, 3, 13))
    a = np.zeros(13)
    b = slope * (np.log(x) - at)  # b > a above exp(at), below it b < a
    assert warm.loss_crossing(x, a, b) == pytest.approx(np.exp(at), rel=1e-9)
    assert np.isnan(warm.loss_crossing(x, a, -b))  # the other way round: no crossing of this kind


@given(st.floats(0.05, 0.5))
def test_dropping_every_feature_leaves_its_variance(p):
    # One feature, W = 0 and b = p/2: the loss is Var(x) = p/3 - p^2/4 (uniform [0, 1] magnitudes).
    (loss,) = warm.dropped_feature_losses(
        ReluOutput(), np.ones((1, 2, 1)), np.zeros((1, 1)), np.array([[p]], np.float32), 1 << 18, [1]
    )
    assert loss == pytest.approx(p / 3 - p**2 / 4, rel=0.05)
    assert np.isnan(
        warm.dropped_feature_losses(
            ReluOutput(), np.zeros((0, 2, 1)), np.zeros((0, 1)), np.array([[p]], np.float32), 8, [1]
        )[0]
    )
