"""The Flax NNX adapter: an NNX re-implementation of ReluOutput is the same model, and trains the same."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from superpose import config, data, models, sweep
from superpose.nnx import NNXModel

N_FEATURES, N_HIDDEN = 5, 2


class ReluOutputModule(nnx.Module):
    """h = W x; x' = ReLU(W^T h + b), W [n_hidden, n_features], written as an NNX module."""

    def __init__(self, rngs: nnx.Rngs, n_features: int, n_hidden: int):
        self.W = nnx.Param(models.xavier_normal(rngs.params(), (n_hidden, n_features)))
        self.b = nnx.Param(jnp.zeros((n_features,)))

    def __call__(self, x):
        return jax.nn.relu(self.W.T @ (self.W @ x) + self.b[:, None])


def relu_output(rngs, n_features, n_hidden):
    return ReluOutputModule(rngs, n_features, n_hidden)


class AbsMLPModule(nnx.Module):
    """Untied MLP from nnx.Linear layers (batch-major inside, so it transposes): stores its sizes in
    the graphdef, which the adapter must rebuild with the right hidden size."""

    def __init__(self, rngs: nnx.Rngs, n_features: int, n_hidden: int):
        self.hidden = nnx.Linear(n_features, n_hidden, use_bias=False, rngs=rngs)
        self.out = nnx.Linear(n_hidden, n_features, rngs=rngs)

    def __call__(self, x):
        return jax.nn.relu(self.out(jax.nn.relu(self.hidden(x.T)))).T


def abs_mlp(rngs, n_features, n_hidden):
    return AbsMLPModule(rngs, n_features, n_hidden)


class KeepsRngs(nnx.Module):
    def __init__(self, rngs, n_features, n_hidden):
        self.W = nnx.Param(jnp.zeros((n_hidden, n_features)))
        self.rngs = rngs

    def __call__(self, x):
        return x


def keeps_rngs(rngs, n_features, n_hidden):
    return KeepsRngs(rngs, n_features, n_hidden)


def test_params_are_a_flat_dict_named_like_the_pure_model():
    params = NNXModel(relu_output).init(jax.random.key(0), N_FEATURES, N_HIDDEN)
    assert {k: v.shape for k, v in params.items()} == {"W": (N_HIDDEN, N_FEATURES), "b": (N_FEATURES,)}
    nested = NNXModel(abs_mlp).init(jax.random.key(0), N_FEATURES, N_HIDDEN)
    assert {k: v.shape for k, v in nested.items()} == {
        "hidden/kernel": (N_FEATURES, N_HIDDEN),
        "out/kernel": (N_HIDDEN, N_FEATURES),
        "out/bias": (N_FEATURES,),
    }


def test_same_weights_same_outputs_and_loss():
    pure = models.ReluOutput()
    params = pure.init(jax.random.key(1), N_FEATURES, N_HIDDEN)
    params["b"] = jnp.linspace(-0.2, 0.2, N_FEATURES)
    x = data.Independent().sample(jax.random.key(2), jnp.full(N_FEATURES, 0.3), 256)
    importance = jnp.asarray(config.geometric_importance(N_FEATURES, 0.8))
    adapted = NNXModel(relu_output)
    np.testing.assert_allclose(adapted.apply(params, x), pure.apply(params, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        models.weighted_mse(adapted, params, x, importance),
        models.weighted_mse(pure, params, x, importance),
        rtol=1e-6,
    )


@pytest.mark.parametrize("n_hidden", [2, 5, 7])
def test_hidden_size_is_recovered_from_the_params(n_hidden):
    """The graphdef of nnx.Linear stores its sizes; apply must rebuild it for the hidden size the params
    have (also when n_hidden equals n_features, or exceeds it)."""
    model = NNXModel(abs_mlp, target_fn=jnp.abs)
    params = model.init(jax.random.key(3), N_FEATURES, n_hidden)
    x = jnp.linspace(-1, 1, N_FEATURES * 3).reshape(N_FEATURES, 3)
    W1, W2, b = params["hidden/kernel"].T, params["out/kernel"].T, params["out/bias"]
    expected = jax.nn.relu(W2 @ jax.nn.relu(W1 @ x) + b[:, None])
    np.testing.assert_allclose(model.apply(params, x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.target(x), jnp.abs(x))


def test_non_param_state_is_rejected():
    with pytest.raises(ValueError, match="nnx.Param state only"):
        NNXModel(keeps_rngs).init(jax.random.key(0), N_FEATURES, N_HIDDEN)


def test_model_is_hashable_so_sweeps_cache():
    assert hash(NNXModel(relu_output)) == hash(NNXModel(relu_output))
    assert NNXModel(relu_output) == NNXModel(relu_output)


# The same static config as test_train.py's reference sweep, so the pure model's compile is shared.
CFG = config.TrainConfig(
    n_features=N_FEATURES,
    n_hidden=N_HIDDEN,
    batch_size=64,
    n_steps=60,
    log_every=10,
    chunk_steps=20,
    snapshot_steps=(20, 60),
    eval_batches=2,
)


def test_nnx_model_trains_under_sweep_like_the_pure_model():
    """From the same initial state, the NNX module and the pure ReluOutput follow the same trajectory
    through the vmapped, sharded, chunked sweep, and the loss falls."""
    n = 5
    hyper = config.make_hyper(
        n,
        N_FEATURES,
        feature_prob=config.per_instance(np.linspace(0.1, 1.0, n)),
        importance=config.per_feature(config.geometric_importance(5, 0.9)),
        lr=0.02,
    )
    seeds = np.arange(n)
    pure_sweep = sweep.Sweep(models.ReluOutput(), data.Independent(), CFG, hyper, seeds)
    start = jax.device_get(pure_sweep.init())
    pure = pure_sweep.run(state=start)
    adapted = sweep.Sweep(NNXModel(relu_output), data.Independent(), CFG, hyper, seeds).run(state=start)
    assert np.all(adapted.loss[:, -1] < 0.9 * adapted.loss[:, 0])
    assert adapted.params["W"].shape == (n, N_HIDDEN, N_FEATURES)
    for name in ("W", "b"):
        np.testing.assert_allclose(adapted.params[name], pure.params[name], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(adapted.final_loss, pure.final_loss, rtol=1e-5, atol=1e-7)


def test_nnx_init_runs_inside_the_sweep():
    """A sweep's own init (vmapped nnx.Rngs over instance keys) gives distinct, finite instances."""
    hyper = config.make_hyper(4, N_FEATURES, feature_prob=0.5)
    state = sweep.Sweep(NNXModel(relu_output), data.Independent(), CFG, hyper, np.arange(4)).init()
    W = np.asarray(state.params["W"])
    assert W.shape == (4, N_HIDDEN, N_FEATURES) and np.all(np.isfinite(W))
    assert len({w.tobytes() for w in W}) == 4
