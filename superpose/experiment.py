"""Running an experiment into the run store: config overrides and validation, resumable sweeps, the run's life.

Owns: the `Experiment` spec every script in experiments/ fills in; `--set key=value` parsing against the
experiment's config dataclass (superpose/overrides.py); chunk checkpoints of each sweep
(so a killed run resumes bitwise identically); NaN/inf detection between chunks; the run's life cycle
(config -> lineage -> sweeps -> results -> figures -> summary); loading experiment scripts by name; the
`python experiments/NAME.py` entry point. Does not: define any experiment's science (experiments/), train
(sweep.py), draw (plots/) or lay out files (store.py).

An experiment script provides:
    Config        frozen dataclass; defaults are the paper's full scale
    QUICK         dict of overrides for --quick (small enough for CI)
    train(cfg, ctx) -> dict of instance-first arrays   (calls ctx.sweep(name, Sweep(...)) for each sweep)
    analyze(cfg, arrays) -> summary dict with a "checks" list of {name, passed, value, expected}
    plot(cfg, arrays, out_dir) -> list of written figure paths (from the arrays alone)

Exit codes of the entry points: 0 checks passed, 1 a check failed, 2 bad input (config, run directory,
divergence), 130 interrupted (the last checkpoint is kept; `superpose resume RUN` continues).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import shutil
import signal
import sys
import threading
import time
import typing
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from superpose import runtime, store
from superpose.overrides import (  # noqa: F401  (re-exported: experiment.ConfigError etc.)
    ConfigError,
    _one_line,
    apply_overrides,
    config_from_dict,
    parse_value,
    validate_config,
)

FIGURES_DIR = Path(__file__).resolve().parents[1] / "figures"
_PACKAGE_DIR = Path(__file__).resolve().parent


class Diverged(RuntimeError):
    """NaN or inf appeared during training; the message names the instances and the checkpoint kept."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C: the last checkpoint is saved; the message says how to resume."""


def _raised_by_config_code(e: BaseException) -> bool:
    """True if the innermost frame of e's traceback is in superpose/config.py or sweep.py: a ValueError
    raised there is the library rejecting a value (TrainConfig, make_hyper, validate_hyper, Grid, Sweep),
    not a bug in the experiment script."""
    tb = e.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    path = Path(tb.tb_frame.f_code.co_filename).resolve()
    return path.parent == _PACKAGE_DIR and path.name in ("config.py", "sweep.py")


# --- the experiment spec and its context ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    config_cls: type
    train: Callable
    analyze: Callable
    plot: Callable
    quick: dict = dataclasses.field(default_factory=dict)
    description: str = ""

    def make_config(self, quick: bool = False, overrides: Sequence[str] = ()):
        """The validated config: defaults, then QUICK if `quick`, then each "key=value" override."""
        try:
            cfg = self.config_cls(**(self.quick if quick else {}))
        except (ValueError, TypeError) as e:
            raise ConfigError(f"invalid config: {_one_line(e)}") from None
        return apply_overrides(cfg, overrides)

    @property
    def script(self) -> str | None:
        try:
            return str(Path(inspect.getfile(self.train)).resolve())
        except (TypeError, OSError):
            return None


def result_arrays(result, prefix: str = "") -> dict[str, np.ndarray]:
    """A SweepResult as flat named arrays (params under their names, snapshots as snapshots_<name>)."""
    out = {f"{prefix}{k}": v for k, v in result.params.items()}
    out[f"{prefix}loss"] = result.loss
    out[f"{prefix}log_steps"] = result.log_steps
    out[f"{prefix}final_loss"] = result.final_loss
    if result.snapshot_steps.size:
        out.update({f"{prefix}snapshots_{k}": v for k, v in result.snapshots.items()})
        out[f"{prefix}snapshot_steps"] = result.snapshot_steps
    return out


def _result_from_arrays(arrays: dict, param_names, path: Path, n_instances: int):
    from superpose.sweep import SweepResult

    needed = [*param_names, "loss", "log_steps", "final_loss"]
    missing = [k for k in needed if k not in arrays]
    if missing:
        raise store.RunError(f"corrupt file: {path} (missing arrays {missing})")
    if any(arrays[k].shape[:1] != (n_instances,) for k in (*param_names, "loss", "final_loss")):
        raise store.RunError(f"{path} does not hold {n_instances} instances: the sweep's config changed")
    return SweepResult(
        params={k: arrays[k] for k in param_names},
        loss=arrays["loss"],
        log_steps=arrays["log_steps"],
        final_loss=arrays["final_loss"],
        snapshots={k[len("snapshots_") :]: v for k, v in arrays.items() if k.startswith("snapshots_")},
        snapshot_steps=arrays.get("snapshot_steps", np.zeros((0,), np.int32)),
    )


