"""Static configuration and per-instance hyperparameters.

Owns: the frozen dataclass `TrainConfig` (shapes, step counts, schedule: everything that changes the
compiled program), the NamedTuple `Hyper` (per-instance arrays: traced, so a whole grid compiles once) and
`make_hyper`, which builds it from values that say whether they are per instance or per feature; and
`ConfigError`, the error every rejected value raises where it enters. Does not: run anything.

One canonical sparsity parameter lives in here: `feature_prob` p = 1 - S. Convert at the edges.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

SCHEDULES = ("constant", "linear", "cosine", "warmup_cosine")


class ConfigError(ValueError):
    """A value the library rejects where it enters (a config field, a hyperparameter, a grid, a sweep).
    The message is one line for the user; the `superpose` command prints it and exits with code 2."""


def lookup(spec, registry: dict, kind: str, usable, wants: str):
    """A registered name's new instance, or `spec` itself when `usable(spec)`; ConfigError in one line for a
    class, None, an unknown name or an object that lacks what a `kind` needs (`wants`, in words)."""
    known = ", ".join(sorted(registry))
    if isinstance(spec, str):
        try:
            return registry[spec]()
        except KeyError:
            raise ConfigError(f"unknown {kind} {spec!r}; known: {known}") from None
    if isinstance(spec, type):
        raise ConfigError(
            f"{kind} must be an instance such as {spec.__name__}(), not the class {spec.__name__}"
        )
    if not usable(spec):
        raise ConfigError(f"{kind} must be a name ({known}) or an object with {wants}, got {spec!r}")
    return spec


def _positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


MAX_STEPS = 2**31 - 1  # steps are int32 on the device
CHUNK_TARGET = 1_000  # steps per compiled chunk when derived: progress and checkpoints come that often
LOG_TARGET = 100  # steps per loss-log window when derived
MAX_SNAPSHOTS = 2_000  # weight snapshots per run (animations want a few hundred)


def _largest_divisor(n: int, step: int, at_most: int) -> int:
    """The largest multiple of `step` that divides n and is <= at_most (at least `step`, which divides n)."""
    best = step
    for k in range(1, n // step + 1):
        if k * step > at_most:
            break
        if n % (k * step) == 0:
            best = k * step
    return best


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything static about a training run. Changing any field recompiles; that is the point.

    Chunking is derived from what you ask for: the loss-log window (`log_every`, default: the largest
    divisor of n_steps, or of chunk_steps if given, up to 100) and the steps per compiled call (`chunk_steps`, default: the largest
    multiple of the window dividing n_steps, up to 1000). Set either to choose it yourself; read the values
    in use from `steps_per_log` and `steps_per_chunk`.
    """

    n_features: int
    n_hidden: int
    batch_size: int = 1024  # the notebook's batch
    n_steps: int = 10_000  # the notebook's step count
    schedule: str = "constant"  # the notebook trains at a constant rate
    warmup_steps: int = 0  # only read by "warmup_cosine"
    log_every: int | None = None  # loss is averaged over windows of this many steps (None: derived)
    chunk_steps: int | None = None  # steps per compiled call (None: derived); progress/checkpoints between
    snapshot_steps: tuple[int, ...] = ()  # weights are kept at these steps (multiples of steps_per_log)
    # Evaluation (sweep.py, `eval_batch_counts`): each trained model is scored on enough batches that its
    # rarest feature is expected active eval_actives times and eval_actives samples are expected to hold two or
    # more features at once (a sparse model's loss is a sum of rare interference events, and fits of one grid
    # point can differ by 0.1-0.2%: on the intro grid, 200,000 such events rank them to about 0.1%, where
    # 10,000 rarest-feature events left the loss itself 1-2% noisy), at least eval_batches and at most
    # max_eval_batches (None: n_steps // 4, so the two evaluations cost at most ~1/6 of training).
    eval_batches: int = 8
    eval_actives: int = 200_000
    max_eval_batches: int | None = None
    rng: str = "hash"  # "hash": threefry-seeded counter hash (fast); "threefry": jax.random.uniform
    unroll: int = 1  # training steps unrolled per iteration of the compiled step loop (equal up to rounding)
    steps_per_log: int = dataclasses.field(init=False, repr=False, compare=False)
    steps_per_chunk: int = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (
            "n_features",
            "n_hidden",
            "batch_size",
            "n_steps",
            "eval_batches",
            "eval_actives",
            "unroll",
        ):
            _positive_int(name, getattr(self, name))
        if self.max_eval_batches is not None:
            _positive_int("max_eval_batches", self.max_eval_batches)
        if self.n_steps > MAX_STEPS:
            raise ConfigError(f"n_steps must be below 2**31, got {self.n_steps}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.rng not in ("hash", "threefry"):
            raise ConfigError(f"rng must be 'hash' or 'threefry', got {self.rng!r}")
        if isinstance(self.warmup_steps, bool) or not 0 <= self.warmup_steps <= self.n_steps:
            raise ConfigError(f"warmup_steps must be in [0, n_steps], got {self.warmup_steps!r}")
        if self.schedule == "warmup_cosine" and self.warmup_steps >= self.n_steps:
            raise ConfigError(
                f"warmup_steps ({self.warmup_steps}) must be below n_steps ({self.n_steps}) for the "
                "warmup_cosine schedule: no steps would be left for the decay"
            )
        if self.chunk_steps is not None:
            _positive_int("chunk_steps", self.chunk_steps)
        log = self.log_every
        if log is None:  # a window must divide the chunk too, where one is given
            log = _largest_divisor(self.chunk_steps or self.n_steps, 1, LOG_TARGET)
        else:
            _positive_int("log_every", log)
            if self.n_steps % log:
                raise ConfigError(f"n_steps ({self.n_steps}) must be a multiple of log_every ({log})")
        chunk = self.chunk_steps
        if chunk is None:
            chunk = _largest_divisor(self.n_steps, log, max(CHUNK_TARGET, self.n_steps // 1000))
        else:
            if chunk % log:
                raise ConfigError(f"chunk_steps ({chunk}) must be a multiple of log_every ({log})")
            if self.n_steps % chunk:
                raise ConfigError(f"n_steps ({self.n_steps}) must be a multiple of chunk_steps ({chunk})")
        if self.n_steps // chunk > 1000:
            # Only a step count with no divisor near 1000 gets here (e.g. a prime): thousands of tiny chunks.
            nearby = max(100, round(self.n_steps / 100) * 100)
            raise ConfigError(
                f"n_steps={self.n_steps} splits only into chunks of {chunk} steps; "
                f"use a step count with a divisor near 1000, e.g. {nearby}"
            )
        if self.rng == "hash" and self.n_features * self.batch_size >= 2**32:
            # The hash's counter is a uint32 element index: past 2**32 values would repeat.
            raise ConfigError(
                f"n_features x batch_size = {self.n_features * self.batch_size:,} values per batch exceeds "
                "the hash generator's 2**32 counter; use a smaller batch_size"
            )
        object.__setattr__(self, "steps_per_log", int(log))
        object.__setattr__(self, "steps_per_chunk", int(chunk))
        for s in self.snapshot_steps:
            if (
                isinstance(s, bool)
                or not isinstance(s, (int, np.integer))
                or s % log
                or not 0 < s <= self.n_steps
            ):
                raise ConfigError(
                    f"snapshot step {s!r} must be a multiple of the log window ({log}) in (0, n_steps]"
                )
        if any(b <= a for a, b in zip(self.snapshot_steps, self.snapshot_steps[1:])):
            raise ConfigError("snapshot_steps must be strictly increasing")
        if len(self.snapshot_steps) > MAX_SNAPSHOTS:
            raise ConfigError(
                f"{len(self.snapshot_steps)} snapshot steps: at most {MAX_SNAPSHOTS} (each one is a copy of the "
                "weights per instance, carried through training)"
            )

    @property
    def eval_batch_cap(self) -> int:
        """The most batches one evaluation of one model may use (see max_eval_batches)."""
        cap = self.max_eval_batches if self.max_eval_batches is not None else self.n_steps // 4
        return max(cap, self.eval_batches)

    @property
    def n_chunks(self) -> int:
        return self.n_steps // self.steps_per_chunk

    @property
    def log_steps(self) -> np.ndarray:
        """[n_steps // steps_per_log] the step at the end of each logged window."""
        return np.arange(self.steps_per_log, self.n_steps + 1, self.steps_per_log)

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)


class Hyper(NamedTuple):
    """Per-instance hyperparameters; inside the library each field is for ONE instance.

    feature_prob: [n_features] p_i = 1 - S_i, the probability that feature i is non-zero (its density),
                  for every sampler (data.py)
    importance:   [n_features] I_i, weight of feature i in the loss
    lr:           [] peak learning rate
    weight_decay: [] AdamW decoupled weight decay
    extra:        {name: array} anything else a model's loss or a sampler's draw reads per instance (an
                  L1 coefficient, a fixed training set); traced like the rest, so sweeping it never recompiles
    Batched over a sweep, each field gains a leading [n_instances] axis (make_hyper builds it).
    """

    feature_prob: np.ndarray
    importance: np.ndarray
    lr: np.ndarray
    weight_decay: np.ndarray
    extra: dict = {}  # noqa: RUF012 (never mutated: make_hyper and Sweep build new dicts)

    def take(self, index) -> Hyper:
        """The instances at `index` (an int, slice or index array) of a batched Hyper, extras included."""
        return Hyper(
            *(np.asarray(f)[index] for f in self[:4]),
            extra={k: np.asarray(v)[index] for k, v in self.extra.items()},
        )


@dataclasses.dataclass(frozen=True)
class PerInstance:
    """[n_instances] values, one per instance (e.g. a grid's coordinates), the same for every feature."""

    values: np.ndarray


@dataclasses.dataclass(frozen=True)
class PerFeature:
    """[n_features] values, one per feature, the same for every instance."""

    values: np.ndarray


def per_instance(values) -> PerInstance:
    """Mark a 1-D value as one per instance: make_hyper(..., feature_prob=per_instance(coords["density"]))."""
    return PerInstance(np.asarray(values))


def per_feature(values) -> PerFeature:
    """Mark a 1-D value as one per feature: make_hyper(..., importance=per_feature(0.9 ** np.arange(n)))."""
    return PerFeature(np.asarray(values))


def _as_float32(name: str, value) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be numeric, got {value!r}") from None


def make_hyper(
    n_instances: int,
    n_features: int,
    *,
    feature_prob=1.0,
    importance=1.0,
    lr=1e-3,
    weight_decay=0.01,
    extra: dict | None = None,
) -> Hyper:
    """The batched Hyper of a sweep: every field with a leading [n_instances] axis.

    feature_prob and importance take: a scalar (everywhere), per_instance(values [n_instances]),
    per_feature(values [n_features]) or a 2-D [n_instances, n_features] array. A bare 1-D array is refused,
    whatever its length: it could mean either, and when the two counts coincide a guess is silently wrong.
    lr and weight_decay take a scalar or one value per instance ([n_instances] or per_instance(...)).
    extra: {name: value} for models and samplers that read more (see Hyper): a scalar (every instance),
    per_instance(values [n_instances]) or an array whose leading axis is the instance axis [n_instances, ...].
    Raises ConfigError (one line) on a shape that does not fit or a value out of range.
    """
    _positive_int("n_instances", n_instances)
    _positive_int("n_features", n_features)
    shape = (n_instances, n_features)
    from superpose import memory  # config.py is imported by memory.py for ConfigError

    memory.require(
        4 * 4 * n_instances * n_features,  # two [N, n] float32 fields, and their temporaries
        memory.host_available(),
        f"the hyperparameters of {n_instances:,} instances x {n_features:,} features",
        "use fewer instances",
    )

    def per_cell(name, value):
        if isinstance(value, PerInstance):
            a = _as_float32(name, value.values)
            if a.shape != (n_instances,):
                raise ConfigError(f"per_instance {name} has shape {a.shape}, expected ({n_instances},)")
            a = a[:, None]
        elif isinstance(value, PerFeature):
            a = _as_float32(name, value.values)
            if a.shape != (n_features,):
                raise ConfigError(f"per_feature {name} has shape {a.shape}, expected ({n_features},)")
            a = a[None, :]
        else:
            a = _as_float32(name, value)
            if a.ndim == 1:
                raise ConfigError(
                    f"{name} of shape {a.shape} is ambiguous: wrap it as per_instance(values) "
                    f"[{n_instances}] or per_feature(values) [{n_features}]"
                )
            if a.ndim not in (0, 2) or (a.ndim == 2 and a.shape != shape):
                raise ConfigError(
                    f"{name} of shape {a.shape} does not fit {n_instances} instances x {n_features} features"
                )
        return np.ascontiguousarray(np.broadcast_to(a, shape))

    def one_per_instance(name, value):
        if isinstance(value, PerFeature):
            raise ConfigError(f"{name} is one value per instance, not per feature")
        a = _as_float32(name, value.values if isinstance(value, PerInstance) else value)
        if a.shape not in ((), (n_instances,)):
            raise ConfigError(f"{name} of shape {a.shape} does not fit {n_instances} instances")
        return np.ascontiguousarray(np.broadcast_to(a, (n_instances,)))

    hyper = Hyper(
        feature_prob=per_cell("feature_prob", feature_prob),
        importance=per_cell("importance", importance),
        lr=one_per_instance("lr", lr),
        weight_decay=one_per_instance("weight_decay", weight_decay),
        extra=instance_extras(n_instances, extra or {}),
    )
    validate_hyper(hyper)
    return hyper


def instance_extras(n_instances: int, extra: dict) -> dict:
    """{name: [n_instances, ...] array} from scalars, per_instance(...) or instance-first arrays; ConfigError
    for anything else (a per_feature marker, a wrong leading axis, a non-numeric or non-finite value)."""
    if not isinstance(extra, dict):
        raise ConfigError(f"extra must be a dict of name -> values, got {type(extra).__name__}")
    out = {}
    for name, value in extra.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"extra names must be identifiers, got {name!r}")
        if isinstance(value, PerFeature):
            raise ConfigError(
                f"extra {name!r}: per_feature has no meaning here; give [n_instances, ...] values"
            )
        raw = value.values if isinstance(value, PerInstance) else value
        try:
            a = np.asarray(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"extra {name!r} must be numeric") from None
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise ConfigError(f"extra {name!r} must be numeric, got dtype {a.dtype}")
        if np.issubdtype(a.dtype, np.floating):
            if not np.all(np.isfinite(a)):
                raise ConfigError(f"extra {name!r} must be finite (got NaN or inf)")
            big = np.abs(a).max(initial=0.0)
            if big > np.finfo(np.float32).max:
                raise ConfigError(f"extra {name!r} holds {big:.3g}, beyond float32 (JAX computes in 32 bits)")
            a = a.astype(np.float32)
        elif np.issubdtype(a.dtype, np.integer) and a.dtype.itemsize > 4 or a.dtype == np.uint32:
            # JAX (without x64) would cast to int32 silently: 2**40 + 5 becomes 5. Keep exact values or refuse.
            info = np.iinfo(np.int32)
            if a.size and (a.min() < info.min or a.max() > info.max):
                bad = a.max() if a.max() > info.max else a.min()
                raise ConfigError(
                    f"extra {name!r} holds the integer {int(bad)}, outside int32 [{info.min}, {info.max}] "
                    "(JAX computes in 32 bits and would wrap it silently)"
                )
            a = a.astype(np.int32)
        if a.ndim == 0:
            a = np.broadcast_to(a, (n_instances,))
        elif a.shape[0] != n_instances or (isinstance(value, PerInstance) and a.ndim != 1):
            raise ConfigError(
                f"extra {name!r} of shape {a.shape} does not start with the {n_instances} instances"
            )
        out[name] = np.ascontiguousarray(a)
    return out


def validate_hyper(hyper: Hyper) -> None:
    """Raise ConfigError with a one-line message if any per-instance value is out of range."""

    def first_bad(values, ok) -> str:
        values = np.asarray(values)
        return f"{values[~ok(values)].flat[0]:.6g}"

    p = np.asarray(hyper.feature_prob)
    in_range = lambda v: np.isfinite(v) & (v > 0) & (v <= 1)  # noqa: E731
    if not np.all(in_range(p)):
        raise ConfigError(
            f"feature_prob (density, 1 - sparsity) must lie in (0, 1], got {first_bad(p, in_range)}"
        )
    if not np.all(np.isfinite(hyper.importance)):
        raise ConfigError("importance must be finite, got NaN or inf")
    nonneg = lambda v: v >= 0  # noqa: E731
    if not np.all(nonneg(np.asarray(hyper.importance))):
        raise ConfigError(f"importance must be non-negative, got {first_bad(hyper.importance, nonneg)}")
    positive = lambda v: np.isfinite(v) & (v > 0)  # noqa: E731
    if not np.all(positive(np.asarray(hyper.lr))):
        raise ConfigError(f"learning rate must be positive and finite, got {first_bad(hyper.lr, positive)}")
    if not np.all(np.isfinite(hyper.weight_decay)):
        raise ConfigError("weight_decay must be finite, got NaN or inf")


def geometric_importance(n_features: int, ratio: float) -> np.ndarray:
    """[n_features] I_i = ratio**i, the paper's importance schedule (e.g. 0.9**i in the intro)."""
    return (ratio ** np.arange(n_features)).astype(np.float32)


def sparsity_to_prob(sparsity) -> np.ndarray:
    """Convert the paper's sparsity S to the library's feature_prob p = 1 - S (do this at the edges)."""
    return 1.0 - np.asarray(sparsity, dtype=np.float64)


def snapshot_schedule(n_steps: int, n_frames: int, every: int, dense_until: float = 1.0) -> tuple[int, ...]:
    """About `n_frames` snapshot steps, multiples of `every` (the log window) up to n_steps, log-spaced where
    the geometry changes fastest (early), always ending at n_steps so the last frame is the final weights.

    dense_until in (0, 1]: the log-spaced frames cover steps up to dense_until * n_steps; the rest are evenly
    spaced (for runs whose transitions happen late, e.g. learning dynamics). Returns strictly increasing ints:
    fewer than n_frames when the log window is too coarse to give distinct early steps.
    """
    _positive_int("n_steps", n_steps)
    _positive_int("n_frames", n_frames)
    _positive_int("every", every)
    if n_steps % every:
        raise ConfigError(f"n_steps ({n_steps}) must be a multiple of the snapshot spacing ({every})")
    if not 0 < dense_until <= 1:
        raise ConfigError(f"dense_until must be in (0, 1], got {dense_until!r}")
    windows = n_steps // every
    count = min(n_frames, windows)
    split = max(1, int(round(windows * dense_until)))
    n_lin = count // 2 if split < windows else 0
    ideal = np.concatenate(
        [np.geomspace(1, split, count - n_lin), np.linspace(split, windows, n_lin + 1)[1:]]
    )
    # Distinct integers close to the ideal positions: push duplicates up, then keep room for the later ones
    # and end exactly at the last window (so the last frame is the final weights).
    frames = np.round(ideal).astype(np.int64)
    for j in range(1, count):
        frames[j] = max(frames[j], frames[j - 1] + 1)
    frames[-1] = windows
    for j in range(count - 2, -1, -1):
        frames[j] = min(frames[j], frames[j + 1] - 1)
    return tuple(int(f) * every for f in frames)
