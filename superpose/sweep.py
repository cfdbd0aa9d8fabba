"""The instance axis: a grid of toy models trained in one compiled call.

Owns: grids of hyperparameters flattened to one instance axis, vmap over instances, choosing devices for a
sweep and sharding that axis over them (padding it to a multiple of the device count), the host loop over
chunks, the two evaluations of every trained model (ranking on shared samples, reporting on fresh ones),
marking diverged instances, and best-of-N selection. Does not: model maths (models.py) or one instance's
training (train.py).

The compiled functions are module-level and keyed on the static train.Task (model, sampler, config), so a
second grid of the same shapes, or the next chunk, never recompiles.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import time
from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from superpose import memory
from superpose import train as train_lib
from superpose.config import ConfigError, Hyper, TrainConfig, instance_extras, validate_hyper

# --- grids ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Grid:
    """A Cartesian grid of named axes, flattened row-major (the last axis varies fastest)."""

    axes: dict[str, np.ndarray]

    def __init__(self, **axes: Sequence) -> None:
        if not axes:
            raise ConfigError("a grid needs at least one axis")
        object.__setattr__(self, "axes", {k: exact_axis(v) for k, v in axes.items()})
        for name, values in self.axes.items():
            if values.ndim != 1 or values.size == 0:
                raise ConfigError(f"grid axis {name!r} must be a non-empty 1-D sequence")
        # coords holds one value per instance and axis: refuse a grid whose coordinates alone will not fit.
        size = int(np.prod([v.size for v in self.axes.values()], dtype=np.float64))
        memory.require(
            2 * size * sum(v.itemsize for v in self.axes.values()),
            memory.host_available(),
            f"a grid of {size:,} instances",
            "use fewer or shorter axes",
        )

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(v.size for v in self.axes.values())

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """Each axis's value for every instance: name -> [size]."""
        mesh = np.meshgrid(*self.axes.values(), indexing="ij")
        return {name: m.reshape(-1) for name, m in zip(self.axes, mesh)}

    def unflatten(self, array: np.ndarray) -> np.ndarray:
        """[size, ...] -> [*shape, ...]."""
        return np.asarray(array).reshape(self.shape + np.shape(array)[1:])

    def index(self, **point) -> int:
        """Flat instance index of a grid point given by axis indices, e.g. grid.index(density=3, seed=0)."""
        return int(np.ravel_multi_index(tuple(point[k] for k in self.axes), self.shape))


def exact_axis(values) -> np.ndarray:
    """A grid axis as given, floats widened to float64 (never narrowed: a coordinate such as 0.1 must compare
    equal to the decimal the user typed; the device sees float32 through make_hyper anyway)."""
    a = np.asarray(values)
    return a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a


def pick_best(loss: np.ndarray, axis: int) -> np.ndarray:
    """Index along `axis` of the lowest finite loss (NaN and inf, i.e. diverged fits, are never picked);
    -1 where every fit along the axis is non-finite."""
    loss = np.asarray(loss, np.float64)
    finite = np.isfinite(loss)
    pick = np.argmin(np.where(finite, loss, np.inf), axis=axis)
    return np.where(finite.any(axis=axis), pick, -1)


def best_of(arrays: dict[str, np.ndarray], loss: np.ndarray, grid: Grid, axis: str = "seed") -> dict:
    """Keep, for every point of the other axes, the instance with the lowest finite `loss` along `axis`.

    arrays: name -> [grid.size, ...]; loss [grid.size]: rank on SweepResult.select_loss (samples shared by
    every fit) and report the kept fits' SweepResult.final_loss (fresh samples). Returns name ->
    [*other_axes_shape, ...] and 'best_index' (flat instance index of each kept instance). A point where every
    fit diverged raises ConfigError naming it (use superpose.Study, whose best() marks such points instead).
    """
    names = list(grid.axes)
    if axis not in names:
        raise ConfigError(f"grid has no axis {axis!r}; axes: {names}")
    k = names.index(axis)
    flat_index = np.arange(grid.size).reshape(grid.shape)
    pick = pick_best(grid.unflatten(loss), axis=k)
    if np.any(pick < 0):
        where = np.argwhere(pick < 0)[0]
        others = [n for n in names if n != axis]
        point = ", ".join(f"{n}={grid.axes[n][i]:.4g}" for n, i in zip(others, where))
        raise ConfigError(f"every fit along {axis!r} diverged (NaN/inf) at {point or 'the only point'}")
    chosen = np.take_along_axis(flat_index, np.expand_dims(pick, k), axis=k).squeeze(k)
    out = {name: np.asarray(a)[chosen] for name, a in arrays.items()}
    out["best_index"] = chosen
    return out


