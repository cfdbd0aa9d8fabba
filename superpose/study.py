"""A grid of toy models described once: the Study, and its result with named axes.

Owns: `Study` (model, sampler, named axes, the map from a grid point's coordinates to its hyperparameters,
the training config, the optimizer factory), splitting it into groups of compiled sweeps where an axis changes
something static (a shape, a model's or sampler's field), and `StudyResult`: every instance's arrays with the
grid's named axes, selection by coordinate (`sel`, tolerant of float rounding), best-of over fits (`best`,
ranked on samples every fit shares, reported on fresh ones, diverged fits never kept). Does not: train one
instance (train.py), batch or shard (sweep.py), checkpoint or store (superpose.lab: `ctx.study`).

    study = Study(ReluOutput(), axes={"density": np.geomspace(1, 0.05, 8), "seed": range(4)},
                  config={"n_features": 5, "n_hidden": 2, "n_steps": 5_000},
                  hyper={"importance": per_feature(0.9 ** np.arange(5))})
    best = study.run().best()          # lowest-loss fit per density
    best.sel(density=0.05).params["W"] # [m, n]

Axes, by name (the default map; give `hyper` as a function to map coordinates yourself):
    density          feature_prob of every feature (p = 1 - S)
    importance       every feature's importance; importance_ratio: I_i = ratio**i
    lr, weight_decay the optimizer's per-instance values
    seed             the instance seed (init and data); the default fits axis that best() reduces
    a TrainConfig field (n_hidden, n_features, batch_size, ...), or a field of the model's or the sampler's
                     dataclass (written model.NAME / sampler.NAME where both have it): static, so each value
                     is a group of its own compiled sweep behind the same result
    a name in the model's or sampler's `extras`: a per-instance value in hyper.extra (e.g. an L1 coefficient)

Why not xarray (the issue asked us to consider it): a result here is a handful of arrays sharing one grid whose
groups may disagree on shapes (n_hidden as an axis gives W of [m, n] per group), and its reductions are our own
(best-of ranked on one stream and reported on another, diverged fits excluded). xarray would carry `sel` and
`isel` (about 60 lines here) but not the ragged groups nor the best-of rule, and would add a dependency and a
second storage format beside the run store's npz + JSON. `result.axes` ({axis: values}) and any [*shape] array
are what xarray needs: `xarray.DataArray(result.final_loss, coords=result.axes, dims=list(result.axes))`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from superpose.config import (
    ConfigError,
    TrainConfig,
    geometric_importance,
    make_hyper,
    per_feature,
    per_instance,
)
from superpose.sweep import Sweep, SweepResult, exact_axis, pick_best

TRAINING_AXES = ("density", "importance", "importance_ratio", "lr", "weight_decay", "seed")
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.init)


# --- the study -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Study:
    """A grid of models: model x sampler x named axes, trained as one compiled sweep per static group.

    model:     a model object (superpose.models) or its registered name
    axes:      {name: 1-D values}; the grid is their Cartesian product, row-major (the last axis fastest)
    config:    TrainConfig fields not given as axes (n_features, n_hidden, n_steps, ...), or a TrainConfig
    sampler:   a sampler object or name; None: the model's `default_sampler()` if it has one, else Independent()
    hyper:     None or a dict of fixed make_hyper keywords (e.g. importance=per_feature(...)) merged with the
               default map of the axes (module docstring); or a function (coords, cfg) -> make_hyper keywords,
               where coords holds each axis's value for every instance of one group [n_group] and cfg is
               that group's TrainConfig
    optimizer: a factory (superpose.optim) or its name; AdamW by default
    fits:      the axis best() reduces (default "seed" if there is one); None: no fits axis
    root_seed: instance key = fold_in(key(root_seed), seed)
    """

    model: Any
    axes: Mapping[str, Sequence]
    config: Any = dataclasses.field(default_factory=dict)
    sampler: Any = None
    hyper: Any = None
    optimizer: Any = "adamw"
    fits: str | None = "seed"
    root_seed: int = 0

    def __post_init__(self) -> None:
        from superpose.data import get_sampler
        from superpose.models import get_model
        from superpose.optim import get_optimizer

        model = get_model(self.model)
        sampler = self.sampler
        if sampler is None:
            default = getattr(model, "default_sampler", None)
            sampler = default() if default is not None else "independent"
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen)
        set_("model", model)
        set_("sampler", get_sampler(sampler))
        set_("optimizer", get_optimizer(self.optimizer))
        check_inputs(self.model, self.sampler)
        if not isinstance(self.axes, Mapping) or not self.axes:
            raise ConfigError("a study needs at least one axis, e.g. axes={'density': [1, 0.1]}")
        axes = {}
        for name, values in self.axes.items():
            a = exact_axis(values)
            if a.ndim != 1 or a.size == 0:
                raise ConfigError(f"axis {name!r} must be a non-empty 1-D sequence, got shape {a.shape}")
            if a.dtype == object:
                raise ConfigError(f"axis {name!r} must hold numbers, got {list(values)[:3]}")
            axes[name] = a
        set_("axes", axes)
        config = self.config
        if isinstance(config, TrainConfig):
            config = {f: getattr(config, f) for f in CONFIG_FIELDS}
        if not isinstance(config, Mapping):
            raise ConfigError(f"config must be a dict of TrainConfig fields or a TrainConfig, got {config!r}")
        unknown = sorted(set(config) - set(CONFIG_FIELDS))
        if unknown:
            raise ConfigError(f"unknown config field(s) {unknown}; TrainConfig has {list(CONFIG_FIELDS)}")
        set_("config", dict(config))
        fits = self.fits if self.fits in axes else None
        if self.fits is not None and self.fits != "seed" and fits is None:
            raise ConfigError(f"fits axis {self.fits!r} is not an axis of the study: {list(axes)}")
        set_("fits", fits)
        for name in axes:
            self._kind(name)  # refuses unknown names
        if fits is not None and self._kind(fits) != "traced":
            raise ConfigError(f"the fits axis {fits!r} changes a static field; best-of needs a traced axis")
        if "seed" in axes and not np.issubdtype(axes["seed"].dtype, np.integer):
            raise ConfigError(f"axis 'seed' must hold integers, got {axes['seed'][:3].tolist()}")
        # Check what is cheap before anything large is built: every group's TrainConfig first.
        logs = {}
        for static in self._static_points():
            cfg = self._train_config(static)
            logs.setdefault((tuple(cfg.log_steps.tolist()), cfg.snapshot_steps), static)
        if len(logs) > 1:  # StudyResult stacks every group's loss log against one log_steps
            names = sorted({k for static in logs.values() for k in static if self._kind(k) == "config"})
            raise ConfigError(
                f"axis {', '.join(names)} changes the steps at which the loss is logged (or weights are kept) "
                "between groups, but a study's result shares one log_steps: run one Study per value"
            )

    # --- axes: which are static (groups) and which traced -------------------------------------------

    def _kind(self, name: str) -> str:
        """'config', 'model', 'sampler' (static: one compiled sweep per value) or 'traced'."""
        if name in CONFIG_FIELDS:
            return "config"
        owner, _, field = name.rpartition(".")
        model_fields = _fields(self.model)
        sampler_fields = _fields(self.sampler)
        if owner == "model" and field in model_fields:
            return "model"
        if owner == "sampler" and field in sampler_fields:
            return "sampler"
        if not owner and name in model_fields and name in sampler_fields:
            raise ConfigError(
                f"axis {name!r} is a field of both the model and the sampler: write model.{name} or sampler.{name}"
            )
        if not owner and name in model_fields:
            return "model"
        if not owner and name in sampler_fields:
            return "sampler"
        if owner:
            raise ConfigError(f"axis {name!r}: {owner} has no field {field!r}")
        extras = tuple(getattr(self.model, "extras", ())) + tuple(getattr(self.sampler, "extras", ()))
        if callable(self.hyper) or name in TRAINING_AXES or name in extras:
            return "traced"
        known = list(TRAINING_AXES) + list(extras) + ["a TrainConfig field", "a model or sampler field"]
        raise ConfigError(f"unknown axis {name!r}: the default hyper map knows {', '.join(known)}")

    @property
    def static_axes(self) -> list[str]:
        return [a for a in self.axes if self._kind(a) != "traced"]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.size for a in self.axes.values())

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def coords(self) -> dict[str, np.ndarray]:
        """Each axis's value for every instance: name -> [size] (row-major, the last axis fastest)."""
        mesh = np.meshgrid(*self.axes.values(), indexing="ij")
        return {name: m.reshape(-1) for name, m in zip(self.axes, mesh)}

    def _static_points(self) -> list[dict]:
        names = self.static_axes
        return [dict(zip(names, values)) for values in itertools.product(*(self.axes[n] for n in names))]

    def _train_config(self, static: dict) -> TrainConfig:
        fields = dict(self.config)
        fields.update({k: _python(v) for k, v in static.items() if self._kind(k) == "config"})
        missing = [f for f in ("n_features", "n_hidden") if f not in fields]
        if missing:
            raise ConfigError(f"the study needs {' and '.join(missing)} (in config or as axes)")
        try:
            return TrainConfig(**fields)
        except TypeError as e:
            raise ConfigError(f"config: {e}") from None

    def _variant(self, obj, kind: str, static: dict):
        changes = {k.rpartition(".")[2]: _python(v) for k, v in static.items() if self._kind(k) == kind}
        return dataclasses.replace(obj, **changes) if changes else obj

    # --- the sweeps ---------------------------------------------------------------------------------

    def groups(self) -> list[tuple[dict, np.ndarray]]:
        """[(static values, flat instance indices [n_group])] in the order the sweeps run."""
        coords = self.coords()
        out = []
        for static in self._static_points():
            mask = np.ones(self.size, bool)
            for k, v in static.items():
                mask &= coords[k] == v
            out.append((static, np.flatnonzero(mask)))
        return out

    def sweep(self, static: dict, index: np.ndarray) -> Sweep:
        """The Sweep of one group (`groups()`), built and checked; nothing is trained."""
        cfg = self._train_config(static)
        group_coords = {k: v[index] for k, v in self.coords().items()}
        hyper = make_hyper(index.size, cfg.n_features, **self._hyper_kwargs(group_coords, cfg))
        seeds = group_coords["seed"] if "seed" in group_coords else np.zeros(index.size, np.int64)
        return Sweep(
            self._variant(self.model, "model", static),
            self._variant(self.sampler, "sampler", static),
            cfg,
            hyper,
            seeds,
            self.root_seed,
            optimizer=self.optimizer,
        )

    @property
    def ranks_fits(self) -> bool:
        """True when best() has fits to choose from (then a diverged fit is marked, not fatal)."""
        return self.fits is not None and self.axes[self.fits].size > 1

    def _hyper_kwargs(self, coords: dict, cfg: TrainConfig) -> dict:
        if callable(self.hyper):
            kwargs = self.hyper(coords, cfg)
            if not isinstance(kwargs, Mapping):
                raise ConfigError(
                    f"the study's hyper function must return a dict, got {type(kwargs).__name__}"
                )
            return dict(kwargs)
        fixed = dict(self.hyper or {})
        known = ("feature_prob", "importance", "lr", "weight_decay", "extra")
        unknown = sorted(set(fixed) - set(known))
        if unknown:
            raise ConfigError(f"unknown hyper keyword(s) {unknown}; make_hyper takes {list(known)}")
        kwargs = {k: v for k, v in fixed.items() if k != "extra"}
        extra = dict(fixed.get("extra", {}))
        for name, values in coords.items():
            if name in ("density",):
                kwargs["feature_prob"] = per_instance(values)
            elif name == "importance":
                kwargs["importance"] = per_instance(values)
            elif name == "importance_ratio":
                kwargs["importance"] = np.stack([geometric_importance(cfg.n_features, r) for r in values])
            elif name in ("lr", "weight_decay"):
                kwargs[name] = per_instance(values)
            elif name == "seed" or self._kind(name) != "traced":
                continue
            else:
                extra[name] = per_instance(values)
        if extra:
            kwargs["extra"] = extra
        return kwargs

    def run(self, devices=None) -> StudyResult:
        """Train every group (one compiled sweep each) and return the result with named axes."""
        results = []
        for static, index in self.groups():
            sweep = self.sweep(static, index)
            if devices is not None:
                from superpose.sweep import choose_devices

                sweep = sweep.on(choose_devices(sweep.n_instances, devices))
            results.append(StudyGroup(static, index, sweep.run()))
        return StudyResult.build(self, results)

    def describe(self) -> dict:
        """A JSON-able description (the run store keeps it beside the sweeps, so load_run rebuilds the result)."""
        return {
            "axes": {k: v.tolist() for k, v in self.axes.items()},
            "axis_dtypes": {k: str(v.dtype) for k, v in self.axes.items()},
            "fits": self.fits,
            "static_axes": self.static_axes,
            "model": repr(self.model),
            "sampler": repr(self.sampler),
            "optimizer": repr(self.optimizer),
            "config": self.config,
            "root_seed": int(self.root_seed),
        }


