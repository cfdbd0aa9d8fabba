"""The power-law frequency sampler (superpose.data.PowerLaw) and the Uniform[0, 2] magnitudes of Liu, Liu &
Gore (2025): the law itself, what the sampler draws, alpha read per instance, and the names by which a Study
or `superpose sweep` reaches it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose.config import ConfigError, TrainConfig, make_hyper
from superpose.data import MAGNITUDES, SAMPLERS, PowerLaw, draw, get_sampler, power_law_frequencies
from superpose.models import ReluOutput
from superpose.study import Study


@given(n=st.integers(2, 400), alpha=st.floats(-1.0, 2.0), total=st.floats(0.1, 1.0))
def test_law_sums_to_total_and_falls_as_a_power(n, alpha, total):
    p = power_law_frequencies(n, alpha, total)
    assert p.shape == (n,)
    np.testing.assert_allclose(p.sum(), total, rtol=1e-5)
    assert np.all(np.diff(p) <= 1e-12)  # sorted from the most frequent
    np.testing.assert_allclose(p[0] / p[1], 2.0 ** (1.0 + alpha), rtol=1e-4)  # p_i ~ i^-(1+alpha)


@given(alpha=st.floats(-1.0, 2.0))
def test_traced_law_equals_the_numpy_one(alpha):
    traced = jax.jit(lambda a: power_law_frequencies(50, a))(jnp.float32(alpha))
    np.testing.assert_allclose(np.asarray(traced), power_law_frequencies(50, alpha), rtol=2e-5, atol=1e-9)


def _draw(sampler, alpha, n=20, batch=20_000, seed=0):
    cfg = TrainConfig(n, 4, batch_size=batch, n_steps=10)
    hyper = make_hyper(1, n, extra={"alpha": alpha} if alpha is not None else None).take(0)
    return np.asarray(draw(sampler, jax.random.key(seed), hyper, cfg)), cfg


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_draws_follow_the_law_with_uniform_0_2_values(alpha):
    x, cfg = _draw(PowerLaw(), alpha)
    active = x != 0
    p = power_law_frequencies(cfg.n_features, alpha)
    counts = active.sum(axis=1)
    expected = p * cfg.batch_size
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected) + 2)  # binomial, 5 sigma
    values = x[active]
    assert values.min() >= 0 and values.max() <= 2
    assert abs(values.mean() - 1.0) < 0.03 and abs(np.mean(values**2) - 4 / 3) < 0.05


def test_alpha_comes_from_the_instance_else_the_default():
    by_extra, _ = _draw(PowerLaw(default_alpha=0.0), 1.0)
    by_default, _ = _draw(PowerLaw(default_alpha=1.0), None)
    np.testing.assert_array_equal(by_extra, by_default)
    other, _ = _draw(PowerLaw(default_alpha=1.0), 0.0)
    assert not np.array_equal(other, by_default)


def test_names_and_magnitude():
    assert isinstance(get_sampler("power_law"), PowerLaw) and "power_law" in SAMPLERS
    np.testing.assert_allclose(
        np.asarray(MAGNITUDES["uniform_0_2"](jnp.array([0.0, 0.25, 0.5]))), [0, 0.5, 1]
    )


def test_alpha_is_one_compiled_axis_of_a_study():
    study = Study(
        ReluOutput(),
        {"alpha": [0.0, 0.5, 1.0], "seed": [0, 1]},
        {"n_features": 30, "n_hidden": 3, "n_steps": 20, "batch_size": 16},
        sampler="power_law",
    )
    assert study.static_axes == [] and len(study.groups()) == 1
    ((static, index),) = study.groups()
    sweep = study.sweep(static, index)
    np.testing.assert_allclose(sweep.host_hyper.extra["alpha"], [0, 0, 0.5, 0.5, 1, 1])


def test_law_too_steep_for_the_gate_is_refused():
    PowerLaw().check_law(1000, [0.0, 1.0])
    with pytest.raises(ConfigError, match="PowerLaw"):
        PowerLaw().check_law(100_000, [1.0])  # p_n ~ 6e-11, below 2**-26