# --- the compiled, vmapped functions -------------------------------------------------------------------


def _keys(root_seed, seed) -> train_lib.Keys:
    return train_lib.instance_keys(root_seed, seed)


@functools.partial(jax.jit, static_argnames=("task",))
def _init(task, hyper, seeds, root_seed):
    return jax.vmap(lambda h, s: train_lib.init_state(task, h, _keys(root_seed, s)))(hyper, seeds)


def _grouped(fn, group_size: int | None, *args):
    """fn vmapped over the leading instance axis of args, run `group_size` instances at a time.

    Groups run one after another (a lax.map), each through its whole chunk of steps: a group's batch stays
    in cache. Measured on the 2-core CPU (benchmarks/RESULTS.md): 1000 instances of n=10 run 3x faster
    in groups of 25 than as one vmap of 1000. group_size None (or >= the instance count) is a plain vmap.
    """
    n = jax.tree.leaves(args)[0].shape[0]
    if group_size is None or group_size >= n:
        return jax.vmap(fn)(*args)
    n_groups = n // group_size  # Sweep pads the instance axis to a multiple of group_size per device
    grouped = jax.tree.map(lambda a: a.reshape((n_groups, group_size) + a.shape[1:]), args)
    out = jax.lax.map(lambda a: jax.vmap(fn)(*a), grouped)
    return jax.tree.map(lambda a: a.reshape((n,) + a.shape[2:]), out)


def _per_device(fn, mesh: Mesh | None, n_args: int):
    """Run fn on each device's block of instances (shard_map; per-instance work needs no communication)."""
    if mesh is None:
        return fn
    spec = PartitionSpec("instances")
    # check_vma=False: the scans inside start from replicated constants (a zero loss), which the
    # varying-axis type check would reject, though every value here is per instance anyway.
    replicated = (PartitionSpec(),) * 2
    return jax.shard_map(
        fn, mesh=mesh, in_specs=(spec,) * n_args + replicated, out_specs=spec, check_vma=False
    )


@functools.partial(jax.jit, static_argnames=("task", "mesh", "group_size"), donate_argnames=("state",))
def _chunk(task, hyper, seeds, root_seed, state, start_step, *, mesh=None, group_size=None):
    def local(hyper, seeds, state, root_seed, start_step):
        def one(h, s, st):
            return train_lib.train_chunk(task, h, _keys(root_seed, s), st, start_step)

        return _grouped(one, group_size, hyper, seeds, state)

    return _per_device(local, mesh, 3)(hyper, seeds, state, root_seed, start_step)


@functools.partial(jax.jit, static_argnames=("task", "mesh", "group_size", "max_batches"))
def _evaluate(
    task, hyper, n_batches, root_seed, params, stream, *, mesh=None, group_size=None, max_batches=1
):
    def local(hyper, n_batches, params, root_seed, stream):
        key = train_lib.evaluation_key(root_seed, stream)

        def one(h, nb, p):
            return train_lib.evaluate(task, h, key, p, nb, max_batches)

        return _grouped(one, group_size, hyper, n_batches, params)

    return _per_device(local, mesh, 3)(hyper, n_batches, params, root_seed, stream)


