"""superpose/models/packing.py: the hand-written gradients of both penalties against autodiff (in row blocks
that leave a padded block and in several whole ones), through the model's loss as training differentiates it,
and gradient descent approaching the Welch bound without passing it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from superpose.analysis.packing import pair_stats
from superpose.config import ConfigError
from superpose.models import packing
from superpose.theory import welch_bound

# --- the penalties' gradients ----------------------------------------------------------------------------


def relu_reference(V, threshold):
    G = V @ V.T
    eye = jnp.eye(V.shape[0])
    return jnp.sum(jax.nn.relu(jnp.abs(G - eye) - threshold)) + V.shape[0] * jnp.sum(
        (jnp.diagonal(G) - 1) ** 2
    )


def lse_reference(V, alpha):
    U = V / jnp.linalg.norm(V, axis=1, keepdims=True)
    C = U @ U.T
    n = V.shape[0]
    logits = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, alpha * C**2)
    return (jax.nn.logsumexp(logits) - jnp.log(n * (n - 1.0))) / alpha


@pytest.mark.parametrize("n", [13, 32])
def test_hand_written_gradients_match_autodiff(monkeypatch, n):
    """Rows in blocks of 8, so 13 rows leave a padded block and 32 several whole ones."""
    monkeypatch.setattr(packing, "ROW_BLOCK", 8)
    V = jax.random.normal(jax.random.key(n), (n, 4)) * 0.7
    loss, grad = packing.relu_penalty(V, 0.05)
    np.testing.assert_allclose(loss, relu_reference(V, 0.05), rtol=1e-5)
    np.testing.assert_allclose(grad, jax.grad(relu_reference)(V, 0.05), rtol=1e-4, atol=1e-4)
    loss, grad = packing.lse_penalty(V, 30.0)
    np.testing.assert_allclose(loss, lse_reference(V, 30.0), rtol=1e-5)
    np.testing.assert_allclose(grad, jax.grad(lse_reference)(V, 30.0), rtol=1e-4, atol=1e-6)
    # and through the model's loss, as the training loop differentiates it
    model = packing.Packing("lse", alpha=30.0)
    np.testing.assert_allclose(
        jax.grad(lambda v: model.loss({"V": v}, None, None))(V), jax.grad(lse_reference)(V, 30.0), atol=1e-6
    )


def test_the_welch_bound_holds_after_optimisation():
    """Gradient descent on the smooth penalty gets close to the bound but never past it."""
    n, d = 24, 4
    model = packing.Packing("lse", alpha=200.0)
    V = model.init(jax.random.key(0), n, d)["V"]
    step = jax.jit(lambda v: v - 0.02 * jax.grad(lambda w: model.loss({"V": w}, None, None))(v))
    start = pair_stats(np.asarray(V))["max_abs_cos"]
    for _ in range(300):
        V = step(V)
    stats = pair_stats(np.asarray(V))
    assert welch_bound(n, d) - 1e-6 <= stats["max_abs_cos"] < start


def test_an_unknown_penalty_is_refused_and_the_model_is_registered():
    with pytest.raises(ConfigError, match="kind"):
        packing.Packing("l2")
    from superpose.models import get_model

    assert get_model("packing") == packing.Packing()
    assert isinstance(packing.Packing().default_sampler(), packing.NoData)
