"""Running an experiment into the run store: config overrides, resumable sweeps, checks, figures.

Owns: the `Experiment` spec every script in experiments/ fills in, `--set key=value` parsing against the
experiment's config dataclass, chunk checkpoints of each sweep (so a killed run resumes bitwise
identically), and the run's life cycle (config -> lineage -> sweeps -> results -> summary -> figures).
Does not: define any experiment's science (experiments/), train (sweep.py) or draw (plots.py).

An experiment script provides:
    Config        frozen dataclass; defaults are the paper's full scale
    QUICK         dict of overrides for --quick (small enough for CI)
    train(cfg, ctx) -> dict of instance-first arrays   (calls ctx.sweep(name, sweep) for each Sweep)
    analyze(cfg, arrays) -> summary dict with a "checks" list of {name, passed, value, expected}
    plot(cfg, arrays, out_dir) -> list of written figure paths (from the arrays alone)
"""

from __future__ import annotations

import dataclasses
import sys
import time
import typing
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from superpose import store
from superpose.sweep import Sweep, SweepResult


class ConfigError(ValueError):
    """Bad configuration input; the message is one line for the user."""


# --- config overrides ----------------------------------------------------------------------------------


def _parse_value(name: str, text: str, typ):
    origin = typing.get_origin(typ)
    try:
        if typ is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(text)
        if typ is float:
            return float(text)
        if typ is str:
            return text
        if origin is tuple:
            (item,) = {a for a in typing.get_args(typ) if a is not Ellipsis}
            parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
            return tuple(_parse_value(name, p.strip(), item) for p in parts)
    except ValueError:
        pass
    else:
        raise ConfigError(f"--set {name}: unsupported field type {typ}")
    raise ConfigError(f"--set {name}={text}: expected a value of type {getattr(typ, '__name__', typ)}")


def apply_overrides(cfg, overrides: Sequence[str]):
    """cfg with each "key=value" applied, values parsed by the field's annotated type."""
    hints = typing.get_type_hints(type(cfg))
    changes = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, text = item.split("=", 1)
        key = key.strip()
        if key not in hints:
            known = ", ".join(f.name for f in dataclasses.fields(cfg))
            raise ConfigError(f"--set {key}: unknown config key (known: {known})")
        changes[key] = _parse_value(key, text.strip(), hints[key])
    try:
        return dataclasses.replace(cfg, **changes)
    except (ValueError, TypeError) as e:
        raise ConfigError(str(e)) from None


def config_from_dict(config_cls, values: dict):
    hints = typing.get_type_hints(config_cls)
    kwargs = {}
    for k, v in values.items():
        if k not in hints:
            raise ConfigError(f"config.json: unknown key {k!r} for {config_cls.__name__}")
        kwargs[k] = tuple(v) if typing.get_origin(hints[k]) is tuple else v
    return config_cls(**kwargs)


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
        try:
            cfg = self.config_cls(**(self.quick if quick else {}))
        except (ValueError, TypeError) as e:
            raise ConfigError(str(e)) from None
        return apply_overrides(cfg, overrides)


def result_arrays(result: SweepResult, prefix: str = "") -> dict[str, np.ndarray]:
    """A SweepResult as flat named arrays (params under their names, snapshots as snapshots_<name>)."""
    out = {f"{prefix}{k}": v for k, v in result.params.items()}
    out[f"{prefix}loss"] = result.loss
    out[f"{prefix}log_steps"] = result.log_steps
    out[f"{prefix}final_loss"] = result.final_loss
    if result.snapshot_steps.size:
        out.update({f"{prefix}snapshots_{k}": v for k, v in result.snapshots.items()})
        out[f"{prefix}snapshot_steps"] = result.snapshot_steps
    return out


def _result_from_arrays(arrays: dict, param_names) -> SweepResult:
    return SweepResult(
        params={k: arrays[k] for k in param_names},
        loss=arrays["loss"],
        log_steps=arrays["log_steps"],
        final_loss=arrays["final_loss"],
        snapshots={k[len("snapshots_") :]: v for k, v in arrays.items() if k.startswith("snapshots_")},
        snapshot_steps=arrays.get("snapshot_steps", np.zeros((0,), np.int32)),
    )


class Diverged(RuntimeError):
    """NaN or inf appeared during training."""


