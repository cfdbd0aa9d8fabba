"""Running an experiment into the run store, and the entry points around it.

Owns: the run's life cycle (config -> lineage -> sweeps -> results -> figures -> summary, `execute`),
creating a run from command-line arguments (`run_experiment`), the options shared by `superpose run` and
`python experiments/NAME.py`, and turning errors into exit codes (`guarded`): 0 checks passed, 1 a check
failed, 2 bad input (config, run directory, divergence), 130 interrupted (the last checkpoint is kept;
`superpose resume RUN` continues). Does not: define experiments (experiment.py, experiments/) or train.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import sys
import threading
import time
import typing
from collections.abc import Callable, Sequence
from pathlib import Path

from superpose.config import ConfigError
from superpose.lab import distributed, runtime, store
from superpose.lab.experiment import Context, Diverged, Experiment, checks_passed, format_checks
from superpose.lab.lineage import CompileTimer, begin_session, end_session, write_config
from superpose.lab.overrides import one_line

# Full runs copy their figures here, relative to the working directory like runs/ (in a checkout: its
# figures/ folder, the README gallery's).
FIGURES_DIR = Path("figures")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C: the last checkpoint is saved; the message says how to resume."""


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
        begin_session(run)
        t0 = time.perf_counter()
        timer, train_s = CompileTimer(), None
        ctx = Context(run, progress, devices)
        try:
            with timer:
                arrays = exp.train(cfg, ctx)
            train_s = round(time.perf_counter() - t0, 3)
            store.write_npz(run.file("results.npz"), arrays)
            summary = exp.analyze(cfg, arrays)
            if exp.probes is not None:  # probes.npz and measured importances, from the stored weights
                from superpose.lab import probes

                summary = probes.attach(exp.probes, arrays, run, summary)
            figures = [Path(p) for p in exp.plot(cfg, arrays, run.path)]
        except KeyboardInterrupt:
            end_session(run, t0, timer, train_s, "interrupted")
            raise Interrupted(f"interrupted: {saved_state(run)}") from None
        except BaseException as e:
            end_session(run, t0, timer, train_s, "failed", f"{e.__class__.__name__}: {one_line(e)}")
            raise
        if figures_dir is not None:
            for fig in figures:
                store.copy_file(fig, Path(figures_dir) / fig.name)
        end_session(run, t0, timer, train_s, "complete")
        summary = {**summary, "figures": [f.name for f in figures]} if isinstance(summary, dict) else summary
        store.write_json(run.file("summary.json"), summary)  # last: the run is complete from here on
    return summary


def saved_state(run: store.Run) -> str:
    """What an interrupted run holds, in words, and how to continue it."""
    finished = sorted(p.stem for p in run.path.glob("sweeps/*.npz"))
    partial = sorted(p.stem for p in run.path.glob("checkpoints/*.npz"))
    if not finished and not partial:
        return (
            f"nothing was saved (stopped before the first checkpoint); `superpose resume {run.path}` "
            "starts it again from the beginning"
        )
    said = []
    if finished:
        said.append(f"finished sweeps {', '.join(finished)}")
    if partial:
        said.append(f"the last chunk checkpoint of {', '.join(partial)}")
    return f"saved {' and '.join(said)}; resume with: superpose resume {run.path}"


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
    """Execute and print the checks. Across processes (lab.distributed), only process 0 prints and copies
    figures; the others work in their scratch copy of the run, deleted afterwards."""
    from superpose.lab.progress import Progress

    leader = distributed.is_leader()
    try:
        summary = execute(
            exp,
            cfg,
            run,
            quick=quick,
            progress=Progress(quiet or not leader),
            figures_dir=figures_dir if leader else None,
            devices=devices,
        )
    finally:
        distributed.discard(run)
    if leader:
        if summary.get("checks"):
            print(format_checks(summary))
        print(f"done: {run.path}" + ("" if checks_passed(summary) else " (a check FAILED)"), flush=True)
    return 0 if checks_passed(summary) else 1


def run_experiment(exp: Experiment, args, full_figures_dir=FIGURES_DIR) -> int:
    """Create a run, execute it, print the checks. Returns the exit code (1 if a check failed).

    args: the namespace of `add_run_arguments` (quick, overrides, runs_dir, quiet, figures_dir, devices).
    full_figures_dir: where a full run copies its figures unless args.figures_dir says (None: nowhere).
    """
    cfg = exp.make_config(args.quick, args.overrides)
    if getattr(args, "no_probes", False):
        exp = dataclasses.replace(exp, probes=None)
    count = getattr(args, "devices", None)
    devices = resolve_devices(count)
    run = distributed.create_run(
        exp.name, args.runs_dir
    )  # across processes: process 0's; a scratch elsewhere
    figures_dir = (
        args.figures_dir if args.figures_dir is not None else (None if args.quick else full_figures_dir)
    )
    write_config(
        run,
        exp,
        cfg,
        quick=bool(args.quick),
        overrides=list(args.overrides),
        devices=count,
        figures_dir=str(Path(figures_dir).resolve()) if figures_dir is not None else None,
        probes=exp.probes is not None,  # False: --no-probes (a resume keeps it)
    )
    if distributed.is_leader():
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
        "--no-probes",
        action="store_true",
        help="skip the probe activations and measured importances (probes.npz) of experiments that keep them",
    )
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
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def leave(code: int) -> typing.NoReturn:
    """Exit a command-line process with `code`. After Ctrl-C (130) the abandoned chunk is still computing on
    XLA's threads, and a normal interpreter exit waits for it (measured: 48 s for a 13 s-per-chunk run), so
    the process ends at once instead: every file of the run was written (atomically) and closed before."""
    sys.stdout.flush()
    sys.stderr.flush()
    if code == 130:
        os._exit(130)
    sys.exit(code)


def main(exp: Experiment, argv: Sequence[str] | None = None) -> int:
    """Entry point of `python experiments/NAME.py`; the same as `superpose run NAME`."""
    parser = ArgumentParser(
        prog=f"experiments/{exp.name}.py",
        description=exp.description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    runtime.prepare_entry_point()  # before JAX starts: one device per core, instances sharded over them
    install_interrupt_handler()
    code = guarded(lambda: run_experiment(exp, args))
    if argv is None and code == 130:  # a real command line (`python experiments/NAME.py`): stop now
        leave(code)
    return code
