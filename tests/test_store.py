"""The run store: atomic writes, checked reads naming the file, unique run ids, the lock, finding runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from superpose.lab import store
from superpose.lab.store import Run, RunError


def make_run(root: Path, experiment: str = "intro", complete: bool = False, error=None) -> Run:
    run = Run.create(experiment, root)
    store.write_json(run.file("config.json"), {"experiment": experiment, "config": {"n_features": 5}})
    store.write_json(run.file("lineage.json"), {"started": store.now(), "error": error, "wall_s": 1.5})
    if complete:
        store.write_npz(run.file("results.npz"), {"W": np.ones((3, 2, 5), np.float32)})
        store.write_json(run.file("summary.json"), {"checks": []})
    return run


# --- writes and reads ----------------------------------------------------------------------------------


@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    )
)
def test_npz_round_trip_is_exact(tmp_path_factory, a):
    path = tmp_path_factory.mktemp("npz") / "a.npz"
    store.write_npz(path, {"a": a, "b": np.arange(3)})
    back = store.read_npz(path)
    assert back["a"].dtype == a.dtype and back["a"].shape == a.shape
    assert np.array_equal(back["a"], a, equal_nan=a.dtype.kind == "f")


def test_json_round_trip_with_numpy_values(tmp_path):
    obj = {"x": np.float32(0.5), "y": np.arange(3), "z": (1, 2), "p": Path("a/b")}
    store.write_json(tmp_path / "a.json", obj)
    assert store.read_json(tmp_path / "a.json") == {"x": 0.5, "y": [0, 1, 2], "z": [1, 2], "p": "a/b"}


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(TypeError, match="'bad'"):
        store.write_npz(tmp_path / "a.npz", {"bad": np.array([{}, 1], dtype=object)})
    assert not list(tmp_path.iterdir())  # no file, no temp file


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "missing file"),
        (b'{"experiment": "intro", "con', "corrupt or truncated file"),
        (b"\xff\xfe\x00garbage", "corrupt or truncated file"),
        (b"[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_json_names_the_file(tmp_path, content, message):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RunError, match=message) as e:
        store.read_json(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "flipped"])
def test_bad_npz_names_the_file(tmp_path, damage):
    path = tmp_path / "results.npz"
    store.write_npz(path, {"W": np.arange(1000, dtype=np.float32)})
    data = path.read_bytes()
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    else:  # one flipped byte inside the array data: the zip CRC catches it
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
    with pytest.raises(RunError, match="missing file" if damage == "missing" else "corrupt") as e:
        store.read_npz(path)
    assert str(path) in str(e.value)


SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from superpose.lab import store
    path, marker = sys.argv[1:]

    def write(f):
        f.write(b"half of a new file")
        f.flush()
        open(marker, "w").close()
        time.sleep(600)

    store._atomic_write(path, write)
    """
)


def test_sigkill_during_a_write_leaves_the_old_file(tmp_path):
    """The temp-file-and-rename write: a process killed mid-write never leaves a partial file in place."""
    path, marker = tmp_path / "checkpoint.npz", tmp_path / "marker"
    store.write_npz(path, {"x": np.arange(5)})
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(path), str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert np.array_equal(store.read_npz(path)["x"], np.arange(5))
    leftovers = list(tmp_path.glob(".*.tmp"))
    assert len(leftovers) == 1
    Run(tmp_path).clean_temp()
    assert not list(tmp_path.glob(".*.tmp"))


# --- run ids -------------------------------------------------------------------------------------------


def test_runs_created_at_the_same_time_by_threads_never_collide(tmp_path):
    made: list[Path] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def worker():
        barrier.wait()
        paths = [Run.create("intro", tmp_path).path for _ in range(10)]
        with lock:
            made.extend(paths)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == len(set(made)) == 160
    assert all(store.RUN_ID.match(p.name) for p in made)


def test_runs_created_at_the_same_time_by_processes_never_collide(tmp_path):
    code = (
        "import sys, time\n"
        "from superpose.lab.store import Run\n"
        "while time.time() < float(sys.argv[2]): pass\n"  # start together
        "for _ in range(30): print(Run.create('intro', sys.argv[1]).path)\n"
    )
    start = str(time.time() + 1.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path), start], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    lines = [line for p in procs for line in p.communicate(timeout=60)[0].split()]
    assert all(p.returncode == 0 for p in procs)
    assert len(lines) == len(set(lines)) == 90
    assert len(list((tmp_path / "intro").iterdir())) == 90