def eval_batch_counts(hyper: Hyper, cfg: TrainConfig, sampler) -> np.ndarray:
    """[N] evaluation batches per instance: enough that the instance's rarest feature (among those with
    importance > 0) is expected active cfg.eval_actives times, and that cfg.eval_actives samples are expected
    to hold two or more of those features at once (a sparse model's loss is mostly interference, which only
    such samples carry: at n=5, p=0.05 they are 2.3% of samples, and counting single features alone left the
    loss of a pentagon 1-2% noisy); clipped to [cfg.eval_batches, cfg.eval_batch_cap]. Depends only on the
    instance's own densities, so fits of one grid point get equal counts (and, through the shared stream,
    equal samples). A sampler with its own `draw` (e.g. a fixed training set) gets cfg.eval_batches: its
    densities need not describe what it draws."""
    n = np.asarray(hyper.feature_prob).shape[0]
    if getattr(sampler, "draw", None) is not None:
        return np.full(n, cfg.eval_batches, np.int32)
    p = np.asarray(hyper.feature_prob, np.float64)
    weighted = np.asarray(hyper.importance) > 0
    weighted = np.where(weighted.any(axis=1, keepdims=True), weighted, True)
    rarest = np.where(weighted, p, np.inf).min(axis=1)
    wanted = np.ceil(cfg.eval_actives / (rarest * cfg.batch_size))
    pairs = two_or_more(np.where(weighted, p, 0.0))
    with np.errstate(divide="ignore"):
        by_pairs = np.where(pairs > 0, np.ceil(cfg.eval_actives / (pairs * cfg.batch_size)), 0)
    wanted = np.maximum(wanted, by_pairs)
    return np.clip(wanted, cfg.eval_batches, cfg.eval_batch_cap).astype(np.int32)


def two_or_more(p: np.ndarray) -> np.ndarray:
    """[N] chance that two or more of independent events with chances p [N, n] happen at once (0 when
    fewer than two can): 1 - P(none) - P(exactly one), by the count distribution truncated at 2."""
    none = np.ones(p.shape[0])
    one = np.zeros(p.shape[0])
    for q in p.T:
        none, one = none * (1 - q), one * (1 - q) + none * q
    return np.clip(1.0 - none - one, 0.0, 1.0)


# Groups of about this many batch elements (group_size x n_features x batch_size) ran fastest on the
# 2-core CPU (1 MiB of f32 per batch); at least 2 instances per group (a vmap of 1 was slower).
CPU_GROUP_ELEMENTS = 2**18


def default_group_size(n_local: int, cfg: TrainConfig, platform: str) -> int | None:
    """Instances per group on one device: None (one vmap of all) except on CPUs, where cache-sized groups win."""
    if platform != "cpu":
        return None  # accelerators want the widest batch
    size = max(2, round(CPU_GROUP_ELEMENTS / (cfg.n_features * cfg.batch_size)))
    return None if size >= n_local else size


# --- the sweep -----------------------------------------------------------------------------------------


def choose_devices(n_instances: int, devices: Sequence[jax.Device] | None = None) -> list:
    """The devices a sweep of n_instances runs on by default: all of `devices` (default jax.devices()) when
    there are at least as many instances; else one per instance, but at least one per process (under
    jax.distributed every process must own a block of the sweep), taken round-robin over the processes.
    So one large instance runs once, not padded onto every device."""
    devices = list(devices) if devices is not None else jax.devices()
    if n_instances >= len(devices):
        return devices
    by_process: dict[int, list] = {}
    for d in devices:
        by_process.setdefault(d.process_index, []).append(d)
    want = max(n_instances, len(by_process))
    chosen = []
    for i in range(max(len(v) for v in by_process.values())):
        for p in sorted(by_process):
            if i < len(by_process[p]) and len(chosen) < want:
                chosen.append(by_process[p][i])
    return sorted(chosen, key=lambda d: (d.process_index, d.id))


def min_known(values) -> int | None:
    """The smallest of the values that are not None (None if none is known)."""
    known = [v for v in values if v is not None]
    return min(known) if known else None


