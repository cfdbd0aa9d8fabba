"""The run store: runs/<experiment>/<run-id>/ with config, lineage, arrays, summary and figures.

Owns: run directories, atomic writes (temp file + rename), lineage capture, chunk checkpoints and loading
runs back. Does not: train or plot.

Layout of a run directory:
    config.json     the resolved experiment config (enough to rerun it)
    lineage.json    code version, packages, backend/devices, seeds, command line, times
    sweeps/NAME.npz one finished sweep's arrays (a resumed run skips finished sweeps)
    checkpoints/NAME.npz  the last chunk checkpoint of an unfinished sweep
    results.npz     instance-first arrays of the experiment
    summary.json    checked numbers; written last: a run is complete only once it exists
    *.png           figures, rebuilt from results.npz by `superpose plot RUN`
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

DEFAULT_ROOT = Path("runs")
PACKAGES = ("superpose", "jax", "jaxlib", "flax", "optax", "numpy", "matplotlib")


class RunError(Exception):
    """A run directory is missing, incomplete or corrupt; the message names the file."""


# --- atomic writes -------------------------------------------------------------------------------------


def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    data = json.dumps(obj, indent=2, default=_json_default).encode()
    _atomic_write(path, lambda f: f.write(data))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    _atomic_write(path, lambda f: np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()}))


def read_json(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise RunError(f"missing file: {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"corrupt file: {path} ({e.__class__.__name__})") from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.exists():
        raise RunError(f"missing file: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise RunError(f"corrupt or truncated file: {path} ({e.__class__.__name__})") from None


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, tuple):
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
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def environment() -> dict:
    import jax

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "jax_backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "packages": package_versions(),
    }


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# --- runs ----------------------------------------------------------------------------------------------


class Run:
    """One run directory. Create with `Run.create`, open an existing one with `Run.open`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> str:
        return self.path.parent.name

    @classmethod
    def create(cls, experiment: str, root: Path = DEFAULT_ROOT) -> Run:
        """A fresh directory runs/<experiment>/<UTC time>-<random>; mkdir without exist_ok, so two runs
        started in the same second never share a directory."""
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
        parent = Path(root) / experiment
        parent.mkdir(parents=True, exist_ok=True)
        while True:
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
        if not (path / "config.json").exists():
            raise RunError(f"missing file: {path / 'config.json'}")
        return cls(path)

    # files
    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def complete(self) -> bool:
        return self.file("summary.json").exists()

    def config(self) -> dict:
        return read_json(self.file("config.json"))

    def lineage(self) -> dict:
        return read_json(self.file("lineage.json"))

    def summary(self) -> dict:
        return read_json(self.file("summary.json"))

    def results(self) -> dict[str, np.ndarray]:
        return read_npz(self.file("results.npz"))

    def update_lineage(self, **fields) -> None:
        path = self.file("lineage.json")
        lineage = read_json(path) if path.exists() else {}
        lineage.update(fields)
        write_json(path, lineage)

    # sweeps and checkpoints
    def sweep_path(self, name: str) -> Path:
        return self.file(f"sweeps/{name}.npz")

    def checkpoint_path(self, name: str) -> Path:
        return self.file(f"checkpoints/{name}.npz")

    def status(self) -> str:
        """complete / failed / incomplete."""
        if self.complete:
            return "complete"
        lineage_path = self.file("lineage.json")
        if lineage_path.exists():
            try:
                if read_json(lineage_path).get("error"):
                    return "failed"
            except RunError:
                return "failed"
        return "incomplete"


def load_run(path) -> tuple[dict[str, np.ndarray], dict]:
    """(results arrays, config) of a stored run: the Python API for analysis and figures."""
    run = Run.open(path)
    return run.results(), run.config()


def find_run(ref: str, root: Path = DEFAULT_ROOT) -> Run:
    """A run given as a path, an id, or a unique id prefix under root."""
    path = Path(ref)
    if path.is_dir():
        return Run.open(path)
    matches = sorted(p for p in Path(root).glob(f"*/{ref}*") if p.is_dir())
    if not matches:
        raise RunError(f"unknown run: {ref!r} (looked under {root}/)")
    if len(matches) > 1:
        raise RunError(f"ambiguous run id {ref!r}: matches {', '.join(p.name for p in matches[:5])}")
    return Run.open(matches[0])


def list_runs(root: Path = DEFAULT_ROOT, experiment: str | None = None) -> list[Run]:
    pattern = f"{experiment}/*" if experiment else "*/*"
    return [Run(p) for p in sorted(Path(root).glob(pattern)) if p.is_dir()]
