"""The `superpose` command: run, list, show, plot, animate, resume and analyze experiments in the run store;
sweep any model over axes typed on the command line; lineage.

Owns: argument parsing and printing. Does not: train, validate configs or lay out files (experiment.py and
store.py do; this module only calls them), or talk to ML Metadata (mlmd.py does). `list`, `show` and
`lineage` never import jax, so they answer instantly.

Exit codes: 0 ok, 1 an experiment check failed, 2 bad input (one line `error: ...` on stderr), 130
interrupted (the last checkpoint is kept).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from superpose.config import ConfigError
from superpose.lab import distributed, experiment, registry, runner, runtime, store
from superpose.lab.registry import load_experiment

EXAMPLES = {
    "experiments": """examples:
  superpose experiments                    # names and one line each
  superpose run intro --quick              # then run one""",
    "run": """examples:
  superpose run intro                      # full scale; figures also go to figures/
  superpose run intro --quick              # the small CI version, into runs/intro/<id>/
  superpose run intro --quick --set n_steps=2000 --set lr=3e-3 --devices 2""",
    "list": """examples:
  superpose list                           # every run under runs/
  superpose list intro --runs-dir /tmp/runs""",
    "show": """RUN is a run directory, a run id or a unique prefix of one, an experiment name (its newest
run) or "latest".

examples:
  superpose show latest
  superpose show 20250101-120000-ab12cd
  superpose show intro --json""",
    "plot": """examples:
  superpose plot latest                    # rewrites runs/<experiment>/<id>/*.png from results.npz
  superpose plot intro --out /tmp/figs""",
    "animate": """RUN as for `superpose show`. Without --instance/--where the experiment draws its own choice (the
intro: three densities side by side); with them, each chosen instance gets the default animation (feature
vectors, or W^T W and every D_i above 3 dimensions; the loss with a moving marker; the step). Only the
stored arrays are read: nothing is retrained. MP4 needs ffmpeg on the PATH.

examples:
  superpose animate latest --out /tmp/anim          # the experiment's own animation(s)
  superpose animate intro --where density=0.05       # every instance at that density (all seeds)
  superpose animate intro --instance 3 --format mp4 --fps 24""",
    "resume": """examples:
  superpose resume latest
  superpose resume runs/intro/20250101-120000-ab12cd""",
    "report": """A static site of the run store: an index of runs (status, checks, commit, wall time, devices), a page
per run (checks, figures and animations, loss curves, config, lineage, raw files), a page per experiment
comparing its runs' checks, and an interactive geometry viewer for runs that kept weight snapshots. Open
OUT/index.html in a browser (file:// works) or serve OUT with any static web server. Running it again
updates what changed; the runs themselves are only read.

examples:
  superpose report --out site                             # every run under runs/
  superpose report intro latest --out site                # the newest intro run and the newest run
  superpose report --runs-dir /tmp/runs --out /tmp/site --store lineage.sqlite   # with ML Metadata""",
    "lineage": """Lineage in ML Metadata (MLMD): `export` copies runs (execution: config, code commit, environment;
input artifact: the data's densities and importances; output artifacts: results.npz, summary.json, figures)
into an MLMD SQLite store; `show` answers where a figure or run came from from that store alone.
Needs the optional extra: pip install 'superpose[lineage]'.

examples:
  superpose lineage export --store lineage.sqlite
  superpose lineage show runs/intro/20250101-120000-ab12cd/intro.png --store lineage.sqlite""",
    "lineage export": """RUN is what `superpose show` takes (a run directory, id or prefix, EXPERIMENT/ID, an experiment
name, "latest"); without RUN, every run under --runs-dir. Runs already in the store are left as they are;
incomplete runs (no summary.json yet) are skipped: export them once they are complete.

examples:
  superpose lineage export --store lineage.sqlite              # every complete run under runs/
  superpose lineage export latest intro/20250101-120000-ab12cd --store lineage.sqlite
  superpose lineage export --runs-dir /tmp/runs --store /tmp/lineage.sqlite""",
    "lineage show": """REF is a figure (its path; a copy such as figures/intro.png, matched by content; or a file name),
a results.npz or summary.json path, a run directory, a run id or prefix, EXPERIMENT/ID, an experiment name
(its newest run) or "latest". Only the store is read: the run directory may be gone.

examples:
  superpose lineage show runs/intro/20250101-120000-ab12cd/intro.png --store lineage.sqlite
  superpose lineage show figures/intro.png --store lineage.sqlite
  superpose lineage show 20250101-120000-ab12cd --store lineage.sqlite --json""",
}


