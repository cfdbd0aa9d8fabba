"""One experiment across several processes (jax.distributed): every process runs the same program on its own
devices' share of each sweep's instances, and only process 0 writes the run store.

Owns: starting the distributed runtime from the environment (before JAX computes anything), which process
leads, the run directory all processes agree on, and the private scratch copy a non-leading process works in.
Does not: shard or gather arrays (superpose.sweep does: `Sweep.put_instances` feeds each process's blocks from
the same host arrays, `to_host` gathers every instance to every process).

Launch (every process runs the same command; the store's directory must be shared to resume):
    SUPERPOSE_COORDINATOR=host0:12345 SUPERPOSE_NUM_PROCESSES=2 SUPERPOSE_PROCESS_ID=<0 or 1> superpose run NAME
    SUPERPOSE_DISTRIBUTED=auto superpose run NAME      # under SLURM or Open MPI: jax detects the rest
A non-leading process trains exactly what process 0 trains and writes its files into a scratch directory of
its own, deleted at the end, so experiments need no code of their own for it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from superpose.config import ConfigError
from superpose.lab import store

COORDINATOR, NUM_PROCESSES, PROCESS_ID, AUTO = (
    "SUPERPOSE_COORDINATOR",
    "SUPERPOSE_NUM_PROCESSES",
    "SUPERPOSE_PROCESS_ID",
    "SUPERPOSE_DISTRIBUTED",
)
_ID_BYTES = 256  # run directory names are far shorter
LOCK_NAME = ".lock"  # store.Run.lock's file: never copied into a scratch run


def requested(environ=os.environ) -> bool:
    return bool(environ.get(COORDINATOR) or environ.get(AUTO))


def initialize(environ=os.environ) -> None:
    """Start jax.distributed if the environment asks for it (see the module docstring); CPU processes talk
    through gloo collectives. ConfigError for incomplete or malformed settings."""
    if not requested(environ):
        return
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if environ.get(COORDINATOR):
        try:
            count, index = int(environ[NUM_PROCESSES]), int(environ[PROCESS_ID])
        except (KeyError, ValueError):
            raise ConfigError(
                f"{COORDINATOR} needs {NUM_PROCESSES} and {PROCESS_ID} as integers in the environment"
            ) from None
        if not 0 <= index < count:
            raise ConfigError(f"{PROCESS_ID}={index} must lie in [0, {NUM_PROCESSES}={count})")
        jax.distributed.initialize(environ[COORDINATOR], num_processes=count, process_id=index)
    else:
        jax.distributed.initialize()


def process() -> tuple[int, int]:
    """(this process's index, the number of processes); (0, 1) without importing jax when not distributed."""
    if not requested():
        return 0, 1
    import jax

    return jax.process_index(), jax.process_count()


def is_leader() -> bool:
    return process()[0] == 0


def _broadcast_text(text: str | None) -> str:
    """Process 0's `text` on every process."""
    from jax.experimental import multihost_utils

    buf = np.zeros(_ID_BYTES, np.uint8)
    if text is not None:
        raw = text.encode()
        buf[: len(raw)] = np.frombuffer(raw, np.uint8)
    out = np.asarray(multihost_utils.broadcast_one_to_all(buf))
    return bytes(out.astype(np.uint8)).rstrip(b"\0").decode()


def _scratch(experiment: str, run_id: str) -> store.Run:
    index = process()[0]
    path = Path(tempfile.mkdtemp(prefix=f"superpose-process{index}-")) / experiment / run_id
    path.mkdir(parents=True)
    return store.Run(path)


def create_run(experiment: str, root) -> store.Run:
    """A new run: process 0 creates it in the store; every other process gets a scratch run of the same id."""
    index, count = process()
    if count == 1:
        return store.Run.create(experiment, root)
    run = store.Run.create(experiment, root) if index == 0 else None
    run_id = _broadcast_text(run.id if run is not None else None)
    return run if run is not None else _scratch(experiment, run_id)


def working_copy(run: store.Run) -> store.Run:
    """The run this process resumes in: the run itself on process 0; elsewhere a scratch copy of it (the
    store's directory must be shared, as on a cluster's file system). Every process must name the same run."""
    index, count = process()
    if count == 1:
        return run
    leader_id = _broadcast_text(run.id if index == 0 else None)
    if index == 0:
        return run
    if leader_id != run.id:
        raise store.RunError(f"process {index} was asked to resume {run.id}, process 0 {leader_id}")
    copy = _scratch(run.experiment, run.id)
    shutil.copytree(run.path, copy.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(LOCK_NAME))
    return copy


def discard(run: store.Run) -> None:
    """Delete a non-leading process's scratch run (nothing on process 0)."""
    if process()[0] != 0:
        shutil.rmtree(run.path.parents[1], ignore_errors=True)