def test_bad_experiment_name_is_refused(tmp_path):
    with pytest.raises(RunError, match="bad experiment name"):
        Run.create("../escape", tmp_path)


# --- the lock and status -------------------------------------------------------------------------------


def test_lock_is_exclusive_and_marks_the_run_running(tmp_path):
    run = make_run(tmp_path)
    assert run.status() == "incomplete" and not run.running()
    with run.lock():
        assert run.running() and run.status() == "running"
        with pytest.raises(RunError, match="another process"):
            with run.lock():
                pass
    assert not run.running()


def test_lock_of_a_killed_process_is_released(tmp_path):
    run = make_run(tmp_path)
    code = (
        "import sys, time\nfrom superpose.lab.store import Run\n"
        "with Run(sys.argv[1]).lock():\n    print('locked', flush=True)\n    time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(run.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert run.running()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert not run.running()
    with run.lock():
        pass


def test_status(tmp_path):
    assert make_run(tmp_path, complete=True).status() == "complete"
    assert make_run(tmp_path, error="Diverged: boom").status() == "failed"
    assert make_run(tmp_path).status() == "incomplete"
    broken = make_run(tmp_path)
    broken.file("lineage.json").write_text("{trunc")
    assert broken.status() == "incomplete"
    assert broken.info()["wall_s"] is None  # info never raises


# --- finding and loading runs --------------------------------------------------------------------------


def test_find_run_by_path_id_prefix_name_and_latest(tmp_path):
    a = make_run(tmp_path, "intro", complete=True)
    time.sleep(1.01)  # ids start with the second
    b = make_run(tmp_path, "other")
    assert store.find_run(str(a.path), tmp_path).path == a.path
    assert store.find_run(a.id, tmp_path).path == a.path
    assert store.find_run(a.id[:-2], tmp_path).path == a.path
    assert store.find_run(f"intro/{a.id}", tmp_path).path == a.path
    assert store.find_run("intro", tmp_path).path == a.path
    assert store.find_run("latest", tmp_path).path == b.path
    with pytest.raises(RunError, match="unknown run 'nope'"):
        store.find_run("nope", tmp_path)
    with pytest.raises(RunError, match="ambiguous"):
        store.find_run("20", tmp_path)
    with pytest.raises(RunError, match="no runs"):
        store.find_run("latest", tmp_path / "empty")
    assert [r.path for r in store.list_runs(tmp_path)] == [a.path, b.path]
    assert [r.path for r in store.list_runs(tmp_path, "other")] == [b.path]


def test_open_needs_config_json(tmp_path):
    run = make_run(tmp_path)
    run.file("config.json").unlink()
    with pytest.raises(RunError, match="missing file: .*config.json"):
        Run.open(run.path)
    with pytest.raises(RunError, match="missing file: .*config.json"):
        store.find_run(str(run.path), tmp_path)


def test_config_json_without_required_keys_is_corrupt(tmp_path):
    run = make_run(tmp_path)
    run.file("config.json").write_text(json.dumps({"config": {}}))
    with pytest.raises(RunError, match="config.json.*'experiment'"):
        run.config()


def test_load_run(tmp_path):
    run = make_run(tmp_path, complete=True)
    loaded = store.load_run(run.path)
    assert loaded.arrays["W"].shape == (3, 2, 5)
    assert loaded.config["experiment"] == "intro"
    assert loaded.status == "complete" and loaded.summary is not None


def test_load_run_skips_incomplete_runs_unless_asked(tmp_path):
    """An experiment name means its newest complete run; a run named exactly that is incomplete raises
    unless incomplete=True."""
    done = make_run(tmp_path, complete=True)
    time.sleep(1.01)  # run ids start with the second they were made
    partial = make_run(tmp_path, complete=False)
    assert partial.id > done.id
    assert store.load_run("intro", tmp_path).path == done.path
    assert store.load_run("intro", tmp_path, incomplete=True).path == partial.path
    with pytest.raises(RunError, match="incomplete.*incomplete=True"):
        store.load_run(partial.path, tmp_path)


def test_files_are_world_readable(tmp_path):
    run = make_run(tmp_path)
    assert os.stat(run.file("config.json")).st_mode & 0o044 == 0o044
