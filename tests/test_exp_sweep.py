"""The generic sweep (experiments/sweep.py) behind `superpose sweep`, and `superpose analyze`.

One tiny sweep over density x n_hidden x seed (two static groups, so parameters of two shapes) serves every
test: it is stored like any experiment's run, agrees with the Study loaded back, draws the standard figures
and animates; every bad axis, name or pair is one line before training; `superpose analyze` re-runs the
checks on the stored arrays, records it, fails where a check fails and refuses a run without results.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

import superpose
from superpose import metrics
from superpose.config import ConfigError
from superpose.lab import cli, store
from superpose.lab.registry import experiment_of_run, load_experiment_module

SWEEP = ["sweep", "--axis", "density=1,0.1", "--axis", "n_hidden=2,3", "--axis", "seed=0:2", "--n-features", "5",
         "--steps", "200", "--batch-size", "64", "--frames", "4", "--quiet"]  # fmt: skip
sweep = load_experiment_module("sweep")


def error_line(capsys, code: int, fragment: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> store.Run:
    runs = tmp_path_factory.mktemp("runs")
    assert cli.main([*SWEEP, "--runs-dir", str(runs)]) == 0
    (run,) = store.list_runs(runs, "sweep")
    return run


def copy_of(run: store.Run, tmp_path: Path) -> store.Run:
    dest = tmp_path / "runs" / "sweep" / run.id
    shutil.copytree(run.path, dest)
    return store.Run(dest)


def test_a_sweep_is_stored_like_any_experiment(done):
    config = done.config()
    assert config["experiment"] == "sweep" and config["quick"] is False
    assert config["config"]["axes"] == "density=1,0.1; n_hidden=2,3; seed=0:2"
    assert config["config"]["n_features"] == 5 and config["config"]["n_steps"] == 200
    assert config["figures_dir"] is None  # `superpose sweep` copies figures only with --figures-dir
    assert set(done.lineage()["sweeps"]) == {"main_0", "main_1"}  # one compiled sweep per n_hidden
    assert {p.name for p in done.figures()} == {
        "sweep_geometry.png", "sweep_dstar.png", "sweep_dimensionality.png", "sweep_dimensionality_1.png",
        "sweep_loss.png",
    }  # fmt: skip
    arrays = done.results()
    assert arrays["W"].shape == (8, 3, 5) and arrays["snapshot_W"].shape[::2] == (8, 3)  # padded to m = 3
    assert arrays["snapshot_steps"][-1] == 200 and arrays["importance"].shape == (8, 5)
    summary = done.summary()
    assert [p["n_hidden"] for p in summary["points"]] == [2, 3, 2, 3]
    assert [c["passed"] for c in summary["checks"]] == [True]


def test_the_arrays_and_the_summary_agree_with_the_study_loaded_back(done):
    _, cfg = experiment_of_run(done)
    arrays, loaded = done.results(), superpose.load_run(done.path)
    result = loaded.study("main")
    assert result.shape == (2, 2, 2)
    for m in (2, 3):
        group = result.sel(n_hidden=m)
        index = np.flatnonzero(arrays["n_hidden"] == m)
        stored = np.stack([sweep.weights(cfg, arrays, i) for i in index])
        np.testing.assert_array_equal(stored, group.params["W"].reshape(-1, m, 5))
        np.testing.assert_array_equal(arrays["W"][index, m:], 0.0)  # the padding, never read
        best = group.best()
        for point in (p for p in loaded.summary["points"] if p["n_hidden"] == m):
            kept = best.sel(density=point["density"])
            assert point["kept_seed"] == int(kept.kept["seed"])
            assert point["final_loss"] == pytest.approx(float(kept.final_loss))
            W = kept.params["W"]
            assert point["d_star"] == pytest.approx(metrics.dimensions_per_feature(W), abs=1e-4)
            assert point["represented"] == int(metrics.represented(W).sum())


def test_the_recorded_rerun_command_rebuilds_the_same_config(done):
    words = shlex.split(cli.rerun_command(done.config()))
    assert words[:3] == ["superpose", "run", "sweep"]
    overrides = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    exp, cfg = experiment_of_run(done)
    assert exp.make_config(False, overrides) == cfg


def test_an_interrupted_sweep_resumes_to_the_same_arrays_and_replots(tmp_path, done):
    run = copy_of(done, tmp_path)
    for name in ("summary.json", "results.npz", "sweeps/main_1.npz"):  # killed while training n_hidden = 3
        run.file(name).unlink()
    for png in run.figures():
        png.unlink()
    assert cli.main(["resume", str(run.path), "--quiet"]) == 0
    resumed, original = run.results(), done.results()
    assert resumed.keys() == original.keys()
    for name in original:
        np.testing.assert_array_equal(resumed[name], original[name], err_msg=name)
    assert [p.name for p in cli.plot_run(run, tmp_path / "figs")] == done.summary()["figures"]


def test_animate_draws_the_kept_fits_without_choosing(done, tmp_path):
    from superpose.lab.animate import animate_run

    (path,) = animate_run(done, tmp_path)
    assert path.name == "sweep_forming.gif" and path.stat().st_size > 0


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--axis", "density=lgspace(0,-2,10)"], "unknown function 'lgspace'"),
        (["--axis", "seed=4:0"], "is empty"),
        (["--axis", "density=abc"], "'abc' is not a number"),
        (["--axis", "seed=0.5,1"], "seed values must be integers"),
        (["--axis", "foo=1,2"], "unknown axis 'foo'"),
        (["--axis", "model.foo=1,2"], "model has no field 'foo'"),
        (["--axis", "density=0.1", "--axis", "density=0.2"], "given twice"),
        (["--model", "nope"], "unknown model 'nope'"),
        (["--sampler", "nope"], "unknown sampler 'nope'"),
        (["--model", "abs_mlp", "--sampler", "independent"], "computes on signed inputs"),
        (["--axis", "n_steps=100,200"], "changes the steps at which the loss is logged"),
        (["--axis", "density=2,1"], "must lie in (0, 1]"),
        (["--axis", "lr=-1,1"], "learning rate must be positive"),
        (["--quick"], "no --quick"),
        (["--n-hidden", "3", "--set", "n_hidden=4"], "n_hidden is given twice"),
        (["--steps", "205"], "must be a multiple"),
    ],
)
def test_bad_sweeps_are_one_line_before_training(capsys, tmp_path, args, fragment):
    code = cli.main(["sweep", "--steps", "200", *args, "--quiet", "--runs-dir", str(tmp_path)])
    error_line(capsys, code, fragment)
    assert not list(tmp_path.glob("sweep/*")), "a refused sweep leaves no run behind"


def test_a_study_whose_groups_log_at_different_steps_is_refused_before_training():
    # StudyResult stacks every group's loss log against one log_steps: before this check, such a study
    # trained every group and then failed in np.stack with "all input arrays must have the same shape".
    with pytest.raises(ConfigError, match="n_steps changes the steps"):
        superpose.Study("relu_output", axes={"n_steps": [100, 200]}, config={"n_features": 5, "n_hidden": 2})


# --- superpose analyze ---------------------------------------------------------------------------------


def test_analyze_rewrites_the_summary_from_the_arrays_and_records_it(capsys, tmp_path, done):
    run = copy_of(done, tmp_path)
    original = run.summary()
    tampered = {**original, "points": [], "checks": [{**original["checks"][0], "passed": False}]}
    store.write_json(run.file("summary.json"), tampered)
    assert cli.main(["analyze", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert "[PASS] every grid point kept a finite fit" in out
    assert "changed: every grid point kept a finite fit: FAIL -> PASS" in out
    assert run.summary() == original  # figures kept, points and checks recomputed
    (record,) = run.lineage()["reanalyzed"]
    assert record["changed"] == ["every grid point kept a finite fit: FAIL -> PASS"]
    assert {"at", "git_commit", "git_dirty", "command"} <= set(record)
    assert cli.main(["analyze", str(run.path)]) == 0
    assert len(run.lineage()["reanalyzed"]) == 2 and "changed" not in capsys.readouterr().out


def test_analyze_fails_where_every_fit_of_a_point_diverged(capsys, tmp_path, done):
    """The wrong-model test of the sweep's one check: a point whose fits all diverged (NaN losses)."""
    run = copy_of(done, tmp_path)
    arrays = run.results()
    bad = (arrays["density"] == 0.1) & (arrays["n_hidden"] == 3)
    for name in ("select_loss", "final_loss"):
        arrays[name] = np.where(bad, np.nan, arrays[name])
    arrays["diverged"] = arrays["diverged"] | bad
    store.write_npz(run.file("results.npz"), arrays)
    assert cli.main(["analyze", str(run.path)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] every grid point kept a finite fit: every fit diverged at density 0.1, n_hidden 3" in out
    summary = run.summary()
    assert summary["diverged"] == 2 and summary["points"][3]["diverged_fits"] == 2
    assert "final_loss" not in summary["points"][3] and "final_loss" in summary["points"][2]


def test_analyze_refuses_a_run_without_results_and_names_a_missing_array(capsys, tmp_path, done):
    run = copy_of(done, tmp_path)
    arrays = run.results()
    del arrays["select_loss"]
    store.write_npz(run.file("results.npz"), arrays)
    error_line(capsys, cli.main(["analyze", str(run.path)]), "lacks the array 'select_loss'")
    run.file("results.npz").unlink()
    run.file("summary.json").unlink()
    error_line(capsys, cli.main(["analyze", str(run.path)]), "has no results.npz")


def test_every_command_lists_sweep_and_analyze_with_help(capsys):
    for command in ("sweep", "analyze"):
        with pytest.raises(SystemExit) as e:
            cli.main([command, "--help"])
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"superpose {command}" in out and "--quick" not in out