def _pad(a: np.ndarray, n_padded: int) -> np.ndarray:
    """[n, ...] -> [n_padded, ...] repeating the last row, as Sweep pads its instance axis."""
    return np.concatenate([a, np.repeat(a[-1:], n_padded - a.shape[0], axis=0)]) if n_padded > len(a) else a


class Context:
    """What an experiment's train() sees: resumable sweeps inside one run directory, and progress.

    devices: if given, every sweep is re-placed onto these devices (its instance axis sharded over them),
    so experiment scripts build `Sweep(...)` without a devices argument and `--devices K` still applies.
    """

    def __init__(self, run: store.Run, progress=None, devices=None) -> None:
        self.run = run
        self.progress = progress
        self.devices = list(devices) if devices is not None else None
        self.sweeps: dict[str, dict] = {}  # name -> lineage record of that sweep
        self._seen: set[str] = set()

    def _placed(self, sweep):
        from superpose.config import Hyper
        from superpose.sweep import Sweep

        if self.devices is None or list(sweep.sharding.mesh.devices.flat) == self.devices:
            return sweep
        n = sweep.n_instances
        hyper = Hyper(*(np.asarray(a)[:n] for a in sweep.hyper))
        seeds = np.asarray(sweep.seeds)[:n]
        return Sweep(sweep.model, sweep.sampler, sweep.cfg, hyper, seeds, int(sweep.root_seed), self.devices)

    def _record(self, name: str, **fields) -> None:
        """Merge `fields` into the sweep's entry in lineage.json (kept across sessions of a resumed run)."""
        lineage = self.run.lineage() if self.run.file("lineage.json").exists() else {}
        sweeps = lineage.get("sweeps") if isinstance(lineage.get("sweeps"), dict) else {}
        if name not in self.sweeps:
            previous = sweeps.get(name)
            self.sweeps[name] = dict(previous) if isinstance(previous, dict) else {}
        self.sweeps[name].update(fields)
        self.run.update_lineage(sweeps={**sweeps, name: self.sweeps[name]})

    def _load_checkpoint(self, path: Path, sweep, template):
        """(state [padded], next chunk, loss log [padded, logs]) from a checkpoint, checked against the
        sweep's shapes. Checkpoints hold the unpadded instances, so a resume may use other devices."""
        import jax

        ckpt = store.read_npz(path)
        leaves, treedef = jax.tree.flatten(template)
        n, cfg = sweep.n_instances, sweep.cfg
        try:
            arrays = [ckpt[f"leaf_{i}"] for i in range(len(leaves))]
            next_chunk, loss = int(ckpt["next_chunk"]), ckpt["loss"]
        except (KeyError, TypeError, ValueError):
            raise store.RunError(f"corrupt file: {path} (missing state arrays)") from None
        for a, t in zip(arrays, leaves):
            if a.shape != (n, *t.shape[1:]) or a.dtype != t.dtype:
                raise store.RunError(f"{path} does not match the sweep's shapes: the config or code changed")
        if not 0 < next_chunk <= cfg.n_chunks or loss.shape != (
            n,
            next_chunk * cfg.chunk_steps // cfg.log_every,
        ):
            raise store.RunError(f"corrupt file: {path} (inconsistent chunk count)")
        state = jax.tree.unflatten(treedef, [_pad(a, sweep.n_padded) for a in arrays])
        return state, next_chunk, _pad(loss, sweep.n_padded)

    def sweep(self, name: str, sweep):
        """Run `sweep` to the end, checkpointing after every chunk; a finished sweep is loaded, not rerun.

        Between chunks: the new loss windows and all float state are checked for NaN/inf (Diverged names
        the instances; the previous checkpoint stays), then the state is written atomically to
        checkpoints/NAME.npz. Returns the SweepResult.
        """
        import jax

        if not store.NAME.match(name):
            raise ValueError(f"sweep name {name!r}: letters, digits and _ only")
        if name in self._seen:
            raise ValueError(f"sweep name {name!r} used twice in one run")
        self._seen.add(name)
        sweep = self._placed(sweep)
        cfg, n = sweep.cfg, sweep.n_instances
        seeds = np.asarray(sweep.seeds)[:n]
        self._record(
            name,
            instances=n,
            n_steps=cfg.n_steps,
            chunk_steps=cfg.chunk_steps,
            root_seed=int(sweep.root_seed),
            seeds=np.unique(seeds).tolist(),
            devices=[str(d) for d in sweep.sharding.mesh.devices.flat],
        )
        template = jax.eval_shape(sweep.init)  # shapes only: nothing compiles
        done_path, ckpt_path = self.run.sweep_path(name), self.run.checkpoint_path(name)
        if done_path.exists():
            self._record(name, done=True)
            return _result_from_arrays(store.read_npz(done_path), list(template.params), done_path, n)
        state, start_chunk, loss_log = None, 0, None
        if ckpt_path.exists():
            state, start_chunk, loss_log = self._load_checkpoint(ckpt_path, sweep, template)

        windows = cfg.chunk_steps // cfg.log_every
        lr = np.asarray(sweep.hyper.lr)[:n]
        chunk_times: list[float] = []
        last = [time.perf_counter()]

        def on_chunk(chunk: int, state, loss_so_far: np.ndarray) -> None:
            now = time.perf_counter()
            chunk_times.append(now - last[0])
            last[0] = now
            leaves = [np.asarray(leaf)[:n] for leaf in jax.device_get(jax.tree.leaves(state))]
            finite = np.isfinite(loss_so_far[:n, -windows:]).all(axis=1)
            for leaf in leaves:
                if np.issubdtype(leaf.dtype, np.floating):
                    finite &= np.isfinite(leaf.reshape(n, -1)).all(axis=1)
            if not finite.all():
                bad = np.flatnonzero(~finite)
                named = ", ".join(f"#{i} (seed {seeds[i]}, lr {lr[i]:.3g})" for i in bad[:8])
                kept = (
                    f"the checkpoint after chunk {chunk} ({ckpt_path}) is kept"
                    if chunk > 0
                    else "no checkpoint had been written"
                )
                raise Diverged(
                    f"sweep {name!r} diverged in chunk {chunk + 1}/{cfg.n_chunks}: NaN/inf in the loss or "
                    f"weights of {bad.size} of {n} instances: {named}{', ...' if bad.size > 8 else ''}; "
                    f"{kept}. Lower the learning rate."
                )
            if chunk + 1 < cfg.n_chunks:  # after the last chunk the finished sweep is written instead
                arrays = {f"leaf_{i}": leaf for i, leaf in enumerate(leaves)}
                arrays.update(next_chunk=np.int64(chunk + 1), loss=loss_so_far[:n])
                store.write_npz(ckpt_path, arrays)
            if self.progress is not None:
                self.progress.update(name, chunk + 1, cfg.n_chunks, cfg.chunk_steps, loss_so_far[:n])

        if self.progress is not None:
            self.progress.start(name, start_chunk, cfg.n_chunks, n)
        t0 = time.perf_counter()
        try:
            result = sweep.run(state=state, start_chunk=start_chunk, loss_log=loss_log, on_chunk=on_chunk)
        finally:
            if self.progress is not None:
                self.progress.close()
            prior = self.sweeps.get(name, {}).get("train_s", 0.0)
            self._record(
                name,
                train_s=round(prior + time.perf_counter() - t0, 3),
                resumed_at_chunk=start_chunk or None,
                first_chunk_s=round(chunk_times[0], 3) if chunk_times else None,
                later_chunk_s=round(float(np.median(chunk_times[1:])), 4) if len(chunk_times) > 1 else None,
            )
        store.write_npz(done_path, result_arrays(result))
        ckpt_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            ckpt_path.parent.rmdir()  # only if empty: other sweeps may still hold checkpoints
        self._record(name, done=True)
        return result


