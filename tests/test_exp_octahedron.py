"""E12, second half (experiments/octahedron.py): the --quick run end to end with every check asserted, and the
geometry checks and the stage classifier on hand-built weights, so that each check can fail.

Quick scale (the script's QUICK): 4 seeds of 10,000 steps (full: 32 of 15,000) with 200 snapshots each (full:
300); the checks, their thresholds and the stage length (3 snapshots) are the full-scale ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import testing
from superpose.lab import main, store
from superpose.lab.registry import load_experiment_module

octa = load_experiment_module("octahedron")

# Features 0-2 are set A, 3-5 set B. The octahedron of the paper: A on +e1, +e2, +e3 and B on -e1, -e2, -e3,
# so every antipodal pair joins the sets.
EYE = np.eye(3)
OCTAHEDRON = np.concatenate([EYE, -EYE], axis=1)
# A regular octahedron with pairs inside the sets where it can: (0,1) in A, (4,5) in B; three features per set
# leave one pair, (2,3), across.
SAME_SET = EYE[:, [0, 0, 1, 1, 2, 2]] * np.array([1, -1, 1, -1, 1, -1])


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


# --- the octahedron checks on hand-built weights ------------------------------------------------------


@given(rotation=testing.rotations(3), scale=st.floats(0.6, 2.0), perm=st.permutations([0, 1, 2]))
def test_any_rotated_octahedron_with_cross_set_pairs_passes(rotation, scale, perm):
    W = scale * rotation @ np.concatenate([EYE, -EYE[:, perm]], axis=1)
    report = octa.octahedron_report(W)
    assert report["represented"] == 6 and len(report["pairs"]) == 3
    assert all(report["cross_set"]) and report["axes_cos"] < 1e-9
    assert octa.is_octahedron(W) and octa.classify(W) == octa.OCTAHEDRON


def test_octahedron_with_pairs_inside_the_sets_fails_the_cross_set_check():
    report = octa.octahedron_report(SAME_SET)
    assert len(report["pairs"]) == 3 and report["axes_cos"] < 1e-9  # a regular octahedron...
    assert report["pairs"] == [(0, 1), (2, 3), (4, 5)]
    assert report["cross_set"] == [False, True, False]  # ...two of whose pairs lie inside a set
    assert not octa.is_octahedron(SAME_SET)
    assert octa.classify(SAME_SET) == octa.pairs_label(1)


@given(tilt=st.floats(6.0, 60.0), rotation=testing.rotations(3))
def test_tilted_octahedron_fails_orthogonality(tilt, rotation):
    # The third pair's axis leans towards the first by `tilt` degrees: still three cross-set antipodal pairs.
    t = np.radians(tilt)
    axes = np.stack([EYE[0], EYE[1], np.cos(t) * EYE[2] + np.sin(t) * EYE[0]], axis=1)
    W = rotation @ np.concatenate([axes, -axes], axis=1)
    report = octa.octahedron_report(W)
    assert len(report["pairs"]) == 3 and all(report["cross_set"])
    assert report["axes_cos"] == pytest.approx(np.sin(t))
    assert not octa.is_octahedron(W)
    # Below 11.5 degrees the in-set |cos| = sin(tilt) stays under 0.2: both sets still count as orthogonal
    # triads, and the label is the antiprism's.
    assert octa.classify(W) == (octa.pairs_label(3) if np.sin(t) > octa.TRIAD_COS else octa.ANTIPRISM)


def test_a_dropped_feature_breaks_its_pair():
    W = OCTAHEDRON.copy()
    W[:, 5] *= 0.1  # feature 5 no longer represented: its cosine is still -1, the count says no
    report = octa.octahedron_report(W)
    assert report["represented"] == 5 and not octa.is_octahedron(W)


# --- the stage classifier -----------------------------------------------------------------------------


def _antiprism(twist_deg: float) -> np.ndarray:
    """Set A an orthonormal triad; set B = -A turned by twist_deg about A's mean direction."""
    axis = np.ones(3) / np.sqrt(3)
    t = np.radians(twist_deg)
    K = np.cross(np.eye(3), axis)  # the cross-product matrix of the axis (up to sign: the twist's direction)
    R = np.cos(t) * np.eye(3) + np.sin(t) * K + (1 - np.cos(t)) * np.outer(axis, axis)  # Rodrigues
    return np.concatenate([EYE, -R @ EYE], axis=1)


def _pc1(rng) -> np.ndarray:
    return np.outer(rng.normal(size=3), 0.3 + rng.random(6))  # all six along one direction


def _pca(rng) -> np.ndarray:
    u, v = rng.normal(size=3), rng.normal(size=3)
    v -= (v @ u) / (u @ u) * u  # the sets on two orthogonal directions
    return np.concatenate([np.outer(u, 0.5 + rng.random(3)), np.outer(v, 0.5 + rng.random(3))], axis=1)


def test_classify_each_stage():
    rng = np.random.default_rng(0)
    assert octa.classify(_pc1(rng)) == octa.PC1
    assert octa.classify(_pca(rng)) == octa.PCA
    split = _pca(rng)
    split[:, 3:] = 0.8 * EYE  # set B spread into an orthogonal triad, set A still one direction
    assert octa.classify(split) == octa.SPLIT
    assert octa.classify(0.05 * rng.normal(size=(3, 6))) == octa.INIT
    for twist in (35.0, 45.0, 55.0):
        W = _antiprism(twist)
        assert octa.classify(W) == octa.ANTIPRISM
        axis_cos, measured = octa.triad_twist(W)
        assert axis_cos == pytest.approx(-1.0) and measured == pytest.approx(twist, abs=1e-6)
    # Pairs count as antipodal at cos < -0.9, i.e. 1/3 + 2/3 cos(twist) > 0.9: twists below ~31.8 degrees
    # already pass as the octahedron (their pair axes stay orthogonal to within |cos| 0.03).
    for twist in (0.0, 15.0, 30.0):
        assert octa.classify(_antiprism(twist)) == octa.OCTAHEDRON
    assert octa.triad_twist(OCTAHEDRON) == pytest.approx((-1.0, 0.0), abs=1e-4)  # arccos near 1


@given(rotation=testing.rotations(3), seed=st.integers(0, 2**16))
def test_classify_is_invariant_under_rotations_of_the_hidden_space(rotation, seed):
    rng = np.random.default_rng(seed)
    for W in (_pc1(rng), _pca(rng), _antiprism(45.0), OCTAHEDRON, SAME_SET, 0.05 * rng.normal(size=(3, 6))):
        assert octa.classify(rotation @ W) == octa.classify(W)


def test_debounce_drops_flickers_and_merges_around_them():
    labels = ["a"] * 5 + ["b"] * 2 + ["a"] * 4 + ["c"] * 6 + ["d"] * 3
    assert octa.debounce(labels, 4) == [("a", 0, 10), ("c", 11, 16)]
    assert octa.debounce(labels, 2) == [("a", 0, 4), ("b", 5, 6), ("a", 7, 10), ("c", 11, 16), ("d", 17, 19)]
    assert octa.debounce(labels, 7) == []


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
        (octa.INIT, 10),
        (octa.PCA, 40),
        (octa.ANTIPRISM, 150),
        (octa.OCTAHEDRON, 230),
    ]
    assert octa.stages_before_octahedron(path) == [octa.PCA, octa.ANTIPRISM]
    assert octa.first_learned(path) == octa.PCA


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
