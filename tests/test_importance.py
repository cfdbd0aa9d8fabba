"""Measured feature importance (superpose.analysis.importance): ablation and gradient x input on common
samples, their properties (a dropped feature measures 0, a permutation of the features permutes them, the
ablation is linear in weights), and the ranking check, which fails on a shuffled importance vector."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from superpose.analysis import importance as im
from superpose.data import Independent
from superpose.models import Linear, ReluHidden, ReluOutput

MODELS = [Linear(), ReluOutput(), ReluHidden()]
SETTINGS = settings(max_examples=8, deadline=None)


def random_model(seed: int, k: int, n: int, m: int):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(k, m, n)).astype(np.float32) / np.sqrt(m)
    b = rng.normal(scale=0.1, size=(k, n)).astype(np.float32)
    weights = rng.uniform(0.1, 1.0, size=(k, n)).astype(np.float32)
    return {"W": W, "b": b}, weights


def samples(seed: int, k: int, n: int, density: float, batch: int = 512) -> np.ndarray:
    return im.common_samples(Independent(), np.full((k, n), density, np.float32), batch, seed=seed)


@SETTINGS
@given(
    seed=st.integers(0, 2**16),
    n=st.sampled_from([3, 6]),
    m=st.sampled_from([2, 4]),
    which=st.integers(0, 6),
    model=st.sampled_from(MODELS),
)
def test_a_dropped_feature_measures_zero(seed, n, m, which, model):
    params, weights = random_model(seed, 2, n, m)
    i = which % n
    params["W"][:, :, i] = 0.0  # feature i has no direction: the model cannot see it
    out = im.measure(model, params, samples(seed, 2, n, 0.3), weights)
    assert np.allclose(out["ablation"][:, i], 0.0, atol=1e-7)
    assert np.allclose(out["grad_input"][:, i], 0.0, atol=1e-7)


@SETTINGS
@given(
    seed=st.integers(0, 2**16),
    n=st.sampled_from([3, 6]),
    m=st.sampled_from([2, 4]),
    model=st.sampled_from(MODELS),
)
def test_permuting_the_features_permutes_the_importances(seed, n, m, model):
    params, weights = random_model(seed, 2, n, m)
    x = samples(seed, 2, n, 0.4)
    perm = np.random.default_rng(seed + 1).permutation(n)
    moved = {"W": params["W"][:, :, perm], "b": params["b"][:, perm]}
    a, b = im.measure(model, params, x, weights), im.measure(model, moved, x[:, perm], weights[:, perm])
    for key in ("ablation", "grad_input"):
        np.testing.assert_allclose(b[key], a[key][:, perm], rtol=1e-4, atol=1e-7)


@SETTINGS
@given(seed=st.integers(0, 2**16), scale=st.floats(0.1, 10.0), model=st.sampled_from(MODELS))
def test_the_ablation_is_linear_in_the_importances(seed, scale, model):
    params, weights = random_model(seed, 2, 5, 3)
    x = samples(seed, 2, 5, 0.5)
    a, b = im.measure(model, params, x, weights), im.measure(model, params, x, weights * scale)
    np.testing.assert_allclose(b["ablation"], scale * a["ablation"], rtol=1e-3, atol=1e-7)


@SETTINGS
@given(seed=st.integers(0, 2**16), which=st.integers(0, 4), scale=st.floats(0.1, 10.0))
def test_scaling_one_importance_scales_its_ablation_when_features_do_not_interfere(seed, which, scale):
    # Orthonormal feature directions (n <= m): zeroing feature i changes only output i.
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(6, 5)))
    params = {"W": q[None].astype(np.float32), "b": np.zeros((1, 5), np.float32)}
    weights = rng.uniform(0.1, 1.0, size=(1, 5)).astype(np.float32)
    scaled = weights.copy()
    scaled[0, which] *= scale
    x = samples(seed, 1, 5, 0.5)
    a, b = im.measure(ReluOutput(), params, x, weights), im.measure(ReluOutput(), params, x, scaled)
    np.testing.assert_allclose(b["ablation"][0, which], scale * a["ablation"][0, which], rtol=1e-4)
    others = np.arange(5) != which
    np.testing.assert_allclose(b["ablation"][0, others], a["ablation"][0, others], rtol=1e-4, atol=1e-8)


def pentagon(importance):
    """Five features of equal norm at 72 degrees in 2-D with a negative bias: the paper's sparse solution."""
    angles = 2 * np.pi * np.arange(5) / 5
    W = np.stack([np.cos(angles), np.sin(angles)]).astype(np.float32)
    return {"W": W[None], "b": np.full((1, 5), -0.3, np.float32)}, np.asarray(importance, np.float32)[None]


I5 = 0.9 ** np.arange(5)


def test_a_pentagon_measures_the_ranking_of_its_importances():
    params, weights = pentagon(I5)
    out = im.measure(ReluOutput(), params, samples(0, 1, 5, 0.05, batch=32_768), weights)
    result = im.check_ranking(out["ablation"][0], I5, np.ones(5, bool))
    assert result["passed"] and result["rho"] >= 0.99, result
    assert np.all(np.diff(out["grad_input"][0]) < 0)  # gradient x input ranks them too


def test_a_shuffled_importance_vector_fails_the_check():
    params, weights = pentagon(I5)
    measured = im.measure(ReluOutput(), params, samples(0, 1, 5, 0.05, batch=32_768), weights)["ablation"][0]
    shuffled = I5[[3, 0, 4, 1, 2]]
    result = im.check_ranking(measured, shuffled, np.ones(5, bool))
    assert not result["passed"] and result["rho"] < 0.8, result


def test_a_dropped_feature_that_matters_fails_the_check():
    measured = np.array([1.0, 0.9, 0.8, 0.3, 0.0])
    represented = np.array([True, True, True, False, False])
    assert im.check_ranking(measured, I5, represented, dropped_tol=0.05)["passed"] is False
    measured[3] = 0.01
    ok = im.check_ranking(measured, I5, represented, dropped_tol=0.05)
    assert ok["passed"] and ok["dropped_max"] == pytest.approx(0.01)


def test_two_represented_features_must_keep_their_order():
    rep = np.array([True, True, False, False, False])
    assert im.check_ranking([1.0, 0.5, 0, 0, 0], I5, rep)["passed"]
    assert not im.check_ranking([0.5, 1.0, 0, 0, 0], I5, rep)["passed"]


def test_a_model_that_measures_nothing_fails():
    assert not im.check_ranking(np.zeros(5), I5, np.zeros(5, bool))["passed"]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="differ"):
        im.check_ranking(np.ones(4), I5, np.ones(5, bool))
