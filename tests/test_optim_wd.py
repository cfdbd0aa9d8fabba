"""Signed weight decay (superpose.optim: signed_decay_term, add_signed_decay, AdamWSigned), the optimizer of
Liu, Liu & Gore (2025): ordinary decoupled decay for wd >= 0, and for wd < 0 a pull of every feature vector's
norm toward 1, applied to W only."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from superpose.config import ConfigError, TrainConfig, make_hyper
from superpose.data import PowerLaw
from superpose.models import ReluOutput
from superpose.optim import (
    OPTIMIZERS,
    AdamW,
    AdamWSigned,
    floored_learning_rate,
    get_optimizer,
    signed_decay_term,
)
from superpose.sweep import Sweep

matrices = hnp.arrays(np.float32, (3, 5), elements=st.floats(-3, 3, width=32))


@given(W=matrices, wd=st.floats(-2.0, -0.01), lr=st.floats(1e-3, 0.1))
def test_negative_decay_moves_every_norm_toward_one(W, wd, lr):
    norms = np.linalg.norm(W, axis=0)
    after = W - lr * np.asarray(signed_decay_term(jnp.asarray(W), wd))
    new = np.linalg.norm(after, axis=0)
    live = norms > 1e-3
    assert np.all(np.abs(new[live] - 1) <= np.abs(norms[live] - 1) + 1e-5)
    # the authors' rule, written out: p + lr * wd * p * (1 - 1 / (||p|| + eps)), column by column
    np.testing.assert_allclose(after, W + lr * wd * W * (1 - 1 / (norms + 1e-8)), rtol=1e-5, atol=1e-6)


@given(W=matrices, wd=st.floats(0.0, 2.0))
def test_non_negative_decay_is_ordinary_decay(W, wd):
    np.testing.assert_allclose(
        np.asarray(signed_decay_term(jnp.asarray(W), wd)), wd * W, rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("wd", [-1.0, 0.5])
def test_with_no_gradient_a_step_is_the_decay_of_W_alone(wd):
    cfg = TrainConfig(5, 3, n_steps=100, schedule="constant")
    hyper = make_hyper(1, 5, lr=0.05, weight_decay=wd).take(0)
    opt = AdamWSigned()(hyper, cfg)
    params = {"W": jnp.asarray(np.random.default_rng(0).normal(size=(3, 5)), jnp.float32), "b": jnp.ones(5)}
    zero = {k: jnp.zeros_like(v) for k, v in params.items()}
    updates, _ = opt.update(zero, opt.init(params), params)
    np.testing.assert_allclose(updates["b"], 0.0)  # Adam of a zero gradient is zero; b has no decay
    expected = -0.05 * np.asarray(signed_decay_term(params["W"], wd))
    np.testing.assert_allclose(updates["W"], expected, rtol=1e-5, atol=1e-7)


def test_lr_floor_and_warmup():
    cfg = TrainConfig(5, 3, n_steps=1000, schedule="warmup_cosine", warmup_steps=100)
    hyper = make_hyper(1, 5, lr=0.01).take(0)
    rate = floored_learning_rate(cfg, hyper, 0.05)
    assert float(rate(jnp.asarray(0))) == 0.0
    np.testing.assert_allclose(float(rate(jnp.asarray(100))), 0.01, rtol=1e-5)
    np.testing.assert_allclose(float(rate(jnp.asarray(1000))), 0.0005, rtol=1e-4)


def test_only_a_declaring_optimizer_takes_negative_decay():
    cfg = TrainConfig(20, 4, batch_size=8, n_steps=20)
    hyper = make_hyper(2, 20, weight_decay=-1.0, extra={"alpha": 1.0})
    with pytest.raises(ConfigError, match="negative"):
        Sweep(ReluOutput(), PowerLaw(), cfg, hyper, [0, 1], optimizer=AdamW())
    result = Sweep(ReluOutput(), PowerLaw(), cfg, hyper, [0, 1], optimizer=AdamWSigned()).run()
    assert np.all(np.isfinite(result.final_loss))
    assert isinstance(get_optimizer("adamw_signed"), AdamWSigned) and "adamw_signed" in OPTIMIZERS
