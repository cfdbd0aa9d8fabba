"""What an experiment is, and the resumable sweeps it runs inside a run directory.

Owns: the `Experiment` spec every module in experiments/ fills in; `Context.sweep`, which runs a Sweep with a
checkpoint after every chunk (so a killed run resumes bitwise identically), loads finished sweeps instead of
retraining them, and stops on NaN/inf naming the diverged instances; reading the checks of a summary.
Does not: parse command lines or run the run's life cycle (runner.py), record lineage (lineage.py), train
(sweep.py), draw (plots/) or lay out files (store.py).

An experiment module provides:
    Config        frozen dataclass; defaults are the paper's full scale; fields declare their checks
                  (superpose.lab.fields)
    QUICK         dict of overrides for --quick (small enough for CI)
    train(cfg, ctx) -> dict of instance-first arrays   (calls ctx.sweep(name, Sweep(...)) for each sweep)
    analyze(cfg, arrays) -> summary dict with a "checks" list of {name, passed, value, expected}
    plot(cfg, arrays, out_dir) -> list of written figure paths (from the arrays alone)
    animate(cfg, arrays, out_dir, options) -> list of written animation paths (optional; `superpose animate`)
    EXPERIMENT = Experiment(name, Config, train, analyze, plot, QUICK, description=__doc__, animate=animate)
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from superpose.config import ConfigError
from superpose.lab import store
from superpose.lab.overrides import apply_overrides, one_line


class Diverged(RuntimeError):
    """NaN or inf appeared during training; the message names the instances and the checkpoint kept."""


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One experiment, as the run store and the `superpose` command see it.

    name:        unique; runs go to runs/<name>/ (letters, digits and _)
    config_cls:  a frozen dataclass whose defaults are the full scale; fields declare their checks
                 (superpose.lab.fields) and have types `--set KEY=VALUE` can parse
    train:       train(cfg, ctx) -> {name: instance-first array}; every sweep through ctx.sweep(name, Sweep(...))
                 so it checkpoints, resumes and honours --devices; everything else must be deterministic
    analyze:     analyze(cfg, arrays) -> summary dict with "checks": [{name, passed, value, expected}, ...]
    plot:        plot(cfg, arrays, out_dir) -> [figure paths], from the arrays alone (`superpose plot` reruns it)
    quick:       overrides of the config for --quick (small enough for CI)
    description: shown by --help; its first sentence by `superpose experiments`
    animate:     animate(cfg, arrays, out_dir, options) -> [animation paths] from the stored snapshots
                 (`superpose animate`; options: superpose.lab.animate.AnimateOptions). None: the default,
                 which draws the instances chosen with --instance/--where of any tied model.
    probes:      a superpose.lab.probes.Probes naming the kept models in train()'s arrays (None: none). After
                 training, their activations on a fixed probe set at every stored snapshot go to probes.npz,
                 and their measured feature importances and a ranking check to the summary.
    """

    name: str
    config_cls: type
    train: Callable
    analyze: Callable
    plot: Callable
    quick: dict = dataclasses.field(default_factory=dict)
    description: str = ""
    animate: Callable | None = None
    probes: object = None  # a Probes, or a bare model for the default layout

    def make_config(self, quick: bool = False, overrides: Sequence[str] = ()):
        """The validated config: defaults, then QUICK if `quick`, then each "key=value" override."""
        try:
            cfg = self.config_cls(**(self.quick if quick else {}))
        except (ValueError, TypeError) as e:
            raise ConfigError(f"invalid config: {one_line(e)}") from None
        return apply_overrides(cfg, overrides)

    @property
    def script(self) -> str | None:
        try:
            return str(Path(inspect.getfile(self.train)).resolve())
        except (TypeError, OSError):
            return None


def result_arrays(result, prefix: str = "") -> dict[str, np.ndarray]:
    """A SweepResult as flat named arrays: params under their names (W, b), the loss log, and snapshots as
    snapshot_<param> [instances, k, ...] beside snapshot_steps [k] (the run-store layout, design.md)."""
    out = {f"{prefix}{k}": v for k, v in result.params.items()}
    out[f"{prefix}loss"] = result.loss
    out[f"{prefix}log_steps"] = result.log_steps
    out[f"{prefix}final_loss"] = result.final_loss
    out[f"{prefix}select_loss"] = result.select_loss
    out[f"{prefix}diverged"] = result.diverged
    out[f"{prefix}eval_batches"] = result.eval_batches
    if result.snapshot_steps.size:
        out.update({f"{prefix}snapshot_{k}": v for k, v in result.snapshots.items()})
        out[f"{prefix}snapshot_steps"] = result.snapshot_steps
    return out


