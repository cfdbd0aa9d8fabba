"""Sharding the instance axis over devices changes where instances run, never what they compute.

conftest.py forces 4 host CPU devices. Each test compares a Sweep sharded over several of them with the same
Sweep on one device, including instance counts that are not a multiple of the device count (the sweep pads
the axis and must drop the padding again). Shapes are tiny and fixed; hypothesis draws only traced values
(densities, importances, learning rates, seeds), so each device layout compiles once.
"""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from superpose import config, data, models, sweep

pytestmark = pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 forced host devices (conftest.py)")

N_FEATURES, N_HIDDEN = 6, 2
CFG = config.TrainConfig(
    n_features=N_FEATURES, n_hidden=N_HIDDEN, batch_size=32, n_steps=40, chunk_steps=20, log_every=10
)
MODEL, SAMPLER = models.ReluOutput(), data.Independent()
N = 5  # pads to 6 on 3 devices and to 8 on 4


def run(hyper, seeds, devices, root_seed=0):
    return sweep.Sweep(MODEL, SAMPLER, CFG, hyper, seeds, root_seed=root_seed, devices=devices).run()


def assert_same_results(a: sweep.SweepResult, b: sweep.SweepResult) -> None:
    # Each device runs the same per-instance program on fewer rows; XLA may vectorise the smaller shape
    # differently, so allow float rounding but nothing more.
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-5, atol=1e-6, err_msg=k)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(a.final_loss, b.final_loss, rtol=1e-5, atol=1e-7)


hyper_values = st.fixed_dictionaries(
    {
        "feature_prob": st.lists(st.floats(0.05, 1.0), min_size=N, max_size=N),
        "importance": st.floats(0.1, 2.0),
        "lr": st.floats(1e-3, 3e-2),
        "seed0": st.integers(0, 10_000),
    }
)


@settings(max_examples=3)
@given(values=hyper_values)
@pytest.mark.parametrize("n_devices", [2, 3, 4])
def test_sharded_equals_unsharded(values, n_devices):
    """Instance i's weights, loss log and final loss do not depend on how many devices share the grid."""
    hyper = config.make_hyper(
        N,
        N_FEATURES,
        feature_prob=config.per_instance(values["feature_prob"]),
        importance=values["importance"],
        lr=values["lr"],
    )
    seeds = values["seed0"] + np.arange(N)
    sharded = run(hyper, seeds, jax.devices()[:n_devices])
    single = run(hyper, seeds, jax.devices()[:1])
    assert sharded.params["W"].shape == (N, N_HIDDEN, N_FEATURES)  # padding dropped
    assert sharded.loss.shape == (N, CFG.n_steps // CFG.steps_per_log)
    assert_same_results(sharded, single)


def test_instances_are_spread_over_every_device():
    """The state really is split along the instance axis: each device holds n_padded / n_devices rows."""
    hyper = config.make_hyper(N, N_FEATURES, feature_prob=0.3)
    s = sweep.Sweep(MODEL, SAMPLER, CFG, hyper, np.arange(N), devices=jax.devices())
    assert s.n_padded == 8
    state, log = s.run_chunk(s.init(), 0)
    for leaf in [*jax.tree.leaves(state.params), log]:
        shards = leaf.addressable_shards
        assert {shard.device for shard in shards} == set(jax.devices())
        assert all(shard.data.shape[0] == s.n_padded // jax.device_count() for shard in shards)


def test_padding_does_not_change_real_instances():
    """Padding copies the last instance; the real instances match a grid that needs no padding."""
    hyper = config.make_hyper(8, N_FEATURES, feature_prob=config.per_instance(np.linspace(0.1, 1.0, 8)))
    seeds = np.arange(8)
    full = run(hyper, seeds, jax.devices())  # 8 on 4 devices: no padding
    part = run(hyper.take(slice(0, N)), seeds[:N], jax.devices())  # 5 padded to 8
    for k in full.params:
        np.testing.assert_allclose(part.params[k], full.params[k][:N], rtol=1e-5, atol=1e-6, err_msg=k)
    np.testing.assert_allclose(part.final_loss, full.final_loss[:N], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("group_size, devices", [(2, 1), (2, 2), (1, 4)])
def test_grouped_instances_equal_one_vmap(group_size, devices):
    """Running instances in cache-sized groups (lax.map over groups of a vmap) changes the schedule, not
    the numbers; the group count need not divide the instances (the axis is padded)."""
    hyper = config.make_hyper(
        N, N_FEATURES, feature_prob=config.per_instance(np.linspace(0.1, 1.0, N)), lr=3e-3
    )
    seeds = np.arange(N)
    plain = sweep.Sweep(MODEL, SAMPLER, CFG, hyper, seeds, devices=jax.devices()[:1], group_size=N)
    grouped = sweep.Sweep(
        MODEL, SAMPLER, CFG, hyper, seeds, devices=jax.devices()[:devices], group_size=group_size
    )
    assert plain.group_size is None
    assert grouped.group_size is not None and grouped.n_padded % (devices * grouped.group_size) == 0
    assert_same_results(plain.run(), grouped.run())


def test_default_group_size_is_cache_sized_on_cpu_only():
    small = config.TrainConfig(n_features=10, n_hidden=5, batch_size=1024)
    assert sweep.default_group_size(1000, small, "cpu") == 26  # 2**18 elements / (10 x 1024)
    assert sweep.default_group_size(10, small, "cpu") is None  # all fit in one group
    big = config.TrainConfig(n_features=400, n_hidden=30, batch_size=1024)
    assert sweep.default_group_size(20, big, "cpu") == 2  # never fewer than 2 per group
    assert sweep.default_group_size(1000, small, "gpu") is None
