"""The run store: runs/<experiment>/<run-id>/ with config, lineage, arrays, summary and figures.

Owns: run directories and their ids, atomic writes (temp file + rename), reading files back with errors that
name the file, lineage capture (code version, packages, devices), the per-run lock, and finding and listing
runs. Does not: train, plot, or know any experiment's science. Never imports jax at module level, so
`superpose list` and `superpose show` start instantly.

Layout of a run directory:
    config.json           the resolved experiment config and run options (enough to rerun it)
    lineage.json          code version, packages, backend/devices, seeds, command lines, times
    sweeps/NAME.npz       one finished sweep's arrays (a resumed run loads them instead of retraining)
    checkpoints/NAME.npz  the last chunk checkpoint of an unfinished sweep (deleted when it finishes)
    results.npz           instance-first arrays of the experiment, with every instance's grid coordinates
    *.png                 figures, rebuilt from results.npz alone by `superpose plot RUN`
    summary.json          checked numbers; written last: a run is complete only once it exists
    .lock                 held (flock) by the process running the run; the kernel drops it if that dies

lineage.json holds: git_commit, git_dirty, git_diff_sha256 (hash of `git diff HEAD`), environment (python,
platform, host, jax_backend, devices, package versions), command (argv of the first session), started,
ended (once complete), wall_s / train_s / compile_s (summed over sessions), error (set if it failed), sweeps
(per sweep: instances, n_steps, chunk_steps, root_seed, the distinct instance seeds, devices, train_s,
first_chunk_s and later_chunk_s, resumed_at_chunk, done) and sessions (one per process that ran or resumed
it: started, ended, command, cwd, host, devices, git state, wall_s, train_s, compile_s, trace_s,
xla_compile_s, compile_cache, outcome). compile_s is what JAX itself reports through jax.monitoring for
getting executables: trace_s (tracing + lowering) plus XLA compiles (xla_compile_s) plus persistent-cache
loads; compile_cache is {dir, hits, misses, retrieval_s}: JAX's persistent compilation cache directory
(null if off), how many compiles it answered and how many it did not, and the seconds spent reading hits
back. first_chunk_s minus later_chunk_s is a second, wall-clock estimate of compile_s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import fcntl
import hashlib
import json
import os
import platform
import re
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

DEFAULT_ROOT = Path("runs")
PACKAGES = ("superpose", "jax", "jaxlib", "flax", "optax", "numpy", "matplotlib", "tqdm")
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")  # UTC start time, then 24 random bits
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # experiment and sweep names (they become file names)


class RunError(Exception):
    """A run directory is missing, incomplete, busy or corrupt; the message (one line) names the file."""


# --- atomic writes and checked reads -------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable) -> None:
    """write(f) into a temp file beside `path`, fsync, then rename over `path`.

    A reader (or a process killed at any instant) sees the old file or the new one, never half of one: the
    rename is atomic on POSIX. An interrupted write leaves at most a hidden `.NAME.*.tmp`, which
    `Run.clean_temp` removes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600 files; runs are meant to be shared and read
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    data = (json.dumps(obj, indent=2, default=_json_default) + "\n").encode()
    _atomic_write(path, lambda f: f.write(data))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Uncompressed .npz (fast; the arrays are small). Object arrays are refused: they would need pickle."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in arrays.items():
        if v.dtype == object:
            raise TypeError(f"array {k!r} has dtype object; store numeric or string arrays only")
    _atomic_write(path, lambda f: np.savez(f, **arrays))


