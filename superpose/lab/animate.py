"""Animations of a stored run: `superpose animate RUN`, from config.json and results.npz alone (never trains).

Owns: choosing instances (`--instance I`, `--where KEY=VALUE`), the options every experiment's `animate`
receives, and the default animation of any run that kept snapshots of a tied model (snapshot_W [instances,
k, m, n] beside snapshot_steps [k]). Does not: draw (superpose.plots.animation) or lay out files (store.py).

An experiment may define animate(cfg, arrays, out_dir, options) -> [paths] beside `plot`; without one, or
when instances were chosen on the command line, `default_animate` draws the chosen instances.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from superpose.config import ConfigError
from superpose.lab import store

NOT_COORDINATES = {"final_loss", "loss", "log_steps", "snapshot_steps"}


@dataclasses.dataclass(frozen=True)
class AnimateOptions:
    """What `superpose animate` passes to an experiment's animate().

    instances: the instances chosen with --instance/--where (None: the experiment chooses)
    fps, format: frames per second, "gif" or "mp4"
    progress: progress(frame, n_frames) as frames render (None: silent); pass it to the plots functions
    """

    instances: tuple[int, ...] | None = None
    fps: int = 12
    format: str = "gif"
    progress: Callable[[int, int], None] | None = None

    @property
    def render(self) -> dict:
        """fps, fmt and progress as the plots' animation functions take them: `geometry_animation(..., **options.render)`."""
        return {"fps": self.fps, "fmt": self.format, "progress": self.progress}

    def __post_init__(self) -> None:
        from superpose.plots.animation import check_format

        if (
            isinstance(self.fps, bool)
            or not isinstance(self.fps, (int, np.integer))
            or not 1 <= self.fps <= 100
        ):
            raise ConfigError(f"--fps must be an integer in [1, 100], got {self.fps!r}")
        check_format(self.format)


def snapshot_instances(arrays: dict) -> int:
    """How many instances kept snapshots (the leading axis of every snapshot_<param> array)."""
    params = snapshot_params(arrays)
    if not params:
        raise store.RunError(
            "this run kept no weight snapshots (results.npz has no snapshot_steps); rerun the experiment with "
            "snapshots (an experiment keeps them by passing snapshot_steps to its TrainConfig)"
        )
    return int(arrays[f"snapshot_{params[0]}"].shape[0])


def snapshot_params(arrays: dict) -> list[str]:
    """Names of the snapshotted parameters (W, b; or W1, W2, b for untied models)."""
    if "snapshot_steps" not in arrays:
        return []
    return [k[len("snapshot_") :] for k in arrays if k.startswith("snapshot_") and k != "snapshot_steps"]


def coordinates(arrays: dict, n_instances: int) -> list[str]:
    """Names of the stored per-instance coordinates: 1-D arrays with one value per instance (density, seed)."""
    return [
        k
        for k, v in arrays.items()
        if k not in NOT_COORDINATES
        and np.ndim(v) == 1
        and len(v) == n_instances
        and np.issubdtype(v.dtype, np.number)
    ]


