"""E1 (experiments/intro.py): its analysis on hand-built weights. The paper's picture passes both checks;
plausible wrong models (the fits of the other end of the density axis, an untrained model, a pentagon with
one feature moved) fail the check they break. The quick run itself is exercised by tests/test_resume.py,
test_animate.py and test_store.py."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from superpose import testing
from superpose.lab.registry import load_experiment_module

intro = load_experiment_module("intro")
CFG = intro.Config()


def _arrays(dense: np.ndarray, sparse: np.ndarray) -> dict:
    return {"best_W": np.stack([dense, sparse]), "best_density": np.array([1.0, 0.05])}


def _top2() -> np.ndarray:
    W = np.zeros((2, 5))
    W[:, :2] = np.eye(2)
    return W


def _passed(summary: dict) -> list[bool]:
    return [c["passed"] for c in summary["checks"]]


@given(phase=st.floats(0, 2 * np.pi), rotation=testing.rotations(2))
@settings(max_examples=25, deadline=None)
def test_the_paper_picture_passes_in_any_orientation(phase, rotation):
    dense = rotation @ _top2()
    pentagon = rotation @ testing.regular_polygon(5, phase)
    assert _passed(intro.analyze(CFG, _arrays(dense, pentagon))) == [True, True]


def test_wrong_models_fail_the_checks_they_break():
    pentagon = testing.regular_polygon(5)
    # The two ends of the density axis swapped: the result of a different density at each end.
    assert _passed(intro.analyze(CFG, _arrays(pentagon, _top2()))) == [False, False]
    # Untrained: the library's init scale (small random weights) represents nothing.
    rng = np.random.default_rng(0)
    untrained = rng.normal(scale=0.1, size=(2, 2, 5))
    assert _passed(intro.analyze(CFG, _arrays(untrained[0], untrained[1]))) == [False, False]
    # A pentagon with one feature rotated by 20 degrees is not regular; a dense pair at 60 degrees is not
    # orthogonal.
    bent = pentagon.copy()
    t = np.radians(20)
    bent[:, 2] = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ bent[:, 2]
    skew = _top2()
    skew[:, 1] = [np.cos(np.radians(60)), np.sin(np.radians(60))]
    assert _passed(intro.analyze(CFG, _arrays(skew, bent))) == [False, False]
