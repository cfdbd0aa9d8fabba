"""superpose/models/memorization.py: the sparse loss equals the dense one (value and gradient, blocked or
not, padding adding nothing), stored sets are unit-norm sparse points and pack and unpack exactly, buckets
and blocks, and the blocked output energy's hand-written gradient against autodiff (any block size, float64
kept)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose.analysis import memorization as measure
from superpose.config import ConfigError
from superpose.models import memorization as mem

# --- the sparse representation -----------------------------------------------------------------------------

N, M, SIZE = 40, 3, 16


def random_set(seed: int, T: int, nnz: int = 64):
    rng = np.random.default_rng(seed)
    points = mem.sample_points(rng, T, N, 0.08)
    entries = mem.to_coo(points, max(nnz, sum(i.size for i, _ in points)), SIZE)
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
    x = mem.densify(*entries, N, SIZE)
    dense = jax.value_and_grad(mem.DenseReluOutput().loss)(params, (x, weight), None)
    for model in (mem.SparseReluOutput(), mem.SparseReluOutput(block=4), mem.SparseReluOutput(block=SIZE)):
        value, grads = jax.value_and_grad(model.loss)(params, (*entries, weight), None)
        np.testing.assert_allclose(value, dense[0], rtol=1e-5)
        for key in ("W", "b"):
            np.testing.assert_allclose(grads[key], dense[1][key], rtol=1e-4, atol=1e-5)
    per_point = measure.set_loss(params["W"], params["b"], *entries, SIZE)
    np.testing.assert_allclose(per_point[:T].mean(), dense[0], rtol=1e-5)
    H = measure.hidden_vectors(params["W"], *entries, SIZE)
    np.testing.assert_allclose(H, params["W"].astype(np.float64) @ x, rtol=1e-5, atol=1e-6)


def test_padding_adds_nothing():
    params, entries, weight = random_set(0, 5, nnz=64)
    _, tight, _ = random_set(0, 5, nnz=0)
    loss = mem.SparseReluOutput(block=4).loss
    a = loss(params, (*entries, weight), None)
    b = loss(params, (*tight, weight), None)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert entries[0].size == 64 and tight[0].size < 64


def test_sampled_points_are_sparse_and_unit_norm():
    rng = np.random.default_rng(1)
    points = mem.sample_points(rng, 2_000, 500, 0.02)
    counts = np.array([i.size for i, _ in points])
    assert counts.min() >= 1  # empty points are drawn again
    assert abs(counts.mean() - 10.0) < 0.5  # 500 x 0.02, within about 4 standard errors
    feature, point, value = mem.to_coo(points)
    assert (np.diff(point) >= 0).all()  # sorted, as the segment sum is told
    x = mem.densify(feature, point, value, 500, 2_000)
    np.testing.assert_allclose(np.linalg.norm(x, axis=0), 1.0, rtol=1e-5)
    assert ((x > 0).sum(axis=0) == counts).all()


def test_buckets_and_blocks():
    buckets = (16, 128, 512)
    assert [mem.padded_size(T, buckets) for T in (3, 16, 17, 500, 600)] == [16, 16, 128, 512, 600]
    assert mem.block_size(1_000, 2048) == 64 and mem.block_size(1_000, 16) == 16
    assert mem.block_size(1_000, 2000) == 50 and mem.block_size(200, 600) == 300  # divisors of the size
    assert mem.block_size(100_000, 7) == 7  # at least 8 points when the size allows


def test_the_dense_output_energy_matches_its_definition():
    rng = np.random.default_rng(3)
    W, b = jnp.asarray(rng.normal(size=(2, 30)), jnp.float32), jnp.asarray(rng.normal(size=30), jnp.float32)
    h, w = jnp.asarray(rng.normal(size=(2, 8)), jnp.float32), jnp.asarray(rng.random(8), jnp.float32)

    def plain(W, b, h):
        return jnp.sum(w * jnp.sum(jax.nn.relu(W.T @ h + b[:, None]) ** 2, axis=0))

    want = jax.grad(plain, argnums=(0, 1, 2))(W, b, h)
    got = jax.grad(lambda W, b, h: mem.output_energy(W, b, h, w, 2), argnums=(0, 1, 2))(W, b, h)
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

    value, got = jax.value_and_grad(lambda W, b, h: mem.output_energy(W, b, h, w, block), argnums=(0, 1, 2))(
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

        value, got = jax.value_and_grad(lambda W, b, h: mem.output_energy(W, b, h, w, 4), argnums=(0, 1, 2))(
            W, b, h
        )
        assert value.dtype == jnp.float64 and all(g.dtype == jnp.float64 for g in got)
        np.testing.assert_allclose(value, plain(W, b, h), rtol=1e-12)
        for g, e in zip(got, jax.grad(plain, argnums=(0, 1, 2))(W, b, h)):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


def test_a_block_size_below_one_is_refused():
    z = jnp.zeros((2, 4))
    with pytest.raises(ConfigError, match="block"):
        mem.output_energy(jnp.zeros((2, 3)), jnp.zeros(3), z, jnp.zeros(4), 0)


def test_packed_sets_unpack_to_their_entries_and_stored_sets_weigh_their_points():
    rng = np.random.default_rng(2)
    sets = [mem.sample_points(rng, T, 30, 0.1) for T in (3, 7, 1)]
    packed = mem.pack_sets(sets)
    for j, points in enumerate(sets):
        for got, want in zip(mem.unpack_set(packed, j), mem.to_coo(points)):
            np.testing.assert_array_equal(got, want)
    extra = mem.stored_sets(sets, 8)
    assert extra["feature"].shape == extra["value"].shape and extra["feature"].shape[1] % 64 == 0
    np.testing.assert_allclose(extra["weight"].sum(axis=1), 1.0, rtol=1e-6)
    assert (extra["weight"][0, 3:] == 0).all() and (np.diff(extra["point"], axis=1) >= 0).all()


def test_the_model_is_registered_with_its_full_batch_sampler():
    from superpose.models import get_model

    model = get_model("sparse_relu_output")
    assert isinstance(model, mem.SparseReluOutput) and isinstance(model.default_sampler(), mem.StoredSet)
