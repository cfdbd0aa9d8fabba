"""E12, second half (experiments/octahedron.py): the --quick run end to end with every check asserted, and the
geometry checks and the stage classifier on hand-built weights, so that each check can fail.

Quick scale (the script's QUICK): 4 seeds of 10,000 steps (full: 32 of 15,000) with 200 snapshots each (full:
300); the checks, their thresholds and the stage length (3 snapshots) are the full-scale ones.
"""

from __future__ import annotations

import json

import numpy as np
from test_analysis_sets import OCTAHEDRON, _antiprism, _pc1, _pca

from superpose.analysis import sets
from superpose.lab import main, store
from superpose.lab.registry import load_experiment_module

octa = load_experiment_module("octahedron")

# --- end to end -----------------------------------------------------------------------------------------


def test_quick_run_checks_pass_and_snapshots_end_at_the_final_weights(tmp_path):
    code = main(octa.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (run_dir,) = tmp_path.glob("octahedron/*/")
    summary = json.loads((run_dir / "summary.json").read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 6  # so that "every check passed" is not vacuous
    assert {"octahedron_stages.png", "octahedron.png"} <= {p.name for p in run_dir.glob("*.png")}
    arrays = store.read_npz(run_dir / "results.npz")
    assert arrays["snapshot_W"].shape[:2] == (4, arrays["snapshot_steps"].size)
    assert arrays["snapshot_W"].shape[2:] == (3, 6)
    assert arrays["snapshot_steps"][-1] == octa.QUICK["n_steps"]
    np.testing.assert_array_equal(arrays["snapshot_W"][:, -1], arrays["W"])  # bitwise
    assert arrays["loss"].shape == (4, arrays["log_steps"].size)
    assert arrays["seed"].tolist() == [0, 1, 2, 3]
    # A wrong model: the untrained weights kept throughout (snapshots and final W all the initial frame).
    k = arrays["snapshot_steps"].size
    frozen = dict(
        arrays, W=arrays["snapshot_W"][:, 0], snapshot_W=np.repeat(arrays["snapshot_W"][:, :1], k, 1)
    )
    wrong = [c["passed"] for c in octa.analyze(octa.EXPERIMENT.make_config(quick=True), frozen)["checks"]]
    assert not any(wrong), wrong


def test_stage_path_on_a_hand_made_trajectory():
    rng = np.random.default_rng(1)
    frames = (
        [0.05 * rng.normal(size=(3, 6)) for _ in range(3)]
        + [_pca(rng) for _ in range(6)]
        + [_pc1(rng)]  # a one-frame flicker: dropped
        + [_pca(rng) for _ in range(4)]
        + [_antiprism(50.0 - 2 * k) for k in range(8)]
        + [OCTAHEDRON] * 5
    )
    steps = 10 * np.arange(1, len(frames) + 1)
    path = octa.stage_path(np.stack(frames), steps, min_frames=3)
    assert [(s["label"], s["step"]) for s in path] == [
        (sets.INIT, 10),
        (sets.PCA, 40),
        (sets.ANTIPRISM, 150),
        (sets.OCTAHEDRON, 230),
    ]
    assert octa.stages_before_octahedron(path) == [sets.PCA, sets.ANTIPRISM]
    assert octa.first_learned(path) == sets.PCA


def test_analyze_fails_a_run_that_never_leaves_the_pca_stage():
    rng = np.random.default_rng(2)
    stuck = np.stack([_pca(rng) for _ in range(12)])  # [k, 3, 6] one seed stuck in PCA
    good = np.stack([_pca(rng) for _ in range(6)] + [OCTAHEDRON] * 6)
    arrays = {
        "W": np.stack([stuck[-1], good[-1]]),
        "final_loss": np.array([0.01, 0.02]),  # the stuck one has the lower loss: it is the one shown
        "seed": np.array([0, 1]),
        "snapshot_W": np.stack([stuck, good]),
        "snapshot_steps": 10 * np.arange(1, 13),
    }
    summary = octa.analyze(octa.Config(min_stage_frames=3), arrays)
    passed = {c["name"]: c["passed"] for c in summary["checks"]}
    assert list(passed.values()) == [False, False, False, False, False, True], passed
    assert summary["seeds_final_octahedron"] == 1
