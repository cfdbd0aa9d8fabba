"""superpose.analysis.dynamics: learned D_i, plateaus, levels and jumps on hand-built trajectories, loss drops
on hand-built loss logs, the chance of a coincidence, the debounced stages of a run and its moving frames.
The defaults are experiments/learning_dynamics.py's detector settings."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose import metrics, testing
from superpose.analysis import dynamics as dyn

STEPS = np.arange(1, 201) * 50  # 200 snapshots, evenly spaced
JUMP_MIN = 0.05  # find_jumps' default


# --- D_i ------------------------------------------------------------------------------------------------


@given(testing.weight_matrices())
def test_learned_dimensionality_is_metrics_feature_dimensionality(W):
    D = dyn.learned_dimensionality(W[None], learned_norm=0.1)[0]
    big = metrics.feature_norms(W) >= 0.1
    np.testing.assert_allclose(D[big], metrics.feature_dimensionality(W)[big], rtol=1e-7, atol=1e-9)
    assert np.all(D[~big] == 0)


@given(testing.polytopes())
def test_learned_dimensionality_of_polytopes(poly):
    D = dyn.learned_dimensionality(poly.W[None], learned_norm=1e-6)[0]
    np.testing.assert_allclose(D, poly.dimensionality, atol=1e-9)


# --- plateaus and jumps on hand-built trajectories -----------------------------------------------------


def jumps_of(d: np.ndarray) -> list:
    return dyn.find_jumps(np.asarray(d, np.float64)[:, None], STEPS)


@given(st.floats(0.0, 1.0), st.floats(-0.05, 0.05))
def test_a_linear_ramp_has_no_jumps(start, slope):
    """Whatever its slope, a straight ramp forms a chain of plateaus closer than jump_min, or none."""
    assert jumps_of(start + slope * np.arange(STEPS.size)) == []


@given(
    st.sampled_from(dyn.GUIDES),
    st.sampled_from(dyn.GUIDES),
    st.integers(20, 180),
    st.integers(0, 2**16),
)
def test_a_step_between_two_levels_is_one_jump_with_its_window(before, after, at, noise_seed):
    noise = np.random.default_rng(noise_seed).uniform(-0.01, 0.01, STEPS.size)
    d = np.clip(np.where(np.arange(STEPS.size) < at, before, after) + noise, 0.0, 1.0)
    jumps = jumps_of(d)
    if abs(before - after) <= JUMP_MIN + 0.02:
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


def one_jump(start: int, stop: int) -> dyn.Jump:
    return dyn.Jump(0, 0.5, 2 / 3, start, stop)


def test_a_smooth_loss_has_no_drops():
    for loss in (step_loss(1000, 0.0), step_loss(1000, 0.0, noise=0.003), step_loss(1000, 0.0, exponent=0.0)):
        assert dyn.loss_drops(loss, LOG_STEPS).shape == (0, 2)


@given(st.floats(200.0, 3000.0), st.floats(0.05, 0.3), st.sampled_from([0.0, 0.05]))
def test_a_drop_is_found_where_it_is(at, depth, exponent):
    """On a flat loss or a power law, a drop 5-30% deep is found, and only near its step."""
    drops = dyn.loss_drops(step_loss(at, depth, exponent, noise=0.001), LOG_STEPS)
    assert np.any((drops[:, 0] <= at * 1.2) & (drops[:, 1] >= at / 1.2)), drops
    assert dyn.coincides(one_jump(int(at / 1.1), int(at * 1.1)), drops)
    assert not dyn.coincides(one_jump(int(at * 4), int(at * 4.5)), drops)  # the same jump 0.6 decades later


@given(st.floats(1000.0, 3000.0))
def test_a_small_drop_on_a_flat_loss_is_found(at):
    """The paper's first drop is 'very small': 2% on a flat, lightly noisy loss is enough here."""
    drops = dyn.loss_drops(step_loss(at, 0.02, exponent=0.0, noise=0.001), LOG_STEPS)
    assert dyn.coincides(one_jump(int(at / 1.1), int(at * 1.1)), drops)


def test_a_jump_with_a_flat_loss_does_not_coincide():
    drops = dyn.loss_drops(step_loss(1000, 0.0, exponent=0.0, noise=0.002), LOG_STEPS)
    assert drops.shape == (0, 2)
    assert not dyn.coincides(one_jump(900, 1100), drops)
    assert dyn.chance_overlap([one_jump(900, 1100)], drops, 100, 20_000) == 0.0


def test_chance_overlap_is_one_when_drops_cover_everything_and_zero_without_drops():
    jumps = [one_jump(1000, 2000), one_jump(300, 310)]
    assert dyn.chance_overlap(jumps, np.array([[10.0, 30_000.0]]), 100, 20_000) == 1.0
    assert dyn.chance_overlap(jumps, np.zeros((0, 2)), 100, 20_000) == 0.0
    half = dyn.chance_overlap([one_jump(1000, 1000)], np.array([[100.0, 1000.0]]), 100, 10_000)
    assert abs(half - 0.5) < 1e-9  # a point-like window in log-step: the drop covers half the range


@given(st.integers(1, 300), st.floats(1.0, 20_000.0), st.integers(2, 150))
def test_moving_frames_end_at_the_final_snapshot(n_snapshots, until, max_frames):
    steps = np.arange(1, n_snapshots + 1) * 50
    frames = dyn.moving_frames(steps, until, max_frames)
    assert frames[-1] == n_snapshots - 1 and frames.size <= max_frames
    assert np.all(np.diff(frames) > 0) and np.all(steps[frames[:-1]] <= 1.5 * until)


@given(st.lists(st.sampled_from("abc"), min_size=1, max_size=60), st.integers(1, 5))
def test_debounce_keeps_long_runs_in_order_and_never_repeats_a_label(labels, min_frames):
    runs = dyn.debounce(labels, min_frames)
    assert all(a[0] != b[0] for a, b in zip(runs, runs[1:]))  # merged around flickers
    assert all(first <= last for _, first, last in runs)
    assert all(a[2] < b[1] for a, b in zip(runs, runs[1:]))  # in order, not overlapping
    for label, first, last in runs:
        assert labels[first] == label and labels[last] == label
    if min_frames == 1:
        assert [r[0] for r in runs] == [x for i, x in enumerate(labels) if i == 0 or labels[i - 1] != x]


def test_stage_path_labels_each_snapshot_with_the_classifier():
    W = np.zeros((9, 1, 1))
    W[4:] = 1.0
    path = dyn.stage_path(lambda w: "on" if w.sum() > 0 else "off", W, np.arange(9) * 10, 2)
    assert path == [
        {"label": "off", "step": 0, "frames": (0, 3)},
        {"label": "on", "step": 40, "frames": (4, 8)},
    ]


def test_debounce_drops_flickers_and_merges_around_them():
    labels = ["a"] * 5 + ["b"] * 2 + ["a"] * 4 + ["c"] * 6 + ["d"] * 3
    assert dyn.debounce(labels, 4) == [("a", 0, 10), ("c", 11, 16)]
    assert dyn.debounce(labels, 2) == [("a", 0, 4), ("b", 5, 6), ("a", 7, 10), ("c", 11, 16), ("d", 17, 19)]
    assert dyn.debounce(labels, 7) == []
