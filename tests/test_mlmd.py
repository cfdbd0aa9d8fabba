"""Lineage in ML Metadata: `export_runs` into a real SQLite MLMD store (execution, input data, output weights,
summary and figures, experiment context), idempotent re-export, `show` answering from the store alone (the
run directory deleted first), and the `superpose lineage` command's output and exit codes."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from superpose.config import ConfigError
from superpose.lab import cli, mlmd, store

TINY = ["--quick", "--quiet", "--set", "n_steps=500", "--set", "n_densities=2", "--set", "n_seeds=1"]
IMPORTANCE = [1.0, 0.9, 0.81, 0.729, 0.6561]  # intro: 0.9^i for 5 features


@pytest.fixture(scope="module")
def pb():
    """metadata_store_pb2; every test that needs ML Metadata skips without it."""
    pytest.importorskip("ml_metadata")
    from ml_metadata.proto import metadata_store_pb2

    return metadata_store_pb2


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory, pb) -> Path:
    """A run store with one complete intro run, made in-process through the CLI."""
    root = tmp_path_factory.mktemp("runs")
    code = cli.main(["run", "intro", *TINY, "--runs-dir", str(root)])
    assert code in (0, 1)  # 1: a science check failed at this tiny size
    return root


@pytest.fixture(scope="module")
def run(runs_dir) -> store.Run:
    (run,) = store.list_runs(runs_dir, "intro")
    assert run.complete and run.figures()
    return run


def copy_run(run: store.Run, root: Path, run_id: str | None = None) -> store.Run:
    dest = root / run.experiment / (run_id or run.id)
    shutil.copytree(run.path, dest)
    return store.Run(dest)


def totals(db) -> tuple[int, int, int, int]:
    executions = db.get_executions()
    events = db.get_events_by_execution_ids([e.id for e in executions]) if executions else []
    return len(executions), len(db.get_artifacts()), len(events), len(db.get_contexts())


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def error_line(capsys, code: int, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- export --------------------------------------------------------------------------------------------


def test_export_records_the_run_its_data_and_outputs(pb, run, tmp_path):
    path = tmp_path / "lineage.sqlite"
    n_figures = len(run.figures())
    out = mlmd.export_runs([run], path)
    assert (out["executions"], out["artifacts"], out["events"], out["contexts"]) == (
        1,
        5 + n_figures,
        5 + n_figures,
        1,
    )
    assert out["added"] == [{"run": f"intro/{run.id}", "artifacts": 5 + n_figures, "events": 5 + n_figures}]
    assert out["existing"] == [] and out["skipped"] == []

    db = mlmd.open_store(path)
    (execution,) = db.get_executions_by_type(mlmd.RUN)
    assert execution.name == f"intro/{run.id}"
    assert execution.last_known_state == pb.Execution.COMPLETE
    props = execution.properties
    lineage = run.lineage()
    assert json.loads(props["config_json"].string_value) == run.config()
    assert json.loads(props["lineage_json"].string_value) == lineage
    assert props["git_commit"].string_value == lineage["git_commit"]
    assert props["git_dirty"].bool_value == lineage["git_dirty"]
    assert props["status"].string_value == "complete" and props["run_id"].string_value == run.id
    assert props["jax_backend"].string_value == lineage["environment"]["jax_backend"]
    assert json.loads(props["packages"].string_value) == lineage["environment"]["packages"]
    assert json.loads(props["command"].string_value) == lineage["command"]
    assert props["wall_s"].double_value == pytest.approx(lineage["wall_s"])

    types = {t.id: t.name for t in db.get_artifact_types()}
    artifacts = {a.id: a for a in db.get_artifacts()}
    events = db.get_events_by_execution_ids([execution.id])
    linked = sorted((types[artifacts[e.artifact_id].type_id], e.type) for e in events)
    assert linked == sorted(
        [(mlmd.DATA, pb.Event.INPUT), (mlmd.WEIGHTS, pb.Event.OUTPUT), (mlmd.SUMMARY, pb.Event.OUTPUT)]
        + [(mlmd.FIGURE, pb.Event.OUTPUT)] * n_figures
        + [
            (mlmd.ACTIVATIONS, pb.Event.OUTPUT),
            (mlmd.FEATURE_IMPORTANCE, pb.Event.OUTPUT),
        ]  # intro keeps probes
    )
    by_type = {}
    for a in artifacts.values():
        by_type.setdefault(types[a.type_id], []).append(a)

    (data,) = by_type[mlmd.DATA]
    densities = json.loads(data.properties["densities"].string_value)
    assert densities == [1.0, 0.05]  # distinct values, float32 printed short
    importances = json.loads(data.properties["importances"].string_value)
    np.testing.assert_allclose(importances, [IMPORTANCE], rtol=1e-6)
    fields = json.loads(data.properties["config_fields"].string_value)
    assert fields == {"importance_ratio": 0.9, "n_densities": 2}

    (weights,) = by_type[mlmd.WEIGHTS]
    assert weights.uri == str(run.file("results.npz").resolve())
    assert weights.properties["sha256"].string_value == sha256(run.file("results.npz"))
    shapes = json.loads(weights.properties["arrays"].string_value)
    assert shapes == {k: list(v.shape) for k, v in run.results().items()} and shapes["W"] == [2, 2, 5]

    (summary,) = by_type[mlmd.SUMMARY]
    checks = run.summary()["checks"]
    assert summary.uri == str(run.file("summary.json").resolve())
    assert summary.properties["checks_total"].int_value == len(checks)
    assert summary.properties["checks_passed"].int_value == sum(c["passed"] for c in checks)
    assert summary.properties["all_passed"].bool_value == all(c["passed"] for c in checks)

    figures = {a.uri: a for a in by_type[mlmd.FIGURE]}
    assert sorted(figures) == [str(p.resolve()) for p in run.figures()]
    for fig in run.figures():
        assert figures[str(fig.resolve())].properties["sha256"].string_value == sha256(fig)

    (context,) = db.get_contexts_by_type(mlmd.EXPERIMENT)
    assert context.name == "intro"
    assert [e.id for e in db.get_executions_by_context(context.id)] == [execution.id]
    assert sorted(a.id for a in db.get_artifacts_by_context(context.id)) == sorted(artifacts)


def test_exporting_twice_adds_nothing_and_runs_share_their_experiment(pb, run, tmp_path):
    path = tmp_path / "lineage.sqlite"
    mlmd.export_runs([run], path)
    before = totals(mlmd.open_store(path))
    again = mlmd.export_runs([run, run], path)
    assert (again["executions"], again["artifacts"], again["events"], again["contexts"]) == (0, 0, 0, 0)
    assert again["existing"] == [f"intro/{run.id}"] and again["added"] == []
    assert totals(mlmd.open_store(path)) == before

    other = copy_run(run, tmp_path / "runs", "20000101-000000-abcdef")  # an older run of the same experiment
    out = mlmd.export_runs([run, other], path)
    assert out["executions"] == 1 and out["contexts"] == 0 and out["existing"] == [f"intro/{run.id}"]
    db = mlmd.open_store(path)
    (context,) = db.get_contexts_by_type(mlmd.EXPERIMENT)
    assert len(db.get_executions_by_context(context.id)) == 2
    # A figure file name shared by both runs: the newest answers, the other is named.
    result = mlmd.show(run.figures()[0].name, path)
    assert result["run"]["name"] == f"intro/{run.id}" and result["other_runs"] == [f"intro/{other.id}"]


def test_incomplete_runs_are_skipped(pb, run, tmp_path):
    cut = copy_run(run, tmp_path / "runs")
    cut.file("summary.json").unlink()
    path = tmp_path / "lineage.sqlite"
    out = mlmd.export_runs([cut], path)
    assert out["executions"] == 0 and out["added"] == []
    ((name, reason),) = out["skipped"]
    assert name == f"intro/{cut.id}" and "not complete" in reason
    assert totals(mlmd.open_store(path))[:3] == (0, 0, 0)


def test_activations_and_measured_importances_are_artifacts_of_the_run(pb, run, tmp_path):
    path = tmp_path / "lineage.sqlite"
    mlmd.export_runs([run], path)
    db = mlmd.open_store(path)
    (execution,) = db.get_executions_by_type(mlmd.RUN)
    linked = {
        e.artifact_id for e in db.get_events_by_execution_ids([execution.id]) if e.type == pb.Event.OUTPUT
    }
    (activations,) = db.get_artifacts_by_type(mlmd.ACTIVATIONS)
    (importance,) = db.get_artifacts_by_type(mlmd.FEATURE_IMPORTANCE)
    assert {activations.id, importance.id} <= linked
    probes_file = run.file("probes.npz")
    assert activations.uri == str(probes_file.resolve())
    assert activations.properties["sha256"].string_value == sha256(probes_file)
    p = store.read_npz(probes_file)
    props = mlmd._properties(activations)
    assert props["arrays"]["probe_hidden"] == list(p["probe_hidden"].shape)
    assert props["steps"] == p["probe_steps"].tolist()
    n = p["probe_inputs"].shape[1]
    for j, model in enumerate(props["neurons"]):  # the neurons' one-hot responses, first and final frame
        np.testing.assert_allclose(model["final"], p["probe_hidden"][j, -1, :, :n], atol=1e-3)
        np.testing.assert_allclose(model["first"], p["probe_hidden"][j, 0, :, :n], atol=1e-3)
    measured = mlmd._properties(importance)
    np.testing.assert_allclose(measured["ablation"], p["ablation"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(measured["importance"], [IMPORTANCE] * len(p["ablation"]), rtol=1e-5)
    (check,) = [c for c in run.summary()["checks"] if c["name"].startswith("measured feature importance")]
    assert measured["check_passed"] == check["passed"] and measured["check"]["value"] == check["value"]

    copy = copy_run(run, tmp_path / "runs")
    mlmd.export_runs([copy], path)
    shutil.rmtree(copy.path)  # `lineage show` answers from the store alone
    text = mlmd.format_show(mlmd.show(copy.id, path))
    assert "feature importance" in text and "measured ablation" in text and "density 1:" in text
    assert "activations (steps" in text and "h0:" in text and "h1:" in text


# --- show ----------------------------------------------------------------------------------------------


def test_show_answers_from_the_store_alone(pb, run, tmp_path):
    copy = copy_run(run, tmp_path / "runs")
    figure = copy.figures()[0]
    published = tmp_path / "figures" / figure.name  # like figures/intro.png: a copy, found by its content
    published.parent.mkdir()
    shutil.copyfile(figure, published)
    path = tmp_path / "lineage.sqlite"
    mlmd.export_runs([copy], path)
    config, lineage = copy.config(), copy.lineage()
    shutil.rmtree(copy.path)  # from here on only the store knows

    refs = {
        str(figure): "uri",
        str(copy.file("results.npz")): "uri",
        str(copy.path): "run directory",
        str(published): "sha256",
        copy.id: "run id",
        f"intro/{copy.id}": "run id",
        copy.id[:15]: "run id",
        "intro": "experiment's newest run",
        "latest": "newest run",
    }
    for ref, how in refs.items():
        result = mlmd.show(ref, path)
        assert result["matched"]["by"] == how, ref
        assert result["run"]["name"] == f"intro/{copy.id}" and result["run"]["status"] == "complete"
        assert result["config"] == config and result["lineage"] == lineage
        assert result["code"]["git_commit"] == lineage["git_commit"]
        assert result["code"]["git_dirty"] == lineage["git_dirty"]
        assert result["environment"]["jax_backend"] == lineage["environment"]["jax_backend"]
        assert result["environment"]["packages"] == lineage["environment"]["packages"]
        assert result["data"]["densities"] == [1.0, 0.05]
        np.testing.assert_allclose(result["data"]["importances"], [IMPORTANCE], rtol=1e-6)
        assert {o["type"] for o in result["outputs"]} == {
            mlmd.WEIGHTS,
            mlmd.SUMMARY,
            mlmd.FIGURE,
            mlmd.ACTIVATIONS,
            mlmd.FEATURE_IMPORTANCE,
        }
        json.dumps(result)  # --json prints it as is

    text = mlmd.format_show(mlmd.show(str(figure), path))
    assert f"produced by intro/{copy.id}" in text and lineage["git_commit"] in text
    assert "densities = [1.0, 0.05]" in text and "n_densities = 2" in text

    with pytest.raises(store.RunError, match="nothing in lineage store"):
        mlmd.show("20991231-000000-000000", path)
    with pytest.raises(store.RunError, match="no lineage store"):
        mlmd.show(copy.id, tmp_path / "missing.sqlite")


def test_without_ml_metadata_the_error_says_how_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ml_metadata.metadata_store", None)  # makes the import fail
    with pytest.raises(ConfigError, match=r"pip install 'superpose\[lineage\]'"):
        mlmd.show("latest", tmp_path / "lineage.sqlite")
    code = cli.main(["lineage", "show", "latest", "--store", str(tmp_path / "lineage.sqlite")])
    error_line(capsys, code, "ML Metadata is not installed")


# --- the command ---------------------------------------------------------------------------------------


def test_cli_export_then_show(pb, capsys, runs_dir, run, tmp_path):
    path = str(tmp_path / "lineage.sqlite")
    assert cli.main(["lineage", "export", "--store", path, "--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert f"added    intro/{run.id}" in out and "1 run(s)" in out
    assert cli.main(["lineage", "export", run.id, "--store", path, "--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert f"present  intro/{run.id} (already in the store)" in out and "0 run(s)" in out

    figure = str(run.figures()[0])
    assert cli.main(["lineage", "show", figure, "--store", path]) == 0
    out = capsys.readouterr().out
    assert f"produced by intro/{run.id}" in out and "rerun       superpose run intro --quick" in out
    assert cli.main(["lineage", "show", figure, "--store", path, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["run"]["run_id"] == run.id and result["config"] == run.config()


def test_cli_errors_are_one_line_and_exit_2(pb, capsys, runs_dir, run, tmp_path):
    missing = str(tmp_path / "missing.sqlite")
    error_line(capsys, cli.main(["lineage", "show", run.id, "--store", missing]), "no lineage store", missing)
    path = str(tmp_path / "lineage.sqlite")
    code = cli.main(["lineage", "export", "no-such-run", "--store", path, "--runs-dir", str(runs_dir)])
    error_line(capsys, code, "unknown run 'no-such-run'")
    assert cli.main(["lineage", "export", "--store", path, "--runs-dir", str(runs_dir)]) == 0
    capsys.readouterr()
    error_line(
        capsys, cli.main(["lineage", "show", "no-such-run", "--store", path]), "nothing in lineage store"
    )
    not_a_store = tmp_path / "junk.sqlite"
    not_a_store.write_text("not a database\n")
    error_line(capsys, cli.main(["lineage", "show", run.id, "--store", str(not_a_store)]), str(not_a_store))
    with pytest.raises(SystemExit) as e:  # argparse's errors exit from parse_args
        cli.main(["lineage", "export", "--runs-dir", str(runs_dir)])
    error_line(capsys, e.value.code, "--store")


@pytest.mark.parametrize("action", ["export", "show"])
def test_lineage_help_has_examples(capsys, action):
    with pytest.raises(SystemExit) as e:
        cli.main(["lineage", action, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"superpose lineage {action}" in out and "--store" in out
