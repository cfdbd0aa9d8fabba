"""Memory a computation will need, checked before it allocates: a one-line refusal instead of an
out-of-memory traceback or a process killed by the system.

Owns: reading what memory is available (host RAM, an accelerator's memory) and `require`, which raises
ConfigError saying what is needed and what is there. Does not: estimate any particular computation's needs
(sweep.py and config.py do, where the arrays are made).
"""

from __future__ import annotations

import os

import numpy as np

from superpose.config import ConfigError


def fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def host_available() -> int | None:
    """Bytes of host memory available to a new allocation (Linux MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def device_available(device) -> int | None:
    """Bytes free on an accelerator (its allocator's limit minus what is in use); None on a CPU or if the
    backend does not say."""
    if device.platform == "cpu":
        return None
    try:
        stats = device.memory_stats()
    except Exception:  # backends without memory stats raise various errors
        return None
    if not stats or "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))


def require(needed: float, available: int | None, what: str, hint: str = "") -> None:
    """ConfigError if `needed` bytes exceed `available` (nothing is checked when available is None)."""
    if available is not None and needed > available:
        raise ConfigError(
            f"{what} needs about {fmt_bytes(needed)} but {fmt_bytes(available)} is available"
            + (f"; {hint}" if hint else "")
        )


def agreed(available: int | None) -> int | None:
    """The least of `available` over every process (jax.distributed), so that all processes accept or refuse
    a computation together; a process that does not know counts as unlimited. One process: unchanged."""
    import jax

    if jax.process_count() == 1:
        return available
    from jax.experimental import multihost_utils

    mine = np.int64(-1 if available is None else available)
    every = np.asarray(multihost_utils.process_allgather(mine))
    known = every[every >= 0]
    return int(known.min()) if known.size else None
