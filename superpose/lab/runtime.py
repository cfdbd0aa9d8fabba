"""Process-wide runtime settings, for ENTRY POINTS only (experiment scripts, the `superpose` command,
benchmarks). Library modules never call this: style.md keeps global state out of the library.

Owns: exposing every CPU core as its own JAX device. The sweep shards its instance axis over devices, so
on a CPU this spreads independent instances over cores; measured on the 2-core CPU here
(benchmarks/RESULTS.md), it doubled throughput on small grids where XLA's own intra-op threads gained
nothing. Does not: touch anything once JAX's backend has started, or override a user's own XLA_FLAGS.
"""

from __future__ import annotations

import os

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


def prepare_entry_point() -> None:
    """Everything an entry point sets before JAX starts: one device per CPU core and the file backend."""
    use_every_cpu_core()
    use_file_backend()
