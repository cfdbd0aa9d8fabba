"""The instance axis: a grid of toy models trained in one compiled call.

Owns: grids of hyperparameters flattened to one instance axis, vmap over instances, sharding that axis
over devices (padding it to a multiple of the device count), the host loop over chunks with lagged
reporting, and best-of-N selection. Does not: model maths (models.py) or one instance's training (train.py).

The compiled functions are module-level and keyed on the static (model, sampler, config), so a second
grid of the same shapes, or the next chunk, never recompiles.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from superpose import train as train_lib
from superpose.config import Hyper, TrainConfig, validate_hyper

# --- grids ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Grid:
    """A Cartesian grid of named axes, flattened row-major (the last axis varies fastest)."""

    axes: dict[str, np.ndarray]

    def __init__(self, **axes: Sequence) -> None:
        if not axes:
            raise ValueError("a grid needs at least one axis")
        object.__setattr__(self, "axes", {k: np.asarray(v) for k, v in axes.items()})
        for name, values in self.axes.items():
            if values.ndim != 1 or values.size == 0:
                raise ValueError(f"grid axis {name!r} must be a non-empty 1-D sequence")

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


def best_of(arrays: dict[str, np.ndarray], loss: np.ndarray, grid: Grid, axis: str = "seed") -> dict:
    """Keep, for every point of the other axes, the instance with the lowest `loss` along `axis`.

    arrays: name -> [grid.size, ...]; loss [grid.size]. Returns name -> [*other_axes_shape, ...] and
    'best_index' (flat instance index of each kept instance).
    """
    names = list(grid.axes)
    if axis not in names:
        raise ValueError(f"grid has no axis {axis!r}; axes: {names}")
    k = names.index(axis)
    flat_index = np.arange(grid.size).reshape(grid.shape)
    pick = np.argmin(grid.unflatten(loss), axis=k)
    chosen = np.take_along_axis(flat_index, np.expand_dims(pick, k), axis=k).squeeze(k)
    out = {name: np.asarray(a)[chosen] for name, a in arrays.items()}
    out["best_index"] = chosen
    return out


# --- the compiled, vmapped functions -------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("model", "cfg"))
def _init(model, cfg, hyper, seeds, root_seed):
    return jax.vmap(lambda h, s: train_lib.init_state(model, cfg, h, s, root_seed))(hyper, seeds)


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


@functools.partial(
    jax.jit, static_argnames=("model", "sampler", "cfg", "mesh", "group_size"), donate_argnames=("state",)
)
def _chunk(model, sampler, cfg, hyper, seeds, root_seed, state, start_step, *, mesh=None, group_size=None):
    def local(hyper, seeds, state, root_seed, start_step):
        def one(h, s, st):
            return train_lib.train_chunk(model, sampler, cfg, h, s, root_seed, st, start_step)

        return _grouped(one, group_size, hyper, seeds, state)

    return _per_device(local, mesh, 3)(hyper, seeds, state, root_seed, start_step)


@functools.partial(jax.jit, static_argnames=("model", "sampler", "cfg", "mesh", "group_size"))
def _evaluate(model, sampler, cfg, hyper, seeds, root_seed, params, *, mesh=None, group_size=None):
    def local(hyper, seeds, params, root_seed, _):
        def one(h, s, p):
            return train_lib.evaluate(model, sampler, cfg, h, s, root_seed, p)

        return _grouped(one, group_size, hyper, seeds, params)

    return _per_device(local, mesh, 3)(hyper, seeds, params, root_seed, np.int32(0))


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


@dataclasses.dataclass
class SweepResult:
    """Instance-first numpy arrays of a finished sweep."""

    params: dict[str, np.ndarray]  # e.g. W [N, m, n], b [N, n]
    loss: np.ndarray  # [N, n_logs] mean training loss per log window
    log_steps: np.ndarray  # [n_logs]
    final_loss: np.ndarray  # [N] evaluation loss on fresh samples
    snapshots: dict[str, np.ndarray]  # e.g. W [N, n_snapshots, m, n]
    snapshot_steps: np.ndarray  # [n_snapshots]


ChunkCallback = Callable[[int, "train_lib.TrainState", np.ndarray], None]


class Sweep:
    """N independent instances of one model, trained together.

    hyper: Hyper of [N, ...] arrays (see config.make_hyper); seeds: [N] ints, the instance identities.
    devices: the devices to shard the instance axis over (default: all of jax.devices()).
    group_size: instances run together on one device (default: cache-sized groups on CPU, all at once
    elsewhere; see default_group_size). Results do not depend on it beyond float rounding.
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
    ) -> None:
        validate_hyper(hyper)
        seeds = np.asarray(seeds, dtype=np.int32).reshape(-1)
        if hyper.feature_prob.shape != (seeds.size, cfg.n_features):
            raise ValueError(
                f"hyper.feature_prob has shape {hyper.feature_prob.shape}, expected ({seeds.size}, {cfg.n_features})"
            )
        self.model, self.sampler, self.cfg = model, sampler, cfg
        self.n_instances = seeds.size
        self.root_seed = np.uint32(root_seed)
        devices = list(devices) if devices is not None else jax.devices()
        n_local = -(-self.n_instances // len(devices))
        if group_size is None:
            group_size = default_group_size(n_local, cfg, devices[0].platform)
        if group_size is not None and group_size <= 0:
            raise ValueError(f"group_size must be a positive integer, got {group_size!r}")
        if group_size is not None and group_size < n_local:
            n_groups = -(-n_local // group_size)
            group_size = -(-n_local // n_groups)  # even groups: at most n_groups - 1 padded instances
            n_local = n_groups * group_size
        else:
            group_size = None
        self.group_size = group_size
        self.n_padded = n_local * len(devices)
        pad = self.n_padded - self.n_instances
        # Padding repeats the last instance: valid values, results dropped.
        hyper = Hyper(*(np.concatenate([a, np.repeat(a[-1:], pad, axis=0)]) for a in hyper))
        seeds = np.concatenate([seeds, np.repeat(seeds[-1:], pad)])
        self.mesh = Mesh(np.array(devices), ("instances",))
        self.sharding = NamedSharding(self.mesh, PartitionSpec("instances"))
        self.hyper = jax.device_put(hyper, self.sharding)
        self.seeds = jax.device_put(seeds, self.sharding)

    def init(self) -> train_lib.TrainState:
        # Pin every leaf to the instance sharding: left to XLA, leaves that do not depend on the inputs
        # (b = 0) come back replicated, and the next chunk would compile a second time for that layout.
        return self.put(_init(self.model, self.cfg, self.hyper, self.seeds, self.root_seed))

    def run_chunk(self, state: train_lib.TrainState, chunk_index: int):
        """Advance every instance by one chunk (asynchronously). Returns (state, loss log [N_padded, windows])."""
        start = np.int32(chunk_index * self.cfg.chunk_steps)
        return _chunk(
            self.model,
            self.sampler,
            self.cfg,
            self.hyper,
            self.seeds,
            self.root_seed,
            state,
            start,
            mesh=self.mesh,
            group_size=self.group_size,
        )

    def evaluate(self, params) -> np.ndarray:
        loss = _evaluate(
            self.model,
            self.sampler,
            self.cfg,
            self.hyper,
            self.seeds,
            self.root_seed,
            params,
            mesh=self.mesh,
            group_size=self.group_size,
        )
        return np.asarray(loss)[: self.n_instances]

    def put(self, state: train_lib.TrainState) -> train_lib.TrainState:
        """Place a (padded, host) state on the devices, e.g. one loaded from a checkpoint."""
        return jax.device_put(state, self.sharding)

    def run(
        self,
        state: train_lib.TrainState | None = None,
        start_chunk: int = 0,
        loss_log: np.ndarray | None = None,
        on_chunk: ChunkCallback | None = None,
    ) -> SweepResult:
        """Train from `state` (default: fresh init) at `start_chunk` to the end.

        on_chunk(chunk_index, state, loss_so_far [N_padded, n_logs_so_far]) runs on the host after each
        chunk, before the next is dispatched (the state's buffers are donated to the next chunk); it may
        checkpoint or report progress. One host sync per chunk costs nothing next to a chunk's compute.
        """
        cfg = self.cfg
        state = self.init() if state is None else self.put(state)
        logs = [] if loss_log is None else [np.asarray(loss_log)]
        for chunk in range(start_chunk, cfg.n_chunks):
            state, chunk_log = self.run_chunk(state, chunk)
            logs.append(np.asarray(chunk_log))
            if on_chunk is not None:
                on_chunk(chunk, state, np.concatenate(logs, axis=1))
        loss = np.concatenate(logs, axis=1) if logs else np.zeros((self.n_padded, 0), np.float32)
        n = self.n_instances
        host = jax.device_get(state)
        return SweepResult(
            params={k: v[:n] for k, v in host.params.items()},
            loss=loss[:n],
            log_steps=cfg.log_steps,
            final_loss=self.evaluate(state.params),
            snapshots={k: v[:n] for k, v in host.snapshots.items()},
            snapshot_steps=np.asarray(cfg.snapshot_steps, dtype=np.int32),
        )


def run_grid(
    model, sampler, cfg: TrainConfig, hyper: Hyper, seeds, root_seed: int = 0, **kwargs
) -> SweepResult:
    """Convenience: build a Sweep and run it to the end."""
    return Sweep(model, sampler, cfg, hyper, seeds, root_seed, **kwargs).run()
