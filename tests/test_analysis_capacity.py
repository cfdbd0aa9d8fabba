"""superpose/analysis/capacity.py and the facts study's pieces behind it: the published laws inverted, a law
fitted back per seed from two cells up, the mean +- standard error over seeds; the fact models registered
with their full-table sampler."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose.analysis import capacity
from superpose.analysis.stats import mean_se


@given(st.floats(0.2, 3.0), st.booleans())
def test_facts_for_inverts_a_law(constant, log_n):
    x = np.array([50.0, 400.0, 9000.0])
    n = capacity.facts_for(x, constant, log_n)
    np.testing.assert_allclose(constant * n * (np.log(n) if log_n else 1.0), x, rtol=1e-9)


@given(st.floats(0.5, 1.5), st.floats(0.3, 3.0), st.integers(2, 5))
def test_fit_law_recovers_exponent_and_constant_per_seed(exponent, constant, cells):
    x = np.geomspace(100, 1000, cells)
    seeds = np.stack([constant * x**exponent * f for f in (1.0, 1.1)])  # two seeds, 10% apart
    law = capacity.fit_law(x, seeds, log_n=False)
    assert law["exponent"] == pytest.approx(exponent, abs=1e-9) and law["exponent_se"] < 1e-9
    assert len(law["constants"]) == 2 and law["constant_se"] > 0


def test_fit_law_constant_of_a_linear_law():
    """N = measure / 1.2 in one seed, / 1.32 in the other: constants 1.2 and 1.32, their mean and error."""
    x = np.array([144.0, 576.0, 1024.0])
    law = capacity.fit_law(x, np.stack([x / 1.2, x / 1.32]), log_n=False)
    np.testing.assert_allclose(law["constants"], [1.2, 1.32], rtol=1e-12)
    assert law["constant"] == pytest.approx(1.26) and law["constant_se"] == pytest.approx(0.06)


def test_one_cell_has_no_exponent_and_one_seed_no_error():
    law = capacity.fit_law([100.0], np.array([[80.0]]), log_n=True)
    assert np.isnan(law["exponent"]) and law["constant_se"] is None
    assert mean_se([2.0, 4.0]) == (3.0, 1.0) and mean_se([5.0]) == (5.0, None)


def test_the_fact_models_are_registered_with_their_sampler():
    from superpose.models import FactMLP, FullTable, LinearMemory, get_model

    for name, cls in (("fact_mlp", FactMLP), ("linear_memory", LinearMemory)):
        model = get_model(name)
        assert isinstance(model, cls) and isinstance(model.default_sampler(), FullTable)
