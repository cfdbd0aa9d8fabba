"""Optimizers as factories: ONE instance's optax transformation from its traced hyperparameters.

Owns: the learning-rate schedule shapes of TrainConfig.schedule, and the optimizer factories a Task carries:
AdamW (the notebook's default), Adam with a coupled L2 penalty, SGD (with momentum), AdamWSigned (signed
weight decay: a negative value pulls every feature vector's norm toward 1, Liu, Liu & Gore 2025; the optax
term is `add_signed_decay`), and `Custom` for any optax optimizer that takes `learning_rate` and
`weight_decay`. Does not: train (train.py) or batch.

A factory is a frozen dataclass called as `factory(hyper, cfg) -> optax.GradientTransformation`. It is part
of the static Task (so it must be hashable, and equal factories share one compile), while the learning rate
and weight decay it reads from `hyper` are traced per instance: a grid over lr or weight decay compiles
once. Write your own the same way, at module level (a lambda made in a loop would recompile every time).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from superpose.config import Hyper, TrainConfig


def lr_shape(cfg: TrainConfig) -> Callable:
    """The schedule's shape in [0, 1] as a function of the step count; multiplied by the instance's lr."""
    if cfg.schedule == "constant":
        return lambda count: jnp.ones_like(count, dtype=jnp.float32)
    if cfg.schedule == "linear":
        return optax.linear_schedule(1.0, 0.0, cfg.n_steps)
    if cfg.schedule == "cosine":
        return optax.cosine_decay_schedule(1.0, cfg.n_steps)
    return optax.warmup_cosine_decay_schedule(0.0, 1.0, max(cfg.warmup_steps, 1), cfg.n_steps)


def learning_rate(cfg: TrainConfig, hyper: Hyper) -> Callable:
    """step count -> this instance's learning rate: hyper.lr [] times the schedule's shape."""
    shape = lr_shape(cfg)
    return lambda count: hyper.lr * shape(count)


@dataclasses.dataclass(frozen=True)
class AdamW:
    """AdamW with decoupled weight decay hyper.weight_decay (the notebook's optimizer and our default)."""

    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __call__(self, hyper: Hyper, cfg: TrainConfig) -> optax.GradientTransformation:
        return optax.adamw(
            learning_rate=learning_rate(cfg, hyper),
            b1=self.b1,
            b2=self.b2,
            eps=self.eps,
            weight_decay=hyper.weight_decay,
        )


@dataclasses.dataclass(frozen=True)
class Adam:
    """Adam with weight decay as a coupled L2 penalty: weight_decay * params is added to the gradient before
    Adam's scaling (PyTorch's Adam(weight_decay=...)). weight_decay = 0 is plain Adam."""

    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __call__(self, hyper: Hyper, cfg: TrainConfig) -> optax.GradientTransformation:
        return optax.chain(
            optax.add_decayed_weights(hyper.weight_decay),
            optax.scale_by_adam(b1=self.b1, b2=self.b2, eps=self.eps),
            optax.scale_by_learning_rate(learning_rate(cfg, hyper)),
        )


@dataclasses.dataclass(frozen=True)
class SGD:
    """SGD (momentum 0: plain gradient descent) with weight decay as a coupled L2 penalty."""

    momentum: float = 0.0
    nesterov: bool = False

    def __call__(self, hyper: Hyper, cfg: TrainConfig) -> optax.GradientTransformation:
        return optax.chain(
            optax.add_decayed_weights(hyper.weight_decay),
            optax.sgd(learning_rate(cfg, hyper), momentum=self.momentum or None, nesterov=self.nesterov),
        )


@dataclasses.dataclass(frozen=True)
class Custom:
    """Any optax optimizer with the usual keywords: make(learning_rate=schedule, weight_decay=wd, **options),
    e.g. Custom(optax.lion, (("b1", 0.95),)). `make` must be a module-level function (it keys the compile);
    options is a tuple of (name, value) pairs so the factory stays hashable."""

    make: Callable
    options: tuple = ()

    def __call__(self, hyper: Hyper, cfg: TrainConfig) -> optax.GradientTransformation:
        return self.make(
            learning_rate=learning_rate(cfg, hyper), weight_decay=hyper.weight_decay, **dict(self.options)
        )


# --- signed weight decay (Liu, Liu & Gore 2025): decay for wd >= 0, a pull of each vector's norm to 1 for wd < 0


def _vector_norms(p: jax.Array, axis: int) -> jax.Array:
    return jnp.sqrt(jnp.sum(p * p, axis=axis, keepdims=True))


def signed_decay_term(p: jax.Array, weight_decay, axis: int = 0, eps: float = 1e-8) -> jax.Array:
    """What a signed weight decay adds to the update direction (before the -lr scaling) of one parameter:
    weight_decay * p where weight_decay >= 0 (ordinary decoupled decay), and, where weight_decay < 0,
    |weight_decay| * p * (1 - 1 / (||p||_axis + eps)): each vector along `axis` (a feature's column of W
    [m, n] for axis=0) shrinks when its norm is above 1 and grows when below, so the step
    p <- p - lr * term moves every norm toward 1 at rate lr |weight_decay| (1 - ||p||) per step. This is the
    update of the authors' AdamW (their code, exp/adamw.py), written as an optax term."""
    wd = jnp.asarray(weight_decay, p.dtype)
    toward_one = -wd * p * (1.0 - 1.0 / (_vector_norms(p, axis) + eps))
    return jnp.where(wd >= 0, wd * p, toward_one)


def add_signed_decay(weight_decay, axis: int = 0, eps: float = 1e-8, params=("W",)):
    """optax transform: adds `signed_decay_term` of the parameters named in `params` (keys of the params
    dict; every other parameter, e.g. a bias, is left alone) to the updates. weight_decay may be traced. A
    parameter of fewer than axis + 1 dimensions is decayed as ordinary decay would (no vector to normalise)."""

    def init_fn(_):
        return optax.EmptyState()

    def update_fn(updates, state, params_tree=None):
        if params_tree is None:
            raise ValueError("add_signed_decay needs the parameters: call update(updates, state, params)")
        out = {}
        for name, u in updates.items():
            p = params_tree[name]
            if name in params and p.ndim > axis:
                u = u + signed_decay_term(p, weight_decay, axis, eps)
            elif name in params:
                u = u + jnp.asarray(weight_decay, p.dtype) * p
            out[name] = u
        return out, state

    return optax.GradientTransformation(init_fn, update_fn)


def floored_learning_rate(cfg: TrainConfig, hyper: Hyper, floor: float) -> Callable:
    """step count -> lr with the schedule's decay ending at floor * lr instead of 0 (the warm-up, if any,
    still starts from 0): lr * (floor + (1 - floor) * shape) after warm-up. floor = 0 is `learning_rate`."""
    shape = lr_shape(cfg)
    warm = cfg.warmup_steps if cfg.schedule == "warmup_cosine" else 0

    def rate(count):
        s = shape(count)
        return hyper.lr * jnp.where(count < warm, s, floor + (1.0 - floor) * s)

    return rate


@dataclasses.dataclass(frozen=True)
class AdamWSigned:
    """AdamW whose decoupled weight decay is signed (Liu, Liu & Gore 2025): hyper.weight_decay >= 0 decays the
    parameters in `params` (default W only; their biases have none), < 0 pulls each of their vectors along
    `norm_axis` (axis 0: the columns of a tied W [m, n], one per feature) toward norm 1 (`signed_decay_term`).
    lr_floor: the schedule decays to lr_floor * lr (theirs: 0.05 with warmup_cosine)."""

    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    norm_axis: int = 0
    params: tuple = ("W",)
    lr_floor: float = 0.0
    negative_weight_decay = True  # Sweep refuses negative decay for optimizers that do not declare this

    def __call__(self, hyper: Hyper, cfg: TrainConfig) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_adam(b1=self.b1, b2=self.b2, eps=self.eps),
            add_signed_decay(hyper.weight_decay, self.norm_axis, self.eps, self.params),
            optax.scale_by_learning_rate(floored_learning_rate(cfg, hyper, self.lr_floor)),
        )


OPTIMIZERS = {"adamw": AdamW, "adam": Adam, "sgd": SGD, "adamw_signed": AdamWSigned}


def get_optimizer(spec):
    """An optimizer factory from a name in OPTIMIZERS or a factory (returned as it is); ConfigError otherwise."""
    from superpose.config import ConfigError

    if isinstance(spec, str):
        try:
            return OPTIMIZERS[spec]()
        except KeyError:
            raise ConfigError(f"unknown optimizer {spec!r}; known: {sorted(OPTIMIZERS)}") from None
    if isinstance(spec, type) or not callable(spec):
        raise ConfigError(
            f"optimizer must be a name ({', '.join(sorted(OPTIMIZERS))}) or a factory instance such as "
            f"superpose.optim.AdamW(), got {spec!r}"
        )
    return spec
