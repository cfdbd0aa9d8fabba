"""Probe activations and measured importances of a run (superpose.lab.probes): an intro run keeps probes.npz
(activations at every weight snapshot, the same as applying the stored weights), its summary carries the
measured importances and the ranking check, `superpose show` prints them, and the check fails when the run's
importance vector is shuffled."""

from __future__ import annotations

import numpy as np
import pytest

from superpose.lab import cli, probes, store
from superpose.models import ReluOutput

TINY = ["--quick", "--quiet", "--set", "n_steps=4000", "--set", "n_densities=2", "--set", "n_seeds=2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> store.Run:
    root = tmp_path_factory.mktemp("runs")
    code = cli.main(["run", "intro", *TINY, "--runs-dir", str(root)])
    assert code in (0, 1)  # 1: a science check failed at this tiny size
    (run,) = store.list_runs(root, "intro")
    return run


def test_an_intro_run_keeps_probe_activations_of_its_kept_models(run):
    p = probes.load(run)
    arrays = run.results()
    k, n = arrays["best_W"].shape[0], arrays["best_W"].shape[2]
    frames = arrays["snapshot_steps"].size
    assert p["probe_hidden"].shape == (k, frames, 2, n + 32)
    assert p["probe_output"].shape == (k, frames, n, n + 32)
    np.testing.assert_array_equal(p["probe_steps"], arrays["snapshot_steps"])
    np.testing.assert_array_equal(p["probe_inputs"][:, :, :n], np.broadcast_to(np.eye(n), (k, n, n)))
    # Post hoc is exact: frame t is the model applied to the stored snapshot t (the last: the final weights).
    for j, i in enumerate(arrays["best_index"]):
        for t in (0, frames // 2, frames - 1):
            W, b = arrays["snapshot_W"][i, t], arrays["snapshot_b"][i, t]
            x = p["probe_inputs"][j]
            np.testing.assert_allclose(p["probe_hidden"][j, t], W @ x, rtol=1e-5, atol=1e-6)
            out = np.maximum(W.T @ (W @ x) + b[:, None], 0)
            np.testing.assert_allclose(p["probe_output"][j, t], out, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(arrays["snapshot_W"][i, -1], arrays["best_W"][j])
    assert run.file("probes.npz").stat().st_size < 1_000_000


def test_the_summary_carries_measured_importances_and_the_check(run):
    summary = run.summary()
    rows = summary["feature_importance"]
    assert len(rows) == 2 and all(len(r["ablation"]) == 5 for r in rows)
    (check,) = [c for c in summary["checks"] if c["name"].startswith("measured feature importance")]
    assert check["passed"], check
    # density 1: the top features carry the loss, the dropped ones ~0
    dense = rows[0]
    assert dense["ablation"][0] > dense["ablation"][1] > 20 * max(dense["ablation"][2:])


def test_a_shuffled_importance_vector_fails_the_ranking_check(run):
    p = probes.load(run)
    spec = probes.Probes(ReluOutput())
    assert spec.summarize(p)["checks"][0]["passed"]
    # The models were trained on I_i = 0.9^i; the check is told the reverse order: the measured ranking
    # (loss increase under the true I) disagrees with it.
    wrong = {**p, "importance": p["importance"][:, ::-1].copy()}
    (check,) = spec.summarize(wrong)["checks"]
    assert not check["passed"], check


def test_show_prints_the_measured_importances_and_the_probes(run, capsys):
    assert cli.main(["show", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert "measured feature importance" in out and "probes: probes.npz" in out


def test_a_partly_represented_feature_is_neither_ranked_nor_dropped():
    from superpose.analysis.importance import check_ranking

    measured = np.array([1.0, 0.5, 0.2, 0.15, 0.0])  # feature 3: norm between 0.1 and 0.5, costs 15%
    importance = np.array([1.0, 0.8, 0.6, 0.5, 0.4])
    represented = np.array([True, True, True, False, False])
    assert not check_ranking(measured, importance, represented)["passed"]  # counted as dropped: 0.15 > 0.05
    dropped = np.array([False, False, False, False, True])
    assert check_ranking(measured, importance, represented, dropped=dropped)["passed"]
    loud = measured.copy()
    loud[4] = 0.2  # a truly dropped feature that costs 20% fails
    assert not check_ranking(loud, importance, represented, dropped=dropped)["passed"]
    with pytest.raises(ValueError, match="both represented and dropped"):
        check_ranking(measured, importance, represented, dropped=represented)


def test_no_probes_skips_them_and_is_kept_by_resume_and_rerun(tmp_path):
    root = tmp_path / "runs"
    tiny = ["--quick", "--quiet", "--set", "n_steps=300", "--set", "n_densities=2", "--set", "n_seeds=1"]
    assert cli.main(["run", "intro", *tiny, "--no-probes", "--runs-dir", str(root)]) in (0, 1)
    (run,) = store.list_runs(root, "intro")
    assert not run.file("probes.npz").exists() and run.config()["probes"] is False
    assert "feature_importance" not in run.summary()
    assert not [c for c in run.summary()["checks"] if c["name"].startswith("measured feature importance")]
    assert cli.rerun_command(run.config()).endswith("--no-probes")
