"""Resume: a run killed (SIGKILL) or interrupted (SIGINT) at a checkpoint, or killed half-way through writing
one, then resumed with `superpose resume`, ends with arrays bitwise identical to an uninterrupted run, weight
snapshots included.

Every run here is a subprocess of `experiments/intro.py --quick` shrunk to 3 chunks of 1000 steps. A small
driver wraps the script to pause at a chosen point (after a checkpoint is written, or half-way through
writing one) so the signal lands there deterministically rather than by timing. The subprocesses share a
persistent JAX compilation cache, so only the first one pays for compilation.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from superpose.lab import store

REPO = Path(__file__).resolve().parents[1]
INTRO = REPO / "experiments" / "intro.py"
# 3 chunks of 1000 steps (intro uses chunk_steps = min(n_steps, 1000)), 2 densities x 2 seeds.
TINY = ["--quick", "--quiet", "--set", "n_steps=3000", "--set", "n_densities=2", "--set", "n_seeds=2",
        "--set", "batch_size=64"]  # fmt: skip

# Runs intro.py as __main__, pausing (so the test can signal it) at the point named by argv[1]:
#   after_checkpoint: right after the first checkpoint file is in place
#   during_write:     half-way through writing the second checkpoint (a partial temp file on disk)
DRIVER = textwrap.dedent(
    """
    import io, os, runpy, sys, time
    import numpy as np
    from superpose.lab import store

    mode, marker, script, *args = sys.argv[1:]
    written = [0]

    def pause():
        open(marker, "w").close()
        time.sleep(600)

    original_write_npz, original_savez = store.write_npz, np.savez

    def write_npz(path, arrays):
        original_write_npz(path, arrays)
        if "checkpoints" in str(path) and mode == "after_checkpoint":
            pause()

    def savez(f, **arrays):
        if "next_chunk" in arrays:
            written[0] += 1
            if mode == "during_write" and written[0] == 2:
                buf = io.BytesIO()
                original_savez(buf, **arrays)
                f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                f.flush()
                pause()
        original_savez(f, **arrays)

    store.write_npz, np.savez = write_npz, savez
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")
    """
)


def subprocess_env(cache_dir: Path) -> dict:
    """The parent's environment without XLA/JAX flags (tests may force fake devices), plus a shared
    persistent compilation cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "JAX_"))}
    env.update(
        JAX_COMPILATION_CACHE_DIR=str(cache_dir),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
        MPLBACKEND="Agg",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    (root / "driver.py").write_text(DRIVER)
    return root


def only_run(runs_dir: Path) -> store.Run:
    runs = store.list_runs(runs_dir)
    assert len(runs) == 1, runs
    return runs[0]


@pytest.fixture(scope="module")
def baseline(workspace) -> dict[str, np.ndarray]:
    """results.npz of an uninterrupted run."""
    runs_dir = workspace / "baseline"
    out = subprocess.run(
        [sys.executable, str(INTRO), *TINY, "--runs-dir", str(runs_dir)],
        env=subprocess_env(workspace / "cache"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode in (0, 1), out.stderr  # 1: a science check failed at this tiny size
    run = only_run(runs_dir)
    assert run.status() == "complete"
    results = run.results()
    # intro keeps weight snapshots, so every resume test below also checks them bitwise.
    assert results["snapshot_W"].shape[1] == results["snapshot_steps"].size > 50
    return results


def start_paused(workspace: Path, mode: str, runs_dir: Path) -> tuple[subprocess.Popen, Path]:
    """Start the driver in `mode` and wait until it pauses at its marker."""
    marker = runs_dir.with_suffix(".marker")  # one per run: a stale marker would end the wait at once
    proc = subprocess.Popen(
        [
            sys.executable,
            str(workspace / "driver.py"),
            mode,
            str(marker),
            str(INTRO),
            *TINY,
            "--runs-dir",
            str(runs_dir),
        ],  # fmt: skip
        env=subprocess_env(workspace / "cache"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"driver exited early ({proc.returncode}): {proc.stderr.read()}")
        assert time.monotonic() < deadline, "driver never reached its pause point"
        time.sleep(0.05)
    return proc, marker


def resume(workspace: Path, run: store.Run) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "superpose.lab.cli", "resume", str(run.path), "--quiet"],
        env=subprocess_env(workspace / "cache"),
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_bitwise_equal(results: dict, baseline: dict) -> None:
    assert sorted(results) == sorted(baseline)
    for key in baseline:
        assert results[key].dtype == baseline[key].dtype, key
        assert np.array_equal(results[key], baseline[key]), f"{key} differs after resume"


@pytest.mark.parametrize("mode", ["after_checkpoint", "during_write"])
def test_sigkill_then_resume_is_bitwise_identical(workspace, baseline, mode):
    runs_dir = workspace / mode
    proc, _ = start_paused(workspace, mode, runs_dir)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    run = only_run(runs_dir)
    assert run.status() == "incomplete"
    ckpt = store.read_npz(run.checkpoint_path("main"))  # the last complete checkpoint is intact
    assert int(ckpt["next_chunk"]) == 1
    if mode == "during_write":
        assert list(run.path.rglob(".*.tmp")), "the half-written temp file should be there"

    out = resume(workspace, run)
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    assert run.status() == "complete"
    assert not list(run.path.rglob(".*.tmp"))
    assert not run.checkpoint_path("main").exists()
    assert_bitwise_equal(run.results(), baseline)
    lineage = run.lineage()
    assert len(lineage["sessions"]) == 2
    assert "outcome" not in lineage["sessions"][0]  # the killed session never closed
    assert lineage["sessions"][1]["outcome"] == "complete"
    assert lineage["sweeps"]["main"]["resumed_at_chunk"] == 1


def test_sigint_keeps_checkpoint_and_says_how_to_resume(workspace, baseline):
    runs_dir = workspace / "sigint"
    proc, _ = start_paused(workspace, "after_checkpoint", runs_dir)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    run = only_run(runs_dir)
    assert f"superpose resume {run.path}" in stderr
    assert int(store.read_npz(run.checkpoint_path("main"))["next_chunk"]) == 1
    assert run.status() == "incomplete"
    assert run.lineage()["sessions"][-1]["outcome"] == "interrupted"


def test_resume_of_a_complete_run_does_nothing(workspace, baseline, capsys):
    from superpose.lab import cli

    run = only_run(workspace / "baseline")
    before = run.file("summary.json").read_bytes()
    assert cli.main(["resume", str(run.path)]) == 0
    assert "already complete" in capsys.readouterr().out
    assert run.file("summary.json").read_bytes() == before
