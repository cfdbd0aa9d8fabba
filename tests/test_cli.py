"""The `superpose` command: run, list, show, plot, resume, --help; lineage contents; progress output;
errors for runs with missing, truncated or corrupt files."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from superpose.lab import cli, store
from superpose.lab.experiment import Context
from superpose.lab.progress import Progress
from superpose.sweep import Sweep

# The same shapes as test_validation's in-process runs, so a whole test session compiles intro once.
TINY = ["--quick", "--quiet", "--set", "n_steps=2000", "--set", "n_densities=2", "--set", "n_seeds=2",
        "--set", "batch_size=64"]  # fmt: skip


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "JAX_"))} | {"MPLBACKEND": "Agg"}


def error_line(capsys, code: int, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    # A resume may warn first that the code changed since the run began (the tree is edited during tests).
    lines = [line for line in err.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def done(runs_dir) -> store.Run:
    """One complete intro run, made in-process through the CLI."""
    code = cli.main(["run", "intro", *TINY, "--runs-dir", str(runs_dir)])
    assert code in (0, 1)  # 1: a science check failed at this tiny size
    (run,) = store.list_runs(runs_dir, "intro")
    return run


def copy_of(run: store.Run, tmp_path: Path) -> store.Run:
    dest = tmp_path / "runs" / "intro" / run.id
    shutil.copytree(run.path, dest)
    return store.Run(dest)


# --- the console script and --help ---------------------------------------------------------------------


def test_console_script_is_installed_and_helps():
    exe = shutil.which("superpose")
    assert exe is not None, "pip install -e '.[test]' installs the superpose command"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for command in ("run", "list", "show", "plot", "resume"):
        assert command in out.stdout


@pytest.mark.parametrize("command", ["run", "list", "show", "plot", "resume"])
def test_every_command_has_help_with_an_example(capsys, command):
    with pytest.raises(SystemExit) as e:
        cli.main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"superpose {command}" in out


def test_bad_input_in_a_real_process_is_one_line_and_exit_2():
    out = subprocess.run(
        [sys.executable, "-m", "superpose.lab.cli", "run", "intro", "--quick", "--set", "n_steps=abc"],
        capture_output=True, text=True, timeout=120, env=clean_env(),
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip() == "error: --set n_steps='abc': expected an integer"
    out = subprocess.run(
        [sys.executable, "-m", "superpose.lab.cli", "show", "no-such-run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and out.stderr.startswith("error: unknown run 'no-such-run'")
    assert len(out.stderr.strip().splitlines()) == 1


# --- run, list, show, plot -----------------------------------------------------------------------------


def test_run_writes_the_whole_layout(done):
    assert done.status() == "complete"
    for name in (
        "config.json",
        "lineage.json",
        "results.npz",
        "summary.json",
        "intro.png",
        "sweeps/main.npz",
    ):
        assert done.file(name).is_file(), name
    assert not done.file("checkpoints").exists()  # deleted once the sweep finished
    results = done.results()
    assert results["W"].shape == (4, 2, 5)  # instance-first, the paper's m x n
    assert results["density"].shape == results["seed"].shape == (4,)  # every instance's grid coordinates
    config = done.config()
    assert config["experiment"] == "intro" and config["quick"] is True
    assert config["config"]["n_steps"] == 2000 and "n_steps=2000" in config["overrides"]
    assert Path(config["script"]).name == "intro.py"
    summary = done.summary()
    assert summary["figures"] == ["intro.png"] and len(summary["checks"]) == 3  # 3rd: measured importance


def test_lineage_records_code_environment_seeds_and_times(done):
    lineage = done.lineage()
    assert "git_commit" in lineage and "git_dirty" in lineage
    env = lineage["environment"]
    assert env["jax_backend"] and env["devices"] and env["packages"]["jax"]
    assert lineage["command"] and lineage["started"] <= lineage["ended"]
    assert lineage["train_s"] > 0 and lineage["wall_s"] >= lineage["train_s"] and lineage["compile_s"] >= 0
    sweep = lineage["sweeps"]["main"]
    assert sweep["instances"] == 4 and sweep["root_seed"] == 0 and sweep["seeds"] == [0, 1]
    assert sweep["done"] and sweep["train_s"] > 0
    assert [s["outcome"] for s in lineage["sessions"]] == ["complete"]


def test_list(capsys, runs_dir, done):
    assert cli.main(["list", "--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "experiment", "status", "start", "(UTC)", "wall", "instances"]
    row = next(line for line in out if done.id in line).split()
    assert row[1:3] == ["intro", "complete"] and row[-1] == "4"
    assert cli.main(["list", "nothing_here", "--runs-dir", str(runs_dir)]) == 0
    assert "no runs" in capsys.readouterr().out


def test_show(capsys, runs_dir, done):
    assert cli.main(["show", done.id, "--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    for fragment in ("status      complete", "rerun       superpose run intro --quick --set", "config",
                     "n_steps = 2000", "lineage", "sweep main", "summary", "[PASS]"):  # fmt: skip
        assert fragment in out, fragment
    assert cli.main(["show", "latest", "--runs-dir", str(runs_dir), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"] == done.config() and shown["summary"] == done.summary()


def test_plot_rebuilds_deleted_figures_without_training(capsys, tmp_path, done, monkeypatch):
    run = copy_of(done, tmp_path)
    run.file("intro.png").unlink()

    def no_training(*args, **kwargs):
        raise AssertionError("plot must not train")

    monkeypatch.setattr(Sweep, "run", no_training)
    monkeypatch.setattr(Context, "sweep", no_training)
    assert cli.main(["plot", str(run.path)]) == 0
    assert run.file("intro.png").stat().st_size > 1000
    assert capsys.readouterr().out.strip() == str(run.file("intro.png"))
    assert cli.main(["plot", str(run.path), "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "intro.png").is_file()


def test_figures_dir_receives_copies(tmp_path, done):
    code = cli.main(
        ["run", "intro", *TINY, "--runs-dir", str(tmp_path), "--figures-dir", str(tmp_path / "f")]
    )
    assert code in (0, 1)
    assert (tmp_path / "f" / "intro.png").is_file()


def test_devices_shards_over_k_devices_and_resume_keeps_them(tmp_path, done):
    import jax

    k = min(2, jax.device_count())
    code = cli.main(["run", "intro", *TINY, "--devices", str(k), "--runs-dir", str(tmp_path)])
    assert code in (0, 1)
    (run,) = store.list_runs(tmp_path)
    assert run.config()["devices"] == k
    assert len(run.lineage()["sweeps"]["main"]["devices"]) == k
    # Instances are independent, so how they are spread over devices does not change them.
    np.testing.assert_allclose(run.results()["W"], done.results()["W"], rtol=1e-5, atol=1e-6)


def test_resume_a_run_killed_before_its_first_checkpoint(tmp_path, done):
    """Only config.json exists (killed right after starting): resume trains from scratch, bitwise equal."""
    run = store.Run.create("intro", tmp_path)
    shutil.copy(done.file("config.json"), run.file("config.json"))
    assert run.status() == "incomplete"
    assert cli.main(["resume", run.id, "--runs-dir", str(tmp_path), "--quiet"]) in (0, 1)
    assert run.status() == "complete"
    fresh, reference = run.results(), done.results()
    assert all(np.array_equal(fresh[k], reference[k]) for k in reference)


# --- runs with missing, truncated or corrupt files ------------------------------------------------------


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


@pytest.mark.parametrize(
    "command, damage, file, fragment",
    [
        ("show", "delete", "config.json", "missing file"),
        ("show", "truncate", "config.json", "corrupt or truncated file"),
        ("show", "truncate", "lineage.json", "corrupt or truncated file"),
        ("show", "truncate", "summary.json", "corrupt or truncated file"),
        ("plot", "truncate", "results.npz", "corrupt or truncated file"),
        ("plot", "delete", "results.npz", "missing file"),
        ("plot", "garbage", "config.json", "corrupt or truncated file"),
        ("resume", "truncate", "config.json", "corrupt or truncated file"),
    ],
)
def test_damaged_files_are_named(capsys, tmp_path, done, command, damage, file, fragment):
    run = copy_of(done, tmp_path)
    path = run.file(file)
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        truncate(path)
    else:
        path.write_bytes(b"\x00\xff garbage")
    if command == "resume":
        run.file("summary.json").unlink()
    error_line(capsys, cli.main([command, str(run.path)]), fragment, str(path))


def make_incomplete(run: store.Run) -> None:
    for name in ("summary.json", "results.npz", "intro.png"):
        run.file(name).unlink()


@pytest.mark.parametrize("file", ["checkpoints/main.npz", "sweeps/main.npz"])
def test_resume_names_a_corrupt_checkpoint_or_sweep_file(capsys, tmp_path, done, file):
    run = copy_of(done, tmp_path)
    make_incomplete(run)
    path = run.file(file)
    if file.startswith("checkpoints"):
        run.file("sweeps/main.npz").unlink()
        path.parent.mkdir()
        path.write_bytes(b"PK\x03\x04 truncated zip")
    else:
        truncate(path)
    error_line(capsys, cli.main(["resume", str(run.path), "--quiet"]), "corrupt or truncated file", str(path))


def test_plot_names_a_missing_array(capsys, tmp_path, done):
    run = copy_of(done, tmp_path)
    arrays = run.results()
    del arrays["best_W"]
    store.write_npz(run.file("results.npz"), arrays)
    error_line(capsys, cli.main(["plot", str(run.path)]), "results.npz", "lacks the array 'best_W'")


@pytest.mark.parametrize(
    "edit, fragment",
    [
        ({"experiment": "no_such_experiment"}, "unknown experiment 'no_such_experiment'"),
        ({"config": {"n_steps": "many"}}, "config key 'n_steps' should be an integer"),
        ({"config": {"n_features": -1}}, "invalid config: n_features must be a positive integer"),
        ({"config": {"n_fetaures": 5}}, "unknown config key 'n_fetaures'"),
        ({"config": [1, 2]}, "no 'config' dict"),
    ],
)
def test_bad_config_json_content(capsys, tmp_path, done, edit, fragment):
    run = copy_of(done, tmp_path)
    config = run.config() | edit
    store.write_json(run.file("config.json"), config)
    error_line(capsys, cli.main(["plot", str(run.path)]), fragment)


def test_unknown_and_ambiguous_run_ids(capsys, runs_dir, done):
    error_line(capsys, cli.main(["show", "nope", "--runs-dir", str(runs_dir)]), "unknown run 'nope'")
    error_line(capsys, cli.main(["resume", "1999", "--runs-dir", str(runs_dir)]), "unknown run '1999'")
    error_line(capsys, cli.main(["plot", "latest", "--runs-dir", str(runs_dir / "x")]), "no runs")


def test_a_running_run_cannot_be_resumed_twice(capsys, tmp_path, done):
    run = copy_of(done, tmp_path)
    make_incomplete(run)
    with run.lock():
        error_line(capsys, cli.main(["resume", str(run.path)]), "being run by another process")


# --- progress ------------------------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def drive(progress: Progress) -> None:
    progress.start("main", 0, 3, 8)
    for done in (1, 2, 3):
        progress.update("main", done, 3, 1000, np.full((8, done * 10), 0.25))
    progress.close()


def test_progress_plain_lines_when_not_a_tty():
    stream = io.StringIO()
    drive(Progress(stream=stream, min_interval_s=0.0))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "main: 8 instances, 3 chunks"
    assert lines[-1].startswith("main: chunk 3/3, ")
    assert all(f in lines[-1] for f in ("steps/s", "ETA 0:00", "mean loss 0.25"))


def test_progress_throttles_plain_lines():
    stream = io.StringIO()
    drive(Progress(stream=stream, min_interval_s=3600.0))
    chunks = [line.split(",")[0] for line in stream.getvalue().splitlines()[1:]]
    assert chunks == ["main: chunk 1/3", "main: chunk 3/3"]  # the first and the last only


def test_progress_bar_on_a_tty():
    stream = FakeTTY()
    drive(Progress(stream=stream))
    out = stream.getvalue()
    assert "main [8 instances]" in out and "steps/s" in out and "mean loss 0.25" in out and "3/3" in out


def test_progress_quiet_prints_nothing():
    stream = FakeTTY()
    drive(Progress(quiet=True, stream=stream))
    assert stream.getvalue() == ""


def test_reproduce_all_runs_every_experiment():
    """A new experiment must be added to reproduce_all's ORDER (and so to the full reproduction), or be named
    as reproducing nothing (the generic sweep)."""
    from superpose.experiments import reproduce_all

    from superpose.lab import registry

    assert set(registry.available()) <= set(reproduce_all.ORDER) | set(reproduce_all.NOT_REPRODUCED)
    assert len(set(reproduce_all.ORDER)) == len(reproduce_all.ORDER)