def _result_from_arrays(arrays: dict, param_names, path: Path, n_instances: int):
    from superpose.sweep import SweepResult  # jax: imported only once an experiment runs

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
        snapshots={k: arrays[f"snapshot_{k}"] for k in param_names if f"snapshot_{k}" in arrays},
        snapshot_steps=arrays.get("snapshot_steps", np.zeros((0,), np.int32)),
        select_loss=arrays.get("select_loss"),
        diverged=arrays.get("diverged"),
        eval_batches=arrays.get("eval_batches"),
    )


class Context:
    """What an experiment's train() sees: resumable sweeps inside one run directory, and progress.

    devices: if given, every sweep runs on these devices (`Sweep.on`: a copy of the same class, so a
    subclass's state survives), so experiment scripts build `Sweep(...)` without a devices argument and
    `--devices K` still applies, on the first run and on resume.
    """

    def __init__(self, run: store.Run, progress=None, devices=None) -> None:
        self.run = run
        self.progress = progress
        self.devices = list(devices) if devices is not None else None
        self.sweeps: dict[str, dict] = {}  # name -> lineage record of that sweep
        self._seen: set[str] = set()

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
            next_chunk * cfg.steps_per_chunk // cfg.steps_per_log,
        ):
            raise store.RunError(f"corrupt file: {path} (inconsistent chunk count)")
        from superpose.sweep import pad_instances

        state = jax.tree.unflatten(treedef, list(pad_instances(arrays, sweep.n_padded)))
        return state, next_chunk, pad_instances(loss, sweep.n_padded)

    def sweep(self, name: str, sweep, allow_diverged: bool = False):
        """Run `sweep` to the end, checkpointing after every chunk; a finished sweep is loaded, not rerun.

        Between chunks: the new loss windows and all float state are checked for NaN/inf, then the state is
        written atomically to checkpoints/NAME.npz. A diverged instance stops the run (Diverged names the
        instances; the previous checkpoint stays) unless `allow_diverged`, for sweeps whose analysis skips
        diverged instances (best-of over fits): then they are named once on stderr and in lineage.json,
        marked in the result's `diverged` mask, and only a sweep in which every instance diverged stops.
        Returns the SweepResult.
        """
        import jax

        from superpose.sweep import choose_devices, to_host

        if not store.NAME.match(name):
            raise ValueError(f"sweep name {name!r}: letters, digits and _ only")
        if name in self._seen:
            raise ValueError(f"sweep name {name!r} used twice in one run")
        self._seen.add(name)
        if self.devices is not None:  # a copy of the same class: subclass state (warm starts) is kept
            sweep = sweep.on(choose_devices(sweep.n_instances, self.devices))
        cfg, n = sweep.cfg, sweep.n_instances
        seeds = sweep.host_seeds
        self._record(
            name,
            instances=n,
            n_steps=cfg.n_steps,
            chunk_steps=cfg.steps_per_chunk,
            root_seed=int(sweep.root_seed),
            seeds=np.unique(seeds).tolist(),
            devices=[str(d) for d in sweep.devices],
        )
        template = jax.eval_shape(sweep.init)  # shapes only: nothing compiles
        done_path, ckpt_path = self.run.sweep_path(name), self.run.checkpoint_path(name)
        if done_path.exists():
            self._record(name, done=True)
            return _result_from_arrays(store.read_npz(done_path), list(template.params), done_path, n)
        state, start_chunk, loss_log = None, 0, None
        if ckpt_path.exists():
            state, start_chunk, loss_log = self._load_checkpoint(ckpt_path, sweep, template)

        windows = cfg.steps_per_chunk // cfg.steps_per_log
        lr = sweep.host_hyper.lr
        reported = np.zeros(n, bool)  # instances already named as diverged
        chunk_times: list[float] = []
        last = [time.perf_counter()]

        def on_chunk(chunk: int, state, loss_so_far: np.ndarray) -> None:
            now = time.perf_counter()
            chunk_times.append(now - last[0])
            last[0] = now
            leaves = [leaf[:n] for leaf in to_host(jax.tree.leaves(state))]
            finite = np.isfinite(loss_so_far[:n, -windows:]).all(axis=1)
            for leaf in leaves:
                if np.issubdtype(leaf.dtype, np.floating):
                    finite &= np.isfinite(leaf.reshape(n, -1)).all(axis=1)
            fresh = ~finite & ~reported
            if fresh.any():
                bad = np.flatnonzero(fresh)
                named = ", ".join(f"#{i} (seed {seeds[i]}, lr {lr[i]:.3g})" for i in bad[:8])
                named += ", ..." if bad.size > 8 else ""
                if not allow_diverged or finite.sum() == 0:
                    kept = (
                        f"the checkpoint after chunk {chunk} ({ckpt_path}) is kept"
                        if chunk > 0
                        else "no checkpoint had been written"
                    )
                    every = "every one" if finite.sum() == 0 else f"{bad.size}"
                    raise Diverged(
                        f"sweep {name!r} diverged in chunk {chunk + 1}/{cfg.n_chunks}: NaN/inf in the loss or "
                        f"weights of {every} of {n} instances: {named}; {kept}. Lower the learning rate."
                    )
                reported[bad] = True
                print(
                    f"warning: sweep {name!r}: {bad.size} of {n} instances diverged in chunk {chunk + 1} "
                    f"(NaN/inf; marked diverged, never selected): {named}",
                    file=sys.stderr,
                    flush=True,
                )
                self._record(name, diverged=np.flatnonzero(reported).tolist())
            if chunk + 1 < cfg.n_chunks:  # after the last chunk the finished sweep is written instead
                arrays = {f"leaf_{i}": leaf for i, leaf in enumerate(leaves)}
                arrays.update(next_chunk=np.int64(chunk + 1), loss=loss_so_far[:n])
                store.write_npz(ckpt_path, arrays)
            if self.progress is not None:
                self.progress.update(name, chunk + 1, cfg.n_chunks, cfg.steps_per_chunk, loss_so_far[:n])

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

    def study(self, name: str, study):
        """Run a superpose.Study: each of its groups as a resumable sweep (NAME, or NAME_0, NAME_1, ... when
        static axes split it), then its description into studies/NAME.json so that load_run gives the same
        StudyResult back. A diverged fit is marked (never kept by best()) when the study has fits to choose
        from; otherwise it stops the run. Returns the StudyResult."""
        from superpose.study import StudyGroup, StudyResult, sweep_names

        groups = study.groups()
        names = sweep_names(name, len(groups))
        done = []
        for sweep_name, (static, index) in zip(names, groups):
            result = self.sweep(sweep_name, study.sweep(static, index), allow_diverged=study.ranks_fits)
            done.append(StudyGroup(static, index, result))
        store.write_json(self.run.file(f"studies/{name}.json"), {**study.describe(), "sweeps": names})
        return StudyResult.build(study, done)


def case_summary(experiment: str, cases: dict) -> dict:
    """The summary of an experiment made of cases: {case key: (numbers, checks)} -> {"experiment", each
    case's numbers under its key, "checks": every case's checks in order}."""
    summary = {"experiment": experiment}
    summary.update({key: numbers for key, (numbers, _) in cases.items()})
    summary["checks"] = [check for _, checks in cases.values() for check in checks]
    return summary


def format_checks(summary: dict) -> str:
    lines = []
    for check in summary.get("checks", []):
        mark = "PASS" if check["passed"] else "FAIL"
        lines.append(f"[{mark}] {check['name']}: {check.get('value')} (expected {check.get('expected')})")
    return "\n".join(lines)


def check(name: str, passed, value, expected: str) -> dict:
    """One entry of a summary's "checks": what was checked, whether it passed, the measured value and the
    bar it had to meet."""
    return {"name": name, "passed": bool(passed), "value": value, "expected": expected}


def checks_passed(summary: dict) -> bool:
    return all(c["passed"] for c in summary.get("checks", []))
