"""Static configuration and per-instance hyperparameters.

Owns: the frozen dataclass `TrainConfig` (shapes, step counts, schedule: everything that changes the
compiled program) and the NamedTuple `Hyper` (per-instance arrays: traced, so a whole grid compiles once).
Does not: run anything.

One canonical sparsity parameter lives in here: `feature_prob` p = 1 - S. Convert at the edges.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

SCHEDULES = ("constant", "linear", "cosine", "warmup_cosine")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything static about a training run. Changing any field recompiles; that is the point."""

    n_features: int
    n_hidden: int
    batch_size: int = 1024  # the notebook's batch
    n_steps: int = 10_000  # the notebook's step count
    schedule: str = "constant"  # the notebook trains at a constant rate
    warmup_steps: int = 0  # only read by "warmup_cosine"
    log_every: int = 100  # loss is averaged over each window of this many steps
    chunk_steps: int = 1_000  # steps per compiled call; progress and checkpoints happen between chunks
    snapshot_steps: tuple[int, ...] = ()  # weights are kept at these steps (multiples of log_every)
    eval_batches: int = 8  # final loss is measured on eval_batches * batch_size fresh samples
    rng: str = "hash"  # "hash": threefry-seeded counter hash (fast); "threefry": jax.random.uniform

    def __post_init__(self) -> None:
        for name in ("n_features", "n_hidden", "batch_size", "n_steps", "log_every", "chunk_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.rng not in ("hash", "threefry"):
            raise ValueError(f"rng must be 'hash' or 'threefry', got {self.rng!r}")
        if not 0 <= self.warmup_steps <= self.n_steps:
            raise ValueError(f"warmup_steps must be in [0, n_steps], got {self.warmup_steps!r}")
        if self.chunk_steps % self.log_every:
            raise ValueError(
                f"chunk_steps ({self.chunk_steps}) must be a multiple of log_every ({self.log_every})"
            )
        if self.n_steps % self.chunk_steps:
            raise ValueError(
                f"n_steps ({self.n_steps}) must be a multiple of chunk_steps ({self.chunk_steps})"
            )
        for s in self.snapshot_steps:
            if s % self.log_every or not 0 < s <= self.n_steps:
                raise ValueError(
                    f"snapshot step {s} must be a multiple of log_every ({self.log_every}) in (0, n_steps]"
                )

    @property
    def n_chunks(self) -> int:
        return self.n_steps // self.chunk_steps

    @property
    def log_steps(self) -> np.ndarray:
        """[n_steps // log_every] the step at the end of each logged window."""
        return np.arange(self.log_every, self.n_steps + 1, self.log_every)

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)


class Hyper(NamedTuple):
    """Per-instance hyperparameters; inside the library each field is for ONE instance.

    feature_prob: [n_features] p_i = 1 - S_i, probability that feature i is non-zero
    importance:   [n_features] I_i, weight of feature i in the loss
    lr:           [] peak learning rate
    weight_decay: [] AdamW decoupled weight decay
    """

    feature_prob: np.ndarray
    importance: np.ndarray
    lr: np.ndarray
    weight_decay: np.ndarray


def make_hyper(
    n_instances: int,
    n_features: int,
    *,
    feature_prob=1.0,
    importance=1.0,
    lr=1e-3,
    weight_decay=0.01,
) -> Hyper:
    """Broadcast scalars, [n_features] or [n_instances] or [n_instances, n_features] values to a batched Hyper.

    A 1-D value of length n_instances is taken per instance (when n_instances != n_features; if the two are
    equal, pass a 2-D array to be unambiguous). Raises ValueError on values out of range.
    """

    def per_feature(name, value):
        a = np.asarray(value, dtype=np.float32)
        if a.ndim == 1 and a.shape[0] == n_instances and n_instances != n_features:
            a = a[:, None]
        try:
            a = np.broadcast_to(a, (n_instances, n_features))
        except ValueError:
            raise ValueError(
                f"{name} of shape {np.shape(value)} does not fit {n_instances} instances x {n_features} features"
            ) from None
        return np.ascontiguousarray(a)

    def per_instance(name, value):
        a = np.asarray(value, dtype=np.float32)
        try:
            return np.ascontiguousarray(np.broadcast_to(a, (n_instances,)))
        except ValueError:
            raise ValueError(f"{name} of shape {a.shape} does not fit {n_instances} instances") from None

    hyper = Hyper(
        feature_prob=per_feature("feature_prob", feature_prob),
        importance=per_feature("importance", importance),
        lr=per_instance("lr", lr),
        weight_decay=per_instance("weight_decay", weight_decay),
    )
    validate_hyper(hyper)
    return hyper


def validate_hyper(hyper: Hyper) -> None:
    """Raise ValueError with a one-line message if any per-instance value is out of range."""
    p = np.asarray(hyper.feature_prob)
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p > 1):
        raise ValueError("feature_prob (density, 1 - sparsity) must lie in (0, 1]")
    if not np.all(np.isfinite(hyper.importance)):
        raise ValueError("importance must be finite (got NaN or inf)")
    if np.any(np.asarray(hyper.importance) < 0):
        raise ValueError("importance must be non-negative")
    if not np.all(np.isfinite(hyper.lr)) or np.any(np.asarray(hyper.lr) <= 0):
        raise ValueError("learning rate must be positive and finite")
    if not np.all(np.isfinite(hyper.weight_decay)) or np.any(np.asarray(hyper.weight_decay) < 0):
        raise ValueError("weight_decay must be non-negative and finite")


def geometric_importance(n_features: int, ratio: float) -> np.ndarray:
    """[n_features] I_i = ratio**i, the paper's importance schedule (e.g. 0.9**i in the intro)."""
    return (ratio ** np.arange(n_features)).astype(np.float32)


def sparsity_to_prob(sparsity) -> np.ndarray:
    """Convert the paper's sparsity S to the library's feature_prob p = 1 - S (do this at the edges)."""
    return 1.0 - np.asarray(sparsity, dtype=np.float64)