def select_instances(
    arrays: dict, instance: int | None = None, where: Sequence[str] = ()
) -> tuple[int, ...] | None:
    """The instances named by --instance I or by every --where KEY=VALUE (floats matched to 1e-3 relative).

    None if neither was given. Raises ConfigError, naming what is stored, when nothing matches.
    """
    if instance is None and not where:
        return None
    n = snapshot_instances(arrays)
    if instance is not None:
        if where:
            raise ConfigError("give --instance or --where, not both")
        if isinstance(instance, bool) or not 0 <= instance < n:
            raise ConfigError(
                f"--instance must be in [0, {n - 1}] ({n} instances kept snapshots), got {instance}"
            )
        return (int(instance),)
    coords = coordinates(arrays, n)
    chosen = np.ones(n, dtype=bool)
    for item in where:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--where expects KEY=VALUE, got {item!r}")
        if key not in coords:
            known = ", ".join(coords) or "none"
            raise ConfigError(
                f"--where {key}: not a per-instance coordinate of this run (coordinates: {known})"
            )
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"--where {key}={text}: not a number") from None
        stored = np.asarray(arrays[key], dtype=np.float64)
        match = np.isclose(stored, value, rtol=1e-3, atol=1e-12)
        if not match.any():
            values = np.unique(stored)
            shown = ", ".join(f"{v:.4g}" for v in values[:12]) + (", ..." if values.size > 12 else "")
            raise ConfigError(f"--where {key}={text}: no instance has it (stored values: {shown})")
        chosen &= match
    if not chosen.any():
        raise ConfigError(f"no instance matches every --where ({' and '.join(where)})")
    return tuple(int(i) for i in np.flatnonzero(chosen))


def default_animate(cfg, arrays: dict, out_dir, options: AnimateOptions, name: str = "run") -> list[Path]:
    """One animation per chosen instance of a tied model (W [m, n] snapshots): geometry, loss, step.

    Without chosen instances: the only instance, or an error asking for --instance/--where.
    """
    from superpose.plots.animation import Panel, geometry_animation

    n = snapshot_instances(arrays)
    if "snapshot_W" not in arrays:
        params = ", ".join(snapshot_params(arrays))
        raise store.RunError(
            f"no default animation for snapshots of {params}: the default draws tied models' W; "
            "the experiment's own animate() must draw untied ones"
        )
    instances = options.instances
    if instances is None:
        if n != 1:
            coords = ", ".join(coordinates(arrays, n)) or "none stored"
            raise ConfigError(
                f"{n} instances kept snapshots: choose with --instance I or --where KEY=VALUE (coordinates: {coords})"
            )
        instances = (0,)
    coords = coordinates(arrays, n)
    loss = arrays.get("loss")
    log_steps = arrays.get("log_steps")
    has_loss = loss is not None and log_steps is not None and np.ndim(loss) == 2 and loss.shape[0] == n
    importance = arrays.get("importance")
    paths = []
    for i in instances:
        label = ", ".join(f"{k} {_fmt(arrays[k][i])}" for k in coords) or f"instance {i}"
        imp = (
            importance[i]
            if importance is not None and np.ndim(importance) == 2 and len(importance) == n
            else None
        )
        panel = Panel(
            arrays["snapshot_W"][i], title=label, importance=imp, loss=loss[i] if has_loss else None
        )
        paths.append(
            geometry_animation(
                Path(out_dir) / f"{name}_instance{i}",
                [panel],
                arrays["snapshot_steps"],
                log_steps if has_loss else None,
                title=name,
                fps=options.fps,
                fmt=options.format,
                progress=options.progress,
            )
        )
    return paths


def _fmt(value) -> str:
    value = np.asarray(value).item()
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def animate_run(
    run: store.Run, out_dir=None, options: AnimateOptions | None = None, instance=None, where=()
) -> list[Path]:
    """Write a run's animations from config.json and results.npz alone: the experiment's animate() when no
    instance was chosen and it has one, else the default. Returns the paths written."""
    from superpose.lab.registry import experiment_of_run

    exp, cfg = experiment_of_run(run)
    arrays = run.results()
    snapshot_instances(arrays)  # a run without snapshots gets the one-line reason, whoever animates it
    options = options or AnimateOptions()
    chosen = select_instances(arrays, instance, where)
    options = dataclasses.replace(options, instances=chosen)
    out = Path(out_dir or run.path)
    try:
        if chosen is None and exp.animate is not None:
            return [Path(p) for p in exp.animate(cfg, arrays, out, options)]
        return default_animate(cfg, arrays, out, options, name=exp.name)
    except KeyError as e:
        raise store.RunError(f"{run.file('results.npz')} lacks the array {e}") from None
