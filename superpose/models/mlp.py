"""Untied MLPs that compute on their inputs (paper section 8): the absolute-value model.

Owns: AbsMLP (h = ReLU(W1 x), y' = ReLU(W2 h + b), target |x|) with its live-output init and signed inputs.
Does not: train or batch.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from superpose.models.base import xavier_normal


@dataclasses.dataclass(frozen=True)
class AbsMLP:
    """Untied computation model: h = ReLU(W1 x); y' = ReLU(W2 h + b), target y = |x|, on signed inputs
    (`inputs = "signed"`: its default sampler draws Uniform[-1, 1] magnitudes; on non-negative inputs |x| = x
    and the task is trivial, so `fit` refuses that pair). W1 [n_hidden, n_features], W2 [n_features,
    n_hidden], b [n_features].

    The output layer starts alive: W2 = |Xavier-normal| and b = output_bias (0.1). From a zero bias and signed
    W2, sparse models stall near half the zero-prediction loss (measured for n=100, m=40 at every density
    <= 0.1): outputs whose pre-activation starts negative never receive a gradient through their ReLU.
    live_outputs=False restores the plain init (W2 Xavier-normal, b = 0), to show that stall.
    """

    output_bias: float = 0.1
    live_outputs: bool = True
    inputs = "signed"  # what the task needs: x with both signs

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        """W1 [n_hidden, n_features] Xavier-normal, W2 [n_features, n_hidden] |Xavier-normal|, b = output_bias
        (live_outputs=False: W2 Xavier-normal, b = 0)."""
        k1, k2 = jax.random.split(key)
        W2 = xavier_normal(k2, (n_features, n_hidden))
        return {
            "W1": xavier_normal(k1, (n_hidden, n_features)),
            "W2": jnp.abs(W2) if self.live_outputs else W2,
            "b": jnp.full((n_features,), self.output_bias if self.live_outputs else 0.0, jnp.float32),
        }

    def default_sampler(self):
        from superpose.data import Independent

        return Independent(magnitude="signed_uniform")

    def hidden(self, params, x):
        """x [n_features, batch] -> the neurons' activations ReLU(W1 x) [n_hidden, batch]."""
        return jax.nn.relu(params["W1"] @ x)

    def apply(self, params, x):
        """x [n_features, batch] -> y' [n_features, batch]."""
        return jax.nn.relu(params["W2"] @ self.hidden(params, x) + params["b"][:, None])

    def target(self, x):
        return jnp.abs(x)
