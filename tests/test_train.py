"""Training: one instance (train.py) and the instance axis (sweep.py) agree, learn, and compile once.

Compiles dominate this file's time, so a handful of module-scoped runs are shared by many tests; every
run uses small shapes and few steps. Sweep shards over the 4 forced CPU devices by default (conftest.py),
and 7 instances do not divide by 4, so the padding path runs too.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

from superpose import config, data, metrics, models, sweep
from superpose import train as train_lib

MODEL = models.ReluOutput()
SAMPLER = data.Independent()
CFG = config.TrainConfig(
    n_features=5,
    n_hidden=2,
    batch_size=64,
    n_steps=60,
    log_every=10,
    chunk_steps=20,  # 3 chunks
    snapshot_steps=(20, 60),
    eval_batches=2,
)
N = 7  # not a multiple of the 4 devices: the sweep pads to 8
SEEDS = np.arange(N) + 100


def make_hyper(n_instances: int = N, shift: float = 0.0) -> config.Hyper:
    """Per-instance densities, importances and learning rates all differ, so a mix-up between instances
    shows. shift moves every value a little (a second grid of the same shapes)."""
    feature_prob = np.linspace(0.1, 1.0, n_instances) - shift * 0.05
    lr = np.linspace(1e-2, 3e-2, n_instances) + shift * 1e-3
    importance = np.stack([config.geometric_importance(5, r) for r in np.linspace(0.7, 0.95, n_instances)])
    return config.make_hyper(
        n_instances,
        5,
        feature_prob=config.per_instance(feature_prob),
        importance=importance - shift * 0.01,
        lr=lr,
    )


def instance(hyper: config.Hyper, i: int) -> config.Hyper:
    return hyper.take(i)


TASK = train_lib.Task(MODEL, SAMPLER, CFG)


# Single-instance reference runs, jitted but not vmapped.
@functools.partial(jax.jit, static_argnames=("task",))
def one_shot(task, hyper, seed, root_seed):
    return train_lib.train(task, hyper, train_lib.instance_keys(root_seed, seed))


@functools.partial(jax.jit, static_argnames=("task",))
def init_one(task, hyper, seed, root_seed):
    return train_lib.init_state(task, hyper, train_lib.instance_keys(root_seed, seed))


@functools.partial(jax.jit, static_argnames=("task",))
def chunk_one(task, hyper, seed, root_seed, state, start_step):
    return train_lib.train_chunk(task, hyper, train_lib.instance_keys(root_seed, seed), state, start_step)


def assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def base():
    """The reference sweep: 7 instances, 3 chunks, sharded over 4 devices; params kept after every chunk."""
    hyper = make_hyper()
    after_chunk = []
    result = sweep.Sweep(MODEL, SAMPLER, CFG, hyper, SEEDS).run(
        on_chunk=lambda c, state, loss: after_chunk.append(jax.device_get(state.params))
    )
    return hyper, result, after_chunk


# --- learning -------------------------------------------------------------------------------------------


def test_loss_falls(base):
    _, result, _ = base
    assert result.loss.shape == (N, CFG.n_steps // CFG.steps_per_log)
    assert np.all(np.isfinite(result.loss)) and np.all(np.isfinite(result.final_loss))
    assert np.all(result.loss[:, -1] < 0.8 * result.loss[:, 0])
    np.testing.assert_array_equal(result.log_steps, CFG.log_steps)


LINEAR_CFG = config.TrainConfig(
    n_features=6,
    n_hidden=3,
    batch_size=128,
    n_steps=1000,
    log_every=250,
    chunk_steps=1000,
    schedule="linear",  # annealing removes the SGD noise floor from the unlearned features' norms
    eval_batches=1,
)


def test_linear_model_learns_top_features_by_importance():
    """Paper section 2: a linear model represents exactly the m most important features (here at two
    densities, two seeds each), whatever the sparsity."""
    importance = config.geometric_importance(6, 0.5)  # a clear gap between feature m-1 and feature m
    feature_prob = config.per_instance([1.0, 1.0, 0.3, 0.3])
    hyper = config.make_hyper(
        4, 6, feature_prob=feature_prob, importance=config.per_feature(importance), lr=0.05, weight_decay=0.0
    )
    result = sweep.run_grid(models.Linear(), SAMPLER, LINEAR_CFG, hyper, seeds=np.arange(4))
    norms = np.stack([metrics.feature_norms(W) for W in result.params["W"]])  # [4, 6]
    assert np.all(norms[:, :3] > 0.9), norms
    assert np.all(norms[:, 3:] < 0.1), norms


# --- equalities between ways of running the same instance ------------------------------------------------


@pytest.fixture(scope="module")
def single_runs(base):
    """Instance 3 of the base sweep, alone: chunk by chunk (3 calls), and in one call (train.train)."""
    hyper, _, _ = base
    i, root = 3, np.uint32(0)
    h, seed = instance(hyper, i), np.int32(SEEDS[i])
    state = init_one(TASK, h, seed, root)
    chunked_logs = []
    for c in range(CFG.n_chunks):
        state, log = chunk_one(TASK, h, seed, root, state, np.int32(c * CFG.steps_per_chunk))
        chunked_logs.append(log)
    chunked = (state, np.concatenate(chunked_logs))
    return i, chunked, one_shot(TASK, h, seed, root)


def test_chunked_equals_one_shot(single_runs):
    """Chunk boundaries change nothing: step keys come from the step index, not from a carried key."""
    _, (chunked_state, chunked_log), (state, log) = single_runs
    assert_trees_close(chunked_state, state)
    np.testing.assert_allclose(chunked_log, log, rtol=1e-5, atol=1e-7)


def test_vmapped_instance_equals_single_run(base, single_runs):
    """Instance i inside a vmapped, sharded, padded Sweep is the same run as instance i alone."""
    _, result, _ = base
    i, (state, log), _ = single_runs
    assert_trees_close({k: v[i] for k, v in result.params.items()}, state.params)
    assert_trees_close({k: v[i] for k, v in result.snapshots.items()}, state.snapshots)
    np.testing.assert_allclose(result.loss[i], log, rtol=1e-5, atol=1e-7)


def test_instance_does_not_depend_on_its_grid(base):
    """Instance identity is its seed: the same (seed, hyperparameters) in a smaller grid, at other
    positions, gives the same numbers (no split(root, N))."""
    hyper, result, _ = base
    subset = np.array([6, 0, 2, 5, 3])  # reordered too, so every instance moves
    small = hyper.take(subset)
    sub = sweep.Sweep(MODEL, SAMPLER, CFG, small, SEEDS[subset]).run()  # 5 pads to 8: no new compile
    assert_trees_close(sub.params, {k: v[subset] for k, v in result.params.items()})
    np.testing.assert_allclose(sub.loss, result.loss[subset], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sub.final_loss, result.final_loss[subset], rtol=1e-5, atol=1e-7)


def test_sharded_equals_unsharded(base):
    hyper, result, _ = base
    one_device = sweep.Sweep(MODEL, SAMPLER, CFG, hyper, SEEDS, devices=jax.devices()[:1]).run()
    assert_trees_close(one_device.params, result.params)
    np.testing.assert_allclose(one_device.loss, result.loss, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(one_device.final_loss, result.final_loss, rtol=1e-5, atol=1e-7)


def test_root_seed_changes_every_instance(base):
    hyper, result, _ = base
    other = sweep.Sweep(MODEL, SAMPLER, CFG, hyper, SEEDS, root_seed=1).init()
    W = np.asarray(other.params["W"])[:N]
    initial = sweep.Sweep(MODEL, SAMPLER, CFG, hyper, SEEDS).init()
    assert not np.any(np.all(np.isclose(W, np.asarray(initial.params["W"])[:N]), axis=(1, 2)))


# --- snapshots -----------------------------------------------------------------------------------------


def test_snapshots_are_the_params_at_those_steps(base):
    _, result, after_chunk = base
    np.testing.assert_array_equal(result.snapshot_steps, CFG.snapshot_steps)
    for k, step in enumerate(CFG.snapshot_steps):
        chunk = step // CFG.steps_per_chunk - 1
        for name, value in result.snapshots.items():
            np.testing.assert_array_equal(value[:, k], after_chunk[chunk][name][:N])
    for name in result.params:  # the snapshot at the final step is the final params
        np.testing.assert_array_equal(result.snapshots[name][:, -1], result.params[name])


# --- schedules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_decaying_schedules_reach_zero(schedule):
    cfg = CFG.replace(schedule=schedule)
    shape = train_lib.lr_shape(cfg)
    assert float(shape(jnp.int32(0))) == pytest.approx(1.0)
    assert float(shape(jnp.int32(cfg.n_steps - 1))) < 2.0 / cfg.n_steps  # the last step taken
    assert float(shape(jnp.int32(cfg.n_steps))) == pytest.approx(0.0, abs=1e-7)
    values = np.asarray(shape(jnp.arange(cfg.n_steps + 1)))
    assert np.all(np.diff(values) <= 1e-7)  # never rises


def test_warmup_cosine_starts_at_zero_and_peaks_after_warmup():
    cfg = CFG.replace(schedule="warmup_cosine", warmup_steps=10)
    shape = train_lib.lr_shape(cfg)
    assert float(shape(jnp.int32(0))) == pytest.approx(0.0, abs=1e-7)
    assert float(shape(jnp.int32(5))) == pytest.approx(0.5, abs=1e-6)
    assert float(shape(jnp.int32(10))) == pytest.approx(1.0, abs=1e-6)
    assert float(shape(jnp.int32(cfg.n_steps))) == pytest.approx(0.0, abs=1e-7)


def test_constant_schedule_is_constant():
    shape = train_lib.lr_shape(CFG)
    assert all(float(shape(jnp.int32(s))) == 1.0 for s in (0, 30, CFG.n_steps))


# --- compiles and host transfers -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CountedReluOutput(models.ReluOutput):
    """ReluOutput under another name: a static argument no other test uses, so this file's compile
    counts start from zero whatever ran before."""


def _cache_sizes() -> dict[str, int]:
    return {name: getattr(sweep, name)._cache_size() for name in ("_init", "_chunk", "_evaluate")}


@pytest.fixture(scope="module")
def compile_counts():
    """Compile-cache sizes: before, after each chunk of a first grid, and after a second grid of the same
    shapes but other densities, importances, learning rates, seeds and root seed."""
    model = CountedReluOutput()
    before = _cache_sizes()
    per_chunk = []
    sweep.Sweep(model, SAMPLER, CFG, make_hyper(), SEEDS).run(
        on_chunk=lambda c, state, loss: per_chunk.append(_cache_sizes())
    )
    after_first = _cache_sizes()
    sweep.Sweep(model, SAMPLER, CFG, make_hyper(shift=1.0), SEEDS + 1000, root_seed=5).run()
    after_second = _cache_sizes()
    return before, per_chunk, after_first, after_second


def test_second_grid_of_same_shapes_does_not_recompile(compile_counts):
    _, _, after_first, after_second = compile_counts
    assert after_second == after_first


def test_chunks_compile_once(compile_counts):
    before, per_chunk, after_first, _ = compile_counts
    assert len(per_chunk) == CFG.n_chunks
    assert per_chunk[0]["_chunk"] == before["_chunk"] + 1
    assert all(counts["_chunk"] == per_chunk[0]["_chunk"] for counts in per_chunk)
    assert {k: after_first[k] - before[k] for k in before} == {"_init": 1, "_chunk": 1, "_evaluate": 1}


def test_chunk_does_no_host_transfer(base):
    """The compiled chunk needs nothing from the host and sends nothing back: with every input already
    on the devices, it runs under transfer_guard('disallow')."""
    hyper, _, _ = base
    s = sweep.Sweep(MODEL, SAMPLER, CFG, hyper, SEEDS)
    state, _ = s.run_chunk(s.init(), 0)
    replicated = NamedSharding(s.sharding.mesh, PartitionSpec())
    root_seed = jax.device_put(s.root_seed, replicated)
    start = jax.device_put(np.int32(CFG.steps_per_chunk), replicated)
    jax.block_until_ready((state, root_seed, start))
    with jax.transfer_guard("disallow"):
        state, log = sweep._chunk(s.task, s.hyper, s.seeds, root_seed, state, start)
        jax.block_until_ready((state, log))


def test_run_chunk_never_waits_on_the_host(base):
    """Sweep.run_chunk sends two scalars (root seed, start step) but never pulls device values back."""
    hyper, _, _ = base
    s = sweep.Sweep(MODEL, SAMPLER, CFG, hyper, SEEDS)
    state = s.init()
    with jax.transfer_guard_device_to_host("disallow"):
        for c in range(CFG.n_chunks):
            state, log = s.run_chunk(state, c)
        jax.block_until_ready((state, log))
    assert np.all(np.isfinite(np.asarray(log)))
