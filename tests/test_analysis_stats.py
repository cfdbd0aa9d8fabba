"""superpose/analysis/stats.py: Spearman's rho through scipy (ties averaged, NaN where there is nothing to
rank) with its one-sided p-value, and the power-law fit, as properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose.analysis.stats import power_law_fit, spearman, spearman_test

values = st.lists(st.integers(-5, 5), min_size=3, max_size=30)


@given(values, st.integers(0, 2**16))
def test_spearman_is_rank_based_symmetric_and_bounded(x, seed):
    x = np.asarray(x, np.float64)
    y = np.random.default_rng(seed).normal(size=x.size)
    rho = spearman(x, y)
    if np.ptp(x) == 0:
        assert np.isnan(rho)
        return
    assert -1.0 - 1e-12 <= rho <= 1.0 + 1e-12
    assert spearman(y, x) == pytest.approx(rho)
    assert spearman(np.exp(x), y) == pytest.approx(rho)  # any increasing map keeps the ranks
    assert spearman(-x, y) == pytest.approx(-rho)


def test_ties_share_their_average_rank():
    """[1, 2, 2, 3] against [1, 2, 3, 4]: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4), Pearson of the ranks."""
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(
        np.corrcoef([1, 2.5, 2.5, 4], [1, 2, 3, 4])[0, 1]
    )
    assert np.isclose(spearman([1, 2, 3, 4], [4, 3, 3, 1]), -spearman([1, 2, 3, 4], [1, 3, 3, 4]))


def test_nothing_to_rank_is_nan_and_lengths_must_agree():
    assert np.isnan(spearman([1, 2, 3], [5, 5, 5]))
    assert np.isnan(spearman([1, 2], [1, 2]))
    assert np.isnan(spearman([1, np.nan, 3, np.inf], [1, 2, 3, 4]))  # two finite pairs left
    assert all(np.isnan(spearman_test([1, 2, 3], [0, 0, 0])))
    with pytest.raises(ValueError, match="equal lengths"):
        spearman([1, 2, 3], [1, 2])


@given(st.integers(5, 40))
def test_the_one_sided_p_value_follows_the_sign(n):
    x = np.arange(n, dtype=np.float64)
    rho, p = spearman_test(x, x**3)
    assert rho == pytest.approx(1.0) and p < 0.05
    rho, p = spearman_test(x, -x)
    assert rho == pytest.approx(-1.0) and p > 0.95
    assert spearman_test(x, -x, alternative="less")[1] < 0.05


@given(st.floats(-3, 3), st.floats(0.1, 10))
def test_power_law_fit_recovers_an_exact_power_law(exponent, prefactor):
    x = np.geomspace(1, 1000, 12)
    k, se, c = power_law_fit(x, prefactor * x**exponent)
    assert k == pytest.approx(exponent, abs=1e-9) and c == pytest.approx(prefactor, rel=1e-9)
    assert se < 1e-6
