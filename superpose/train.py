"""One model instance's whole training run, compiled.

Owns: the static `Task` (model, sampler, TrainConfig, optimizer factory), keys, one chunk of training as a
nested `lax.scan` (outer: log windows, inner: steps), weight snapshots, divergence marking, and the
evaluation of a trained model.
Does not: batch over instances (sweep.py vmaps these functions), define optimizers (optim.py) or loop in
Python over steps.

Keys (design.md): instance key = fold_in(root, seed); init / data keys = fold_in(instance key, 0/1);
step key = fold_in(data key, step). So a chunked run, a resumed run and a one-shot run see the same
batches, and an instance's numbers never depend on which grid it sits in. Evaluation keys do not depend on
the instance at all (`evaluation_key`): every instance of a sweep is scored on the same samples (common
random numbers), so fits of one grid point are ranked on identical data, and the loss reported for the kept
fit comes from a second stream that took no part in choosing it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from superpose.config import Hyper, TrainConfig
from superpose.data import draw
from superpose.models import model_loss
from superpose.optim import AdamW, lr_shape  # noqa: F401 (lr_shape: the schedules' home moved to optim.py)

SELECT, REPORT = 0, 1  # the two evaluation streams: ranking fits, and reporting the kept fit's loss


@dataclasses.dataclass(frozen=True)
class Task:
    """What is static about a training run, in one hashable object: it keys the compiled program.

    model:   init(key, n_features, n_hidden) -> params; apply(params, x [n, batch]); target(x); optionally
             loss(params, x, hyper) (models.py, `model_loss`)
    sampler: sample(key, feature_prob [n], batch_size, rng) -> x [n, batch], or draw(key, hyper, cfg) -> any
             batch the model's loss reads (data.py, `draw`)
    config:  the TrainConfig (shapes, steps, schedule)
    optimizer: factory(hyper, config) -> optax.GradientTransformation (optim.py; default AdamW)
    """

    model: Any
    sampler: Any
    config: TrainConfig
    optimizer: Any = AdamW()


class TrainState(NamedTuple):
    """Scan carry of one instance. snapshots: params-shaped dict with a leading [n_snapshots] axis."""

    params: dict
    opt_state: Any
    snapshots: dict


class Keys(NamedTuple):
    """One instance's typed keys: init (weights) and data (training batches)."""

    init: jax.Array
    data: jax.Array


def instance_keys(root_seed, seed) -> Keys:
    """Typed keys for one instance, derived with fold_in only (never split(root, N))."""
    instance = jax.random.fold_in(jax.random.key(root_seed), seed)
    return Keys(*(jax.random.fold_in(instance, i) for i in range(2)))


def evaluation_key(root_seed, stream) -> jax.Array:
    """The evaluation key shared by every instance of a sweep: stream SELECT ranks fits, REPORT measures the
    loss that is reported. Derived by split, never fold_in, from the root key, so it cannot coincide with
    any instance key fold_in(root, seed) whatever the seed."""
    return jax.random.fold_in(jax.random.split(jax.random.key(root_seed))[1], stream)


def make_optimizer(task: Task, hyper: Hyper) -> optax.GradientTransformation:
    """The task's optimizer for ONE instance, with that instance's traced lr and weight decay."""
    return task.optimizer(hyper, task.config)


def all_finite(tree) -> jax.Array:
    """[] bool: every float in the pytree is finite (a diverged model has NaN/inf somewhere)."""
    leaves = [
        jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)
    ]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.bool_(True)


def init_state(task: Task, hyper: Hyper, keys: Keys) -> TrainState:
    cfg = task.config
    params = task.model.init(keys.init, cfg.n_features, cfg.n_hidden)
    n_snap = len(cfg.snapshot_steps)
    snapshots = jax.tree.map(lambda p: jnp.zeros((n_snap, *p.shape), p.dtype), params)
    return TrainState(params, make_optimizer(task, hyper).init(params), snapshots)