def _version() -> str:
    """The installed package's version, and the checkout's commit where there is one."""
    from importlib import metadata

    try:
        version = metadata.version("superpose")
    except metadata.PackageNotFoundError:
        version = "unknown"
    commit = store.code_version().get("git_commit")
    return f"{version} (commit {commit[:10]})" if commit else version


def _fmt_seconds(s) -> str:
    if not isinstance(s, (int, float)):
        return "-"
    return f"{s:.1f}s" if s < 120 else f"{s / 60:.1f}m" if s < 7200 else f"{s / 3600:.1f}h"


def _subparser(sub, name: str, help: str, description: str, examples: str | None = None):
    return sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=EXAMPLES[examples or name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = runner.ArgumentParser(
        prog="superpose",
        description="Toy models of superposition: run experiments and inspect the run store (runs/).",
        epilog="examples:\n  superpose experiments\n  superpose run intro --quick\n  superpose list\n  superpose show latest\n"
        "  superpose plot latest\n  superpose animate latest --out anim\n  superpose resume latest\n"
        '  superpose sweep --axis "density=logspace(0,-2,10)" --axis seed=0:4\n  superpose analyze latest\n'
        "  superpose lineage export --store lineage.sqlite\n"
        "\nEach command has --help.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"superpose {_version()}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=runner.ArgumentParser
    )

    _subparser(
        sub,
        "experiments",
        "list the experiments, one line each",
        "List the experiments `superpose run NAME` knows, with the first sentence of each one's description.",
    )

    p = _subparser(
        sub,
        "run",
        "run an experiment by name",
        "Run experiment NAME into a new run directory under --runs-dir (the same as `python experiments/NAME.py` in a checkout). `superpose experiments` lists the names.",
    )
    p.add_argument("name", metavar="NAME", help="experiment name, e.g. intro")
    runner.add_run_arguments(p)

    runs_dir = {"type": Path, "default": store.DEFAULT_ROOT, "help": "run store root (default: runs)"}
    p = _subparser(
        sub,
        "list",
        "table of runs",
        "A table of runs: id, experiment, status "
        "(complete / running / incomplete / failed), start time, wall time, instances.",
    )
    p.add_argument("name", metavar="NAME", nargs="?", help="only this experiment's runs")
    p.add_argument("--runs-dir", **runs_dir)

    p = _subparser(
        sub,
        "show",
        "config, lineage and summary of a run",
        "Print a run's config, lineage and summary (its checks).",
    )
    p.add_argument("run", metavar="RUN")
    p.add_argument("--runs-dir", **runs_dir)
    p.add_argument("--json", action="store_true", help="print config, lineage and summary as one JSON object")

    p = _subparser(
        sub,
        "plot",
        "rebuild a run's figures from its stored arrays",
        "Rebuild a run's figures from config.json and results.npz alone, without training.",
    )
    p.add_argument("run", metavar="RUN")
    p.add_argument("--runs-dir", **runs_dir)
    p.add_argument(
        "--out", type=Path, default=None, help="write the figures here (default: the run directory)"
    )

    p = _subparser(
        sub,
        "animate",
        "animate a run's training from its stored snapshots",
        "Write animations of a run's training (GIF or MP4) from its stored weight snapshots, without training.",
    )
    p.add_argument("run", metavar="RUN")
    choose = p.add_mutually_exclusive_group()
    choose.add_argument("--instance", type=int, default=None, metavar="I", help="animate instance I")
    choose.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="animate the instances whose stored coordinate KEY equals VALUE (repeat to AND them)",
    )
    choose.add_argument(
        "--probes",
        action="store_true",
        help="the neuron x probe heatmap over training, from the run's probes.npz",
    )
    p.add_argument("--out", type=Path, default=None, help="write here (default: the run directory)")
    p.add_argument("--fps", type=int, default=12, help="frames per second (default 12)")
    p.add_argument(
        "--format", choices=("gif", "mp4"), default="gif", help="gif (default) or mp4 (needs ffmpeg)"
    )
    p.add_argument("--runs-dir", **runs_dir)
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = _subparser(
        sub,
        "resume",
        "continue an interrupted run",
        "Continue an interrupted or killed run "
        "from its last chunk checkpoint, with its recorded config and devices. The final arrays are "
        "bitwise identical to an uninterrupted run's (same machine, same code).",
    )
    p.add_argument("run", metavar="RUN")
    p.add_argument("--runs-dir", **runs_dir)
    p.add_argument("--quiet", action="store_true", help="no progress output")

    add_sweep_and_analyze(sub, runs_dir)
    add_sae(sub)

    p = _subparser(
        sub,
        "report",
        "write a browsable static site of runs, with a geometry viewer",
        "Write (or update) a static HTML report of runs into --out.",
    )
    p.add_argument("run", metavar="RUN", nargs="*", help="runs to include (default: every run)")
    p.add_argument("--runs-dir", "--root", dest="runs_dir", **runs_dir)
    p.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the site's folder (made or updated)"
    )
    p.add_argument(
        "--store", type=Path, metavar="PATH", help="an ML Metadata SQLite store to show lineage from"
    )

    p = _subparser(
        sub,
        "lineage",
        "export runs to ML Metadata; trace a figure back",
        "Lineage in an ML Metadata (MLMD) SQLite store: export runs into it, and ask it where a figure, "
        "results file or run came from.",
    )
    lineage = p.add_subparsers(
        dest="lineage_command", required=True, metavar="ACTION", parser_class=runner.ArgumentParser
    )
    mlmd_store = {"type": Path, "required": True, "metavar": "PATH", "help": "the MLMD SQLite file"}
    p = _subparser(
        lineage,
        "export",
        "add runs to an MLMD store",
        "Add runs to the MLMD store at --store (created if missing), each as one execution with its input "
        "data and output artifacts, in a context named by the experiment. Prints what was added.",
        examples="lineage export",
    )
    p.add_argument("run", metavar="RUN", nargs="*", help="runs to export (default: every run)")
    p.add_argument("--store", **mlmd_store)
    p.add_argument("--runs-dir", **runs_dir)
    p = _subparser(
        lineage,
        "show",
        "where a figure or run came from",
        "Which run produced REF, with its config, code commit, environment and input data, read from the "
        "MLMD store alone.",
        examples="lineage show",
    )
    p.add_argument("ref", metavar="REF", help="a figure, results.npz, run directory or run id")
    p.add_argument("--store", **mlmd_store)
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    return parser