# --- the run's life cycle ------------------------------------------------------------------------------

_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


class _CompileTimer:
    """Sums the tracing, lowering and XLA-compile durations that JAX reports (jax.monitoring) while active.

    Process-wide: compiles in other threads during the window count too.
    """

    def __init__(self) -> None:
        self.seconds = 0.0

    def _listener(self, event: str, duration: float, **_) -> None:
        if event in _COMPILE_EVENTS:
            self.seconds += duration

    def __enter__(self):
        import jax

        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def __exit__(self, *exc) -> None:
        import jax

        jax.monitoring.unregister_event_duration_listener(self._listener)


def write_config(run: store.Run, exp: Experiment, cfg, **options) -> None:
    """config.json: the experiment, its script, the run options (quick, overrides, devices, figures_dir)
    and the full resolved config."""
    store.write_json(
        run.file("config.json"),
        {"experiment": exp.name, "script": exp.script, **options, "config": dataclasses.asdict(cfg)},
    )


def _begin_session(run: store.Run) -> dict:
    """Append this process's session to lineage.json (the first one also records code and environment)."""
    code = store.code_version()
    env = store.environment()
    session = {
        "started": store.now(),
        "command": sys.argv,
        "cwd": str(Path.cwd()),
        "host": env["host"],
        "devices": env["devices"],
        **code,
    }
    path = run.file("lineage.json")
    lineage = run.lineage() if path.exists() else {}
    sessions = lineage.get("sessions") if isinstance(lineage.get("sessions"), list) else []
    if not sessions:
        lineage.update(code, environment=env, command=sys.argv, started=session["started"])
    elif any(code[k] != lineage.get(k) for k in code):
        before, now = lineage.get("git_commit"), code["git_commit"]
        what = f"commit {before} -> {now}" if before != now else "uncommitted changes differ"
        print(
            f"warning: the code changed since the run began ({what}); resumed arrays are bitwise identical "
            "to an uninterrupted run's only for unchanged code",
            file=sys.stderr,
        )
    lineage.update(experiment=run.experiment, run_id=run.id, error=None, sessions=[*sessions, session])
    store.write_json(path, lineage)
    return lineage