def read_json(path: Path) -> dict:
    """A JSON object from `path`; RunError naming the file if it is missing, truncated or not an object."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"missing file: {path}")
    try:
        obj = json.loads(path.read_bytes().decode())
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RunError(f"corrupt or truncated file: {path} ({e.__class__.__name__})") from None
    if not isinstance(obj, dict):
        raise RunError(f"corrupt file: {path} (expected a JSON object, found {type(obj).__name__})")
    return obj


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz, read eagerly (so a bad CRC or short member fails here, naming the file)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"missing file: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error, ...
        raise RunError(f"corrupt or truncated file: {path} ({e.__class__.__name__})") from None


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (Path, type)):
        return str(o)
    if isinstance(o, (tuple, set, frozenset)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --- lineage -------------------------------------------------------------------------------------------


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_version() -> dict:
    """git commit of the package's checkout, whether tracked files differ from it, and a hash of that
    difference (all None outside git)."""
    commit = _git("rev-parse", "HEAD")
    diff = _git("diff", "HEAD") if commit else None
    return {
        "git_commit": commit,
        "git_dirty": bool(diff) if diff is not None else None,
        # Identifies the uncommitted changes themselves, so a resume can tell "same dirty tree" apart.
        "git_diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
    }


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def environment() -> dict:
    """Python, platform, packages, and the JAX backend with its devices (imports jax)."""
    import jax

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "jax_backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "processes": jax.process_count(),  # > 1 under jax.distributed (lab.distributed)
        "packages": package_versions(),
    }


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def parse_time(text) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


# --- runs ----------------------------------------------------------------------------------------------


class Run:
    """One run directory. Create with `Run.create`, open an existing one with `Run.open` or `find_run`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> str:
        return self.path.parent.name

    @classmethod
    def create(cls, experiment: str, root: Path = DEFAULT_ROOT) -> Run:
        """A fresh directory root/<experiment>/<UTC time>-<24 random bits>.

        mkdir without exist_ok is atomic, so two runs started in the same second (threads, processes, even
        machines sharing a file system) never share a directory: the loser of a clash draws again.
        """
        if not NAME.match(experiment):
            raise RunError(f"bad experiment name {experiment!r} (letters, digits and _ only)")
        parent = Path(root) / experiment
        parent.mkdir(parents=True, exist_ok=True)
        while True:
            stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
            path = parent / f"{stamp}-{secrets.token_hex(3)}"
            try:
                path.mkdir()
                return cls(path)
            except FileExistsError:
                continue

    @classmethod
    def open(cls, path) -> Run:
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"no run directory at {path}")
        if not (path / "config.json").is_file():
            raise RunError(f"missing file: {path / 'config.json'} (not a run directory, or it was cut short)")
        return cls(path)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def complete(self) -> bool:
        return self.file("summary.json").is_file()

    def config(self) -> dict:
        """config.json, checked to have the keys every run writes."""
        config = read_json(self.file("config.json"))
        for key, typ in (("experiment", str), ("config", dict)):
            if not isinstance(config.get(key), typ):
                raise RunError(f"corrupt file: {self.file('config.json')} (no {key!r} {typ.__name__})")
        return config

    def lineage(self) -> dict:
        return read_json(self.file("lineage.json"))

    def summary(self) -> dict:
        return read_json(self.file("summary.json"))

    def results(self) -> dict[str, np.ndarray]:
        return read_npz(self.file("results.npz"))

    def update_lineage(self, **fields) -> dict:
        """Merge `fields` into lineage.json (atomically); returns the new lineage."""
        path = self.file("lineage.json")
        lineage = read_json(path) if path.exists() else {}
        lineage.update(fields)
        write_json(path, lineage)
        return lineage

    def sweep_path(self, name: str) -> Path:
        return self.file(f"sweeps/{name}.npz")

    def checkpoint_path(self, name: str) -> Path:
        return self.file(f"checkpoints/{name}.npz")

    def figures(self) -> list[Path]:
        return sorted(self.path.glob("*.png"))

    # --- the lock: one process at a time may run (or resume) a run ---

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive flock on .lock; RunError if another process holds it.

        flock dies with its process (SIGKILL included), so a killed run never leaves a stale lock.
        """
        fd = os.open(self.file(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunError(f"run {self.path} is being run by another process right now") from None
            yield
        finally:
            os.close(fd)  # closing drops the lock

    def running(self) -> bool:
        """True if some process holds the run's lock right now."""
        try:
            fd = os.open(self.file(".lock"), os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def clean_temp(self) -> None:
        """Remove temp files left by writes that a killed process never finished (call under the lock)."""
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    def status(self) -> str:
        """complete | running | failed (an error was recorded) | incomplete (interrupted or killed)."""
        if self.complete:
            return "complete"
        if self.running():
            return "running"
        try:
            if self.lineage().get("error"):
                return "failed"
        except RunError:
            pass
        return "incomplete"

    def info(self) -> dict:
        """One row of `superpose list`: never raises, even on a corrupt run directory."""
        try:
            lineage = self.lineage()
        except RunError:
            lineage = {}
        sweeps = lineage.get("sweeps") if isinstance(lineage.get("sweeps"), dict) else {}
        instances = sum(int(s.get("instances", 0)) for s in sweeps.values() if isinstance(s, dict))
        return {
            "id": self.id,
            "experiment": self.experiment,
            "status": self.status(),
            "started": lineage.get("started"),
            "wall_s": lineage.get("wall_s"),
            "instances": instances or None,
        }


@dataclasses.dataclass
class LoadedRun:
    """A stored run as Python objects (`load_run`).

    path, status: the run directory and its status (complete, incomplete, failed, running)
    config:  config.json (experiment, quick, overrides, the full resolved "config", ...)
    arrays:  results.npz (instance-first arrays; empty until the run wrote them)
    summary: summary.json (the checks) or None until the run completes
    studies: {name: StudyResult} of every Study the run trained (ctx.study), rebuilt from its sweeps
    """

    path: Path
    status: str
    config: dict
    arrays: dict
    summary: dict | None

    @property
    def study_names(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "studies").glob("*.json"))

    def study(self, name: str | None = None):
        """The StudyResult of study `name` (default: the run's only study), as `Study.run()` returned it."""
        from superpose.study import StudyGroup, result_from_spec, stored_groups

        names = self.study_names
        if name is None:
            if len(names) != 1:
                raise RunError(f"run {self.path} holds studies {names or 'none'}: name one")
            name = names[0]
        if name not in names:
            raise RunError(f"run {self.path} has no study {name!r} (studies: {names or 'none'})")
        spec = read_json(self.path / "studies" / f"{name}.json")
        groups = []
        for sweep, (static, index) in zip(spec.get("sweeps", []), stored_groups(spec)):
            arrays = read_npz(self.path / "sweeps" / f"{sweep}.npz")
            groups.append(
                StudyGroup(
                    static, index, sweep_result_from_arrays(arrays, self.path / "sweeps" / f"{sweep}.npz")
                )
            )
        return result_from_spec(spec, groups)

    @property
    def studies(self) -> dict:
        return {name: self.study(name) for name in self.study_names}