# --- resuming and replotting runs ---


def resume_run(run: store.Run, quiet: bool = False) -> int:
    """Continue an interrupted run from its checkpoints with its recorded config, devices and figures dir."""
    config = run.config()
    if run.complete:
        print(f"run {run.path} is already complete; nothing to resume")
        return 0
    run = distributed.working_copy(run)  # across processes: a scratch copy except on process 0
    exp, cfg = registry.experiment_of_run(run)
    if config.get("probes") is False:  # made with --no-probes
        exp = dataclasses.replace(exp, probes=None)
    devices = runner.resolve_devices(config.get("devices"))
    if distributed.is_leader():
        print(f"resuming {run.path}", flush=True)
    return runner.execute_and_report(
        exp,
        cfg,
        run,
        quick=bool(config.get("quick")),
        quiet=quiet,
        figures_dir=config.get("figures_dir"),
        devices=devices,
    )


def plot_run(run: store.Run, out_dir=None) -> list[Path]:
    """Rebuild a run's figures from its config.json and results.npz alone (no training)."""
    exp, cfg = registry.experiment_of_run(run)
    arrays = run.results()
    try:
        return [Path(p) for p in exp.plot(cfg, arrays, Path(out_dir or run.path))]
    except KeyError as e:
        raise store.RunError(f"{run.file('results.npz')} lacks the array {e}") from None


# --- commands ------------------------------------------------------------------------------------------


def cmd_run(args) -> int:
    exp = load_experiment(args.name)
    return runner.run_experiment(exp, args)


