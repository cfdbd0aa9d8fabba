"""Models that compute many functions of sparse inputs with few neurons (issue 20): Universal-AND and the
compressed-computation residual MLP.

Owns: `UniversalAND` (boolean inputs, one ReLU layer of d neurons, a linear readout of all m(m-1)/2
pairwise ANDs; optionally the inputs embedded as random directions in fewer dimensions), `ResidualMLP`
(Braun et al. 2025's residual MLP with its 1000-d embedding folded in, the residual mixing E^T E - I scaled
per instance), the pair indexing and the fixed random embeddings both read. Does not: train, build the
hand-made construction (superpose.analysis.compute) or measure anything.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from superpose.models.base import xavier_normal


def pairs(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) [m(m-1)/2] of every pair i < j, in row-major order: output k of a Universal-AND model is
    x_i[k] AND x_j[k]."""
    i, j = np.triu_indices(m, k=1)
    return i, j


@functools.lru_cache(maxsize=16)
def random_embedding(dim: int, n: int, seed: int) -> np.ndarray:
    """[dim, n] float32: n random directions in dim dimensions, each column unit-norm (Gaussian, then
    normalised), from numpy's generator with `seed`: fixed per model, never trained."""
    E = np.random.default_rng(seed).normal(size=(dim, n))
    return (E / np.linalg.norm(E, axis=0, keepdims=True)).astype(np.float32)


def residual_mixing(n: int, dim: int, seed: int) -> np.ndarray:
    """[n, n] E^T E - I of the residual MLP's embedding: what reading n features back through a random
    unit-norm embedding into `dim` dimensions adds to each (zero diagonal, off-diagonal ~ 1/sqrt(dim))."""
    E = random_embedding(dim, n, seed).astype(np.float64)
    return (E.T @ E - np.eye(n)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class UniversalAND:
    """h = ReLU(W_in a + b_in), y' = W_out h + b_out, target y_k = x_i AND x_j for every pair k = (i, j).

    The inputs are booleans: x > 0 of the sampler's draw (Independent with feature_prob p gives each input on
    with probability p). a = x, or with embed_dim > 0 the inputs in superposition: a = E x with E [embed_dim,
    m] fixed random unit columns (`random_embedding(embed_dim, m, embed_seed)`). Loss: the MSE over all
    m(m-1)/2 outputs. W_in [d, embed_dim or m], b_in [d], W_out [P, d], b_out [P] (Xavier-normal, zero bias).
    """

    embed_dim: int = 0
    embed_seed: int = 0

    def _embedding(self, m: int):
        return (
            None if self.embed_dim <= 0 else jnp.asarray(random_embedding(self.embed_dim, m, self.embed_seed))
        )

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        k1, k2 = jax.random.split(key)
        width = self.embed_dim if self.embed_dim > 0 else n_features
        n_out = n_features * (n_features - 1) // 2
        return {
            "W_in": xavier_normal(k1, (n_hidden, width)),
            "b_in": jnp.zeros((n_hidden,), jnp.float32),
            "W_out": xavier_normal(k2, (n_out, n_hidden)),
            "b_out": jnp.zeros((n_out,), jnp.float32),
        }

    def hidden(self, params, x):
        """x [m, batch] -> h [d, batch] on the booleans x > 0."""
        bits = (x > 0).astype(jnp.float32)
        E = self._embedding(bits.shape[0])
        a = bits if E is None else E @ bits
        return jax.nn.relu(params["W_in"] @ a + params["b_in"][:, None])

    def apply(self, params, x):
        """x [m, batch] -> y' [m(m-1)/2, batch]."""
        return params["W_out"] @ self.hidden(params, x) + params["b_out"][:, None]

    def target(self, x):
        bits = (x > 0).astype(jnp.float32)
        i, j = pairs(bits.shape[0])
        return bits[i] * bits[j]

    def loss(self, params, x, hyper):
        return jnp.mean((self.target(x) - self.apply(params, x)) ** 2)


@dataclasses.dataclass(frozen=True)
class ResidualMLP:
    """Braun et al. (2025)'s compressed-computation model with its embedding folded in.

    Their model embeds n features by a fixed random unit-norm E [d_embed, n] into a residual stream, adds one
    MLP's output and reads back through E^T: y' = E^T (E x + W_out' ReLU(W_in' E x + b)), with labels
    x + ReLU(x). Since x lives in the n-dimensional span of E, W_in = W_in' E [d, n] and W_out = E^T W_out'
    [n, d] give exactly the same functions with fewer numbers, and y' = x + s M x + W_out ReLU(W_in x + b),
    M = E^T E - I (`residual_mixing`). s = 1 is their model; the per-instance `mixing_scale` s (hyper.extra)
    turns the residual's noise down to 0, where the MLP must compute n ReLUs on its own. Loss: MSE over
    features and batch. Signed inputs (ReLU(x) = x on x >= 0 would make the task linear).
    """

    d_embed: int = 1000
    embed_seed: int = 0
    inputs = "signed"
    extras = ("mixing_scale",)

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        k1, k2 = jax.random.split(key)
        return {
            "W_in": xavier_normal(k1, (n_hidden, n_features)),
            "b_in": jnp.zeros((n_hidden,), jnp.float32),
            "W_out": xavier_normal(k2, (n_features, n_hidden)),
        }

    def default_sampler(self):
        from superpose.data import Independent

        return Independent(magnitude="signed_uniform")

    def mlp(self, params, x):
        """The MLP's output alone, x [n, batch] -> [n, batch]."""
        return params["W_out"] @ jax.nn.relu(params["W_in"] @ x + params["b_in"][:, None])

    def apply(self, params, x, mixing_scale=1.0):
        M = jnp.asarray(residual_mixing(x.shape[0], self.d_embed, self.embed_seed))
        return x + mixing_scale * (M @ x) + self.mlp(params, x)

    def target(self, x):
        return x + jax.nn.relu(x)

    def loss(self, params, x, hyper):
        scale = hyper.extra.get("mixing_scale", 1.0) if hyper.extra else 1.0
        return jnp.mean((self.target(x) - self.apply(params, x, scale)) ** 2)
