"""E12, first half (experiments/learning_dynamics.py): the --quick mode end to end with its checks asserted and
its stored snapshots checked against the final weights; then the jump and loss-drop detector on hand-built
trajectories and weights, so that every check can fail.

Quick scale (the script's QUICK): the notebook's n=200, m=20, one run at 1-S = 0.3, 3,000 steps at lr 3e-3,
200 snapshots; the checks are the full-scale ones.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose import metrics, testing
from superpose.lab import main, store

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "experiments.learning_dynamics", ROOT / "experiments" / "learning_dynamics.py"
)
ld = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = ld  # dataclasses resolve annotations through sys.modules
spec.loader.exec_module(ld)

CFG = ld.Config()
STEPS = np.arange(1, 201) * 50  # 200 snapshots, evenly spaced


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


# --- D_i ------------------------------------------------------------------------------------------------


@given(testing.weight_matrices())
def test_learned_dimensionality_is_metrics_feature_dimensionality(W):
    D = ld.learned_dimensionality(W[None], learned_norm=0.1)[0]
    big = metrics.feature_norms(W) >= 0.1
    np.testing.assert_allclose(D[big], metrics.feature_dimensionality(W)[big], rtol=1e-7, atol=1e-9)
    assert np.all(D[~big] == 0)


@given(testing.polytopes())
def test_learned_dimensionality_of_polytopes(poly):
    D = ld.learned_dimensionality(poly.W[None], learned_norm=1e-6)[0]
    np.testing.assert_allclose(D, poly.dimensionality, atol=1e-9)


# --- plateaus and jumps on hand-built trajectories -----------------------------------------------------


def jumps_of(d: np.ndarray) -> list:
    return ld.find_jumps(np.asarray(d, np.float64)[:, None], STEPS, CFG)


@given(st.floats(0.0, 1.0), st.floats(-0.05, 0.05))
def test_a_linear_ramp_has_no_jumps(start, slope):
    """Whatever its slope, a straight ramp forms a chain of plateaus closer than jump_min, or none."""
    assert jumps_of(start + slope * np.arange(STEPS.size)) == []


@given(
    st.sampled_from(ld.GUIDES),
    st.sampled_from(ld.GUIDES),
    st.integers(20, 180),
    st.integers(0, 2**16),
)
def test_a_step_between_two_levels_is_one_jump_with_its_window(before, after, at, noise_seed):
    noise = np.random.default_rng(noise_seed).uniform(-0.01, 0.01, STEPS.size)
    d = np.clip(np.where(np.arange(STEPS.size) < at, before, after) + noise, 0.0, 1.0)
    jumps = jumps_of(d)
    if abs(before - after) <= CFG.jump_min + 0.02:
        assert len(jumps) <= 1  # 3/8 -> 2/5 (0.025 apart) is within the noise: not a jump
        return
    (jump,) = jumps
    assert abs(jump.before - before) <= 0.011 and abs(jump.after - after) <= 0.011
    assert (jump.start_step, jump.stop_step) == (STEPS[at - 1], STEPS[at])


def test_a_short_excursion_is_not_a_level():
    d = np.full(STEPS.size, 0.5)
    d[100:103] = 0.75  # 3 snapshots: shorter than min_plateau
    assert jumps_of(d) == []
    d[100:110] = 0.75
    assert [(j.before, j.after) for j in jumps_of(d)] == [(0.5, 0.75), (0.75, 0.5)]


# --- loss drops -----------------------------------------------------------------------------------------


LOG_STEPS = np.arange(10, 20_001, 10)


def step_loss(
    at: float, depth: float, exponent: float = 0.05, width: float = 0.05, noise: float = 0.0
) -> np.ndarray:
    """[n_logs] a power-law loss t^-exponent with a smooth drop by a factor (1 - depth), `width` decades wide,
    around step `at`; noise: the standard deviation of log10 loss per window (a fixed seed)."""
    t = np.log10(LOG_STEPS)
    drop = -np.log10(1 - depth) / (1 + np.exp(-(t - np.log10(at)) / width))
    return 10 ** (-exponent * t - drop + np.random.default_rng(0).normal(0, noise, t.size))


def one_jump(start: int, stop: int) -> ld.Jump:
    return ld.Jump(0, 0.5, 2 / 3, start, stop)


def test_a_smooth_loss_has_no_drops():
    for loss in (step_loss(1000, 0.0), step_loss(1000, 0.0, noise=0.003), step_loss(1000, 0.0, exponent=0.0)):
        assert ld.loss_drops(loss, LOG_STEPS, CFG).shape == (0, 2)


@given(st.floats(200.0, 3000.0), st.floats(0.05, 0.3), st.sampled_from([0.0, 0.05]))
def test_a_drop_is_found_where_it_is(at, depth, exponent):
    """On a flat loss or a power law, a drop 5-30% deep is found, and only near its step."""
    drops = ld.loss_drops(step_loss(at, depth, exponent, noise=0.001), LOG_STEPS, CFG)
    assert np.any((drops[:, 0] <= at * 1.2) & (drops[:, 1] >= at / 1.2)), drops
    assert ld.coincides(one_jump(int(at / 1.1), int(at * 1.1)), drops)
    assert not ld.coincides(one_jump(int(at * 4), int(at * 4.5)), drops)  # the same jump 0.6 decades later


@given(st.floats(1000.0, 3000.0))
def test_a_small_drop_on_a_flat_loss_is_found(at):
    """The paper's first drop is 'very small': 2% on a flat, lightly noisy loss is enough here."""
    drops = ld.loss_drops(step_loss(at, 0.02, exponent=0.0, noise=0.001), LOG_STEPS, CFG)
    assert ld.coincides(one_jump(int(at / 1.1), int(at * 1.1)), drops)


def test_a_jump_with_a_flat_loss_does_not_coincide():
    drops = ld.loss_drops(step_loss(1000, 0.0, exponent=0.0, noise=0.002), LOG_STEPS, CFG)
    assert drops.shape == (0, 2)
    assert not ld.coincides(one_jump(900, 1100), drops)
    assert ld.chance_overlap([one_jump(900, 1100)], drops, 100, 20_000) == 0.0


def test_chance_overlap_is_one_when_drops_cover_everything_and_zero_without_drops():
    jumps = [one_jump(1000, 2000), one_jump(300, 310)]
    assert ld.chance_overlap(jumps, np.array([[10.0, 30_000.0]]), 100, 20_000) == 1.0
    assert ld.chance_overlap(jumps, np.zeros((0, 2)), 100, 20_000) == 0.0
    half = ld.chance_overlap([one_jump(1000, 1000)], np.array([[100.0, 1000.0]]), 100, 10_000)
    assert abs(half - 0.5) < 1e-9  # a point-like window in log-step: the drop covers half the range


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


@given(st.integers(1, 300), st.floats(1.0, 20_000.0), st.integers(2, 150))
def test_animation_frames_end_at_the_final_snapshot(n_snapshots, until, max_frames):
    steps = np.arange(1, n_snapshots + 1) * 50
    frames = ld.animation_frames(steps, until, max_frames)
    assert frames[-1] == n_snapshots - 1 and frames.size <= max_frames
    assert np.all(np.diff(frames) > 0) and np.all(steps[frames[:-1]] <= 1.5 * until)
