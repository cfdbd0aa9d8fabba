"""Tied-weight autoencoders (paper section 1): W [n_hidden, n_features], column i feature i's direction.

Owns: TiedModel (h = W x, x' = W^T h + b) and its variants Linear, ReluOutput (the paper's main model) and
ReluHidden (a privileged hidden basis). Does not: train or batch (train.py, sweep.py).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from superpose.models.base import xavier_normal


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
class UnitNormRelu(ReluOutput):
    """The ReLU-output model with Liu, Liu & Gore's (2025) initialisation: W entries N(0, 1/m) (each feature's vector of
    norm about 1) and b ~ N(0, 1)."""

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        kw, kb = jax.random.split(key)
        W = jax.random.normal(kw, (n_hidden, n_features), jnp.float32) / jnp.sqrt(jnp.float32(n_hidden))
        return {"W": W, "b": jax.random.normal(kb, (n_features,), jnp.float32)}