def _end_session(
    run: store.Run, t0: float, timer: _CompileTimer, train_s, outcome: str, error: str | None = None
) -> None:
    """Close this process's session in lineage.json and update the run's totals (summed over sessions)."""
    lineage = run.lineage()
    sessions = lineage.get("sessions") or [{}]
    ended = store.now()
    sessions[-1].update(
        ended=ended,
        wall_s=round(time.perf_counter() - t0, 3),
        compile_s=round(timer.seconds, 3),
        train_s=train_s,
        outcome=outcome,
    )
    total = {k: round(sum(s.get(k) or 0.0 for s in sessions), 3) for k in ("wall_s", "compile_s", "train_s")}
    run.update_lineage(
        sessions=sessions, **total, error=error, **({"ended": ended} if outcome == "complete" else {})
    )


def execute(
    exp: Experiment,
    cfg,
    run: store.Run,
    *,
    quick: bool = False,
    progress=None,
    figures_dir=None,
    devices=None,
) -> dict:
    """Train (resuming whatever the run already holds), save results, plot, then write the summary.

    Holds the run's lock throughout. Returns the summary. Raises Interrupted on Ctrl-C, Diverged on NaN/inf,
    ConfigError when the library rejects a value while building sweeps.
    """
    with run.lock():
        run.clean_temp()
        if not run.file("config.json").exists():
            write_config(run, exp, cfg, quick=quick, overrides=[], devices=None, figures_dir=None)
        _begin_session(run)
        t0 = time.perf_counter()
        timer, train_s = _CompileTimer(), None
        ctx = Context(run, progress, devices)
        try:
            with timer:
                arrays = exp.train(cfg, ctx)
            train_s = round(time.perf_counter() - t0, 3)
            store.write_npz(run.file("results.npz"), arrays)
            summary = exp.analyze(cfg, arrays)
            figures = [Path(p) for p in exp.plot(cfg, arrays, run.path)]
        except KeyboardInterrupt:
            _end_session(run, t0, timer, train_s, "interrupted")
            raise Interrupted(
                f"interrupted: the last checkpoint is saved; resume with: superpose resume {run.path}"
            ) from None
        except BaseException as e:
            rejected = (
                isinstance(e, ValueError) and not isinstance(e, ConfigError) and _raised_by_config_code(e)
            )
            error = ConfigError(f"invalid config: {_one_line(e)}") if rejected else e
            _end_session(run, t0, timer, train_s, "failed", f"{error.__class__.__name__}: {_one_line(error)}")
            if rejected:
                raise error from None
            raise
        if figures_dir is not None:
            for fig in figures:
                store.copy_file(fig, Path(figures_dir) / fig.name)
        _end_session(run, t0, timer, train_s, "complete")
        summary = {**summary, "figures": [f.name for f in figures]} if isinstance(summary, dict) else summary
        store.write_json(run.file("summary.json"), summary)  # last: the run is complete from here on
    return summary