@dataclasses.dataclass
class SweepResult:
    """Instance-first numpy arrays of a finished sweep."""

    params: dict[str, np.ndarray]  # e.g. W [N, m, n], b [N, n]
    loss: np.ndarray  # [N, n_logs] mean training loss per log window (NaN once an instance diverged)
    log_steps: np.ndarray  # [n_logs]
    final_loss: np.ndarray  # [N] loss on the REPORT stream: fresh samples that chose nothing; NaN if diverged
    snapshots: dict[str, np.ndarray]  # e.g. W [N, n_snapshots, m, n]
    snapshot_steps: np.ndarray  # [n_snapshots]
    select_loss: np.ndarray | None = None  # [N] loss on the SELECT stream (shared samples): rank fits on this
    diverged: np.ndarray | None = None  # [N] bool: parameters or training loss not finite
    eval_batches: np.ndarray | None = None  # [N] batches in each of the two evaluations

    def __post_init__(self) -> None:
        n = np.shape(self.final_loss)[0]
        if self.diverged is None:
            self.diverged = diverged_mask(self.params, self.loss)
        if self.select_loss is None:
            self.select_loss = np.asarray(self.final_loss)
        if self.eval_batches is None:
            self.eval_batches = np.zeros(n, np.int32)


def diverged_mask(params: dict, loss: np.ndarray) -> np.ndarray:
    """[N] True where an instance's parameters or logged training losses are not all finite."""
    bad = ~np.isfinite(np.asarray(loss)).reshape(np.shape(loss)[0], -1).all(axis=1)
    for a in params.values():
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.floating):
            bad |= ~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)
    return bad


ChunkCallback = Callable[[int, "train_lib.TrainState", np.ndarray], None]


def to_host(tree):
    """Device arrays -> numpy, every instance on every process. Within one process a plain copy; across
    processes (jax.distributed) each array is gathered, so every process (the one writing the run store
    included) holds all instances."""
    leaves = jax.tree.leaves(tree)
    if all(not isinstance(x, jax.Array) or x.is_fully_addressable for x in leaves):
        return jax.tree.map(np.asarray, jax.device_get(tree))
    from jax.experimental import multihost_utils

    return jax.tree.map(
        lambda x: (
            np.asarray(multihost_utils.process_allgather(x, tiled=True))
            if isinstance(x, jax.Array) and not x.is_fully_addressable
            else np.asarray(x)
        ),
        tree,
    )


def wait_until_ready(tree, longest_sleep: float = 0.05) -> None:
    """Block until every device array in `tree` is computed, in short sleeps rather than one blocking call,
    so that Ctrl-C (SIGINT) is handled within about `longest_sleep` seconds even during a long chunk (a
    blocking transfer would hold the signal until the chunk ends). Sleeps start at 1 ms, so a fast chunk
    loses almost nothing."""
    sleep = 0.001
    for leaf in jax.tree.leaves(tree):
        while isinstance(leaf, jax.Array) and not leaf.is_ready():
            time.sleep(sleep)
            sleep = min(2 * sleep, longest_sleep)


def pad_instances(tree, n_padded: int):
    """Every leaf [n, ...] -> [n_padded, ...], repeating the last instance: valid values whose results are
    dropped. The one padding of the instance axis (sweeps, checkpoints, per-instance extras of subclasses)."""

    def pad(a):
        a = np.asarray(a)
        extra = n_padded - a.shape[0]
        return np.concatenate([a, np.repeat(a[-1:], extra, axis=0)]) if extra > 0 else a

    return jax.tree.map(pad, tree)


def _check_seeds(seeds) -> np.ndarray:
    """[N] uint32 instance seeds; ConfigError for non-integers or values outside [0, 2**32)."""
    a = np.asarray(seeds).reshape(-1)
    if a.size == 0:
        raise ConfigError("a sweep needs at least one instance (seeds is empty)")
    if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
        raise ConfigError(f"seeds must be integers, got dtype {a.dtype}")
    if a.min() < 0 or a.max() >= 2**32:
        raise ConfigError(f"seeds must lie in [0, 2**32), got {a.min()}..{a.max()}")
    return a.astype(np.uint32)