def sweep_result_from_arrays(arrays: dict, path: Path):
    """A SweepResult from a finished sweep's file (sweeps/NAME.npz)."""
    from superpose.lab.experiment import _result_from_arrays

    known = {"loss", "log_steps", "final_loss", "select_loss", "diverged", "eval_batches"}
    params = [k for k in arrays if k not in known and not k.startswith("snapshot_")]
    if "final_loss" not in arrays:
        raise RunError(f"corrupt file: {path} (missing arrays ['final_loss'])")
    return _result_from_arrays(arrays, params, path, arrays["final_loss"].shape[0])


def load_run(ref, root: Path = DEFAULT_ROOT, incomplete: bool = False) -> LoadedRun:
    """A stored run as Python objects: its config, arrays, summary and studies (LoadedRun).

    ref: a run directory, or anything `find_run` accepts (id, id prefix, EXPERIMENT/ID, an experiment name or
    "latest", looked up under `root`). An experiment name or "latest" means the newest complete run, unless
    `incomplete`; a run named exactly that is not complete raises RunError unless `incomplete`.
    """
    run = find_run(str(ref), root)
    if not incomplete and not run.complete:
        by_name = str(ref) == "latest" or (NAME.match(str(ref)) and not Path(ref).is_dir())
        pool = [r for r in list_runs(root, None if str(ref) == "latest" else run.experiment) if r.complete]
        if not by_name or not pool:
            raise RunError(f"run {run.path} is {run.status()} (pass incomplete=True to load it anyway)")
        run = max(pool, key=lambda r: r.id)
    results = run.file("results.npz")
    return LoadedRun(
        path=run.path,
        status=run.status(),
        config=run.config(),
        arrays=read_npz(results) if results.exists() else {},
        summary=run.summary() if run.complete else None,
    )


def find_run(ref: str, root: Path = DEFAULT_ROOT) -> Run:
    """A run given as a directory path, "latest" (newest run), an experiment name (its newest run),
    EXPERIMENT/ID, a run id or a unique prefix of one, looked up under `root`."""
    path = Path(ref)
    if path.is_dir() and (path / "config.json").exists():
        return Run.open(path)
    root = Path(root)
    runs = list_runs(root)
    if ref == "latest" or NAME.match(ref):
        pool = runs if ref == "latest" else [r for r in runs if r.experiment == ref]
        if pool:
            return Run.open(max(pool, key=lambda r: r.id).path)
        if ref == "latest":
            raise RunError(f"no runs under {root}/")
    matches = [r for r in runs if r.id.startswith(ref) or f"{r.experiment}/{r.id}".startswith(ref)]
    if not matches:
        if path.exists():
            return Run.open(path)  # a directory that is not a run: Run.open names the missing file
        raise RunError(f"unknown run {ref!r} (no run id, experiment or directory of that name under {root}/)")
    if len(matches) > 1:
        names = ", ".join(f"{r.experiment}/{r.id}" for r in matches[:4])
        raise RunError(f"ambiguous run id {ref!r}: it matches {len(matches)} runs ({names}, ...)")
    return Run.open(matches[0].path)


def list_runs(root: Path = DEFAULT_ROOT, experiment: str | None = None) -> list[Run]:
    """Run directories under root (optionally one experiment's), oldest first (ids start with the time)."""
    pattern = f"{experiment}/*" if experiment else "*/*"
    runs = [Run(p) for p in Path(root).glob(pattern) if p.is_dir() and RUN_ID.match(p.name)]
    return sorted(runs, key=lambda r: (r.id, r.experiment))


def copy_file(src: Path, dst: Path) -> None:
    """Copy atomically (a reader of dst never sees half a figure)."""
    data = Path(src).read_bytes()
    _atomic_write(dst, lambda f: f.write(data))