def density_study(model, densities, n_seeds: int, cfg, importance=1.0, **overrides) -> Study:
    """The paper's usual grid: `densities` x `n_seeds` fits of `model` (on its default sampler), with
    n_features, n_hidden, batch_size, n_steps, lr and seed (the root seed) read from `cfg` (an experiment's
    Config, or any object with those attributes) unless given in `overrides`; other overrides are TrainConfig
    fields. `importance`: a scalar or one value per feature."""
    read = {
        k: overrides.pop(k, None) for k in ("n_features", "n_hidden", "batch_size", "n_steps", "lr", "seed")
    }
    read = {k: getattr(cfg, k) if v is None else v for k, v in read.items()}
    lr, seed = read.pop("lr"), read.pop("seed")
    return Study(
        model,
        axes={"density": densities, "seed": np.arange(n_seeds)},
        config={**read, **overrides},
        hyper={"importance": importance if np.ndim(importance) == 0 else per_feature(importance), "lr": lr},
        root_seed=seed,
    )


def _fields(obj) -> set[str]:
    return {f.name for f in dataclasses.fields(obj) if f.init} if dataclasses.is_dataclass(obj) else set()


def _python(v):
    """A numpy scalar as the Python number a dataclass field expects (ints stay ints)."""
    v = np.asarray(v)
    return v.item()


