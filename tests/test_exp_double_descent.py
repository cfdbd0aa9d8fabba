"""experiments/double_descent.py: the --quick mode end to end with its checks asserted, and the pieces the
checks rest on: the sparse loss equals the dense one (value and gradient, blocked or not), stored sets are
unit-norm sparse points, a regular T-gon has data dimensionality m/T, and the peak finder.

Quick scale (the script's QUICK): n=200 features at density 0.03 (6 active; pairs of points share a feature
about as often as at full scale), m=2 only, T in {5, 6, 8, 30, 60, 100, 300}, the full 10,000 steps, with the
full-scale checks unchanged (the peak-moving check needs a second m, so quick mode has four).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import metrics, testing
from superpose.config import ConfigError
from superpose.lab import main

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"experiments.{name}", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


dd = load("double_descent")


def test_quick_checks_pass(tmp_path):
    code = main(dd.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("double_descent/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 4  # one m in quick mode: no peak-moving check
    assert summary["per_m"]["2"]["T"] == [5, 6, 8, 30, 60, 100, 300]
    assert {p.name for p in tmp_path.glob("double_descent/*/*.png")} == {
        "double_descent.png",
        "double_descent_geometry.png",
    }


# --- the sparse representation -----------------------------------------------------------------------------

N, M, SIZE = 40, 3, 16


def random_set(seed: int, T: int, nnz: int = 64):
    rng = np.random.default_rng(seed)
    points = dd.sample_points(rng, T, N, 0.08)
    entries = dd.to_coo(points, max(nnz, sum(i.size for i, _ in points)), SIZE)
    weight = np.zeros(SIZE, np.float32)
    weight[:T] = 1.0 / T
    params = {
        "W": rng.normal(size=(M, N)).astype(np.float32),
        "b": rng.normal(scale=0.3, size=N).astype(np.float32),
    }
    return params, entries, weight


@given(st.integers(0, 2**31 - 1), st.sampled_from([1, 7, 16]))
def test_sparse_loss_and_gradient_equal_the_dense_ones(seed, T):
    params, entries, weight = random_set(seed, T)
    x = dd.densify(*entries, N, SIZE)
    dense = jax.value_and_grad(dd.DenseReluOutput().loss)(params, (x, weight), None)
    for model in (dd.SparseReluOutput(), dd.SparseReluOutput(block=4), dd.SparseReluOutput(block=SIZE)):
        value, grads = jax.value_and_grad(model.loss)(params, (*entries, weight), None)
        np.testing.assert_allclose(value, dense[0], rtol=1e-5)
        for key in ("W", "b"):
            np.testing.assert_allclose(grads[key], dense[1][key], rtol=1e-4, atol=1e-5)
    per_point = dd.set_loss(params["W"], params["b"], *entries, SIZE)
    np.testing.assert_allclose(per_point[:T].mean(), dense[0], rtol=1e-5)
    H = dd.hidden_vectors(params["W"], *entries, SIZE)
    np.testing.assert_allclose(H, params["W"].astype(np.float64) @ x, rtol=1e-5, atol=1e-6)


def test_padding_adds_nothing():
    params, entries, weight = random_set(0, 5, nnz=64)
    _, tight, _ = random_set(0, 5, nnz=0)
    loss = dd.SparseReluOutput(block=4).loss
    a = loss(params, (*entries, weight), None)
    b = loss(params, (*tight, weight), None)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert entries[0].size == 64 and tight[0].size < 64


def test_sampled_points_are_sparse_and_unit_norm():
    rng = np.random.default_rng(1)
    points = dd.sample_points(rng, 2_000, 500, 0.02)
    counts = np.array([i.size for i, _ in points])
    assert counts.min() >= 1  # empty points are drawn again
    assert abs(counts.mean() - 10.0) < 0.5  # 500 x 0.02, within about 4 standard errors
    feature, point, value = dd.to_coo(points)
    assert (np.diff(point) >= 0).all()  # sorted, as the segment sum is told
    x = dd.densify(feature, point, value, 500, 2_000)
    np.testing.assert_allclose(np.linalg.norm(x, axis=0), 1.0, rtol=1e-5)
    assert ((x > 0).sum(axis=0) == counts).all()


def test_buckets_and_blocks():
    buckets = (16, 128, 512)
    assert [dd.padded_size(T, buckets) for T in (3, 16, 17, 500, 600)] == [16, 16, 128, 512, 600]
    assert dd.block_size(1_000, 2048) == 64 and dd.block_size(1_000, 16) == 16
    assert dd.block_size(1_000, 2000) == 50 and dd.block_size(200, 600) == 300  # divisors of the size
    assert dd.block_size(100_000, 7) == 7  # at least 8 points when the size allows


# --- what the checks read ------------------------------------------------------------------------------------


@given(st.sampled_from([3, 4, 5, 6, 8, 10]), st.floats(0.0, 2 * np.pi), st.floats(0.1, 10.0))
def test_a_regular_T_gon_has_data_dimensionality_m_over_T(T, angle, scale):
    H = scale * testing.regular_polygon(T)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dims = metrics.feature_dimensionality(rot @ H)
    np.testing.assert_allclose(dims, 2.0 / T, atol=1e-9)
    assert dd.polygon_error(dims, 2) < 1e-9


def test_points_that_are_not_a_T_gon_fail_the_check():
    H = testing.regular_polygon(6)
    H[:, 0] *= 3.0  # one point much longer than the others
    assert dd.polygon_error(metrics.feature_dimensionality(H), 2) > 0.05
    squashed = np.random.default_rng(0).normal(size=(2, 8)) * [[1.0], [0.05]]  # nearly on a line
    assert dd.polygon_error(metrics.feature_dimensionality(squashed), 2) > 0.05


def test_interior_peak():
    T = np.array([3, 10, 100, 1000])
    assert dd.interior_peak(T, np.array([0.5, 0.9, 1.2, 0.4])) == {
        "T": 100,
        "loss": 1.2,
        "interior": True,
        "bump": 1.2 - 0.5,
    }
    falling = dd.interior_peak(T, np.array([1.3, 1.0, 0.8, 0.4]))
    assert not falling["interior"] and falling["bump"] == 0.0


def test_the_dense_output_energy_matches_its_definition():
    rng = np.random.default_rng(3)
    W, b = jnp.asarray(rng.normal(size=(2, 30)), jnp.float32), jnp.asarray(rng.normal(size=30), jnp.float32)
    h, w = jnp.asarray(rng.normal(size=(2, 8)), jnp.float32), jnp.asarray(rng.random(8), jnp.float32)

    def plain(W, b, h):
        return jnp.sum(w * jnp.sum(jax.nn.relu(W.T @ h + b[:, None]) ** 2, axis=0))

    want = jax.grad(plain, argnums=(0, 1, 2))(W, b, h)
    got = jax.grad(lambda W, b, h: dd.output_energy(W, b, h, w, 2), argnums=(0, 1, 2))(W, b, h)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("block", [1, 3, 5, 8, 16, 40])
def test_the_output_energy_takes_any_block_size(block):
    """Blocks that do not divide the set are padded (a padded point has weight 0): value and gradient equal
    the plain expression's for every block size."""
    rng = np.random.default_rng(4)
    W, b = jnp.asarray(rng.normal(size=(3, 20)), jnp.float32), jnp.asarray(rng.normal(size=20), jnp.float32)
    h, w = jnp.asarray(rng.normal(size=(3, 16)), jnp.float32), jnp.asarray(rng.random(16), jnp.float32)

    def plain(W, b, h):
        return jnp.sum(w * jnp.sum(jax.nn.relu(W.T @ h + b[:, None]) ** 2, axis=0))

    value, got = jax.value_and_grad(lambda W, b, h: dd.output_energy(W, b, h, w, block), argnums=(0, 1, 2))(
        W, b, h
    )
    np.testing.assert_allclose(value, plain(W, b, h), rtol=1e-5)
    for g, e in zip(got, jax.grad(plain, argnums=(0, 1, 2))(W, b, h)):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_the_output_energy_keeps_float64():
    """In float64 (jax x64) value and gradients stay float64 and match autodiff to 1e-12."""
    rng = np.random.default_rng(5)
    with jax.enable_x64(True):
        W, b = jnp.asarray(rng.normal(size=(2, 30))), jnp.asarray(rng.normal(size=30))
        h, w = jnp.asarray(rng.normal(size=(2, 12))), jnp.asarray(rng.random(12))
        assert W.dtype == jnp.float64

        def plain(W, b, h):
            return jnp.sum(w * jnp.sum(jax.nn.relu(W.T @ h + b[:, None]) ** 2, axis=0))

        value, got = jax.value_and_grad(lambda W, b, h: dd.output_energy(W, b, h, w, 4), argnums=(0, 1, 2))(
            W, b, h
        )
        assert value.dtype == jnp.float64 and all(g.dtype == jnp.float64 for g in got)
        np.testing.assert_allclose(value, plain(W, b, h), rtol=1e-12)
        for g, e in zip(got, jax.grad(plain, argnums=(0, 1, 2))(W, b, h)):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


def test_a_block_size_below_one_is_refused():
    z = jnp.zeros((2, 4))
    with pytest.raises(ConfigError, match="block"):
        dd.output_energy(jnp.zeros((2, 3)), jnp.zeros(3), z, jnp.zeros(4), 0)
