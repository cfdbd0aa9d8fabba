"""Snapshots in the run store and `superpose animate`: the stored layout, the schedule, animations written
from the stored arrays alone (training made to raise), choosing instances, and one-line errors."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from superpose.config import ConfigError, TrainConfig, snapshot_schedule
from superpose.lab import cli, store
from superpose.lab.animate import AnimateOptions, coordinates, select_instances
from superpose.lab.experiment import Context
from superpose.lab.progress import FrameProgress
from superpose.sweep import Sweep

# intro at a tiny scale with 12 frames: 2 densities x 2 seeds, 2000 steps (the shapes test_cli compiles).
TINY = ["--quick", "--quiet", "--set", "n_steps=2000", "--set", "n_densities=2", "--set", "n_seeds=2",
        "--set", "batch_size=64", "--set", "n_frames=12"]  # fmt: skip


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> store.Run:
    runs_dir = tmp_path_factory.mktemp("runs")
    assert cli.main(["run", "intro", *TINY, "--runs-dir", str(runs_dir)]) in (0, 1)
    (run,) = store.list_runs(runs_dir, "intro")
    return run


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("animate must not train")

    monkeypatch.setattr(Sweep, "run", refuse)
    monkeypatch.setattr(Sweep, "run_chunk", refuse)
    monkeypatch.setattr(Context, "sweep", refuse)


def one_error_line(capsys, code: int, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def gif_frames(path: Path) -> int:
    with Image.open(path) as im:
        return im.n_frames


# --- the stored layout ---------------------------------------------------------------------------------


def test_snapshots_are_stored_in_the_run_layout(done):
    arrays = done.results()
    cfg = done.config()["config"]
    steps, W, b = arrays["snapshot_steps"], arrays["snapshot_W"], arrays["snapshot_b"]
    n = arrays["W"].shape[0]
    assert steps.ndim == 1 and 1 < steps.size <= 12
    assert np.all(np.diff(steps) > 0) and steps[-1] == cfg["n_steps"] and steps[0] > 0
    assert np.all(steps % cfg["frame_every"] == 0)
    assert W.shape == (n, steps.size, cfg["n_hidden"], cfg["n_features"])
    assert b.shape == (n, steps.size, cfg["n_features"])
    # The last snapshot is the final weights, bitwise; earlier ones differ (training moved them).
    np.testing.assert_array_equal(W[:, -1], arrays["W"])
    np.testing.assert_array_equal(b[:, -1], arrays["b"])
    assert not np.array_equal(W[:, 0], W[:, -1])
    # The sweep file (what a resumed run reloads) holds the same snapshots.
    sweep = store.read_npz(done.sweep_path("main"))
    np.testing.assert_array_equal(sweep["snapshot_W"], W)
    np.testing.assert_array_equal(sweep["snapshot_steps"], steps)


@settings(max_examples=200, deadline=None)
@given(
    windows=st.integers(1, 3000),
    every=st.integers(1, 50),
    n_frames=st.integers(1, 400),
    dense_until=st.sampled_from([1.0, 0.5, 0.2, 0.01]),
)
def test_snapshot_schedule(windows, every, n_frames, dense_until):
    n_steps = windows * every
    steps = np.asarray(snapshot_schedule(n_steps, n_frames, every, dense_until))
    assert steps.size == min(n_frames, windows)
    assert steps[-1] == n_steps and steps[0] >= every
    assert np.all(np.diff(steps) > 0) and np.all(steps % every == 0)
    TrainConfig(4, 2, n_steps=n_steps, log_every=every, chunk_steps=n_steps, snapshot_steps=tuple(steps))


def test_snapshot_schedule_is_log_spaced_early():
    steps = np.asarray(snapshot_schedule(10_000, 100, 10))
    assert (steps <= 1_000).sum() > (steps > 5_000).sum()  # most frames where the geometry changes fastest


@pytest.mark.parametrize(
    "snapshot_steps, fragment",
    [((30, 20), "strictly increasing"), ((20, 20), "strictly increasing"), ((15,), "multiple"), ((0,), "multiple"),
     ((2010,), "multiple"), ((20.0,), "multiple")],
)  # fmt: skip
def test_bad_snapshot_steps_are_refused(snapshot_steps, fragment):
    with pytest.raises(ConfigError, match=fragment):
        TrainConfig(4, 2, n_steps=2000, log_every=10, snapshot_steps=snapshot_steps)


# --- superpose animate -----------------------------------------------------------------------------------


def test_animate_writes_the_experiments_animation_without_training(capsys, tmp_path, done, no_training):
    out = tmp_path / "anim"
    assert cli.main(["animate", str(done.path), "--out", str(out), "--quiet"]) == 0
    (gif,) = out.iterdir()
    assert gif.name == "intro_forming.gif"
    assert capsys.readouterr().out.strip() == str(gif)
    assert gif_frames(gif) == done.results()["snapshot_steps"].size
    assert gif.stat().st_size < 2_000_000
    assert not list(out.glob(".*"))  # no partial file left behind


def test_animate_where_picks_every_matching_instance(capsys, tmp_path, done, no_training):
    arrays = done.results()
    density = float(arrays["density"][-1])
    out = tmp_path / "anim"
    code = cli.main(["animate", "latest", "--runs-dir", str(done.path.parents[1]), "--where", f"density={density:.4g}",
                     "--out", str(out), "--quiet", "--fps", "5"])  # fmt: skip
    assert code == 0
    expected = np.flatnonzero(np.isclose(arrays["density"], density, rtol=1e-3))
    assert expected.size == 2  # both seeds
    assert sorted(p.name for p in out.iterdir()) == [f"intro_instance{i}.gif" for i in expected]
    # Two conditions AND together; --instance picks one.
    seed = int(arrays["seed"][expected[1]])
    assert select_instances(arrays, where=[f"density={density}", f"seed={seed}"]) == (int(expected[1]),)
    assert select_instances(arrays, instance=1) == (1,)
    assert select_instances(arrays) is None


def test_coordinates_are_the_per_instance_arrays(done):
    arrays = done.results()
    n = arrays["W"].shape[0]
    coords = coordinates(arrays, n)
    assert {"density", "seed"} <= set(coords)
    assert not {"final_loss", "loss", "snapshot_steps", "best_density"} & set(coords)


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--where", "density=0.123"], ["no instance has it", "stored values"]),
        (["--where", "colour=1"], ["not a per-instance coordinate", "density", "seed"]),
        (["--where", "density"], ["KEY=VALUE"]),
        (["--where", "density=abc"], ["not a number"]),
        (["--instance", "4"], ["--instance must be in [0, 3]"]),
        (["--instance", "-1"], ["--instance must be in [0, 3]"]),
        (["--fps", "0"], ["--fps"]),
    ],
)
def test_animate_bad_choices_are_one_line(capsys, tmp_path, done, no_training, args, fragments):
    code = cli.main(["animate", str(done.path), "--out", str(tmp_path), "--quiet", *args])
    one_error_line(capsys, code, *fragments)
    assert not list(tmp_path.iterdir())


def test_mp4_without_ffmpeg_is_a_clear_error(capsys, tmp_path, done, no_training, monkeypatch):
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    code = cli.main(["animate", str(done.path), "--format", "mp4", "--out", str(tmp_path), "--quiet"])
    one_error_line(capsys, code, "ffmpeg", "--format gif")


def test_a_run_without_snapshots_says_so(capsys, tmp_path, done, no_training):
    run_dir = tmp_path / "runs" / "intro" / done.id
    shutil.copytree(done.path, run_dir)
    arrays = {
        k: v for k, v in store.read_npz(run_dir / "results.npz").items() if not k.startswith("snapshot_")
    }
    store.write_npz(run_dir / "results.npz", arrays)
    code = cli.main(["animate", str(run_dir), "--out", str(tmp_path / "a"), "--quiet"])
    one_error_line(capsys, code, "kept no weight snapshots")


def test_default_animation_needs_a_choice_when_there_are_many_instances(tmp_path, done):
    from superpose.lab.animate import default_animate

    with pytest.raises(ConfigError, match="4 instances kept snapshots: choose with --instance"):
        default_animate(None, done.results(), tmp_path, AnimateOptions())


def test_frame_progress_plain_lines():
    stream = io.StringIO()
    progress = FrameProgress(stream=stream)
    for i in range(8):
        progress(i, 8)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "rendering: frame 1/8" and lines[-1] == "rendering: frame 8/8" and len(lines) == 5
    quiet = io.StringIO()
    FrameProgress(quiet=True, stream=quiet)(0, 8)
    assert quiet.getvalue() == ""
