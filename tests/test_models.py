"""Toy models: symmetries, hand-built weights with known outputs, the loss's closed form at zero weights."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from superpose import config, data, models, testing

TIED = [models.Linear(), models.ReluOutput(), models.ReluHidden()]
BATCH = 6
SHAPES = ((2, 5), (3, 8))  # (n_hidden, n_features): two shapes keep compiles few


def inputs(n_features: int, low: float = -1.0) -> st.SearchStrategy[np.ndarray]:
    """x [n_features, BATCH] float32 in [low, 1]."""
    return hnp.arrays(
        np.float32, (n_features, BATCH), elements=st.floats(low, 1.0, width=32, allow_subnormal=False)
    )


def permute_params(params: dict, perm: np.ndarray) -> dict:
    """Relabel features: columns of W / W1, rows of W2, entries of b."""
    out = dict(params)
    for name, axis in (("W", 1), ("W1", 1), ("W2", 0), ("b", 0)):
        if name in out:
            out[name] = jnp.take(out[name], perm, axis=axis)
    return out


@pytest.mark.parametrize("model", [*TIED, models.AbsMLP()], ids=lambda m: type(m).__name__)
@given(st.data())
def test_permutation_equivariance_over_features(model, draw):
    """Relabelling features (W columns, b, and x rows together) relabels the output the same way."""
    m, n = draw.draw(st.sampled_from(SHAPES))
    params = model.init(jax.random.key(draw.draw(st.integers(0, 1000))), n, m)
    params["b"] = jnp.asarray(
        draw.draw(hnp.arrays(np.float32, (n,), elements=st.floats(-1, 1, width=32, allow_subnormal=False)))
    )
    x = draw.draw(inputs(n))
    perm = draw.draw(testing.permutations(n))
    out = np.asarray(model.apply(params, x))
    out_perm = np.asarray(model.apply(permute_params(params, perm), x[perm]))
    np.testing.assert_allclose(out_perm, out[perm], rtol=1e-5, atol=1e-5)
    target = np.asarray(model.target(x))
    np.testing.assert_array_equal(np.asarray(model.target(x[perm])), target[perm])


@pytest.mark.parametrize("model", TIED, ids=lambda m: type(m).__name__)
@given(x=inputs(6, low=0.0))
def test_identity_weights_reconstruct_exactly(model, x):
    """m = n, W = I, b = 0: every tied model returns non-negative x unchanged."""
    params = {"W": jnp.eye(6), "b": jnp.zeros(6)}
    np.testing.assert_array_equal(np.asarray(model.apply(params, x)), x)
    assert float(models.weighted_mse(model, params, x, jnp.ones(6))) == 0.0


@given(x=inputs(5))
def test_abs_mlp_target_is_abs_and_has_an_exact_solution(x):
    """AbsMLP's target is |x|; W1 = [I; -I], W2 = [I, I] computes ReLU(x) + ReLU(-x) = |x| exactly."""
    model = models.AbsMLP()
    np.testing.assert_array_equal(np.asarray(model.target(x)), np.abs(x))
    eye = np.eye(5, dtype=np.float32)
    params = {"W1": np.concatenate([eye, -eye]), "W2": np.concatenate([eye, eye], axis=1), "b": np.zeros(5)}
    np.testing.assert_array_equal(np.asarray(model.apply(params, x)), np.abs(x))


@given(st.data())
def test_only_relu_hidden_has_a_privileged_basis(draw):
    """Rotating the hidden space (W -> R W) leaves W^T W, hence Linear's and ReluOutput's outputs, unchanged;
    ReluHidden keeps its output only under relabellings of the neurons (R a permutation), since the hidden
    ReLU acts neuron by neuron."""
    m, n = draw.draw(st.sampled_from(SHAPES))
    params = models.ReluOutput().init(jax.random.key(draw.draw(st.integers(0, 1000))), n, m)
    x = draw.draw(inputs(n, low=0.0))
    R = draw.draw(testing.rotations(m))
    rotated = dict(params, W=jnp.asarray(R @ np.asarray(params["W"], np.float64), jnp.float32))
    for model in (models.Linear(), models.ReluOutput()):
        np.testing.assert_allclose(model.apply(rotated, x), model.apply(params, x), rtol=1e-5, atol=1e-5)
    P = np.eye(m)[draw.draw(testing.permutations(m))]
    permuted = dict(params, W=jnp.asarray(P @ np.asarray(params["W"]), jnp.float32))
    hidden = models.ReluHidden()
    np.testing.assert_allclose(hidden.apply(permuted, x), hidden.apply(params, x), rtol=1e-5, atol=1e-5)