def check_inputs(model, sampler) -> None:
    """ConfigError if the model declares inputs (`inputs = "signed"`) the sampler cannot produce."""
    from superpose.data import produces_signed

    if getattr(model, "inputs", None) == "signed" and produces_signed(sampler) is False:
        raise ConfigError(
            f"{type(model).__name__} computes on signed inputs (its target |x| equals x when x >= 0), but "
            f"{sampler!r} draws non-negative values; use Independent(magnitude='signed_uniform') or leave the "
            "sampler out"
        )


# --- the result ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class StudyGroup:
    """One compiled sweep of a study: its static values, its instances' flat indices, its SweepResult."""

    static: dict
    index: np.ndarray
    result: SweepResult


PER_INSTANCE = ("final_loss", "select_loss", "diverged", "eval_batches", "loss")


class StudyResult:
    """Every instance of a study with the grid's named axes.

    axes:   {name: values} of the grid (float coordinates exact, as given)
    final_loss, select_loss, diverged, eval_batches: [*shape]; loss [*shape, n_logs] (see SweepResult)
    params / snapshots: {name: [*shape, ...]}, where the groups agree on a parameter's shape
    kept:   {axis: [*shape]} the index along each axis that best() reduced, of the fit it kept
    """

    def __init__(self, axes: dict, fits: str | None, groups: list[StudyGroup], kept: dict | None = None):
        self.axes = {k: np.asarray(v) for k, v in axes.items()}
        self.fits = fits if fits in self.axes else None
        self.groups = groups
        self.kept = kept or {}
        n = self.size
        flat = {name: [None] * n for name in PER_INSTANCE}
        for g in groups:
            for name in PER_INSTANCE:
                values = np.asarray(getattr(g.result, name))
                for j, i in enumerate(g.index):
                    flat[name][i] = values[j]
        self._flat = {k: np.stack(v) for k, v in flat.items()}
        self.log_steps = groups[0].result.log_steps
        self.snapshot_steps = groups[0].result.snapshot_steps

    @classmethod
    def build(cls, study: Study, groups: list[StudyGroup]) -> StudyResult:
        return cls(study.axes, study.fits, groups)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(v.size for v in self.axes.values())

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self) -> str:
        axes = ", ".join(f"{k}: {v.size}" for k, v in self.axes.items())
        return f"StudyResult({axes}; {len(self.groups)} group(s), fits axis {self.fits!r})"

    def coords(self) -> dict[str, np.ndarray]:
        """{axis: [*shape]} each instance's coordinate."""
        if not self.axes:
            return {}
        return dict(zip(self.axes, np.meshgrid(*self.axes.values(), indexing="ij")))

    def _grid(self, flat: np.ndarray) -> np.ndarray:
        return flat.reshape(self.shape + flat.shape[1:])

    def __getattr__(self, name: str):
        if name in PER_INSTANCE:
            return self._grid(self._flat[name])
        raise AttributeError(name)

    def _stacked(self, which: str) -> dict[str, np.ndarray]:
        names = set(getattr(self.groups[0].result, which))
        out = {}
        for name in sorted(names):
            parts = [np.asarray(getattr(g.result, which)[name]) for g in self.groups]
            if len({p.shape[1:] for p in parts}) > 1:
                static = sorted(set().union(*(g.static for g in self.groups)))
                raise ConfigError(
                    f"{which} {name!r} has a different shape in each group of {static}; select one group "
                    f"first, e.g. result.sel({static[0]}=...)"
                )
            flat = np.empty((self.size, *parts[0].shape[1:]), parts[0].dtype)
            for g, p in zip(self.groups, parts):
                flat[g.index] = p
            out[name] = self._grid(flat)
        return out

    @property
    def params(self) -> dict[str, np.ndarray]:
        """{name: [*shape, ...]} (ConfigError where groups disagree on a parameter's shape: sel() one)."""
        return self._stacked("params")

    @property
    def snapshots(self) -> dict[str, np.ndarray]:
        return self._stacked("snapshots")

    @property
    def W(self) -> np.ndarray:
        return self.params["W"]

    # --- selection ----------------------------------------------------------------------------------

    def _subset(self, picks: dict[str, np.ndarray], drop: set[str]) -> StudyResult:
        """The instances whose index along each axis in `picks` is in picks[axis]; axes in `drop` (picked to
        one value) are removed."""
        index_axes = [picks.get(k, np.arange(v.size)) for k, v in self.axes.items()]
        old_flat = np.arange(self.size).reshape(self.shape)[np.ix_(*index_axes)].reshape(-1)
        new_of_old = np.full(self.size, -1)
        new_of_old[old_flat] = np.arange(old_flat.size)
        groups = []
        for g in self.groups:
            keep = new_of_old[g.index] >= 0
            if keep.any():
                groups.append(
                    StudyGroup(g.static, new_of_old[g.index][keep], _take(g.result, np.flatnonzero(keep)))
                )
        axes = {k: v[picks[k]] if k in picks else v for k, v in self.axes.items() if k not in drop}
        kept = {k: v.reshape(-1)[old_flat] for k, v in ((k, self.kept[k]) for k in self.kept)}
        result = StudyResult(axes, self.fits if self.fits not in drop else None, groups)
        result.kept = {k: v.reshape(result.shape) for k, v in kept.items()}
        return result

    def sel(self, **point) -> StudyResult:
        """The instances at the given coordinates, each axis matched to a relative 1e-6 (so density=0.1 finds a
        float32 0.1); a scalar removes the axis, a list keeps it with those values. ConfigError naming the
        stored values when nothing matches."""
        picks, drop = {}, set()
        for name, wanted in point.items():
            if name not in self.axes:
                raise ConfigError(f"no axis {name!r}; axes: {list(self.axes)}")
            values = self.axes[name]
            scalar = np.ndim(wanted) == 0
            found = []
            for w in np.atleast_1d(wanted):
                hit = np.flatnonzero(_close(values, w))
                if hit.size == 0:
                    shown = ", ".join(
                        f"{v:.6g}" if np.issubdtype(values.dtype, np.floating) else str(v)
                        for v in values[:12]
                    )
                    raise ConfigError(f"{name}={w!r} is not on the axis (values: {shown})")
                found.append(hit[0])
            picks[name] = np.asarray(found)
            if scalar:
                drop.add(name)
        return self._subset(picks, drop)

    def isel(self, **indices) -> StudyResult:
        """Like sel, by integer position along each axis."""
        picks, drop = {}, set()
        for name, i in indices.items():
            if name not in self.axes:
                raise ConfigError(f"no axis {name!r}; axes: {list(self.axes)}")
            picks[name] = np.atleast_1d(np.arange(self.axes[name].size)[i])
            if np.ndim(i) == 0:
                drop.add(name)
        return self._subset(picks, drop)

    def best(self, over: str | None = None) -> StudyResult:
        """The fit with the lowest select_loss (samples shared by every fit of a grid point) at every point
        of the other axes; its final_loss comes from the report stream, which chose nothing. Diverged fits
        are never kept; a point where every fit diverged keeps its first fit, marked diverged (its losses
        NaN). `kept[over]` says which fit was kept at each point."""
        over = over or self.fits
        if over is None or over not in self.axes:
            raise ConfigError(f"best() needs a fits axis; axes: {list(self.axes)} (give over=NAME)")
        k = list(self.axes).index(over)
        pick = pick_best(self.select_loss, axis=k)
        pick = np.where(pick < 0, 0, pick)
        flat_grid = np.arange(self.size).reshape(self.shape)
        chosen = np.take_along_axis(flat_grid, np.expand_dims(pick, k), axis=k).squeeze(k).reshape(-1)
        rest = {n: v for n, v in self.axes.items() if n != over}
        groups = []
        for g in self.groups:
            pos = {int(i): j for j, i in enumerate(g.index)}
            mine = [(new, pos[int(old)]) for new, old in enumerate(chosen) if int(old) in pos]
            if mine:
                new_index, rows = (np.asarray(x) for x in zip(*mine))
                groups.append(StudyGroup(g.static, new_index, _take(g.result, rows)))
        kept = {n: v.reshape(-1)[chosen] for n, v in self.kept.items()}
        result = StudyResult(rest, None, groups)
        result.kept = {n: v.reshape(result.shape) for n, v in kept.items()}
        result.kept[over] = pick.reshape(result.shape)
        return result

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Instance-first arrays for the run store: each axis's coordinate [N], the per-instance results,
        log_steps, and the parameters and snapshots where the groups agree on their shapes."""
        out = {name: v.reshape(-1) for name, v in self.coords().items()}
        out.update({name: self._flat[name] for name in PER_INSTANCE})
        out["log_steps"] = self.log_steps
        out.update({f"kept_{k}": v.reshape(-1) for k, v in self.kept.items()})
        for which, prefix in (("params", ""), ("snapshots", "snapshot_")):
            try:
                stacked = self._stacked(which)
            except ConfigError:
                continue
            out.update(
                {
                    f"{prefix}{k}": v.reshape(self.size, *v.shape[len(self.shape) :])
                    for k, v in stacked.items()
                }
            )
        if self.snapshot_steps.size:
            out["snapshot_steps"] = self.snapshot_steps
        return out


def _close(values: np.ndarray, wanted) -> np.ndarray:
    if np.issubdtype(values.dtype, np.floating):
        return np.isclose(values, float(wanted), rtol=1e-6, atol=1e-12)
    return values == wanted


def _take(result: SweepResult, rows: np.ndarray) -> SweepResult:
    """The SweepResult of the instances at `rows`."""
    pick = lambda tree: {k: np.asarray(v)[rows] for k, v in tree.items()}  # noqa: E731
    return SweepResult(
        params=pick(result.params),
        loss=np.asarray(result.loss)[rows],
        log_steps=result.log_steps,
        final_loss=np.asarray(result.final_loss)[rows],
        snapshots=pick(result.snapshots),
        snapshot_steps=result.snapshot_steps,
        select_loss=np.asarray(result.select_loss)[rows],
        diverged=np.asarray(result.diverged)[rows],
        eval_batches=np.asarray(result.eval_batches)[rows],
    )


def result_from_spec(spec: dict, groups: list[StudyGroup]) -> StudyResult:
    """The StudyResult of a stored study: its description (Study.describe) and each group's sweep."""
    return StudyResult(stored_axes(spec), spec.get("fits"), groups)


def stored_groups(spec: dict) -> list[tuple[dict, np.ndarray]]:
    """[(static values, flat instance indices)] of a stored study description (Study.describe), in the order
    its sweeps ran: the same as Study.groups()."""
    axes = stored_axes(spec)
    names = list(spec.get("static_axes", []))
    mesh = dict(zip(axes, (m.reshape(-1) for m in np.meshgrid(*axes.values(), indexing="ij"))))
    out = []
    for values in itertools.product(*(axes[n] for n in names)):
        mask = np.ones(next(iter(mesh.values())).size, bool)
        for n, v in zip(names, values):
            mask &= mesh[n] == v
        out.append((dict(zip(names, (v.item() for v in values))), np.flatnonzero(mask)))
    return out


def stored_axes(spec: dict) -> dict[str, np.ndarray]:
    dtypes = spec.get("axis_dtypes", {})
    return {k: np.asarray(v, dtype=dtypes.get(k)) for k, v in spec["axes"].items()}


def sweep_names(name: str, n_groups: int) -> list[str]:
    """The run store's sweep names of a study's groups: NAME alone, or NAME_0, NAME_1, ..."""
    return [name] if n_groups == 1 else [f"{name}_{i}" for i in range(n_groups)]
