"""Almost-orthogonal packing as a model (paper.md section 7; 3Blue1Brown, "How might LLMs store facts"): N
vectors V [N, d] pushed apart by a penalty on their pairwise cosines, trained by the same compiled loop as
the toy models (TrainConfig's n_features = N, n_hidden = d; full batch, no data).

Owns: the two penalties with their gradients written out, computed one block of rows of the N x N Gram
matrix at a time so that 10,000 x 10,000 never sits in memory whole ("relu": the video's sum of |cos| above a
threshold plus a norm penalty; "lse": a soft maximum of cos^2 over pairs), the `Packing` model (init: random
unit vectors) and `NoData`, its sampler. Does not: measure a packing (superpose.analysis.packing).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from superpose.config import ConfigError

PENALTIES = ("relu", "lse")
ROW_BLOCK = 2048  # rows of the Gram matrix per block: 2048 x 10,000 float32 = 80 MB live at a time


def _blocks(V: jax.Array):
    """(padded V [B * k, d], row-validity [B * k], block size B, count k): rows padded to whole blocks."""
    n = V.shape[0]
    k = -(-n // ROW_BLOCK)
    size = -(-n // k)
    pad = size * k - n
    return jnp.concatenate([V, jnp.zeros((pad, V.shape[1]), V.dtype)]), jnp.arange(size * k) < n, size, k


def relu_penalty(V: jax.Array, threshold: float) -> tuple[jax.Array, jax.Array]:
    """(loss, dloss/dV [N, d]) of the video's code: sum_ij (|G - I|_ij - threshold)_+ + N sum_i (G_ii - 1)^2,
    G = V V^T. dL/dG = S (symmetric), so dL/dV = 2 S V, computed one block of rows at a time."""
    n = V.shape[0]
    Vp, valid, size, k = _blocks(V)

    def block(b):
        rows = jax.lax.dynamic_slice_in_dim(Vp, b * size, size)  # [B, d]
        row_ok = jax.lax.dynamic_slice_in_dim(valid, b * size, size)
        G = rows @ V.T  # [B, N]
        eye = (b * size + jnp.arange(size))[:, None] == jnp.arange(n)[None, :]
        diff = G - eye.astype(G.dtype)
        over = (jnp.abs(diff) > threshold) & row_ok[:, None]
        diag = jnp.sum(jnp.where(eye, G, 0.0), axis=1) - 1.0  # G_ii - 1 [B]
        diag = jnp.where(row_ok, diag, 0.0)
        loss = jnp.sum(jnp.where(over, jnp.abs(diff) - threshold, 0.0)) + n * jnp.sum(diag**2)
        S = jnp.where(over, jnp.sign(diff), 0.0)
        grad = 2.0 * (S @ V) + 4.0 * n * diag[:, None] * rows
        return loss, grad

    losses, grads = jax.lax.map(block, jnp.arange(k))
    return jnp.sum(losses), grads.reshape(-1, V.shape[1])[:n]


def lse_penalty(V: jax.Array, alpha: float) -> tuple[jax.Array, jax.Array]:
    """(loss, dloss/dV) of log mean_{i != j} exp(alpha cos_ij^2) / alpha: a soft maximum of cos^2 over pairs.

    cos = U U^T with U the normalised rows. dL/dcos_ij = 2 cos_ij p_ij, p the softmax over pairs; each block
    of rows keeps its own maximum (as flash attention does) and is rescaled once every block is known.
    dL/dv_i = (I - u_i u_i^T) dL/du_i / |v_i|.
    """
    n = V.shape[0]
    norms = jnp.linalg.norm(V, axis=1, keepdims=True)
    U = V / norms
    Up, valid, size, k = _blocks(U)

    def block(b):
        rows = jax.lax.dynamic_slice_in_dim(Up, b * size, size)
        row_ok = jax.lax.dynamic_slice_in_dim(valid, b * size, size)
        C = rows @ U.T  # [B, N]
        eye = (b * size + jnp.arange(size))[:, None] == jnp.arange(n)[None, :]
        pair = ~eye & row_ok[:, None]
        logit = jnp.where(pair, alpha * C**2, -jnp.inf)
        top = jnp.max(logit)
        E = jnp.where(pair, jnp.exp(logit - top), 0.0)
        return top, jnp.sum(E), 4.0 * ((C * E) @ U)  # dL/du rows, before the softmax's normaliser

    tops, sums, grads = jax.lax.map(block, jnp.arange(k))
    lse = jax.nn.logsumexp(tops, b=sums)
    scale = jnp.exp(tops - lse)  # [k]: each block's share of the normaliser
    dU = (grads * scale[:, None, None]).reshape(-1, V.shape[1])[:n]
    dV = (dU - jnp.sum(dU * U, axis=1, keepdims=True) * U) / norms
    return (lse - jnp.log(n * (n - 1.0))) / alpha, dV


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def penalty(V, model):
    return model.value_and_grad(V)[0]


def _penalty_fwd(V, model):
    loss, grad = model.value_and_grad(V)
    return loss, grad


def _penalty_bwd(model, grad, cotangent):
    return (cotangent * grad,)


penalty.defvjp(_penalty_fwd, _penalty_bwd)


@dataclasses.dataclass(frozen=True)
class Packing:
    """N vectors V [N, d] as a model: TrainConfig's n_features = N and n_hidden = d; the loss is the penalty
    (kind "relu" with `threshold` or "lse" with `alpha`). Starts from independent random unit vectors (the
    random baseline); reads no data (its default sampler is NoData)."""

    kind: str = "relu"
    threshold: float = 0.01
    alpha: float = 200.0

    def __post_init__(self) -> None:
        if self.kind not in PENALTIES:
            raise ConfigError(f"Packing kind must be one of {PENALTIES}, got {self.kind!r}")

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        V = jax.random.normal(key, (n_features, n_hidden), jnp.float32)
        return {"V": V / jnp.linalg.norm(V, axis=1, keepdims=True)}

    def apply(self, params, x):
        return params["V"]

    def default_sampler(self):
        return NoData()

    def value_and_grad(self, V):
        if self.kind == "relu":
            return relu_penalty(V, self.threshold)
        return lse_penalty(V, self.alpha)

    def loss(self, params, x, hyper):
        return penalty(params["V"], self)


@dataclasses.dataclass(frozen=True)
class NoData:
    """The penalty reads no data: every step is the same full-batch problem."""

    def draw(self, key, hyper, cfg):
        return jnp.zeros((), jnp.float32)