def _nbytes(tree) -> int:
    return sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


class Sweep:
    """N independent instances of one model, trained together.

    hyper: Hyper of [N, ...] arrays (see config.make_hyper); seeds: [N] integers in [0, 2**32), the instance
    identities (instance key = fold_in(key(root_seed), seed)).
    optimizer: a factory (superpose.optim: AdamW() by default, Adam, SGD, Custom) or its name.
    devices: the devices to shard the instance axis over (default: `choose_devices`: every device when
    there are at least as many instances, else one device per instance, spread over the processes; one
    large instance is never copied onto every device); `on(devices)` places a copy elsewhere.
    group_size: instances run together on one device (default: cache-sized groups on CPU, all at once
    elsewhere; see default_group_size). Results do not depend on it beyond float rounding.

    Everything is checked here, before anything is allocated on a device: shapes, values, the sampler's own
    `check` of the densities, and the memory the sweep will need (ConfigError, one line).

    Subclasses may add state (a warm start, say): keep it as host arrays with a leading [N] axis and place
    it with `put_instances` inside `init`, so it follows the sweep to any devices (`on`) and through resume.
    """

    def __init__(
        self,
        model,
        sampler,
        cfg: TrainConfig,
        hyper: Hyper,
        seeds,
        root_seed: int = 0,
        devices: Sequence[jax.Device] | None = None,
        group_size: int | None = None,
        optimizer=None,
    ) -> None:
        from superpose.optim import AdamW, get_optimizer

        optimizer = AdamW() if optimizer is None else get_optimizer(optimizer)
        self.task = train_lib.Task(model, sampler, cfg, optimizer)
        seeds = _check_seeds(seeds)
        n = seeds.size
        hyper = Hyper(
            *(np.asarray(a) for a in hyper[:4]), extra=instance_extras(n, dict(getattr(hyper, "extra", {})))
        )
        expected = {
            "feature_prob": (n, cfg.n_features),
            "importance": (n, cfg.n_features),
            "lr": (n,),
            "weight_decay": (n,),
        }
        for name, shape in expected.items():
            if getattr(hyper, name).shape != shape:
                raise ConfigError(
                    f"hyper.{name} has shape {getattr(hyper, name).shape}, expected {shape} "
                    f"({n} seeds, {cfg.n_features} features; build it with make_hyper)"
                )
        validate_hyper(hyper)
        if np.any(hyper.weight_decay < 0) and not getattr(optimizer, "negative_weight_decay", False):
            raise ConfigError(
                f"weight_decay must be non-negative for {type(optimizer).__name__}, got "
                f"{float(hyper.weight_decay.min()):.6g} (an optimizer that gives negative decay a meaning "
                "declares negative_weight_decay = True)"
            )
        check = getattr(sampler, "check", None)
        if check is not None:
            check(hyper.feature_prob)
        if (
            isinstance(root_seed, bool)
            or not isinstance(root_seed, (int, np.integer))
            or not 0 <= root_seed < 2**32
        ):
            raise ConfigError(f"root_seed must be an integer in [0, 2**32), got {root_seed!r}")
        if group_size is not None and (
            isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size <= 0
        ):
            raise ConfigError(f"group_size must be a positive integer, got {group_size!r}")
        self.host_hyper, self.host_seeds = hyper, seeds
        self.n_instances = n
        self.root_seed = np.uint32(root_seed)
        self.requested_group_size = group_size
        self._place(devices)

    @property
    def model(self):
        return self.task.model

    @property
    def sampler(self):
        return self.task.sampler

    @property
    def cfg(self) -> TrainConfig:
        return self.task.config

    @property
    def devices(self) -> list:
        return list(self.mesh.devices.flat)

    def _place(self, devices) -> None:
        """Pad the instance axis for `devices` (and groups), check memory, and put the inputs there."""
        devices = list(devices) if devices is not None else choose_devices(self.n_instances)
        if not devices:
            raise ConfigError("a sweep needs at least one device")
        n_local = -(-self.n_instances // len(devices))
        group_size = self.requested_group_size
        if group_size is None:
            group_size = default_group_size(n_local, self.cfg, devices[0].platform)
        if group_size is not None and group_size < n_local:
            n_groups = -(-n_local // group_size)
            group_size = -(-n_local // n_groups)  # even groups: at most n_groups - 1 padded instances
            n_local = n_groups * group_size
        else:
            group_size = None
        self.group_size = group_size
        self.n_padded = n_local * len(devices)
        self._check_memory(devices, n_local, group_size or n_local)
        self.mesh = Mesh(np.array(devices), ("instances",))
        self.sharding = NamedSharding(self.mesh, PartitionSpec("instances"))
        self.hyper = self.put_instances(self.host_hyper)
        self.seeds = self.put_instances(self.host_seeds)

    def _check_memory(self, devices, n_local: int, n_concurrent: int) -> None:
        """Refuse (ConfigError) a sweep whose state and working set will not fit, before allocating.

        Per instance: the training state (params, Adam's two moments, snapshots) twice (the chunk's input
        and output) plus its loss log; per concurrently stepped instance: about eight [n, batch] float32
        arrays (batch, target, output, error and their gradients), measured as an upper bound of what XLA
        keeps alive.
        """
        cfg = self.cfg
        params = jax.eval_shape(lambda k: self.model.init(k, cfg.n_features, cfg.n_hidden), jax.random.key(0))
        state = _nbytes(params) * (3 + len(cfg.snapshot_steps)) * 2 + 4 * (cfg.n_steps // cfg.steps_per_log)
        state += _nbytes(self.host_hyper.extra) // max(self.n_instances, 1)  # e.g. a stored training set
        work = 4 * cfg.batch_size * (8 * cfg.n_features + 4 * cfg.n_hidden)
        per_device = n_local * state + n_concurrent * work
        what = (
            f"a sweep of {self.n_instances:,} instances (n={cfg.n_features}, m={cfg.n_hidden}, "
            f"batch {cfg.batch_size:,}) on {len(devices)} {devices[0].platform} device(s)"
        )
        hint = "use fewer instances, a smaller batch_size or more devices"
        # Every process must reach the same verdict (a refusal in one would leave the others waiting in a
        # collective): compare against the least memory any process has.
        if devices[0].platform == "cpu":  # CPU devices share the host's memory; checkpoints copy the state
            available = memory.agreed(memory.host_available())
            memory.require(len(devices) * per_device + self.n_padded * state, available, what, hint)
        else:
            available = memory.agreed(
                min_known(
                    memory.device_available(d) for d in devices if d.process_index == jax.process_index()
                )
            )
            memory.require(per_device, available, what, hint)

    def on(self, devices: Sequence[jax.Device] | None) -> Sweep:
        """A copy of this sweep, of the same class with every attribute kept, on `devices` (None: all)."""
        placed = copy.copy(self)
        placed._place(devices)
        return placed

    def put_instances(self, tree):
        """Host arrays with a leading [n_instances] axis -> padded and sharded like the sweep's instances."""
        return jax.tree.map(self._to_devices, pad_instances(tree, self.n_padded))

    def _to_devices(self, leaf):
        """One [n_padded, ...] leaf onto the instance sharding. Across processes (jax.distributed), each
        process places only the blocks of its own devices, read from the same host array."""
        if isinstance(leaf, jax.Array) or self.sharding.is_fully_addressable:
            return jax.device_put(leaf, self.sharding)
        host = np.asarray(leaf)
        return jax.make_array_from_callback(host.shape, self.sharding, lambda index: host[index])

    def init(self) -> train_lib.TrainState:
        """The initial state of every (padded) instance. Override to start from other weights (a warm start)."""
        # Pin every leaf to the instance sharding: left to XLA, leaves that do not depend on the inputs
        # (b = 0) come back replicated, and the next chunk would compile a second time for that layout.
        return self.put(_init(self.task, self.hyper, self.seeds, self.root_seed))

    def run_chunk(self, state: train_lib.TrainState, chunk_index: int):
        """Advance every instance by one chunk (asynchronously). Returns (state, loss log [N_padded, windows])."""
        start = np.int32(chunk_index * self.cfg.steps_per_chunk)
        return _chunk(
            self.task,
            self.hyper,
            self.seeds,
            self.root_seed,
            state,
            start,
            mesh=self.mesh,
            group_size=self.group_size,
        )

    @functools.cached_property
    def eval_batches(self) -> np.ndarray:
        """[N] batches in each evaluation of each instance (eval_batch_counts)."""
        return eval_batch_counts(self.host_hyper, self.cfg, self.sampler)

    def evaluate(self, params, stream: int = train_lib.REPORT) -> np.ndarray:
        """[N] loss of `params` (padded, on the devices) on the shared evaluation `stream` (train.SELECT
        ranks fits, train.REPORT measures the reported loss); NaN for non-finite parameters."""
        counts = self.eval_batches
        loss = _evaluate(
            self.task,
            self.hyper,
            self.put_instances(counts),
            self.root_seed,
            params,
            np.uint32(stream),
            mesh=self.mesh,
            group_size=self.group_size,
            max_batches=int(counts.max()),
        )
        return np.array(to_host(loss)[: self.n_instances])

    def put(self, state: train_lib.TrainState) -> train_lib.TrainState:
        """Place a padded state (leading [n_padded] axis; host or device arrays) on the devices."""
        return jax.tree.map(self._to_devices, state)

    def run(
        self,
        state: train_lib.TrainState | None = None,
        start_chunk: int = 0,
        loss_log: np.ndarray | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> SweepResult:
        """Train from `state` (padded; default: `init()`) at `start_chunk` to the end.

        on_chunk(chunk_index, state, loss_so_far [N_padded, n_logs_so_far]) runs on the host after each
        chunk, before the next is dispatched (the state's buffers are donated to the next chunk); it may
        checkpoint or report progress. One host sync per chunk costs nothing next to a chunk's compute.
        """
        cfg = self.cfg
        state = self.init() if state is None else self.put(state)
        logs = [] if loss_log is None else [np.asarray(loss_log)]
        for chunk in range(start_chunk, cfg.n_chunks):
            state, chunk_log = self.run_chunk(state, chunk)
            wait_until_ready(chunk_log)
            logs.append(to_host(chunk_log))
            if on_chunk is not None:
                on_chunk(chunk, state, np.concatenate(logs, axis=1))
        loss = np.concatenate(logs, axis=1) if logs else np.zeros((self.n_padded, 0), np.float32)
        n = self.n_instances
        host = to_host(state)
        params = {k: v[:n] for k, v in host.params.items()}
        diverged = diverged_mask(params, loss[:n])
        select = self.evaluate(state.params, train_lib.SELECT)
        report = self.evaluate(state.params, train_lib.REPORT)
        select[diverged], report[diverged] = np.nan, np.nan
        return SweepResult(
            params=params,
            loss=loss[:n],
            log_steps=cfg.log_steps,
            final_loss=report,
            snapshots={k: v[:n] for k, v in host.snapshots.items()},
            snapshot_steps=np.asarray(cfg.snapshot_steps, dtype=np.int32),
            select_loss=select,
            diverged=diverged,
            eval_batches=self.eval_batches,
        )


def run_grid(
    model, sampler, cfg: TrainConfig, hyper: Hyper, seeds, root_seed: int = 0, **kwargs
) -> SweepResult:
    """Convenience: build a Sweep and run it to the end."""
    return Sweep(model, sampler, cfg, hyper, seeds, root_seed, **kwargs).run()
