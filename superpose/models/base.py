"""What every model shares: Xavier-normal init per single model, the loss a model is trained on, and the
importance-weighted MSE of the paper (section 3). Does not: define models (the other files of this package).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def xavier_normal(key: jax.Array, shape: tuple[int, int]) -> jax.Array:
    """Normal with std sqrt(2 / (fan_in + fan_out)) for ONE model (the notebook's 3-D version leaks the
    instance count into the std; we do not)."""
    return jax.random.normal(key, shape, dtype=jnp.float32) * jnp.sqrt(2.0 / (shape[0] + shape[1]))


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