def format_checks(summary: dict) -> str:
    lines = []
    for check in summary.get("checks", []):
        mark = "PASS" if check["passed"] else "FAIL"
        lines.append(f"[{mark}] {check['name']}: {check.get('value')} (expected {check.get('expected')})")
    return "\n".join(lines)


def checks_passed(summary: dict) -> bool:
    return all(c["passed"] for c in summary.get("checks", []))


def resolve_devices(count: int | None):
    """The first `count` JAX devices (None: let each Sweep use all of them)."""
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"--devices must be a positive integer, got {count!r}")
    import jax

    available = jax.devices()
    if count > len(available):
        raise ConfigError(
            f"--devices {count}: only {len(available)} {jax.default_backend()} device(s) available"
        )
    return available[:count]


def execute_and_report(exp, cfg, run, *, quick, quiet, figures_dir, devices) -> int:
    from superpose.progress import Progress

    summary = execute(
        exp, cfg, run, quick=quick, progress=Progress(quiet), figures_dir=figures_dir, devices=devices
    )
    if summary.get("checks"):
        print(format_checks(summary))
    print(f"done: {run.path}" + ("" if checks_passed(summary) else " (a check FAILED)"), flush=True)
    return 0 if checks_passed(summary) else 1


def run_experiment(exp: Experiment, args) -> int:
    """Create a run, execute it, print the checks. Returns the exit code (1 if a check failed).

    args: the namespace of `add_run_arguments` (quick, overrides, runs_dir, quiet, figures_dir, devices).
    """
    cfg = exp.make_config(args.quick, args.overrides)
    count = getattr(args, "devices", None)
    devices = resolve_devices(count)
    run = store.Run.create(exp.name, args.runs_dir)
    figures_dir = args.figures_dir if args.figures_dir is not None else (None if args.quick else FIGURES_DIR)
    write_config(
        run,
        exp,
        cfg,
        quick=bool(args.quick),
        overrides=list(args.overrides),
        devices=count,
        figures_dir=str(Path(figures_dir).resolve()) if figures_dir is not None else None,
    )
    print(f"run {run.path}", flush=True)
    try:
        return execute_and_report(
            exp, cfg, run, quick=args.quick, quiet=args.quiet, figures_dir=figures_dir, devices=devices
        )
    except ConfigError:
        # Rejected before anything was trained: the run holds nothing worth keeping.
        if not run.file("sweeps").exists() and not run.file("checkpoints").exists():
            shutil.rmtree(run.path, ignore_errors=True)
        raise


# --- command-line plumbing shared with cli.py ----------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: `error: ...` on stderr and exit code 2, no usage dump."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def add_run_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="a small version of the experiment (for CI)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set n_steps=2000 (repeatable)",
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=store.DEFAULT_ROOT, help="run store root (default: runs)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--devices",
        type=int,
        default=None,
        metavar="K",
        help="shard each sweep's instances over the first K devices (default: all)",
    )
    parser.add_argument(
        "--figures-dir",
        type=Path,
        default=None,
        help="also copy figures here (default: figures/ for full runs, nowhere for --quick)",
    )


def install_interrupt_handler() -> None:
    """Ctrl-C raises KeyboardInterrupt even if the parent shell started us with SIGINT ignored."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def guarded(fn: Callable[[], int]) -> int:
    """Run fn, turning bad input into `error: ...` + exit 2 and Ctrl-C into a resume hint + exit 130."""
    try:
        return fn()
    except (ConfigError, store.RunError, Diverged) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(exp: Experiment, argv: Sequence[str] | None = None) -> int:
    """Entry point of `python experiments/NAME.py`; the same as `superpose run NAME`."""
    parser = ArgumentParser(
        prog=f"experiments/{exp.name}.py",
        description=exp.description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    runtime.use_every_cpu_core()  # before JAX starts: one device per core, instances sharded over them
    install_interrupt_handler()
    return guarded(lambda: run_experiment(exp, args))
