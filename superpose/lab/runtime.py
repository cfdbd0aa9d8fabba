"""Process-wide runtime settings, for ENTRY POINTS only (experiment scripts, the `superpose` command,
benchmarks). Library modules never call this: style.md keeps global state out of the library.

Owns: exposing every CPU core as its own JAX device. The sweep shards its instance axis over devices, so
on a CPU this spreads independent instances over cores; measured on the 2-core CPU here
(benchmarks/RESULTS.md), it doubled throughput on small grids where XLA's own intra-op threads gained
nothing. Also owns: JAX's persistent compilation cache (a rerun loads its executables from disk instead of
compiling them again). Does not: touch anything once JAX's backend has started, or override a user's own
XLA_FLAGS or JAX_* cache settings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FLAG = "--xla_force_host_platform_device_count"


def cpu_core_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def use_every_cpu_core(environ=os.environ) -> bool:
    """Ask XLA for one CPU device per core, unless XLA_FLAGS already sets a device count or
    SUPERPOSE_CPU_DEVICES=0. Must run before JAX starts its backend (the first jax.devices() or array);
    returns whether it changed XLA_FLAGS. SUPERPOSE_CPU_DEVICES=K asks for K devices instead."""
    flags = environ.get("XLA_FLAGS", "")
    wanted = environ.get("SUPERPOSE_CPU_DEVICES", "")
    if FLAG in flags or wanted == "0":
        return False
    count = int(wanted) if wanted.isdigit() else cpu_core_count()
    if count <= 1:
        return False
    environ["XLA_FLAGS"] = f"{flags} {FLAG}={count}".strip()
    return True


def use_file_backend(environ=os.environ) -> None:
    """Figures are files: matplotlib's Agg backend unless the user chose one (MPLBACKEND). Entry points only;
    the library never picks a backend, so figures show inline in Jupyter."""
    if environ.get("MPLBACKEND"):
        return
    environ["MPLBACKEND"] = "Agg"
    import sys

    if "matplotlib" in sys.modules:  # an experiment script imported pyplot before its main() ran
        import matplotlib

        matplotlib.use("Agg")


CACHE_ENV = "SUPERPOSE_COMPILATION_CACHE"
_CACHE_OFF = ("", "0", "off")
# Cache every program, however small or quick to compile: ours compile in well under JAX's 1 s default.
_CACHE_THRESHOLDS = {
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": -1,  # -1: no size limit (0 would let JAX pick one)
}


def compilation_cache_dir(environ=os.environ) -> Path | None:
    """Where JAX's persistent compilation cache goes, or None for none. SUPERPOSE_COMPILATION_CACHE=DIR
    moves it and =0, =off or empty turns it off (a JAX_COMPILATION_CACHE_DIR the user set still applies, as
    JAX reads it); otherwise a user's own JAX_COMPILATION_CACHE_DIR, else $XDG_CACHE_HOME/superpose/jax
    (if absolute), else ~/.cache/superpose/jax. Reads `environ` only."""
    if CACHE_ENV in environ:
        value = environ[CACHE_ENV].strip()
        return None if value.lower() in _CACHE_OFF else Path(value).expanduser().absolute()
    if environ.get("JAX_COMPILATION_CACHE_DIR"):
        return Path(environ["JAX_COMPILATION_CACHE_DIR"]).expanduser().absolute()
    xdg = environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # the XDG spec says to ignore a relative path
        base = Path(xdg)
    else:
        base = (Path(environ["HOME"]) if environ.get("HOME") else Path.home()) / ".cache"
    return base / "superpose" / "jax"


def use_compilation_cache(environ=os.environ) -> Path | None:
    """Turn on JAX's persistent compilation cache in compilation_cache_dir(environ), caching every program.

    Sets JAX_COMPILATION_CACHE_DIR and the JAX_PERSISTENT_CACHE_* thresholds in `environ` (a user's own
    values win), so JAX picks them up when imported and child processes inherit them, as they do XLA_FLAGS;
    if jax is already imported and `environ` is os.environ, it also updates jax.config. Does not import jax.
    Returns the directory, or None when the cache is off or the directory cannot be created or written
    (then one warning line on stderr, and no cache)."""
    path = compilation_cache_dir(environ)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError("not writable")
    except OSError as e:
        print(f"warning: no compilation cache: cannot use {path} ({e.strerror or e})", file=sys.stderr)
        return None
    environ["JAX_COMPILATION_CACHE_DIR"] = str(path)
    for name, value in _CACHE_THRESHOLDS.items():
        environ[name.upper()] = environ.get(name.upper()) or str(value)
    if environ is os.environ and "jax" in sys.modules:  # imported already: it has read the variables
        import jax

        jax.config.update("jax_compilation_cache_dir", str(path))
        for name, value in _CACHE_THRESHOLDS.items():
            jax.config.update(name, type(value)(environ[name.upper()]))
    return path


def prepare_entry_point() -> None:
    """Everything an entry point sets before JAX starts: one device per CPU core, the file backend, the
    persistent compilation cache, and jax.distributed where the environment asks for it (lab.distributed)."""
    use_every_cpu_core()
    use_file_backend()
    use_compilation_cache()
    from superpose.lab import distributed

    distributed.initialize()
