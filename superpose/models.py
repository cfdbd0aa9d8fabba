"""The toy-model family (paper section 1) as pure init/apply pairs on ONE instance.

Owns: the models (linear, ReLU output, ReLU hidden, untied absolute-value MLP), Xavier-normal init per
single model, and the importance-weighted loss. Does not: batch over instances (that is sweep.py's job)
or train (train.py).

A model is any frozen dataclass with
    init(key, n_features, n_hidden) -> params          (a dict of arrays)
    apply(params, x [n, batch]) -> x_hat [n, batch]
    target(x [n, batch]) -> what x_hat should match (x itself for autoencoders)
and optionally loss(params, x, hyper) -> scalar, replacing the importance-weighted MSE (`model_loss`).
Batches are columns, one example each, so the code reads like the paper's equations (h = W x).
Add a variant by writing such a class (or subclassing one below); the training code never changes.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from superpose.config import ConfigError


def xavier_normal(key: jax.Array, shape: tuple[int, int]) -> jax.Array:
    """Normal with std sqrt(2 / (fan_in + fan_out)) for ONE model (the notebook's 3-D version leaks the
    instance count into the std; we do not)."""
    return jax.random.normal(key, shape, dtype=jnp.float32) * jnp.sqrt(2.0 / (shape[0] + shape[1]))


@dataclasses.dataclass(frozen=True)
class TiedModel:
    """Base for tied-weight autoencoders: W [n_hidden, n_features] (column i is feature i's direction),
    b [n_features]. Subclasses define `hidden` and `output` nonlinearities."""

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        """ONE model's parameters from a typed key: W [n_hidden, n_features] Xavier-normal, b [n_features] zero.
        Override to change the initialisation; the sweep vmaps this over instances."""
        return {
            "W": xavier_normal(key, (n_hidden, n_features)),
            "b": jnp.zeros((n_features,), jnp.float32),
        }

    def hidden(self, params, x):
        """x [n, batch] -> h [m, batch]; h = W x."""
        return params["W"] @ x

    def output(self, params, h):
        """h [m, batch] -> x' [n, batch]; x' = W^T h + b."""
        return params["W"].T @ h + params["b"][:, None]

    def apply(self, params, x):
        """x [n_features, batch] -> x' [n_features, batch] for ONE model (batch columns, h = W x)."""
        return self.output(params, self.hidden(params, x))

    def target(self, x):
        """What x' should match in the importance-weighted loss: x itself for an autoencoder."""
        return x


@dataclasses.dataclass(frozen=True)
class Linear(TiedModel):
    """h = W x; x' = W^T h + b. Learns the top-m features by importance, never superposition."""


@dataclasses.dataclass(frozen=True)
class ReluOutput(TiedModel):
    """h = W x; x' = ReLU(W^T h + b). The paper's main model."""

    def output(self, params, h):
        return jax.nn.relu(super().output(params, h))


@dataclasses.dataclass(frozen=True)
class ReluHidden(ReluOutput):
    """h = ReLU(W x); x' = ReLU(W^T h + b). The hidden layer has a privileged basis."""

    def hidden(self, params, x):
        return jax.nn.relu(super().hidden(params, x))


@dataclasses.dataclass(frozen=True)
class AbsMLP:
    """Untied computation model: h = ReLU(W1 x); y' = ReLU(W2 h + b), target y = |x|, on signed inputs
    (`inputs = "signed"`: its default sampler draws Uniform[-1, 1] magnitudes; on non-negative inputs |x| = x
    and the task is trivial, so `fit` refuses that pair). W1 [n_hidden, n_features], W2 [n_features,
    n_hidden], b [n_features].

    The output layer starts alive: W2 = |Xavier-normal| and b = output_bias (0.1). From a zero bias and signed
    W2, sparse models stall near half the zero-prediction loss (measured for n=100, m=40 at every density
    <= 0.1): outputs whose pre-activation starts negative never receive a gradient through their ReLU.
    """

    output_bias: float = 0.1
    inputs = "signed"  # what the task needs: x with both signs

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        """W1 [n_hidden, n_features] Xavier-normal, W2 [n_features, n_hidden] |Xavier-normal|, b = output_bias."""
        k1, k2 = jax.random.split(key)
        return {
            "W1": xavier_normal(k1, (n_hidden, n_features)),
            "W2": jnp.abs(xavier_normal(k2, (n_features, n_hidden))),
            "b": jnp.full((n_features,), self.output_bias, jnp.float32),
        }

    def default_sampler(self):
        from superpose.data import Independent

        return Independent(magnitude="signed_uniform")

    def apply(self, params, x):
        """x [n_features, batch] -> y' [n_features, batch]."""
        h = jax.nn.relu(params["W1"] @ x)
        return jax.nn.relu(params["W2"] @ h + params["b"][:, None])

    def target(self, x):
        return jnp.abs(x)


MODELS = {
    "linear": Linear,
    "relu_output": ReluOutput,
    "relu_hidden": ReluHidden,
    "abs_mlp": AbsMLP,
}


def get_model(spec):
    """A model from its registered name (MODELS) or a model instance (returned as it is); ConfigError for
    anything else (a class, None, an unknown name)."""
    if isinstance(spec, str):
        try:
            return MODELS[spec]()
        except KeyError:
            raise ConfigError(f"unknown model {spec!r}; known: {', '.join(sorted(MODELS))}") from None
    if isinstance(spec, type):
        raise ConfigError(
            f"model must be an instance such as {spec.__name__}(), not the class {spec.__name__}"
        )
    if not all(callable(getattr(spec, f, None)) for f in ("init", "apply")):
        raise ConfigError(
            f"model must be a name ({', '.join(sorted(MODELS))}) or an object with init and apply, got {spec!r}"
        )
    return spec


def model_loss(model, params, x, hyper) -> jax.Array:
    """ONE instance's training loss: the model's own `loss(params, x, hyper)` if it defines one (a
    cross-entropy, an L1 penalty read from hyper.extra, ...), else the paper's importance-weighted MSE."""
    own = getattr(model, "loss", None)
    if own is not None:
        return own(params, x, hyper)
    return weighted_mse(model, params, x, hyper.importance)


def weighted_mse(model, params, x, importance) -> jax.Array:
    """Paper section 3: mean over batch and features of I_i (y_i - y'_i)^2. x [n, batch], importance [n]."""
    err = model.target(x) - model.apply(params, x)
    return jnp.mean(importance[:, None] * err**2)
