"""The extension hooks: per-instance extras in Hyper, a model's own loss, a sampler's own draw. Each is swept
like any hyperparameter (one compile), and each is checked where it enters."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from superpose.config import ConfigError, TrainConfig, make_hyper, per_feature, per_instance
from superpose.data import Independent
from superpose.models import ReluOutput, weighted_mse
from superpose.sweep import Sweep

CFG = TrainConfig(6, 2, batch_size=64, n_steps=400)


@dataclasses.dataclass(frozen=True)
class L1Model(ReluOutput):
    """ReLU output model whose loss adds hyper.extra["l1"] * sum |W|."""

    def loss(self, params, x, hyper):
        return (
            weighted_mse(self, params, x, hyper.importance) + hyper.extra["l1"] * jnp.abs(params["W"]).sum()
        )


@dataclasses.dataclass(frozen=True)
class FixedSet:
    """Batches drawn with replacement from a per-instance training set hyper.extra["data"] [n, T]."""

    def draw(self, key, hyper, cfg):
        data = hyper.extra["data"]
        idx = jax.random.randint(key, (cfg.batch_size,), 0, data.shape[1])
        return data[:, idx]


def test_a_loss_read_from_extras_is_swept_in_one_call():
    l1 = np.array([0.0, 0.0, 1e-2, 1.0], np.float32)
    hyper = make_hyper(4, 6, feature_prob=0.1, extra={"l1": per_instance(l1)})
    seeds = np.array([0, 1, 0, 0])
    res = Sweep(L1Model(), Independent(), CFG, hyper, seeds).run()
    plain = Sweep(ReluOutput(), Independent(), CFG, make_hyper(4, 6, feature_prob=0.1), seeds).run()
    # l1 = 0 adds nothing: the plain model's weights (up to the rounding of a differently fused program).
    np.testing.assert_allclose(res.params["W"][:2], plain.params["W"][:2], rtol=1e-5, atol=1e-6)
    norms = np.abs(res.params["W"]).sum(axis=(1, 2))
    assert norms[3] < 0.2 * norms[0] and norms[2] < norms[0]


def test_a_sampler_can_draw_from_a_stored_training_set():
    # Instance 0 sees one point, instance 1 another: each memorises its own.
    data = np.zeros((2, 6, 1), np.float32)
    data[0, 0, 0], data[1, 3, 0] = 1.0, 1.0
    hyper = make_hyper(2, 6, lr=1e-2, extra={"data": data})
    cfg = TrainConfig(6, 2, batch_size=8, n_steps=1000)
    res = Sweep(ReluOutput(), FixedSet(), cfg, hyper, np.arange(2)).run()
    assert res.final_loss.max() < 1e-3
    W = res.params["W"]
    norms = np.linalg.norm(W, axis=1)  # [instance, feature]
    assert norms[0].argmax() == 0 and norms[1].argmax() == 3 and norms.max(axis=1).min() > 0.5


def test_extras_follow_instances_through_take_and_padding():
    hyper = make_hyper(3, 6, extra={"l1": per_instance([0.0, 0.5, 1.0]), "data": np.ones((3, 6, 2))})
    one = hyper.take(1)
    assert float(one.extra["l1"]) == 0.5 and one.extra["data"].shape == (6, 2)
    # 3 instances on 4 devices: padded, then cut back; the extras travel with their instances.
    sweep = Sweep(L1Model(), Independent(), CFG, hyper, np.arange(3), devices=jax.devices()[:4])
    assert sweep.hyper.extra["l1"].shape == (sweep.n_padded,)


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({"l1": [0.1, 0.2]}, "does not start with the 3 instances"),
        ({"l1": per_instance([0.1, 0.2])}, "does not start with the 3 instances"),
        ({"l1": per_feature(np.ones(6))}, "per_feature has no meaning"),
        ({"l1": float("nan")}, "finite"),
        ({"l1": "big"}, "numeric"),
        ({"not an identifier": 1.0}, "identifiers"),
        ([1.0], "dict"),
    ],
)
def test_bad_extras_are_refused(extra, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make_hyper(3, 6, extra=extra)


def test_extras_whose_length_coincides_with_the_feature_count_are_instances():
    """[N] extras are one value per instance, also when N equals the feature count."""
    hyper = make_hyper(6, 6, extra={"l1": np.arange(6, dtype=np.float32)})
    assert [float(hyper.take(i).extra["l1"]) for i in range(6)] == list(range(6))