def test_rotating_the_hidden_space_changes_relu_hidden():
    # By hand: W = I (m = n = 2), x = (1, 0.5) gives h = (1, 0.5) and x' = x. Rotating by 90 degrees,
    # W' = [[0, -1], [1, 0]]: W' x = (-0.5, 1), the ReLU zeroes the first neuron, x' = W'^T (0, 1) = (1, 0).
    x = np.array([[1.0], [0.5]], np.float32)
    params = {"W": jnp.eye(2), "b": jnp.zeros(2)}
    rotated = {"W": jnp.asarray([[0.0, -1.0], [1.0, 0.0]]), "b": jnp.zeros(2)}
    np.testing.assert_allclose(models.ReluHidden().apply(params, x), x)
    np.testing.assert_allclose(models.ReluHidden().apply(rotated, x), [[1.0], [0.0]], atol=1e-7)
    np.testing.assert_allclose(models.ReluOutput().apply(rotated, x), x, atol=1e-7)
    # and generically: a random rotation of random weights moves ReluHidden's outputs on [0, 1] inputs
    W = np.asarray(models.ReluHidden().init(jax.random.key(0), 8, 3)["W"], np.float64)
    R, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    xs = np.random.default_rng(1).uniform(size=(8, 64)).astype(np.float32)
    out = models.ReluHidden().apply({"W": jnp.asarray(W, jnp.float32), "b": jnp.zeros(8)}, xs)
    out_rot = models.ReluHidden().apply({"W": jnp.asarray(R @ W, jnp.float32), "b": jnp.zeros(8)}, xs)
    assert np.max(np.abs(np.asarray(out_rot) - np.asarray(out))) > 0.05


N_BIG, BATCH_BIG = 8, 1 << 15


@jax.jit
def zero_weight_loss(key, feature_prob, importance):
    x = data.Independent().sample(key, feature_prob, BATCH_BIG)
    params = {"W": jnp.zeros((3, N_BIG)), "b": jnp.zeros(N_BIG)}
    return models.weighted_mse(models.ReluOutput(), params, x, importance)


@given(features=testing.feature_configs(N_BIG, min_prob=0.01), seed=st.integers(0, 2**31 - 1))
def test_zero_weights_give_the_closed_form_loss(features, seed):
    """W = 0, b = 0 predicts 0, so the loss is mean_i I_i E[x_i^2] = mean_i I_i p_i / 3 for Uniform[0, 1]
    magnitudes; the Monte Carlo estimate lies within 5 standard errors of it."""
    p = features.feature_prob.astype(np.float64)
    importance = features.importance.astype(np.float64)
    expected = np.mean(importance * p / 3)
    # Var of one x_i^2 is E[x^4] - E[x^2]^2 = p/5 - p^2/9; the loss averages N_BIG * BATCH_BIG of them.
    var = np.sum(importance**2 * (p / 5 - p**2 / 9)) * BATCH_BIG / (N_BIG * BATCH_BIG) ** 2
    loss = float(zero_weight_loss(jax.random.key(seed), features.feature_prob, features.importance))
    assert abs(loss - expected) <= 5 * np.sqrt(var) + 1e-6 * expected + 1e-9, (loss, expected)