class Context:
    """What an experiment's train() sees: resumable sweeps inside one run directory, and progress."""

    def __init__(self, run: store.Run, progress=None) -> None:
        self.run = run
        self.progress = progress
        self.timings: dict[str, dict] = {}

    def sweep(self, name: str, sweep: Sweep) -> SweepResult:
        """Run `sweep` to the end, checkpointing after every chunk; a finished sweep is loaded, not rerun."""
        done_path = self.run.sweep_path(name)
        template = sweep.init()
        param_names = list(template.params)
        if done_path.exists():
            return _result_from_arrays(store.read_npz(done_path), param_names)
        state, start_chunk, loss_log = None, 0, None
        ckpt_path = self.run.checkpoint_path(name)
        if ckpt_path.exists():
            ckpt = store.read_npz(ckpt_path)
            import jax

            leaves, treedef = jax.tree.flatten(template)
            try:
                state = jax.tree.unflatten(treedef, [ckpt[f"leaf_{i}"] for i in range(len(leaves))])
            except KeyError:
                raise store.RunError(f"corrupt file: {ckpt_path} (missing state arrays)") from None
            start_chunk = int(ckpt["next_chunk"])
            loss_log = ckpt["loss"]
        else:
            state = template

        def on_chunk(chunk: int, state, loss_so_far: np.ndarray) -> None:
            import jax

            finite = np.isfinite(loss_so_far[:, -1])
            if not finite.all():
                bad = np.flatnonzero(~finite[: sweep.n_instances])
                raise Diverged(
                    f"sweep {name!r}: loss became NaN/inf in chunk {chunk} for instances {bad.tolist()[:20]}; "
                    "the last good checkpoint is kept"
                )
            leaves = jax.device_get(jax.tree.leaves(state))
            arrays = {f"leaf_{i}": leaf for i, leaf in enumerate(leaves)}
            arrays.update(next_chunk=np.int64(chunk + 1), loss=loss_so_far)
            store.write_npz(ckpt_path, arrays)
            if self.progress is not None:
                self.progress.update(name, chunk + 1, sweep.cfg.n_chunks, sweep.cfg.chunk_steps, loss_so_far)

        if self.progress is not None:
            self.progress.start(name, start_chunk, sweep.cfg.n_chunks, sweep.n_instances)
        t0 = time.perf_counter()
        result = sweep.run(state=state, start_chunk=start_chunk, loss_log=loss_log, on_chunk=on_chunk)
        if self.progress is not None:
            self.progress.close()
        self.timings[name] = {"wall_s": round(time.perf_counter() - t0, 3), "instances": sweep.n_instances}
        store.write_npz(done_path, result_arrays(result))
        ckpt_path.unlink(missing_ok=True)
        return result


# --- the run's life cycle ------------------------------------------------------------------------------

FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"


def execute(exp: Experiment, cfg, run: store.Run, *, quick: bool, progress=None, figures_dir=None) -> dict:
    """Train (resuming whatever the run already holds), save results, check, plot. Returns the summary."""
    if not run.file("config.json").exists():
        store.write_json(
            run.file("config.json"),
            {"experiment": exp.name, "quick": quick, "config": dataclasses.asdict(cfg)},
        )
    started = time.perf_counter()
    run.update_lineage(
        **store.code_version(),
        environment=store.environment(),
        command=sys.argv,
        started=run.lineage().get("started", store.now())
        if run.file("lineage.json").exists()
        else store.now(),
        error=None,
    )
    ctx = Context(run, progress)
    try:
        arrays = exp.train(cfg, ctx)
    except BaseException as e:
        run.update_lineage(error=f"{e.__class__.__name__}: {e}" if str(e) else e.__class__.__name__)
        raise
    store.write_npz(run.file("results.npz"), arrays)
    summary = exp.analyze(cfg, arrays)
    run.update_lineage(
        ended=store.now(), train_wall_s=round(time.perf_counter() - started, 3), sweeps=ctx.timings
    )
    store.write_json(run.file("summary.json"), summary)
    figures = exp.plot(cfg, arrays, run.path)
    if figures_dir is not None:
        Path(figures_dir).mkdir(parents=True, exist_ok=True)
        for fig in figures:
            (Path(figures_dir) / Path(fig).name).write_bytes(Path(fig).read_bytes())
    return summary


def format_checks(summary: dict) -> str:
    lines = []
    for check in summary.get("checks", []):
        mark = "PASS" if check["passed"] else "FAIL"
        lines.append(f"[{mark}] {check['name']}: {check.get('value')} (expected {check.get('expected')})")
    return "\n".join(lines)


def checks_passed(summary: dict) -> bool:
    return all(c["passed"] for c in summary.get("checks", []))


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
        "--figures-dir",
        type=Path,
        default=None,
        help="also copy figures here (default: figures/ for full runs, nowhere for --quick)",
    )


def run_experiment(exp: Experiment, args) -> int:
    """Create a run, execute it, print the checks. Returns the exit code (1 if a check failed)."""
    from superpose.progress import Progress

    cfg = exp.make_config(args.quick, args.overrides)
    run = store.Run.create(exp.name, args.runs_dir)
    print(f"run {run.path}", flush=True)
    figures_dir = args.figures_dir if args.figures_dir is not None else (None if args.quick else FIGURES_DIR)
    summary = execute(exp, cfg, run, quick=args.quick, progress=Progress(args.quiet), figures_dir=figures_dir)
    print(format_checks(summary))
    return 0 if checks_passed(summary) else 1


def main(exp: Experiment, argv: Sequence[str] | None = None) -> int:
    """Entry point of `python experiments/NAME.py`; the same as `superpose run NAME`."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"experiments/{exp.name}.py", description=exp.description)
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_experiment(exp, args)
    except (ConfigError, store.RunError, Diverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: the last checkpoint is saved; continue with `superpose resume RUN`", file=sys.stderr
        )
        return 130