def cmd_list(args) -> int:
    if args.name is not None and not store.NAME.match(args.name):
        raise ConfigError(f"bad experiment name {args.name!r}")
    runs = store.list_runs(args.runs_dir, args.name)
    if not runs:
        where = f"{args.runs_dir}/{args.name}/" if args.name else f"{args.runs_dir}/"
        print(f"no runs under {where}")
        return 0
    header = ("id", "experiment", "status", "start (UTC)", "wall", "instances")
    rows = []
    for run in runs:
        info = run.info()
        start = store.parse_time(info["started"])
        rows.append(
            (
                info["id"],
                info["experiment"],
                info["status"],
                start.strftime("%Y-%m-%d %H:%M:%S") if start else "-",
                _fmt_seconds(info["wall_s"]),
                str(info["instances"] or "-"),
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def rerun_command(config: dict) -> str:
    words = ["superpose", "run", str(config.get("experiment"))]
    if config.get("quick"):
        words.append("--quick")
    for item in config.get("overrides") or []:
        words += ["--set", str(item)]
    if config.get("devices"):
        words += ["--devices", str(config["devices"])]
    if config.get("probes") is False:
        words.append("--no-probes")
    return shlex.join(words)


def cmd_show(args) -> int:
    run = store.find_run(args.run, args.runs_dir)
    config = run.config()
    lineage = run.lineage() if run.file("lineage.json").exists() else {}
    summary = run.summary() if run.complete else None
    if args.json:
        print(
            json.dumps(
                {
                    "run": str(run.path),
                    "status": run.status(),
                    "config": config,
                    "lineage": lineage,
                    "summary": summary,
                },
                indent=2,
                default=store._json_default,
            )
        )
        return 0
    print(f"run         {run.path}")
    print(f"status      {run.status()}")
    print(f"rerun       {rerun_command(config)}")
    print("config")
    for key, value in config["config"].items():
        print(f"  {key} = {value}")
    print("lineage")
    env = lineage.get("environment") or {}
    dirty = " (dirty)" if lineage.get("git_dirty") else ""
    rows = [
        ("git", f"{lineage.get('git_commit') or '-'}{dirty}"),
        ("started", lineage.get("started") or "-"),
        ("ended", lineage.get("ended") or "-"),
        (
            "wall",
            f"{_fmt_seconds(lineage.get('wall_s'))} (train {_fmt_seconds(lineage.get('train_s'))}, "
            f"compile {_fmt_seconds(lineage.get('compile_s'))})",
        ),
        ("sessions", str(len(lineage.get("sessions") or []))),
        ("backend", f"{env.get('jax_backend', '-')}: {', '.join(env.get('devices') or []) or '-'}"),
        ("packages", ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v) or "-"),
        ("python", f"{env.get('python', '-')} on {env.get('platform', '-')}"),
        ("command", shlex.join(map(str, lineage.get("command") or [])) or "-"),
    ]
    if lineage.get("error"):
        rows.append(("error", lineage["error"]))
    for name, sweep in (lineage.get("sweeps") or {}).items():
        if isinstance(sweep, dict):
            seeds = sweep.get("seeds") or []
            seed_text = f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 3 else str(seeds)
            rows.append(
                (
                    f"sweep {name}",
                    f"{sweep.get('instances')} instances x {sweep.get('n_steps')} steps, "
                    f"root seed {sweep.get('root_seed')}, seeds {seed_text}, "
                    f"train {_fmt_seconds(sweep.get('train_s'))}"
                    + ("" if sweep.get("done") else ", unfinished"),
                )
            )
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
    print("summary")
    if summary is None:
        print("  (none yet: the run is not complete)")
    else:
        checks = experiment.format_checks(summary)
        print("\n".join(f"  {line}" for line in checks.splitlines()) or "  (no checks)")
        if summary.get("figures"):
            print(f"  figures: {', '.join(summary['figures'])}")
        from superpose.lab.probes import format_importance, format_probes

        for part in (format_importance(summary), format_probes(run)):
            for line in part.splitlines():
                print(f"  {line}")
    return 0


def cmd_plot(args) -> int:
    run = store.find_run(args.run, args.runs_dir)
    for path in plot_run(run, args.out):
        print(path)
    return 0


def cmd_animate(args) -> int:
    from superpose.lab.animate import AnimateOptions, animate_run
    from superpose.lab.progress import FrameProgress

    run = store.find_run(args.run, args.runs_dir)
    progress = FrameProgress(quiet=args.quiet)
    options = AnimateOptions(fps=args.fps, format=args.format, progress=progress)
    try:
        if getattr(args, "probes", False):
            from superpose.lab import probes

            paths = probes.animate(run, args.out, fps=args.fps, fmt=args.format, progress=progress)
        else:
            paths = animate_run(run, args.out, options, instance=args.instance, where=args.where)
    finally:
        progress.close()
    for path in paths:
        print(path)
    return 0


def cmd_resume(args) -> int:
    run = store.find_run(args.run, args.runs_dir)
    return resume_run(run, quiet=args.quiet)


def cmd_experiments(args) -> int:
    found = registry.available()
    if not found:
        print("no experiments found (is the package installed with its experiments?)")
        return 0
    width = max(map(len, found))
    for name, line in found.items():
        print(f"{name.ljust(width)}  {line}")
    return 0


def cmd_lineage(args) -> int:
    from superpose.lab import mlmd  # light; ml_metadata itself is imported only inside its functions

    if args.lineage_command == "show":
        result = mlmd.show(args.ref, args.store)
        if args.json:
            print(json.dumps(result, indent=2, default=store._json_default))
        else:
            rerun = rerun_command(result["config"]) if result["config"] else None
            print(mlmd.format_show(result, rerun=rerun))
        return 0
    if args.run:
        runs = [store.find_run(ref, args.runs_dir) for ref in args.run]
    else:
        runs = store.list_runs(args.runs_dir)
        if not runs:
            print(f"no runs under {args.runs_dir}/")
            return 0
    out = mlmd.export_runs(runs, args.store)
    for entry in out["added"]:
        print(f"added    {entry['run']} ({entry['artifacts']} artifacts, {entry['events']} events)")
    for name in out["existing"]:
        print(f"present  {name} (already in the store)")
    for name, reason in out["skipped"]:
        print(f"skipped  {name}: {reason}")
    print(
        f"{args.store}: {out['executions']} run(s), {out['artifacts']} artifact(s), {out['events']} event(s) "
        f"and {out['contexts']} context(s) added; {len(out['existing'])} already there, "
        f"{len(out['skipped'])} skipped"
    )
    return 0


def cmd_report(args) -> int:
    from superpose.lab import report

    refs = args.run
    runs = [store.find_run(ref, args.runs_dir) for ref in refs] if refs else store.list_runs(args.runs_dir)
    out = report.build(runs, args.out, store_path=args.store)
    print(
        f"{args.out / 'index.html'}: {out['runs']} run(s), {out['rebuilt']} read anew, {out['written']} file(s) "
        f"written, {out['removed']} removed; {report.site_size(args.out) / 2**20:.1f} MiB in all"
    )
    return 0


# --- sweep and analyze: a Study from the command line; a run's checks again from its stored arrays ---------

EXAMPLES["sweep"] = """AXIS is NAME=VALUES, one per --axis (or several joined by ';').
NAME is a Study axis (density, seed, lr, weight_decay, importance_ratio, n_hidden, n_features, batch_size,
a field of the model or the sampler, ...) and VALUES one of
  0.1   1,0.3,0.1   0:4 (integers 0..3, Python's range)   0:20:5   linspace(0,1,5)   logspace(0,-2,10)
  geomspace(1,0.01,10)
Quote an axis with parentheses for the shell. A seed axis holds fits: each point keeps its best (lowest loss
on samples every fit shares). The run is stored like any experiment's (experiment `sweep`): `superpose
show`, `plot`, `animate`, `resume` and `analyze` work on it, and `superpose.load_run(RUN).study()` gives the
StudyResult back in Python. Without --axis: density=logspace(0,-2,10); seed=0:4.

examples:
  superpose sweep --axis "density=logspace(0,-2,10)" --axis seed=0:4
  superpose sweep --model relu_hidden --n-features 10 --axis "density=geomspace(1,0.05,8)" \\
      --axis n_hidden=3,5 --axis seed=0:2 --steps 5000
  superpose sweep --model abs_mlp --n-features 3 --n-hidden 6 --axis lr=1e-3,3e-3 --axis seed=0:3
  superpose sweep --axis "density=logspace(0,-1,4)" --set schedule=cosine --set weight_decay=0"""
EXAMPLES["analyze"] = """RUN as for `superpose show`. Loads the run's experiment (its module, or the
script the run recorded), runs its analyze() on results.npz and rewrites summary.json; nothing is trained
or drawn. lineage.json records when, and with which code, under "reanalyzed". Exit 1 if a check fails, as
for `superpose run`.

examples:
  superpose analyze latest
  superpose analyze intro --runs-dir /tmp/runs"""

SWEEP_OPTIONS = {  # --option: (config field, type, help)
    "--model": ("model", str, "a registered model (superpose.models.MODELS; default relu_output)"),
    "--sampler": ("sampler", str, "a registered sampler (superpose.data.SAMPLERS; default: the model's own)"),
    "--n-features": ("n_features", int, "features n (default 20)"),
    "--n-hidden": ("n_hidden", int, "hidden dimensions m (default 5)"),
    "--steps": ("n_steps", int, "training steps (default 10,000)"),
    "--batch-size": ("batch_size", int, "batch size (default 1024)"),
    "--lr": ("lr", float, "learning rate, unless lr is an axis (default 1e-3)"),
    "--importance-ratio": ("importance_ratio", float, "I_i = ratio**i unless an axis sets it (default 1)"),
    "--frames": ("n_frames", int, "snapshots per instance, for `superpose animate` (default 50)"),
}


def add_sweep_and_analyze(sub, runs_dir: dict) -> None:
    p = _subparser(
        sub,
        "sweep",
        "train a model over axes given on the command line",
        "Train any registered model and sampler over a grid of named axes (a superpose.Study), stored as a run "
        "of the experiment `sweep` with figures: each point's geometry, D* and every D_i against density, "
        "and the loss curves.",
    )
    p.add_argument("--axis", action="append", default=[], metavar="AXIS", help="NAME=VALUES (repeatable)")
    for option, (field, typ, text) in SWEEP_OPTIONS.items():
        metavar = option.lstrip("-").upper().replace("-", "_")
        p.add_argument(option, type=typ, default=None, dest=f"sweep_{field}", metavar=metavar, help=text)
    runner.add_run_arguments(p)
    for action in p._actions:
        if action.dest == "quick":
            action.help = argparse.SUPPRESS  # refused by cmd_sweep: a sweep's size is what its axes say
        elif action.dest == "figures_dir":
            action.help = "also copy the figures here (default: nowhere; they are in the run directory)"
    p = _subparser(
        sub,
        "analyze",
        "re-run a run's analysis and checks on its stored arrays",
        "Re-run the analysis and checks of a run on its results.npz (no training) and rewrite its summary.json.",
    )
    p.add_argument("run", metavar="RUN")
    p.add_argument("--runs-dir", **runs_dir)


def sweep_overrides(args) -> list[str]:
    """The `sweep` experiment's --set overrides from `superpose sweep`'s options, then the user's own --set.
    ConfigError if a field is given twice."""
    overrides, options = [], {}
    for option, (field, _, _) in SWEEP_OPTIONS.items():
        value = getattr(args, f"sweep_{field}")
        if value is not None:
            overrides.append(f"{field}={value}")
            options[field] = option
    if args.axis:
        overrides.append("axes=" + "; ".join(args.axis))
        options["axes"] = "--axis"
    for item in args.overrides:
        key = item.partition("=")[0].strip()
        if key in options:
            raise ConfigError(f"{key} is given twice: by {options[key]} and by --set {item}")
    return overrides + list(args.overrides)


def cmd_sweep(args) -> int:
    from superpose.lab.axes import format_values

    if args.quick:
        raise ConfigError("superpose sweep has no --quick: a sweep is as large as its axes say")
    module = registry.load_experiment_module("sweep")
    args.overrides = sweep_overrides(args)
    cfg = module.EXPERIMENT.make_config(False, args.overrides)  # bad axes, names, values: one line, now
    axes = module.axes(cfg)
    size = math.prod(v.size for v in axes.values())
    shown = " x ".join(f"{k}={format_values(v)} ({v.size})" for k, v in axes.items())
    print(f"sweep: {cfg.model}, {size} instance(s): {shown}", flush=True)
    return runner.run_experiment(module.EXPERIMENT, args, full_figures_dir=None)  # only with --figures-dir


def analyze_run(run: store.Run) -> tuple[dict, list[str]]:
    """Re-run a run's analyze() on its results.npz and rewrite summary.json (no training, no figures).
    Returns the summary and a line per check whose outcome changed. RunError if the run has no results."""
    if not run.file("results.npz").exists():
        raise store.RunError(
            f"run {run.path} is {run.status()} and has no results.npz: nothing to analyse "
            f"(`superpose resume {run.path}` finishes it)"
        )
    exp, cfg = registry.experiment_of_run(run)
    with run.lock():
        arrays = run.results()
        try:
            summary = exp.analyze(cfg, arrays)
        except KeyError as e:
            raise store.RunError(f"{run.file('results.npz')} lacks the array {e}") from None
        before = run.summary() if run.complete else {}
        summary = {**summary, "figures": before.get("figures", [])}
        was = {c["name"]: c["passed"] for c in before.get("checks", [])}
        now = {c["name"]: c["passed"] for c in summary.get("checks", [])}
        word = {True: "PASS", False: "FAIL", None: "absent"}
        changed = [
            f"{name}: {word[was.get(name)]} -> {word[now.get(name)]}"
            for name in {**was, **now}
            if was.get(name) != now.get(name)
        ]
        store.write_json(run.file("summary.json"), summary)
        lineage = run.lineage() if run.file("lineage.json").exists() else {}
        record = {"at": store.now(), **store.code_version(), "command": sys.argv, "changed": changed}
        previous = lineage.get("reanalyzed") if isinstance(lineage.get("reanalyzed"), list) else []
        run.update_lineage(reanalyzed=[*previous, record])
    return summary, changed


def cmd_analyze(args) -> int:
    run = store.find_run(args.run, args.runs_dir)
    summary, changed = analyze_run(run)
    if summary.get("checks"):
        print(experiment.format_checks(summary))
    for line in changed:
        print(f"changed: {line}")
    ok = experiment.checks_passed(summary)
    print(f"analysed: {run.path}" + ("" if ok else " (a check FAILED)"))
    return 0 if ok else 1


COMMANDS = {
    "experiments": cmd_experiments,
    "run": cmd_run,
    "list": cmd_list,
    "show": cmd_show,
    "plot": cmd_plot,
    "animate": cmd_animate,
    "resume": cmd_resume,
    "lineage": cmd_lineage,
    "report": cmd_report,
    "sweep": cmd_sweep,
    "analyze": cmd_analyze,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `superpose` console script."""
    runtime.prepare_entry_point()  # before JAX starts: one device per core, instances sharded over them
    args = build_parser().parse_args(argv)
    runner.install_interrupt_handler()
    try:
        return runner.guarded(lambda: COMMANDS[args.command](args))
    except BrokenPipeError:  # `superpose list | head`
        sys.stderr.close()
        return 0


def console() -> None:
    """The `superpose` console script (and `python -m superpose`): main(), then exit at once after Ctrl-C
    (runner.leave)."""
    runner.leave(main())


# --- superpose sae RUN: sparse autoencoders on a stored run's hidden activations (experiments/sae_toy.py) ---


def add_sae(sub) -> None:
    p = sub.add_parser(
        "sae",
        help="train SAEs on a stored toy run's hidden activations",
        description="Train a grid of sparse autoencoders on the hidden activations h = W x of every density of "
        "a stored run (any run whose results hold W and a density coordinate, e.g. `superpose sweep`'s), "
        "scored against the run's own feature directions: the experiment sae_toy with --set run=RUN.",
        epilog='example:\n  superpose sweep --axis "density=logspace(0,-2,6)" --axis seed=0:2\n  superpose sae latest',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="RUN", help="the run to read W from (path, id or experiment name)")
    runner.add_run_arguments(p)


def cmd_sae(args) -> int:
    module = registry.load_experiment_module("sae_toy")
    source = store.load_run(args.source, args.runs_dir)  # the newest complete run for a name or "latest"
    args.overrides = [f"run={source.path}", *args.overrides]
    return runner.run_experiment(module.EXPERIMENT, args, full_figures_dir=None)


COMMANDS["sae"] = cmd_sae

if __name__ == "__main__":
    console()