@pytest.mark.parametrize("model", [models.ReluOutput(), models.AbsMLP()], ids=lambda m: type(m).__name__)
def test_init_is_xavier_normal_per_model(model):
    """Xavier-normal per single model: every weight matrix has mean 0 and std sqrt(2 / (m + n)), biases are
    zero; except AbsMLP's output layer, which starts alive (W2 = |Xavier-normal|, so its RMS is the Xavier std
    and every entry is >= 0; b = output_bias); the same key gives the same weights, another key other weights;
    and the parameters fit apply (x [n, batch] -> [n, batch]) with m hidden units."""
    n, m = 120, 80
    params = model.init(jax.random.key(0), n, m)
    std = np.sqrt(2 / (n + m))
    live_output = isinstance(model, models.AbsMLP)
    for name, value in params.items():
        value = np.asarray(value)
        if name == "b":
            assert np.all(value == (model.output_bias if live_output else 0))
            continue
        assert sorted(value.shape) == [m, n], name
        if live_output and name == "W2":
            assert np.all(value >= 0)
            assert np.sqrt(np.mean(value**2)) == pytest.approx(std, rel=0.05)
            continue
        assert np.std(value) == pytest.approx(std, rel=0.05), name
        assert abs(np.mean(value)) < 4 * std / np.sqrt(value.size), name
    again, other = model.init(jax.random.key(0), n, m), model.init(jax.random.key(1), n, m)
    for name in params:
        np.testing.assert_array_equal(np.asarray(again[name]), np.asarray(params[name]))
        if name != "b":
            assert not np.allclose(np.asarray(other[name]), np.asarray(params[name])), name
    x = np.random.default_rng(0).uniform(size=(n, 3)).astype(np.float32)
    assert np.asarray(model.apply(params, x)).shape == (n, 3)
    W_in = params["W"] if "W" in params else params["W1"]
    assert np.asarray(W_in @ x).shape == (m, 3)  # m hidden units


def test_importance_weights_the_loss():
    """Zeroing a feature's importance removes its error from the loss (and nothing else)."""
    model = models.Linear()
    params = {"W": jnp.zeros((2, 4)), "b": jnp.zeros(4)}
    x = jnp.asarray(np.arange(8, dtype=np.float32).reshape(4, 2))
    full = float(models.weighted_mse(model, params, x, jnp.ones(4)))
    np.testing.assert_allclose(full, np.mean(np.asarray(x) ** 2))
    masked = float(models.weighted_mse(model, params, x, jnp.asarray([1.0, 0.0, 1.0, 1.0])))
    np.testing.assert_allclose(masked, (np.sum(np.asarray(x) ** 2) - 2**2 - 3**2) / 8)


def test_registry_names_the_paper_models():
    """Each name builds the model with the paper's equations, seen on hand-computed outputs: W = [[1, -1]]
    (two features antipodal in one dimension), b = 0, inputs (1, 1/4) and (1/4, 1), so W x = +-3/4."""
    params = {"W": jnp.asarray([[1.0, -1.0]]), "b": jnp.zeros(2)}
    x = np.array([[1.0, 0.25], [0.25, 1.0]], np.float32)
    expected = {
        "linear": [[0.75, -0.75], [-0.75, 0.75]],  # W^T W x, negative outputs included
        "relu_output": [[0.75, 0.0], [0.0, 0.75]],  # ReLU(W^T W x): the interference is cut off
        "relu_hidden": [[0.75, 0.0], [0.0, 0.0]],  # ReLU(W x) = 0 for the second input: nothing comes out
    }
    for name, want in expected.items():
        model = models.get_model(name)
        np.testing.assert_allclose(np.asarray(model.apply(params, x)), want, atol=1e-7, err_msg=name)
        np.testing.assert_array_equal(np.asarray(model.target(x)), x)  # autoencoders
    signed = np.array([[-0.5, 0.25]], np.float32)
    np.testing.assert_array_equal(np.asarray(models.get_model("abs_mlp").target(signed)), [[0.5, 0.25]])
    assert {*expected, "abs_mlp"} <= set(models.MODELS)  # and the families other files register
    with pytest.raises(ValueError, match="unknown model"):
        models.get_model("relu_everything")


def test_geometric_importance_and_sparsity_conversion():
    np.testing.assert_allclose(config.geometric_importance(3, 0.9), [1.0, 0.9, 0.81], rtol=1e-6)
    np.testing.assert_allclose(config.sparsity_to_prob([0.0, 0.9, 0.999]), [1.0, 0.1, 0.001])
