"""E12, first half (experiments/learning_dynamics.py): the --quick mode end to end with its checks asserted and
its stored snapshots checked against the final weights; then the jump and loss-drop detector on hand-built
trajectories and weights, so that every check can fail.

Quick scale (the script's QUICK): the notebook's n=200, m=20, one run at 1-S = 0.3, 3,000 steps at lr 3e-3,
200 snapshots; the checks are the full-scale ones.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from test_analysis_dynamics import LOG_STEPS, STEPS, step_loss

from superpose import testing
from superpose.lab import main, store
from superpose.lab.registry import load_experiment_module

ld = load_experiment_module("learning_dynamics")

CFG = ld.Config()


# --- end to end -----------------------------------------------------------------------------------------


def test_quick_checks_pass_and_snapshots_end_at_the_final_weights(tmp_path):
    code = main(ld.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("learning_dynamics/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 4
    assert (summary_path.parent / "learning_dynamics.png").exists()
    arrays = store.read_npz(summary_path.parent / "results.npz")
    quick = ld.EXPERIMENT.make_config(quick=True)
    n_instances = len(quick.densities) * quick.n_seeds
    assert arrays["snapshot_W"].shape[:2] == (n_instances, arrays["snapshot_steps"].size)
    assert arrays["snapshot_steps"][-1] == quick.n_steps
    assert np.all(arrays["snapshot_steps"] % quick.log_every == 0)
    assert np.array_equal(arrays["snapshot_W"][:, -1], arrays["W"])  # bitwise: the last frame is the result
    assert np.array_equal(arrays["snapshot_b"][:, -1], arrays["b"])
    assert arrays["loss"].shape == (n_instances, arrays["log_steps"].size)
    assert arrays["density"].shape == arrays["seed"].shape == (n_instances,)
    # A wrong model: the untrained weights at every snapshot (nothing learned, nothing jumps).
    frozen = dict(arrays, snapshot_W=np.repeat(arrays["snapshot_W"][:, :1], arrays["snapshot_steps"].size, 1))
    wrong = {c["name"]: c["passed"] for c in ld.analyze(quick, frozen)["checks"]}
    assert not any(wrong.values()), wrong


# --- the checks on hand-built weights -------------------------------------------------------------------


def two_dims(*columns) -> np.ndarray:
    """W [2, n] from 2-D columns."""
    return np.stack(columns, axis=1).astype(np.float64)


def hand_built_arrays(first: np.ndarray, second: np.ndarray, loss: np.ndarray) -> dict:
    """200 snapshots, `first` up to step 5,000 and `second` after, with a little noise; the loss log given."""
    rng = np.random.default_rng(0)
    Ws = np.stack([(first if s <= 5_000 else second) for s in STEPS]) + rng.normal(
        0, 1e-3, (STEPS.size, 2, 4)
    )
    return {
        "snapshot_W": Ws[None],
        "snapshot_steps": STEPS,
        "W": Ws[None, -1],
        "loss": loss[None, LOG_STEPS <= STEPS[-1]],
        "log_steps": LOG_STEPS[LOG_STEPS <= STEPS[-1]],
        "density": np.array([0.3], np.float32),
        "seed": np.array([0]),
    }


def by_name(summary: dict) -> dict:
    return {c["name"]: c for c in summary["checks"]}


CFG_ONE_RUN = dataclasses.replace(CFG, min_jumps=4)
TRIANGLE = two_dims(*testing.regular_polygon(3).T, [0.0, 0.0])  # 3 features at 2/3, one not learned
DIGONS = two_dims([1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0])  # all four at 1/2


def test_the_paper_picture_passes_every_check():
    loss = step_loss(5_000, 0.1, width=0.02, noise=0.001)
    summary = ld.analyze(CFG_ONE_RUN, hand_built_arrays(TRIANGLE, DIGONS, loss))
    checks = by_name(summary)
    assert all(c["passed"] for c in checks.values()), checks
    assert summary["per_instance"][0]["transitions"] == {"2/3 -> 1/2": 3, "0 -> 1/2": 1}


def test_jumps_with_a_flat_loss_fail_the_coincidence_check():
    flat = step_loss(5_000, 0.0, exponent=0.0)
    checks = by_name(ld.analyze(CFG_ONE_RUN, hand_built_arrays(TRIANGLE, DIGONS, flat)))
    assert not checks["jumps coincide with loss drops"]["passed"]
    assert checks["feature dimensionalities jump"]["passed"]


def test_levels_off_the_guides_fail_the_guide_check():
    """Two features at 60 degrees have D_i = 1 / (1 + cos^2 60) = 0.8 (between 3/4 and 1, on no guide)."""
    c60 = np.array([np.cos(np.pi / 3), np.sin(np.pi / 3)])
    orthogonal = two_dims([1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0])
    sixty = two_dims([1.0, 0.0], c60, [0.0, 0.0], [0.0, 0.0])
    loss = step_loss(5_000, 0.1, width=0.02)
    summary = ld.analyze(dataclasses.replace(CFG, min_jumps=2), hand_built_arrays(orthogonal, sixty, loss))
    checks = by_name(summary)
    assert summary["per_instance"][0]["transitions"] == {"1 -> 0.80": 2}
    assert not checks["the levels between jumps sit at guide fractions"]["passed"]
    assert checks["the levels between jumps sit at guide fractions"]["value"].startswith("0.500")
    assert not checks["features end as digons (the paper's run)"]["passed"]


def test_no_jumps_fail_the_jump_check():
    loss = step_loss(5_000, 0.0)
    checks = by_name(ld.analyze(CFG, hand_built_arrays(DIGONS, DIGONS, loss)))
    assert not checks["feature dimensionalities jump"]["passed"]
    assert not checks["jumps coincide with loss drops"]["passed"]