def keep_snapshot(snapshots: dict, params: dict, snapshot_steps: jax.Array, done) -> dict:
    """Write `params` into slot k of the snapshot buffers if snapshot_steps[k] == done (steps done so far).

    Touches one slot per call (a dynamic index, not a select over all of them), so a few hundred frames of
    a large W cost one copy of W per log window. Steps are strictly increasing (TrainConfig checks), so at
    most one slot matches.
    """
    if snapshot_steps.shape[0] == 0:
        return snapshots
    slot = jnp.clip(jnp.searchsorted(snapshot_steps, done), 0, snapshot_steps.shape[0] - 1)
    hit = snapshot_steps[slot] == done

    def write(buf, p):
        return buf.at[slot].set(jnp.where(hit, p, buf[slot]))

    return jax.tree.map(write, snapshots, params)


def train_chunk(
    task: Task, hyper: Hyper, keys: Keys, state: TrainState, start_step
) -> tuple[TrainState, jax.Array]:
    """Run cfg.steps_per_chunk steps from `start_step` (traced, so every chunk reuses one compile).

    Returns the new state and [steps_per_chunk // steps_per_log] mean training loss of each log window; a
    window whose end parameters are not all finite logs NaN (a diverged model can otherwise log a plausible
    loss: XLA's ReLU may map NaN to 0, so the broken model scores like "predict zero").
    """
    model, sampler, cfg = task.model, task.sampler, task.config
    data_key = keys.data
    opt = make_optimizer(task, hyper)
    loss_and_grad = jax.value_and_grad(lambda params, x: model_loss(model, params, x, hyper))
    snapshot_steps = jnp.asarray(cfg.snapshot_steps, dtype=jnp.int32)
    window_len = cfg.steps_per_log

    def step(carry, step_key_data):
        params, opt_state = carry
        step_key = jax.random.wrap_key_data(step_key_data, impl=jax.random.key_impl(data_key))
        x = draw(sampler, step_key, hyper, cfg)
        loss, grads = loss_and_grad(params, x)
        updates, opt_state = opt.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    def window(state: TrainState, window_start):
        steps = window_start + jnp.arange(window_len)
        # The step keys, fold_in(data_key, step), derived for the whole window at once: the same keys as
        # one fold_in per step, but threefry then runs vectorised outside the step loop (measured: the
        # per-step fold_in was about a tenth of a small model's step on XLA:CPU).
        # They travel through the scan as raw bits: the key-reuse checker counts a sampler's split of a
        # scanned-over key as a second use of the whole key array.
        step_keys = jax.random.key_data(jax.vmap(lambda s: jax.random.fold_in(data_key, s))(steps))
        (params, opt_state), losses = jax.lax.scan(
            step, (state.params, state.opt_state), step_keys, unroll=min(cfg.unroll, window_len)
        )
        snapshots = keep_snapshot(state.snapshots, params, snapshot_steps, window_start + window_len)
        mean = jnp.where(all_finite(params), jnp.mean(losses), jnp.nan)
        return TrainState(params, opt_state, snapshots), mean

    window_starts = start_step + window_len * jnp.arange(cfg.steps_per_chunk // window_len)
    return jax.lax.scan(window, state, window_starts)


def evaluate(task: Task, hyper: Hyper, eval_key: jax.Array, params, n_batches, max_batches: int) -> jax.Array:
    """[] mean loss of `params` over its first n_batches [] batches of the shared evaluation stream `eval_key`
    (batch i drawn with fold_in(eval_key, i)); NaN if any parameter is not finite.

    max_batches (static) is the longest count in the sweep: instances with fewer batches skip the rest, so an
    instance's loss never depends on the grid around it, and fits with equal densities see equal samples.
    """
    cfg = task.config

    def one(total, i):
        x = draw(task.sampler, jax.random.fold_in(eval_key, i), hyper, cfg)
        loss = model_loss(task.model, params, x, hyper)
        return total + jnp.where(i < n_batches, loss, 0.0), None

    total, _ = jax.lax.scan(one, jnp.float32(0.0), jnp.arange(max_batches))
    return jnp.where(all_finite(params), total / n_batches, jnp.nan)


def train(task: Task, hyper: Hyper, keys: Keys) -> tuple[TrainState, jax.Array]:
    """One instance's whole run as a single pure function: init, then every chunk. Returns (state, loss log)."""
    cfg = task.config
    state = init_state(task, hyper, keys)

    def chunk(state, start):
        return train_chunk(task, hyper, keys, state, start)

    state, logs = jax.lax.scan(chunk, state, cfg.steps_per_chunk * jnp.arange(cfg.n_chunks))
    return state, logs.reshape(-1)
