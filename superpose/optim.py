"""Optimizers as factories: ONE instance's optax transformation from its traced hyperparameters.

Owns: the learning-rate schedule shapes of TrainConfig.schedule, and the optimizer factories a Task carries:
AdamW (the notebook's default), Adam with a coupled L2 penalty, SGD (with momentum), and `Custom` for any
optax optimizer that takes `learning_rate` and `weight_decay`. Does not: train (train.py) or batch.

A factory is a frozen dataclass called as `factory(hyper, cfg) -> optax.GradientTransformation`. It is part
of the static Task (so it must be hashable, and equal factories share one compile), while the learning rate
and weight decay it reads from `hyper` are traced per instance: a grid over lr or weight decay compiles
once. Write your own the same way, at module level (a lambda made in a loop would recompile every time).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

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


OPTIMIZERS = {"adamw": AdamW, "adam": Adam, "sgd": SGD}


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
